"""SQL for the audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.db.database import Database, Row, from_db_time, to_db_time
from bot.domain.audit import AuditEntry

__all__ = ["AuditEntry", "AuditRepository"]


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(
        id=int(row["id"]),
        guild_id=int(row["guild_id"]),
        actor_id=row["actor_id"],
        action=str(row["action"]),
        target_id=row["target_id"],
        details=json.loads(row["details"] or "{}"),
        created_at=from_db_time(int(row["created_at"])),
    )


class AuditRepository:
    """Appends to and reads the audit log."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(
        self,
        guild_id: int,
        actor_id: int | None,
        action: str,
        target_id: int | None,
        details: dict[str, Any],
        now: datetime,
    ) -> AuditEntry:
        """Append one entry and return it."""
        entry_id = await self._db.insert(
            "INSERT INTO audit_log (guild_id, actor_id, action, target_id, details, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, actor_id, action, target_id, json.dumps(details, default=str),
             to_db_time(now)),
        )
        return AuditEntry(entry_id, guild_id, actor_id, action, target_id, details, now)

    async def recent(
        self,
        guild_id: int,
        *,
        target_id: int | None = None,
        action_prefix: str | None = None,
        since: datetime | None = None,
        limit: int = 25,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Newest entries first, optionally for one member, one action family, or a period."""
        clauses = ["guild_id = ?"]
        params: list[Any] = [guild_id]
        if target_id is not None:
            clauses.append("target_id = ?")
            params.append(target_id)
        if action_prefix:
            clauses.append("action LIKE ?")
            params.append(action_prefix.replace("%", "") + "%")
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(to_db_time(since))
        params.extend([limit, offset])
        rows = await self._db.fetchall(
            "SELECT * FROM audit_log WHERE " + " AND ".join(clauses)
            + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            params,
        )
        return [_entry(row) for row in rows]
