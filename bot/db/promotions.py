"""SQL for the trusted-role promotions: members waiting for the role, with their join date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db.database import Database, Row, from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class Waiting:
    """A member Steward will give the trusted role once they pass the hold period."""

    guild_id: int
    member_id: int
    joined_at: datetime
    due_at: datetime | None


def _waiting(row: Row) -> Waiting:
    due = row["due_at"]
    return Waiting(int(row["guild_id"]), int(row["member_id"]),
                   from_db_time(int(row["joined_at"])),
                   None if due is None else from_db_time(int(due)))


class PromotionRepository:
    """Members waiting for the trusted role (`member_promotions`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def remember(self, guild_id: int, member_id: int, joined_at: datetime) -> bool:
        """Note a member's join date (a rejoin starts over); False when already waiting
        with the same join date."""
        changed = await self._db.execute(
            "INSERT INTO member_promotions (guild_id, member_id, joined_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id, member_id) DO UPDATE SET joined_at = excluded.joined_at, "
            "due_at = NULL, promoted_at = NULL "
            "WHERE member_promotions.joined_at <> excluded.joined_at",
            (guild_id, member_id, to_db_time(joined_at)),
        )
        return changed == 1

    async def remember_many(self, guild_id: int,
                            joins: list[tuple[int, datetime]]) -> None:
        """`remember` for a batch of (member id, join date), in one transaction."""
        await self._db.executemany(
            "INSERT INTO member_promotions (guild_id, member_id, joined_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id, member_id) DO UPDATE SET joined_at = excluded.joined_at, "
            "due_at = NULL, promoted_at = NULL "
            "WHERE member_promotions.joined_at <> excluded.joined_at",
            [(guild_id, member_id, to_db_time(joined)) for member_id, joined in joins])

    async def get(self, guild_id: int, member_id: int) -> Waiting | None:
        """A member still waiting (None: unknown or already promoted)."""
        row = await self._db.fetchone(
            "SELECT * FROM member_promotions WHERE guild_id = ? AND member_id = ? "
            "AND promoted_at IS NULL", (guild_id, member_id))
        return None if row is None else _waiting(row)

    async def set_due(self, guild_id: int, member_id: int, due_at: datetime | None) -> None:
        """Record when the promotion is scheduled (None: when enough posts are counted)."""
        await self._db.execute(
            "UPDATE member_promotions SET due_at = ? WHERE guild_id = ? AND member_id = ?",
            (None if due_at is None else to_db_time(due_at), guild_id, member_id))

    async def promoted(self, guild_id: int, member_id: int, now: datetime) -> bool:
        """Mark the role as given, once; False when it already was (or the row is gone)."""
        changed = await self._db.execute(
            "UPDATE member_promotions SET promoted_at = ?, due_at = NULL "
            "WHERE guild_id = ? AND member_id = ? AND promoted_at IS NULL",
            (to_db_time(now), guild_id, member_id))
        return changed == 1

    async def forget(self, guild_id: int, member_id: int) -> None:
        """The member left: nothing to promote any more."""
        await self._db.execute(
            "DELETE FROM member_promotions WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id))

    async def waiting_batch(self, after: tuple[int, int] | None, limit: int) -> list[Waiting]:
        """The next `limit` waiting members after the key (guild, member), in key order."""
        g, m = after if after is not None else (-1, -1)
        rows = await self._db.fetchall(
            "SELECT * FROM member_promotions WHERE promoted_at IS NULL "
            "AND (guild_id > ? OR (guild_id = ? AND member_id > ?)) "
            "ORDER BY guild_id, member_id LIMIT ?", (g, g, m, limit))
        return [_waiting(r) for r in rows]
