"""SQL for care alerts: one row per distress post, its card, its claim and its support DM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db.database import Database, Row, from_db_time, to_db_time

SENDING = "sending"
SENT = "sent"
DM_CLOSED = "dm_closed"


def _time(value: Any) -> datetime | None:
    return None if value is None else from_db_time(int(value))


@dataclass(frozen=True, slots=True)
class Alert:
    """A post that read as distress, and what moderators did about it."""

    id: int
    guild_id: int
    member_id: int
    channel_id: int
    message_id: int
    matched: tuple[str, ...]
    created_at: datetime
    quiet_until: datetime
    card_channel_id: int | None = None
    card_message_id: int | None = None
    claimed_by: int | None = None
    claimed_at: datetime | None = None
    support_status: str | None = None
    support_by: int | None = None
    support_at: datetime | None = None
    # Not stored: the queue card of a post the link gate held (filled in by the service).
    held_url: str | None = None

    @property
    def jump_url(self) -> str:
        """The link to the post."""
        return (f"https://discord.com/channels/{self.guild_id}/{self.channel_id}/"
                f"{self.message_id}")

    @property
    def link(self) -> str:
        """Where a moderator can read the post: its held-post queue card, else the post."""
        return self.held_url or self.jump_url

    @property
    def support_sent(self) -> bool:
        """The support DM reached the member."""
        return self.support_status == SENT


def _alert(row: Row) -> Alert:
    return Alert(
        id=int(row["id"]), guild_id=int(row["guild_id"]), member_id=int(row["member_id"]),
        channel_id=int(row["channel_id"]), message_id=int(row["message_id"]),
        matched=tuple(p for p in str(row["matched"]).split("\n") if p),
        created_at=from_db_time(int(row["created_at"])),
        quiet_until=from_db_time(int(row["quiet_until"])),
        card_channel_id=row["card_channel_id"], card_message_id=row["card_message_id"],
        claimed_by=row["claimed_by"], claimed_at=_time(row["claimed_at"]),
        support_status=row["support_status"], support_by=row["support_by"],
        support_at=_time(row["support_at"]),
    )


class CareRepository:
    """Care alerts and the quiet windows they open."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, *, guild_id: int, member_id: int, channel_id: int, message_id: int,
                     matched: Sequence[str], now: datetime, quiet_until: datetime
                     ) -> Alert | None:
        """Record an alert for a post; None when that post already has one."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "INSERT INTO care_alerts (guild_id, member_id, channel_id, message_id, "
                "matched, created_at, quiet_until) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (guild_id, message_id) DO NOTHING RETURNING *",
                (guild_id, member_id, channel_id, message_id,
                 "\n".join(p.replace("\n", " ") for p in matched), to_db_time(now),
                 to_db_time(quiet_until)),
            )
        return _alert(rows[0]) if rows else None

    async def get(self, alert_id: int) -> Alert | None:
        """One alert by id."""
        row = await self._db.fetchone("SELECT * FROM care_alerts WHERE id = ?", (alert_id,))
        return None if row is None else _alert(row)

    async def by_message(self, guild_id: int, message_id: int) -> Alert | None:
        """The alert for a post, if any."""
        row = await self._db.fetchone(
            "SELECT * FROM care_alerts WHERE guild_id = ? AND message_id = ?",
            (guild_id, message_id))
        return None if row is None else _alert(row)

    async def for_member(self, guild_id: int, member_id: int) -> list[Alert]:
        """A member's alerts in a guild, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM care_alerts WHERE guild_id = ? AND member_id = ? ORDER BY id",
            (guild_id, member_id))
        return [_alert(r) for r in rows]

    async def quiet_until(self, guild_id: int, member_id: int, now: datetime
                          ) -> datetime | None:
        """The end of the member's latest quiet window, if it is still open at `now`."""
        value = await self._db.fetchval(
            "SELECT MAX(quiet_until) FROM care_alerts WHERE guild_id = ? AND member_id = ? "
            "AND quiet_until > ?", (guild_id, member_id, to_db_time(now)))
        return None if value is None else from_db_time(int(value))

    async def extend_quiet(self, guild_id: int, message_id: int, until: datetime) -> None:
        """Open the quiet window again from a repeated look at the same post."""
        await self._db.execute(
            "UPDATE care_alerts SET quiet_until = ? WHERE guild_id = ? AND message_id = ? "
            "AND quiet_until < ?", (to_db_time(until), guild_id, message_id, to_db_time(until)))

    async def set_card(self, alert_id: int, channel_id: int, message_id: int) -> None:
        """Remember where the moderators' card is."""
        await self._db.execute(
            "UPDATE care_alerts SET card_channel_id = ?, card_message_id = ? WHERE id = ?",
            (channel_id, message_id, alert_id))

    async def claim(self, alert_id: int, moderator_id: int, now: datetime) -> bool:
        """Claim an unclaimed alert for a moderator (once); False when someone has it."""
        return await self._db.execute(
            "UPDATE care_alerts SET claimed_by = ?, claimed_at = ? "
            "WHERE id = ? AND claimed_by IS NULL", (moderator_id, to_db_time(now), alert_id)
        ) == 1

    async def start_support(self, alert_id: int, moderator_id: int, now: datetime) -> bool:
        """Take the one support DM (none sent, none under way); False when it is taken."""
        return await self._db.execute(
            "UPDATE care_alerts SET support_status = ?, support_by = ?, support_at = ? "
            "WHERE id = ? AND (support_status IS NULL OR support_status = ?)",
            (SENDING, moderator_id, to_db_time(now), alert_id, DM_CLOSED)) == 1

    async def finish_support(self, alert_id: int, status: str) -> None:
        """Record how the support DM went (sent, or DMs closed)."""
        await self._db.execute(
            "UPDATE care_alerts SET support_status = ? WHERE id = ? AND support_status = ?",
            (status, alert_id, SENDING))

    async def release_support(self, alert_id: int) -> None:
        """A support DM that failed unexpectedly: let a moderator try again."""
        await self._db.execute(
            "UPDATE care_alerts SET support_status = NULL, support_by = NULL, "
            "support_at = NULL WHERE id = ? AND support_status = ?", (alert_id, SENDING))

    async def guild_ids(self) -> list[int]:
        """Guilds with stored alerts."""
        rows = await self._db.fetchall("SELECT DISTINCT guild_id FROM care_alerts")
        return [int(r["guild_id"]) for r in rows]

    async def purge(self, guild_id: int, created_before: datetime, now: datetime) -> int:
        """Delete a guild's alerts older than `created_before` whose quiet window is over."""
        return await self._db.execute(
            "DELETE FROM care_alerts WHERE guild_id = ? AND created_at < ? AND quiet_until <= ?",
            (guild_id, to_db_time(created_before), to_db_time(now)))


