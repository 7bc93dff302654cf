"""SQL to notice settings changed by another process (`steward config import`)."""

from __future__ import annotations

from bot.db.database import Database


class SettingsStampRepository:
    """When each guild's settings were last saved."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def stamps(self) -> dict[int, int]:
        """guild id -> updated_at (Unix ms) of every configured guild."""
        rows = await self._db.fetchall("SELECT guild_id, updated_at FROM guild_settings")
        return {int(r["guild_id"]): int(r["updated_at"]) for r in rows}
