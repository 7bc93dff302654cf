"""Per-guild settings with an in-memory cache, so hot paths never wait on the database."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from bot.clock import Clock
from bot.db.guild_settings import GuildSettingsRepository
from bot.errors import InvalidInput
from config.guild import GuildConfig

log = logging.getLogger(__name__)

Listener = Callable[[int, GuildConfig, GuildConfig], Awaitable[None]]


def diff(old: GuildConfig, new: GuildConfig) -> dict[str, tuple[Any, Any]]:
    """Dotted setting names whose value changed, with (old, new)."""
    changes: dict[str, tuple[Any, Any]] = {}
    old_dump, new_dump = old.model_dump(mode="json"), new.model_dump(mode="json")
    for section, values in new_dump.items():
        for key, value in values.items():
            before = old_dump[section][key]
            if before != value:
                changes[f"{section}.{key}"] = (before, value)
    return changes


class GuildSettingsService:
    """Loads every guild's settings once, serves them from memory, validates every change."""

    def __init__(self, repository: GuildSettingsRepository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock
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

    async def update(
        self, guild_id: int, mutate: Callable[[GuildConfig], None]
    ) -> tuple[GuildConfig, GuildConfig, dict[str, tuple[Any, Any]]]:
        """Apply `mutate` to a validated copy, save it, and return (old, new, changes).

        Validation errors become InvalidInput with a readable message; nothing is saved then.
        """
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
        return old, new, changes

    async def replace(self, guild_id: int, new: GuildConfig) -> dict[str, tuple[Any, Any]]:
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
