"""Per-guild settings with an in-memory cache, so hot paths never wait on the database.

`update(guild_id, mutate, actor_id=...)` is the one way a person changes settings: it
validates, saves, tells the listeners, and records one "settings.changed" audit entry (old ->
new per setting; template wording is shown only as "changed").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, Protocol

from pydantic import ValidationError

from bot.clock import Clock
from bot.db.guild_settings import GuildSettingsRepository
from bot.errors import InvalidInput
from config.guild import GuildConfig

log = logging.getLogger(__name__)

Listener = Callable[[int, GuildConfig, GuildConfig], Awaitable[None]]
Mutate = Callable[[GuildConfig], None]
Changes = dict[str, tuple[Any, Any]]
CHANGED = "settings.changed"


class AuditTrail(Protocol):
    """Where a person's settings change is recorded (bot.services.audit.AuditService)."""

    async def record(self, guild_id: int, actor_id: int | None, action: str,
                     target_id: int | None = None,
                     details: dict[str, Any] | None = None) -> object:
        """Append one audit entry."""


class SettingsChange(NamedTuple):
    """What an update did: the settings before and after, and each changed (old, new)."""

    old: GuildConfig
    new: GuildConfig
    changes: Changes


def diff(old: GuildConfig, new: GuildConfig) -> Changes:
    """Dotted setting names whose value changed, with (old, new)."""
    changes: dict[str, tuple[Any, Any]] = {}
    old_dump, new_dump = old.model_dump(mode="json"), new.model_dump(mode="json")
    for section, values in new_dump.items():
        for key, value in values.items():
            before = old_dump[section][key]
            if before != value:
                changes[f"{section}.{key}"] = (before, value)
    return changes


def audit_details(changes: Changes) -> dict[str, str]:
    """The audit entry's details: `old → new` per setting; templates only say "changed"."""
    return {name: "changed" if "template" in name else f"{old} → {new}"
            for name, (old, new) in changes.items()}


class GuildSettingsService:
    """Loads every guild's settings once, serves them from memory, validates every change."""

    def __init__(self, repository: GuildSettingsRepository, clock: Clock,
                 audit: AuditTrail | None = None) -> None:
        self._repository = repository
        self._clock = clock
        self._audit = audit
        self._cache: dict[int, GuildConfig] = {}
        self._listeners: list[Listener] = []

    async def load_all(self) -> None:
        """Fill the cache at startup."""
        for guild_id, raw in (await self._repository.load_all()).items():
            try:
                self._cache[guild_id] = GuildConfig.model_validate_json(raw)
            except ValidationError:
                log.error("settings of guild %s are invalid; using defaults", guild_id)
                self._cache[guild_id] = GuildConfig()

    def get(self, guild_id: int) -> GuildConfig:
        """A guild's settings (defaults when never configured). Do not mutate the result."""
        config = self._cache.get(guild_id)
        if config is None:
            config = self._cache[guild_id] = GuildConfig()
        return config

    def on_change(self, listener: Listener) -> None:
        """Call `listener(guild_id, old, new)` after every saved change."""
        self._listeners.append(listener)

    async def update(self, guild_id: int, mutate: Mutate, *,
                     actor_id: int | None = None) -> SettingsChange:
        """Apply `mutate` to a validated copy, save it, and return (old, new, changes).

        Validation errors become InvalidInput with a readable message; nothing is saved then.
        With `actor_id` (a person's change), a saved change is audited once as
        "settings.changed"; without it (imports, reloads, tests) nothing is audited.
        """
        if actor_id is not None and self._audit is None:
            raise RuntimeError("settings changed by a person need an audit trail")
        old = self.get(guild_id)
        new = old.model_copy(deep=True)
        try:
            mutate(new)
            new = GuildConfig.model_validate(new.model_dump())
        except ValidationError as exc:
            raise InvalidInput(_describe(exc)) from None
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        changes = diff(old, new)
        if changes:
            await self._repository.save(guild_id, new.model_dump_json(), self._clock.now())
            self._cache[guild_id] = new
            for listener in self._listeners:
                await listener(guild_id, old, new)
            if actor_id is not None and self._audit is not None:
                await self._audit.record(guild_id, actor_id, CHANGED,
                                         details=audit_details(changes))
        return SettingsChange(old, new, changes)

    async def replace(self, guild_id: int, new: GuildConfig) -> Changes:
        """Replace a guild's settings wholesale (config import); returns the changes."""
        _, _, changes = await self.update(
            guild_id, lambda config: _copy_into(config, new)
        )
        return changes


def _copy_into(target: GuildConfig, source: GuildConfig) -> None:
    for name in GuildConfig.model_fields:
        setattr(target, name, getattr(source, name).model_copy(deep=True))


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)
