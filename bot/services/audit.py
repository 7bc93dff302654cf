"""The audit trail: every feature's actions go to the audit table and the mod-log channel."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.db.audit import AuditRepository
from bot.domain.audit import AuditEntry

log = logging.getLogger(__name__)

ModLogSink = Callable[[AuditEntry], Awaitable[None]]


class AuditService:
    """`record()` appends to the audit log, then hands the entry to the mod-log sink."""

    def __init__(self, repository: AuditRepository, clock: Clock) -> None:
        self.repository = repository
        self._clock = clock
        self._sink: ModLogSink | None = None
        self._listeners: list[Callable[[AuditEntry], None]] = []

    def set_mod_log_sink(self, sink: ModLogSink | None) -> None:
        """Where entries are posted after being stored (the mod-log adapter)."""
        self._sink = sink

    def add_listener(self, listener: Callable[[AuditEntry], None]) -> None:
        """Call `listener(entry)` (sync, cheap: e.g. a metrics counter) for every entry."""
        self._listeners.append(listener)

    async def record(
        self,
        guild_id: int,
        actor_id: int | None,
        action: str,
        target_id: int | None = None,
        details: dict[str, Any] | None = None,
        *,
        post: bool = True,
    ) -> AuditEntry:
        """Append an entry (ids and links only, never message content) and post it."""
        entry = await self.repository.append(
            guild_id, actor_id, action, target_id, details or {}, self._clock.now()
        )
        log.info(
            "audit guild=%s actor=%s action=%s target=%s", guild_id, actor_id, action, target_id
        )
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:
                log.exception("audit listener failed on entry %s", entry.id)
        if post and self._sink is not None:
            try:
                await self._sink(entry)
            except Exception:
                # The audit row is what counts; a mod-log failure must not undo the action.
                log.exception("could not post audit entry %s to the mod log", entry.id)
        return entry

    async def recent(self, guild_id: int, *, target_id: int | None = None,
                     action_prefix: str | None = None, since: datetime | None = None,
                     limit: int = 25, offset: int = 0) -> list[AuditEntry]:
        """Newest entries first, optionally for one member, one action family, or a period."""
        return await self.repository.recent(guild_id, target_id=target_id,
                                            action_prefix=action_prefix, since=since,
                                            limit=limit, offset=offset)
