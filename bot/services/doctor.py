"""The doctor: looks at a guild as the bot sees it, records findings, reports changes once.

No Discord here: a `GuildReader` port (bot.adapters.doctor) turns the guild into the domain's
facts and a `ReportPoster` port posts the report to the mod log. Other features add optional
probes (stuck queue items, failing reminders) with `doctor.add_probe(name, probe)` where
`probe(guild_id) -> list[Finding]`; the doctor works without any.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from bot.clock import Clock
from bot.db.doctor import DoctorRepository
from bot.domain.doctor import (
    FeatureUse,
    Finding,
    GuildFacts,
    Severity,
    content_missing,
    diagnose,
    fingerprint,
)
from bot.i18n import tr
from bot.services.config_io import is_server_field
from bot.services.guild_settings import GuildSettingsService
from config.guild import GuildConfig

log = logging.getLogger(__name__)

Probe = Callable[[int], Awaitable[list[Finding]]]
GroupRoleSource = Callable[[int], Awaitable[list[tuple[str, int]]]]
PostOutcome = Literal["posted", "impossible", "failed"]

UNPOSTED = "unposted:"


@dataclass(frozen=True, slots=True)
class ServerRef:
    """One id a server setting points at."""

    setting: str
    kind: str  # "channel" | "role" | "group_role"
    id: int


def _ids(value: object, *, dict_values: bool) -> Iterator[int]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _ids(item, dict_values=dict_values)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _ids(item if dict_values else key, dict_values=dict_values)


def server_refs(config: GuildConfig) -> list[ServerRef]:
    """Every channel and role id in a guild's settings, found via the `server_field` marker.

    A field whose name mentions "role" holds roles (dict fields: in their values); any other
    server field holds channels (dict fields: in their keys, e.g. forum -> days).
    Fields named like `group_roles` are roles Steward hands out.
    """
    refs: list[ServerRef] = []
    for section_name in GuildConfig.model_fields:
        section = getattr(config, section_name)
        kind_model = type(section)
        for name in kind_model.model_fields:
            if not is_server_field(kind_model, name):
                continue
            setting = f"{section_name}.{name}"
            value = getattr(section, name)
            if "role" in name:
                kind = "group_role" if "group" in name else "role"
                refs.extend(ServerRef(setting, kind, i) for i in _ids(value, dict_values=True))
            else:
                refs.extend(ServerRef(setting, "channel", i)
                            for i in _ids(value, dict_values=False))
    return refs


class ContentWatch:
    """Counts member messages arriving empty in a row, per guild (message content intent)."""

    def __init__(self) -> None:
        self._empty: dict[int, int] = {}

    def observe(self, guild_id: int, empty: bool) -> bool:
        """Count a member message (`empty`: no text, files or embeds); True when the verdict
        for its guild just changed."""
        before = content_missing(self._empty.get(guild_id, 0))
        self._empty[guild_id] = self._empty.get(guild_id, 0) + 1 if empty else 0
        return content_missing(self._empty[guild_id]) != before

    def missing(self, guild_id: int) -> bool:
        """Whether content seems not to arrive in this guild."""
        return content_missing(self._empty.get(guild_id, 0))


class GuildReader(Protocol):
    """Reads a guild as the bot sees it (bot.adapters.doctor.DiscordGuildReader)."""

    def read(self, guild_id: int, config: GuildConfig,
             refs: Sequence[ServerRef]) -> GuildFacts | None:
        """The channels, roles and permissions part of the facts (None: not in the guild)."""


class ReportPoster(Protocol):
    """Posts a report to a mod-log channel (bot.adapters.doctor.DoctorReportPoster)."""

    async def post(self, guild_id: int, channel_id: int,
                   findings: Sequence[Finding]) -> PostOutcome:
        """"posted", "impossible" (no usable channel) or "failed" (worth retrying)."""


class DoctorService:
    """Gathers facts about a guild, diagnoses, records, and tells the mod log about changes."""

    def __init__(self, repository: DoctorRepository, settings: GuildSettingsService,
                 clock: Clock, *, reader: GuildReader, poster: ReportPoster) -> None:
        self.repository = repository
        self._settings = settings
        self._clock = clock
        self._reader = reader
        self._poster = poster
        self._probes: dict[str, Probe] = {}
        self._group_role_sources: dict[str, GroupRoleSource] = {}
        self._content = ContentWatch()
        self._locks: dict[int, asyncio.Lock] = {}

    def add_probe(self, name: str, probe: Probe) -> None:
        """Let a feature add findings (e.g. stuck queue items); replaced on reload."""
        self._probes[name] = probe

    def add_group_roles(self, name: str, source: GroupRoleSource) -> None:
        """Let a feature name roles Steward hands out: `source(guild_id) -> [(where, id)]`."""
        self._group_role_sources[name] = source

    async def _group_roles(self, guild_id: int) -> list[ServerRef]:
        refs: list[ServerRef] = []
        for name, source in list(self._group_role_sources.items()):
            try:
                refs.extend(ServerRef(where, "group_role", i) for where, i in
                            await source(guild_id))
            except Exception:
                log.exception("group-role source %s failed for guild %s", name, guild_id)
        return refs

    def observe_message(self, guild_id: int, empty: bool) -> bool:
        """Count a member message; True when the message-content verdict just changed."""
        return self._content.observe(guild_id, empty)

    def gather(self, guild_id: int, config: GuildConfig,
               group_roles: Sequence[ServerRef] = ()) -> GuildFacts | None:
        """The facts about a guild right now (None when the bot is not in it)."""
        facts = self._reader.read(guild_id, config, server_refs(config) + list(group_roles))
        if facts is None:
            return None
        return replace(
            facts,
            features=FeatureUse(
                linkhold=config.linkhold.enabled,
                repost_webhooks=config.repost.mode == "webhook",
                welcome=config.welcome.enabled,
            ),
            content_missing=self._content.missing(guild_id),
            moderator_roles_configured=bool(config.core.moderator_roles),
            mod_log_configured=config.core.mod_log_channel is not None,
            queue_configured=config.linkhold.queue_channel is not None,
        )

    async def _probe(self, guild_id: int) -> list[Finding]:
        found: list[Finding] = []
        for name, probe in list(self._probes.items()):
            try:
                found.extend(await probe(guild_id))
            except Exception:
                log.exception("doctor probe %s failed for guild %s", name, guild_id)
                found.append(Finding(
                    "probe.failed", name, Severity.WARNING,
                    tr("The {name} check could not run.", name=name),
                    tr("Look at Steward's logs for the error; it usually clears on its own."),
                ))
        return found

    async def _diagnose(self, guild_id: int) -> tuple[list[Finding], GuildConfig] | None:
        config = self._settings.get(guild_id)
        facts = self.gather(guild_id, config, await self._group_roles(guild_id))
        if facts is None:
            return None
        extra = await self._probe(guild_id)
        findings = diagnose(replace(facts, extra=tuple(extra)))
        await self.repository.save(guild_id, findings, fingerprint(findings), self._clock.now())
        return findings, config

    async def check_and_report(self, guild_id: int) -> list[Finding]:
        """Check, and post to the mod log when the findings differ from what it last told it.

        Findings that could not be posted (no usable mod-log channel) are remembered as
        unposted, so fixing them later doesn't announce an "all clear" nobody needed. A guild
        the bot is not in has no findings and nothing is recorded.
        """
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock:  # one check per guild at a time, so a change is reported once
            return await self._check_and_report(guild_id)

    async def _check_and_report(self, guild_id: int) -> list[Finding]:
        diagnosed = await self._diagnose(guild_id)
        if diagnosed is None:
            return []
        findings, config = diagnosed
        current = fingerprint(findings)
        run = await self.repository.last_run(guild_id)
        reported = run.reported_fingerprint if run else None
        unposted = reported is None or reported.startswith(UNPOSTED)
        if reported is not None and reported.removeprefix(UNPOSTED) == current:
            return findings
        now = self._clock.now()
        if not findings and unposted:
            await self.repository.mark_reported(guild_id, current, now)
            return findings
        # Post where the settings the findings came from say (not newer ones: their check
        # comes next and reports for itself).
        outcome = await self._post(guild_id, config, findings)
        if outcome == "posted":
            await self.repository.mark_reported(guild_id, current, now)
        elif outcome == "impossible":
            await self.repository.mark_reported(guild_id, UNPOSTED + current, now)
        return findings

    async def _post(self, guild_id: int, config: GuildConfig,
                    findings: list[Finding]) -> PostOutcome:
        channel_id = config.core.mod_log_channel
        if channel_id is None:
            return "impossible"
        outcome = await self._poster.post(guild_id, channel_id, findings)
        if outcome == "posted":
            log.info("doctor reported %d finding(s) for guild %s", len(findings), guild_id)
        return outcome
