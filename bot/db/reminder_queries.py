"""SQL for the reminder queue's upkeep: a departed member's reminders and health checks.

(Kept apart from `bot.db.followups` only to avoid colliding with work on that file; the
indexes are in migrations/0007_member_departures.sql.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db.database import Database, from_db_time, to_db_time
from bot.db.followups import Reminder, ReminderRepository


@dataclass(frozen=True, slots=True)
class FailedReminder:
    """A reminder that could not be delivered."""

    id: int
    channel_id: int
    reason: str | None
    fired_at: datetime


class ReminderQueries:
    """Read-only queries over the `reminders` table (each served by a partial index)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._reminders = ReminderRepository(db)

    async def pending_for_member(self, guild_id: int, member_id: int) -> list[Reminder]:
        """Pending reminders that tag `member_id` in a guild."""
        rows = await self._db.fetchall(
            "SELECT id FROM reminders WHERE guild_id = ? AND member_id = ? "
            "AND status = 'pending' ORDER BY id",
            (guild_id, member_id),
        )
        found = [await self._reminders.get(int(r["id"])) for r in rows]
        return [r for r in found if r is not None]

    async def failed_since(self, guild_id: int, since: datetime, *,
                           ignore: tuple[str, ...] = (), limit: int = 100) -> list[FailedReminder]:
        """Reminders of a guild that failed after `since` (reasons in `ignore` left out),
        newest first."""
        sql = ("SELECT id, channel_id, reason, fired_at FROM reminders WHERE guild_id = ? "
               "AND status = 'failed' AND fired_at >= ?")
        params: list[object] = [guild_id, to_db_time(since)]
        if ignore:
            sql += f" AND COALESCE(reason, '') NOT IN ({', '.join('?' for _ in ignore)})"
            params.extend(ignore)
        rows = await self._db.fetchall(sql + " ORDER BY fired_at DESC, id DESC LIMIT ?",
                                       (*params, limit))
        return [FailedReminder(int(r["id"]), int(r["channel_id"]), r["reason"],
                               from_db_time(int(r["fired_at"]))) for r in rows]

    async def overdue(self, guild_id: int, due_before: datetime,
                      limit: int = 100) -> list[Reminder]:
        """Pending reminders of a guild that were due before `due_before`, oldest first."""
        rows = await self._db.fetchall(
            "SELECT id FROM reminders WHERE guild_id = ? AND status = 'pending' AND due_at < ? "
            "ORDER BY due_at, id LIMIT ?",
            (guild_id, to_db_time(due_before), limit),
        )
        found = [await self._reminders.get(int(r["id"])) for r in rows]
        return [r for r in found if r is not None]
