"""SQL for reposts: one row per repost and one per posted message (ids only, no content)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.db.database import Database, Row, from_db_time, to_db_time

Status = Literal["pending", "published", "deleted", "failed"]
Notified = Literal["dm", "channel", "none"]


@dataclass(frozen=True, slots=True)
class RepostRecord:
    """A repost: for whom, by whom, where it landed and which messages make it up."""

    id: int
    guild_id: int
    member_id: int
    moderator_id: int
    destination_id: int
    channel_id: int | None
    created_thread: bool
    mode: Literal["webhook", "bot"]
    webhook_id: int | None
    source: str
    key: str
    status: Status
    head_len: int
    tail_len: int
    part_count: int
    member_notified: Notified
    created_at: datetime
    published_at: datetime | None
    edited_at: datetime | None
    message_ids: tuple[int, ...] = ()


def _record(row: Row, message_ids: tuple[int, ...]) -> RepostRecord:
    return RepostRecord(
        id=int(row["id"]),
        guild_id=int(row["guild_id"]),
        member_id=int(row["member_id"]),
        moderator_id=int(row["moderator_id"]),
        destination_id=int(row["destination_id"]),
        channel_id=row["channel_id"],
        created_thread=bool(row["created_thread"]),
        mode=row["mode"],
        webhook_id=row["webhook_id"],
        source=str(row["source"]),
        key=str(row["idem_key"]),
        status=row["status"],
        head_len=int(row["head_len"]),
        tail_len=int(row["tail_len"]),
        part_count=int(row["part_count"]),
        member_notified=row["member_notified"],
        created_at=from_db_time(int(row["created_at"])),
        published_at=None if row["published_at"] is None else from_db_time(row["published_at"]),
        edited_at=None if row["edited_at"] is None else from_db_time(row["edited_at"]),
        message_ids=message_ids,
    )


class RepostRepository:
    """Stores reposts and the ids of the messages they were posted as."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _load_all(self, rows: list[Row]) -> list[RepostRecord]:
        """The records of `rows`, skipping any that no longer load."""
        out = []
        for row in rows:
            record = await self._load(row)
            if record is not None:
                out.append(record)
        return out

    async def _load(self, row: Row | None) -> RepostRecord | None:
        if row is None:
            return None
        rows = await self._db.fetchall(
            "SELECT message_id FROM repost_messages WHERE repost_id = ? ORDER BY position",
            (row["id"],),
        )
        return _record(row, tuple(int(r["message_id"]) for r in rows))

    async def begin(
        self,
        *,
        guild_id: int,
        member_id: int,
        moderator_id: int,
        destination_id: int,
        mode: Literal["webhook", "bot"],
        source: str,
        key: str,
        head_len: int,
        tail_len: int,
        part_count: int,
        now: datetime,
    ) -> tuple[RepostRecord, bool]:
        """The pending record for `key` (created now: True) or the existing live one (False).

        One INSERT ... ON CONFLICT DO NOTHING: of two requests racing (two processes, two
        clicks), exactly one creates the record.
        """
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "INSERT INTO reposts (guild_id, member_id, moderator_id, destination_id, "
                "mode, source, idem_key, status, head_len, tail_len, part_count, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) "
                "ON CONFLICT (guild_id, idem_key) DO NOTHING RETURNING id",
                (guild_id, member_id, moderator_id, destination_id, mode, source, key,
                 head_len, tail_len, part_count, to_db_time(now)),
            )
        created = bool(rows)
        record = await self.by_key(guild_id, key)
        assert record is not None
        return record, created

    async def by_key(self, guild_id: int, key: str) -> RepostRecord | None:
        """The live (not deleted, not failed) repost for a request key."""
        row = await self._db.fetchone(
            "SELECT * FROM reposts WHERE guild_id = ? AND idem_key = ?", (guild_id, key)
        )
        return await self._load(row)

    async def get(self, repost_id: int) -> RepostRecord | None:
        """A repost by id."""
        row = await self._db.fetchone("SELECT * FROM reposts WHERE id = ?", (repost_id,))
        return await self._load(row)

    async def by_message(self, message_id: int) -> RepostRecord | None:
        """The repost one of whose parts is `message_id`, or whose created thread it is."""
        row = await self._db.fetchone(
            "SELECT r.* FROM reposts r JOIN repost_messages m ON m.repost_id = r.id "
            "WHERE m.message_id = ?",
            (message_id,),
        )
        if row is None:
            row = await self._db.fetchone(
                "SELECT * FROM reposts WHERE channel_id = ? AND created_thread = 1 "
                "ORDER BY id DESC LIMIT 1",
                (message_id,),
            )
        return await self._load(row)

    async def set_target(
        self,
        repost_id: int,
        *,
        mode: Literal["webhook", "bot"],
        channel_id: int | None,
        created_thread: bool,
        webhook_id: int | None,
        head_len: int,
        tail_len: int,
        part_count: int,
    ) -> None:
        """Record how and where a pending repost is being published (mode may fall back)."""
        await self._db.execute(
            "UPDATE reposts SET mode = ?, channel_id = ?, created_thread = ?, webhook_id = ?, "
            "head_len = ?, tail_len = ?, part_count = ? WHERE id = ? AND status = 'pending'",
            (mode, channel_id, int(created_thread), webhook_id, head_len, tail_len, part_count,
             repost_id),
        )

    async def add_message(self, repost_id: int, position: int, message_id: int) -> None:
        """Remember that part `position` was posted as `message_id` (idempotent)."""
        await self._db.execute(
            # No conflict target: two processes racing may collide on either unique key
            # ((repost_id, position) or message_id); both mean "already recorded".
            "INSERT INTO repost_messages (repost_id, position, message_id) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (repost_id, position, message_id),
        )

    async def remove_messages_from(self, repost_id: int, position: int) -> None:
        """Forget parts at `position` and after (deleted when an edit needed fewer parts)."""
        await self._db.execute(
            "DELETE FROM repost_messages WHERE repost_id = ? AND position >= ?",
            (repost_id, position),
        )

    async def mark_published(
        self, repost_id: int, notified: Notified, now: datetime
    ) -> bool:
        """pending -> published, once; False if it was not pending."""
        changed = await self._db.execute(
            "UPDATE reposts SET status = 'published', member_notified = ?, published_at = ?, "
            "part_count = (SELECT COUNT(*) FROM repost_messages WHERE repost_id = ?) "
            "WHERE id = ? AND status = 'pending'",
            (notified, to_db_time(now), repost_id, repost_id),
        )
        return changed == 1

    async def mark_edited(self, repost_id: int, now: datetime) -> None:
        """Note an edit."""
        await self._db.execute(
            "UPDATE reposts SET edited_at = ?, part_count = "
            "(SELECT COUNT(*) FROM repost_messages WHERE repost_id = ?) WHERE id = ?",
            (to_db_time(now), repost_id, repost_id),
        )

    async def retire(self, repost_id: int, status: Literal["deleted", "failed"]) -> bool:
        """published/pending -> deleted or failed, once. Frees the key for a new repost."""
        changed = await self._db.execute(
            "UPDATE reposts SET status = ?, idem_key = idem_key || '#' || id "
            "WHERE id = ? AND status IN ('pending', 'published')",
            (status, repost_id),
        )
        return changed == 1

    async def pending(self, guild_id: int | None = None) -> list[RepostRecord]:
        """Reposts left pending (e.g. by a restart mid-publish)."""
        if guild_id is None:
            rows = await self._db.fetchall(
                "SELECT * FROM reposts WHERE status = 'pending' ORDER BY id"
            )
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM reposts WHERE status = 'pending' AND guild_id = ? ORDER BY id",
                (guild_id,),
            )
        return await self._load_all(rows)

    async def published_for(self, guild_id: int, member_id: int,
                            limit: int = 100) -> list[RepostRecord]:
        """The live reposts of a member's words in a guild, newest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM reposts WHERE guild_id = ? AND member_id = ? "
            "AND status = 'published' ORDER BY id DESC LIMIT ?", (guild_id, member_id, limit))
        return await self._load_all(rows)

    async def forget_member(self, guild_id: int, member_id: int) -> int:
        """Delete the records naming a member (privacy erasure); returns how many."""
        return await self._db.execute(
            "DELETE FROM reposts WHERE guild_id = ? AND member_id = ?", (guild_id, member_id)
        )