# --- do-not-tag ---------------------------------------------------------------------------------

IN_MEMORIAM = "in_memoriam"
ASKED = "asked"
QUIET_REASONS = (IN_MEMORIAM, ASKED)


@dataclass(frozen=True, slots=True)
class QuietMark:
    """A member Steward must never tag, remind, suggest groups to or welcome again."""

    guild_id: int
    member_id: int
    reason: str  # IN_MEMORIAM or ASKED
    marked_by: int | None
    marked_at: datetime


def _mark(row: Row) -> QuietMark:
    return QuietMark(guild_id=int(row["guild_id"]), member_id=int(row["member_id"]),
                     reason=str(row["reason"]), marked_by=row["marked_by"],
                     marked_at=from_db_time(int(row["marked_at"])))


class DoNotTagRepository:
    """The do-not-tag marks (migration 0012): the one place every feature asks."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def mark(self, guild_id: int, member_id: int, reason: str, moderator_id: int,
                   now: datetime) -> bool:
        """Mark a member (or change the reason); True when they were not marked before."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "INSERT INTO do_not_tag (guild_id, member_id, reason, marked_by, marked_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, member_id) DO NOTHING "
                "RETURNING member_id", (guild_id, member_id, reason, moderator_id,
                                        to_db_time(now)))
            if rows:
                return True
            await tx.execute(
                "UPDATE do_not_tag SET reason = ? WHERE guild_id = ? AND member_id = ?",
                (reason, guild_id, member_id))
        return False

    async def unmark(self, guild_id: int, member_id: int) -> QuietMark | None:
        """Remove the mark; the mark that was removed (None: there was none)."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "DELETE FROM do_not_tag WHERE guild_id = ? AND member_id = ? RETURNING *",
                (guild_id, member_id))
        return _mark(rows[0]) if rows else None

    async def get(self, guild_id: int, member_id: int) -> QuietMark | None:
        """The member's mark, if any."""
        row = await self._db.fetchone(
            "SELECT * FROM do_not_tag WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id))
        return None if row is None else _mark(row)

    async def is_marked(self, guild_id: int, member_id: int) -> bool:
        """Whether Steward must leave the member be (one indexed look-up)."""
        return await self._db.fetchval(
            "SELECT 1 FROM do_not_tag WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id)) is not None

    async def in_guild(self, guild_id: int, limit: int = 100) -> list[QuietMark]:
        """A guild's marks, newest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM do_not_tag WHERE guild_id = ? ORDER BY marked_at DESC, member_id "
            "LIMIT ?", (guild_id, limit))
        return [_mark(r) for r in rows]
