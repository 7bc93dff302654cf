"""SQL for link holds: held posts and their attachments. (Trusted members, accepted-post counts
and high-water marks: `bot.db.hold_members`.)"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.db.database import Database, Row, Transaction, from_db_time, to_db_time

# Steps of holding a post, in order; a hold not yet "queued" is finished at startup.
STEP_STORED = "stored"
STEP_REMOVED = "removed"
STEP_TOLD = "told"
STEP_QUEUED = "queued"
STEPS = (STEP_STORED, STEP_REMOVED, STEP_TOLD, STEP_QUEUED)

# Final statuses. "closed_left": the member left the server while the hold was pending.
CLOSED_LEFT = "closed_left"
FINAL_STATUSES = ("approved", "rejected", CLOSED_LEFT)
_FINAL_SQL = "('approved', 'rejected', 'closed_left')"


@dataclass(frozen=True, slots=True)
class HeldLink:
    """A link found in a held post."""

    text: str
    url: str
    domain: str


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """An attachment to store with a new hold (data None: not kept, see `not_kept_reason`)."""

    position: int
    filename: str
    size: int
    content_type: str | None = None
    data: bytes | None = None
    not_kept_reason: str | None = None


@dataclass(frozen=True, slots=True)
class NewHold:
    """Everything stored about a post when it is held."""

    guild_id: int
    channel_id: int
    message_id: int
    member_id: int
    kind: str
    content: str
    links: tuple[HeldLink, ...]
    dup_key: str
    parent_id: int | None = None
    forum_title: str | None = None
    forum_tag_ids: tuple[int, ...] = ()
    reply_to_url: str | None = None
    attachments: tuple[NewAttachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Hold:
    """A held post and where it stands."""

    id: int
    guild_id: int
    channel_id: int
    parent_id: int | None
    message_id: int
    member_id: int
    kind: str
    content: str | None
    forum_title: str | None
    forum_tag_ids: tuple[int, ...]
    reply_to_url: str | None
    links: tuple[HeldLink, ...]
    dup_key: str
    repeat_count: int
    step: str
    removal: str | None
    member_told: str | None
    status: str
    queue_channel_id: int | None
    queue_message_id: int | None
    decided_by: int | None
    decided_at: datetime | None
    decision: str | None
    reason: str | None
    repost_url: str | None
    reminded_at: datetime | None
    created_at: datetime
    purged_at: datetime | None
    pinged_at: datetime | None = None  # when the reviewer role was pinged (once per hold)

    @property
    def decided(self) -> bool:
        """True once approved, rejected, or closed because the member left."""
        return self.status in FINAL_STATUSES

    @property
    def is_forum_post(self) -> bool:
        """True for a held forum starter post (its thread was the post)."""
        return self.kind == "forum_post"

    @property
    def title_unknown(self) -> bool:
        """True for a forum post Discord's AutoMod blocked: no thread was made, the block names
        the forum (channel and parent alike) and not the title the member typed, so approving
        it asks for one."""
        return self.kind == "automod" and self.parent_id is not None \
            and self.parent_id == self.channel_id


@dataclass(frozen=True, slots=True)
class HeldAttachment:
    """A stored attachment of a hold."""

    id: int
    hold_id: int
    position: int
    filename: str
    content_type: str | None
    size: int
    data: bytes | None
    not_kept_reason: str | None


def _time(value: Any) -> datetime | None:
    return None if value is None else from_db_time(int(value))


def _links(raw: str | None) -> tuple[HeldLink, ...]:
    if not raw:
        return ()
    return tuple(HeldLink(str(d["text"]), str(d["url"]), str(d["domain"])) for d in json.loads(raw))


def _hold(row: Row) -> Hold:
    return Hold(
        id=int(row["id"]),
        guild_id=int(row["guild_id"]),
        channel_id=int(row["channel_id"]),
        parent_id=row["parent_id"],
        message_id=int(row["message_id"]),
        member_id=int(row["member_id"]),
        kind=str(row["kind"]),
        content=row["content"],
        forum_title=row["forum_title"],
        forum_tag_ids=tuple(int(t) for t in json.loads(row["forum_tag_ids"] or "[]")),
        reply_to_url=row["reply_to_url"],
        links=_links(row["links"]),
        dup_key=str(row["dup_key"]),
        repeat_count=int(row["repeat_count"]),
        step=str(row["step"]),
        removal=row["removal"],
        member_told=row["member_told"],
        status=str(row["status"]),
        queue_channel_id=row["queue_channel_id"],
        queue_message_id=row["queue_message_id"],
        decided_by=row["decided_by"],
        decided_at=_time(row["decided_at"]),
        decision=row["decision"],
        reason=row["reason"],
        repost_url=row["repost_url"],
        reminded_at=_time(row["reminded_at"]),
        created_at=from_db_time(int(row["created_at"])),
        purged_at=_time(row["purged_at"]),
        pinged_at=_time(row["pinged_at"]),
    )


def _attachment(row: Row) -> HeldAttachment:
    data = row["data"]
    return HeldAttachment(
        id=int(row["id"]),
        hold_id=int(row["hold_id"]),
        position=int(row["position"]),
        filename=str(row["filename"]),
        content_type=row["content_type"],
        size=int(row["size"]),
        data=None if data is None else bytes(data),
        not_kept_reason=row["not_kept_reason"],
    )


class HoldRepository:
    """Stores holds and moves them through their steps and decisions (once each)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- creating ---------------------------------------------------------------------------

    async def create(self, new: NewHold, now: datetime) -> Hold | None:
        """Store a held post with its attachments in one transaction.

        Returns None when this message is already held (live event and catch-up both saw it).
        """
        links = json.dumps([{"text": x.text, "url": x.url, "domain": x.domain} for x in new.links])
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO holds (guild_id, channel_id, parent_id, message_id, member_id, kind, "
                "content, forum_title, forum_tag_ids, reply_to_url, links, dup_key, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (guild_id, message_id) DO NOTHING",
                (new.guild_id, new.channel_id, new.parent_id, new.message_id, new.member_id,
                 new.kind, new.content, new.forum_title, json.dumps(list(new.forum_tag_ids)),
                 new.reply_to_url, links, new.dup_key, to_db_time(now)),
            )
            if changed == 0:
                return None
            row = await tx.fetchone(
                "SELECT * FROM holds WHERE guild_id = ? AND message_id = ?",
                (new.guild_id, new.message_id),
            )
            assert row is not None
            hold = _hold(row)
            await self._insert_attachments(tx, hold.id, new.attachments)
        return hold

    @staticmethod
    async def _insert_attachments(
        tx: Transaction, hold_id: int, attachments: Sequence[NewAttachment]
    ) -> None:
        for a in attachments:
            await tx.execute(
                "INSERT INTO hold_attachments (hold_id, position, filename, content_type, size, "
                "data, not_kept_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (hold_id, a.position, a.filename, a.content_type, a.size, a.data,
                 a.not_kept_reason),
            )

    async def pending_duplicate(self, guild_id: int, member_id: int, dup_key: str) -> Hold | None:
        """A pending hold of the same member with the same words, if any."""
        row = await self._db.fetchone(
            "SELECT * FROM holds WHERE guild_id = ? AND member_id = ? AND dup_key = ? "
            "AND status = 'pending' ORDER BY id LIMIT 1",
            (guild_id, member_id, dup_key),
        )
        return None if row is None else _hold(row)

    async def bump_repeat(self, hold_id: int) -> int:
        """Count one more repeat of a pending hold; returns the new count."""
        await self._db.execute(
            "UPDATE holds SET repeat_count = repeat_count + 1 WHERE id = ?", (hold_id,)
        )
        return int(await self._db.fetchval(
            "SELECT repeat_count FROM holds WHERE id = ?", (hold_id,)
        ) or 0)

    # --- reading ----------------------------------------------------------------------------

    async def get(self, hold_id: int) -> Hold | None:
        """One hold by id."""
        row = await self._db.fetchone("SELECT * FROM holds WHERE id = ?", (hold_id,))
        return None if row is None else _hold(row)

    async def by_message(self, guild_id: int, message_id: int) -> Hold | None:
        """The hold of one message, if it was held."""
        row = await self._db.fetchone(
            "SELECT * FROM holds WHERE guild_id = ? AND message_id = ?", (guild_id, message_id)
        )
        return None if row is None else _hold(row)

    async def attachments(self, hold_id: int) -> list[HeldAttachment]:
        """A hold's attachments in their original order."""
        rows = await self._db.fetchall(
            "SELECT * FROM hold_attachments WHERE hold_id = ? ORDER BY position", (hold_id,)
        )
        return [_attachment(r) for r in rows]

    async def pending(self, guild_id: int | None = None, *, limit: int = 100) -> list[Hold]:
        """Pending holds, oldest first (one guild, or all)."""
        if guild_id is None:
            rows = await self._db.fetchall(
                "SELECT * FROM holds WHERE status = 'pending' ORDER BY created_at, id LIMIT ?",
                (limit,),
            )
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM holds WHERE guild_id = ? AND status = 'pending' "
                "ORDER BY created_at, id LIMIT ?",
                (guild_id, limit),
            )
        return [_hold(r) for r in rows]

    async def unfinished(self) -> list[Hold]:
        """Holds whose holding steps were interrupted (e.g. by a crash), oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM holds WHERE step <> ? AND status = 'pending' ORDER BY id",
            (STEP_QUEUED,),
        )
        return [_hold(r) for r in rows]

    async def stuck_approvals(self) -> list[Hold]:
        """Holds left in 'approving' (the process stopped while publishing)."""
        rows = await self._db.fetchall(
            "SELECT * FROM holds WHERE status = 'approving' ORDER BY id"
        )
        return [_hold(r) for r in rows]

    async def count_pending(self) -> int:
        """Pending holds in every guild (one index range; for the metrics gauge)."""
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM holds WHERE status = 'pending'") or 0)

    async def recent_waits(self, guild_id: int, since: datetime, limit: int = 20
                           ) -> list[timedelta]:
        """How long the guild's most recent moderator decisions (approve or reject, since
        `since`, newest first) took from holding to deciding."""
        rows = await self._db.fetchall(
            "SELECT created_at, decided_at FROM holds WHERE guild_id = ? "
            "AND status IN ('approved', 'rejected') AND decided_by IS NOT NULL "
            "AND decided_at >= ? ORDER BY decided_at DESC LIMIT ?",
            (guild_id, to_db_time(since), limit))
        return [from_db_time(int(r["decided_at"])) - from_db_time(int(r["created_at"]))
                for r in rows]

    async def claim_ping(self, hold_id: int, now: datetime) -> bool:
        """Claim a pending hold's one reviewer ping; False when it was pinged or decided."""
        changed = await self._db.execute(
            "UPDATE holds SET pinged_at = ? WHERE id = ? AND status = 'pending' "
            "AND pinged_at IS NULL", (to_db_time(now), hold_id))
        return changed == 1

    async def release_ping(self, hold_id: int) -> None:
        """Give a claimed ping back (it could not be sent; a retry may claim it again)."""
        await self._db.execute("UPDATE holds SET pinged_at = NULL WHERE id = ?", (hold_id,))

    async def waiting_since(self, guild_id: int, cutoff: datetime,
                            limit: int = 100) -> list[Hold]:
        """Pending holds of a guild created before `cutoff`, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM holds WHERE guild_id = ? AND status = 'pending' AND created_at < ? "
            "ORDER BY created_at, id LIMIT ?", (guild_id, to_db_time(cutoff), limit))
        return [_hold(r) for r in rows]

    async def stuck(self, guild_id: int, cutoff: datetime) -> list[Hold]:
        """Holds of a guild stuck part-way: steps unfinished or an approval unfinished since
        before `cutoff`, or pending with a post that could not be removed."""
        rows = await self._db.fetchall(
            "SELECT * FROM holds WHERE guild_id = ? AND ("
            "(status = 'pending' AND (removal = 'failed' OR (step <> ? AND created_at < ?))) "
            "OR (status = 'approving' AND decided_at < ?)) ORDER BY id LIMIT 100",
            (guild_id, STEP_QUEUED, to_db_time(cutoff), to_db_time(cutoff)))
        return [_hold(r) for r in rows]

    async def with_cards(self, guild_id: int, member_id: int) -> list[Hold]:
        """A member's holds that have a queue message (to blank them when forgotten)."""
        rows = await self._db.fetchall(
            "SELECT * FROM holds WHERE guild_id = ? AND member_id = ? "
            "AND queue_message_id IS NOT NULL ORDER BY id", (guild_id, member_id))
        return [_hold(r) for r in rows]

    async def member_history(self, guild_id: int, member_id: int) -> dict[str, int]:
        """How many holds this member had, by status."""
        rows = await self._db.fetchall(
            "SELECT status, COUNT(*) AS n FROM holds WHERE guild_id = ? AND member_id = ? "
            "GROUP BY status",
            (guild_id, member_id),
        )
        return {str(r["status"]): int(r["n"]) for r in rows}

    async def decided_unpurged(self) -> list[Hold]:
        """Decided holds whose content is still stored (candidates for the retention purge)."""
        rows = await self._db.fetchall(
            f"SELECT * FROM holds WHERE status IN {_FINAL_SQL} "
            "AND purged_at IS NULL ORDER BY decided_at"
        )
        return [_hold(r) for r in rows]

    # --- holding steps ----------------------------------------------------------------------

    async def mark_removed(self, hold_id: int, removal: str) -> None:
        """Record the outcome of removing the post (removed | failed | gone)."""
        await self._db.execute(
            "UPDATE holds SET step = ?, removal = ? WHERE id = ?",
            (STEP_REMOVED, removal, hold_id),
        )

    async def mark_told(self, hold_id: int, told: str) -> None:
        """Record how the member was told (dm | channel | both | none)."""
        await self._db.execute(
            "UPDATE holds SET step = ?, member_told = ? WHERE id = ?", (STEP_TOLD, told, hold_id)
        )

    async def mark_queued(
        self, hold_id: int, channel_id: int | None, message_id: int | None
    ) -> None:
        """Record the queue message (None: no queue channel); holding is complete."""
        await self._db.execute(
            "UPDATE holds SET step = ?, queue_channel_id = ?, queue_message_id = ? WHERE id = ?",
            (STEP_QUEUED, channel_id, message_id, hold_id),
        )

    async def mark_reminded(self, hold_ids: Iterable[int], now: datetime) -> None:
        """Note that moderators were reminded of these holds."""
        await self._db.executemany(
            "UPDATE holds SET reminded_at = ? WHERE id = ?",
            [(to_db_time(now), hold_id) for hold_id in hold_ids],
        )

    # --- decisions (each happens once) ------------------------------------------------------

    async def begin_approval(
        self, hold_id: int, moderator_id: int, decision: str, now: datetime
    ) -> bool:
        """Claim a pending hold for approval; False when someone else decided first."""
        changed = await self._db.execute(
            "UPDATE holds SET status = 'approving', decided_by = ?, decision = ?, decided_at = ? "
            "WHERE id = ? AND status = 'pending'",
            (moderator_id, decision, to_db_time(now), hold_id),
        )
        return changed == 1

    async def finish_approval(self, hold_id: int, repost_url: str, now: datetime) -> bool:
        """Mark a claimed hold approved, with the link to the published copy."""
        changed = await self._db.execute(
            "UPDATE holds SET status = 'approved', repost_url = ?, decided_at = ? "
            "WHERE id = ? AND status = 'approving'",
            (repost_url, to_db_time(now), hold_id),
        )
        return changed == 1

    async def abort_approval(self, hold_id: int) -> bool:
        """Put a claimed hold back to pending (publishing failed)."""
        changed = await self._db.execute(
            "UPDATE holds SET status = 'pending', decided_by = NULL, decision = NULL, "
            "decided_at = NULL WHERE id = ? AND status = 'approving'",
            (hold_id,),
        )
        return changed == 1

    async def reject(
        self, hold_id: int, moderator_id: int, decision: str, reason: str | None, now: datetime
    ) -> bool:
        """Reject a pending hold; False when someone else decided first."""
        changed = await self._db.execute(
            "UPDATE holds SET status = 'rejected', decided_by = ?, decision = ?, reason = ?, "
            "decided_at = ? WHERE id = ? AND status = 'pending'",
            (moderator_id, decision, reason, to_db_time(now), hold_id),
        )
        return changed == 1

    async def close_for_member(self, guild_id: int, member_id: int,
                               now: datetime) -> list[Hold]:
        """Close a member's pending holds (they left the server); returns the ones closed."""
        closed: list[Hold] = []
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM holds WHERE guild_id = ? AND member_id = ? AND status = 'pending' "
                "ORDER BY id", (guild_id, member_id))
            for row in rows:
                changed = await tx.execute(
                    "UPDATE holds SET status = ?, decision = 'left', decided_by = NULL, "
                    "decided_at = ? WHERE id = ? AND status = 'pending'",
                    (CLOSED_LEFT, to_db_time(now), int(row["id"])))
                if changed == 1:
                    closed.append(_hold(row))
        return closed

    async def purge(self, hold_ids: Sequence[int], now: datetime) -> None:
        """Null the content of decided holds and delete their attachment bytes."""
        if not hold_ids:
            return
        async with self._db.transaction() as tx:
            for hold_id in hold_ids:
                await tx.execute(
                    "UPDATE holds SET content = NULL, forum_title = NULL, links = NULL, "
                    "reason = NULL, reply_to_url = NULL, purged_at = ? "
                    f"WHERE id = ? AND status IN {_FINAL_SQL}",
                    (to_db_time(now), hold_id),
                )
                await tx.execute("DELETE FROM hold_attachments WHERE hold_id = ?", (hold_id,))
