"""SQL for what link holds remember beside the holds: trusted members, accepted-post counts,
and the per-guild high-water marks used to catch up after downtime (in `bot_state`)."""

from __future__ import annotations

from datetime import datetime

from bot.db.database import Database, to_db_time

HIGH_WATER_PREFIX = "linkhold.high_water."


class TrustRepository:
    """Members a moderator trusted: never held again in that guild."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> set[tuple[int, int]]:
        """Every (guild_id, member_id) trusted (loaded once at startup)."""
        rows = await self._db.fetchall("SELECT guild_id, member_id FROM trusted_members")
        return {(int(r["guild_id"]), int(r["member_id"])) for r in rows}

    async def trust(self, guild_id: int, member_id: int, by: int | None, now: datetime) -> bool:
        """Trust a member; False when they already were."""
        changed = await self._db.execute(
            "INSERT INTO trusted_members (guild_id, member_id, trusted_by, trusted_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, member_id) DO NOTHING",
            (guild_id, member_id, by, to_db_time(now)),
        )
        return changed == 1

    async def untrust(self, guild_id: int, member_id: int) -> bool:
        """Stop trusting a member; False when they weren't."""
        changed = await self._db.execute(
            "DELETE FROM trusted_members WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id),
        )
        return changed == 1


class PostCountRepository:
    """Accepted posts per member, for guilds that require `min_posts`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> dict[tuple[int, int], int]:
        """Every stored count (loaded once at startup)."""
        rows = await self._db.fetchall(
            "SELECT guild_id, member_id, accepted FROM member_post_counts"
        )
        return {(int(r["guild_id"]), int(r["member_id"])): int(r["accepted"]) for r in rows}

    async def add(self, guild_id: int, member_id: int, now: datetime, count: int = 1) -> None:
        """Add `count` accepted posts for a member."""
        await self._db.execute(
            "INSERT INTO member_post_counts (guild_id, member_id, accepted, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, member_id) DO UPDATE SET "
            "accepted = member_post_counts.accepted + excluded.accepted, "
            "updated_at = excluded.updated_at",
            (guild_id, member_id, count, to_db_time(now)),
        )


class HighWaterRepository:
    """The newest message id seen per guild (in `bot_state`), saved periodically."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> dict[int, int]:
        """guild_id -> newest message id seen."""
        rows = await self._db.fetchall(
            "SELECT key, value FROM bot_state WHERE key LIKE ?", (HIGH_WATER_PREFIX + "%",)
        )
        return {int(str(r["key"])[len(HIGH_WATER_PREFIX):]): int(r["value"]) for r in rows}

    async def save(self, marks: dict[int, int], now: datetime) -> None:
        """Store these marks (one transaction)."""
        if not marks:
            return
        await self._db.executemany(
            "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            [(f"{HIGH_WATER_PREFIX}{g}", str(m), to_db_time(now)) for g, m in marks.items()],
        )
