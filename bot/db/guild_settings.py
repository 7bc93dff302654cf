"""SQL for per-guild settings (one JSON row per guild)."""

from __future__ import annotations

from datetime import datetime

from bot.db.database import Database, to_db_time


class GuildSettingsRepository:
    """Reads and writes the raw JSON settings of each guild."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, guild_id: int) -> str | None:
        """The stored JSON for a guild, or None when it was never configured."""
        value = await self._db.fetchval(
            "SELECT config FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return None if value is None else str(value)

    async def load_all(self) -> dict[int, str]:
        """Every configured guild's JSON."""
        rows = await self._db.fetchall("SELECT guild_id, config FROM guild_settings")
        return {int(row["guild_id"]): str(row["config"]) for row in rows}

    async def save(self, guild_id: int, config_json: str, now: datetime) -> None:
        """Insert or replace a guild's JSON."""
        await self._db.execute(
            "INSERT INTO guild_settings (guild_id, config, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET config = excluded.config, "
            "updated_at = excluded.updated_at",
            (guild_id, config_json, to_db_time(now)),
        )
