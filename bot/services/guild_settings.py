"""Per-guild settings with an in-memory cache, so hot paths never wait on the database.

`update(guild_id, mutate, actor_id=...)` is the one way a person changes settings: it
validates, saves, tells the listeners, and records one "settings.changed" audit entry (old ->
new per setting; template wording is shown only as "changed").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, Protocol

from pydantic import ValidationError

from bot.clock import Clock
from bot.db.guild_settings import GuildSettingsRepository
from bot.errors import InvalidInput
from bot.i18n import N_, tr
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
        message = problem_in_words(error)
        parts.append(f"`{where}`: {message}" if where else message)
    return "; ".join(parts)


# pydantic's error types -> what the form check says, in the reader's language (pydantic's own
# messages are English only).
_PROBLEMS: dict[str, str] = {
    "greater_than_equal": N_("must be at least {ge}"),
    "greater_than": N_("must be more than {gt}"),
    "less_than_equal": N_("must be at most {le}"),
    "less_than": N_("must be less than {lt}"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "string_type": N_("must be text"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be a table"),
    "model_type": N_("must be a table"),
    "missing": N_("is required"),
    "extra_forbidden": N_("unknown setting"),
    "string_too_long": N_("is too long (at most {max_length} characters)"),
    "too_long": N_("has too many entries (at most {max_length})"),
}


def problem_in_words(error: Mapping[str, Any]) -> str:
    """One pydantic error as the form check says it, in the language being spoken: Steward's
    own validators' messages (already translated when raised) as they are, pydantic's by its
    error type."""
    context = error.get("ctx") or {}
    if error.get("type") == "value_error" and "error" in context:
        return str(context["error"])
    if error.get("type") == "literal_error":
        choices = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        return tr("must be one of {choices}", choices=", ".join(f"`{c}`" for c in choices))
    known = _PROBLEMS.get(str(error.get("type")))
    if known is None:
        return tr("isn't a value this setting accepts")
    return tr(known, **{key: value for key, value in context.items()
                        if isinstance(value, str | int | float)})
