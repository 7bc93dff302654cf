"""SQL for privacy: anonymizing the audit trail and keeping opt-outs as keyed hashes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.db.database import Database, to_db_time
from bot.domain.privacy import scrub_details


class PrivacyRepository:
    """Audit anonymization and hashed opt-outs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def anonymize_audit(self, guild_id: int, user_id: int) -> int:
        """Remove a member from the guild's audit trail; returns the entries touched.

        Entries they did or that were about them keep only the action and the time; any other
        entry mentioning their id has that detail removed.
        """
        needle = f"%{user_id}%"
        touched = 0
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id, actor_id, target_id, details FROM audit_log WHERE guild_id = ? "
                "AND (actor_id = ? OR target_id = ? OR details LIKE ?)",
                (guild_id, user_id, user_id, needle),
            )
            for row in rows:
                about_them = user_id in (row["actor_id"], row["target_id"])
                details: dict[str, Any] = json.loads(row["details"] or "{}")
                cleaned = {"anonymized": True} if about_them else scrub_details(details, user_id)
                touched += await tx.execute(
                    "UPDATE audit_log SET "
                    "actor_id = CASE WHEN actor_id = ? THEN NULL ELSE actor_id END, "
                    "target_id = CASE WHEN target_id = ? THEN NULL ELSE target_id END, "
                    "details = ? WHERE id = ?",
                    (user_id, user_id, json.dumps(cleaned), row["id"]),
                )
        return touched

    async def add_opt_out(self, guild_id: int, scope: str, user_hmac: str,
                          now: datetime) -> None:
        """Record an opt-out (idempotent)."""
        await self._db.execute(
            "INSERT INTO privacy_opt_outs (guild_id, scope, user_hmac, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, scope, user_hmac) DO NOTHING",
            (guild_id, scope, user_hmac, to_db_time(now)),
        )

    async def remove_opt_out(self, guild_id: int, scope: str, user_hmac: str) -> bool:
        """Withdraw an opt-out; True when one existed."""
        return await self._db.execute(
            "DELETE FROM privacy_opt_outs WHERE guild_id = ? AND scope = ? AND user_hmac = ?",
            (guild_id, scope, user_hmac),
        ) == 1

    async def has_opt_out(self, guild_id: int, scope: str, user_hmac: str) -> bool:
        """Whether this (hashed) member opted out of `scope`."""
        value = await self._db.fetchval(
            "SELECT 1 FROM privacy_opt_outs WHERE guild_id = ? AND scope = ? AND user_hmac = ?",
            (guild_id, scope, user_hmac),
        )
        return value is not None

    async def opt_out_scopes(self, guild_id: int, user_hmac: str) -> list[str]:
        """Every scope this (hashed) member opted out of."""
        rows = await self._db.fetchall(
            "SELECT scope FROM privacy_opt_outs WHERE guild_id = ? AND user_hmac = ? "
            "ORDER BY scope", (guild_id, user_hmac))
        return [str(r["scope"]) for r in rows]
