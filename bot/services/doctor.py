"""The doctor: looks at a guild as the bot sees it, records findings, reports changes once.

Other features add optional probes (stuck queue items, failing reminders) with
`doctor.add_probe(name, probe)` where `probe(guild_id) -> list[Finding]`; the doctor works
without any.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace

import discord

from bot import messaging
from bot.clock import Clock
from bot.db.doctor import DoctorRepository
from bot.domain.doctor import (
    PERMISSION_LABELS,
    ChannelFacts,
    FeatureUse,
    Finding,
    GuildFacts,
    RoleFacts,
    Severity,
    StaffVisibility,
    content_missing,
    diagnose,
    fingerprint,
)
from bot.services.config_io import is_server_field
from bot.services.guild_settings import GuildSettingsService
from config.guild import GuildConfig

log = logging.getLogger(__name__)

Probe = Callable[[int], Awaitable[list[Finding]]]
GroupRoleSource = Callable[[int], Awaitable[list[tuple[str, int]]]]

STAFF_SETTINGS = ("core.mod_log_channel", "linkhold.queue_channel")
MAX_REPORTED = 15
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


def _kind(channel: object) -> str:
    if isinstance(channel, discord.TextChannel):
        return "news" if channel.is_news() else "text"
    if isinstance(channel, discord.ForumChannel):
        return "forum"
    if isinstance(channel, discord.VoiceChannel | discord.StageChannel):
        return "voice"
    if isinstance(channel, discord.CategoryChannel):
        return "category"
    if isinstance(channel, discord.Thread):
        return "thread"
    return "other"


def granted(permissions: discord.Permissions) -> frozenset[str]:
    """The permissions of interest that are allowed."""
    return frozenset(name for name in PERMISSION_LABELS if getattr(permissions, name, False))


class ContentWatch:
    """Counts member messages arriving empty in a row, per guild (message content intent)."""

    def __init__(self) -> None:
        self._empty: dict[int, int] = {}

    @staticmethod
    def looks_empty(message: discord.Message) -> bool:
        """An ordinary member message with no text, files, embeds, stickers or poll."""
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return False
        return not (message.content or message.attachments or message.embeds
                    or message.stickers or message.poll)

    def observe(self, message: discord.Message) -> bool:
        """Count `message`; True when the verdict for its guild just changed."""
        if message.guild is None:
            return False
        guild_id = message.guild.id
        before = content_missing(self._empty.get(guild_id, 0))
        if self.looks_empty(message):
            self._empty[guild_id] = self._empty.get(guild_id, 0) + 1
        else:
            self._empty[guild_id] = 0
        return content_missing(self._empty[guild_id]) != before

    def missing(self, guild_id: int) -> bool:
        """Whether content seems not to arrive in this guild."""
        return content_missing(self._empty.get(guild_id, 0))


class DoctorService:
    """Gathers facts about a guild, diagnoses, records, and tells the mod log about changes."""

    def __init__(self, repository: DoctorRepository, settings: GuildSettingsService,
                 clock: Clock) -> None:
        self.repository = repository
        self._settings = settings
        self._clock = clock
        self._probes: dict[str, Probe] = {}
        self._group_role_sources: dict[str, GroupRoleSource] = {}
        self.content = ContentWatch()
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

    def gather(self, guild: discord.Guild, config: GuildConfig,
               group_roles: list[ServerRef] | None = None) -> GuildFacts:
        """The facts about `guild`, as the bot sees it right now."""
        me = guild.me
        channels: list[ChannelFacts] = []
        roles: list[RoleFacts] = []
        groups: list[RoleFacts] = []
        refs = server_refs(config) + list(group_roles or ())
        for ref in refs:
            if ref.kind == "channel":
                channel = guild.get_channel_or_thread(ref.id)
                if channel is None:
                    channels.append(ChannelFacts(ref.setting, ref.id, exists=False))
                else:
                    channels.append(ChannelFacts(ref.setting, ref.id, True, _kind(channel),
                                                 granted(channel.permissions_for(me))))
            else:
                role = guild.get_role(ref.id)
                facts = RoleFacts(ref.setting, ref.id, role is not None,
                                  role.position if role else 0,
                                  bool(role and role.managed))
                (groups if ref.kind == "group_role" else roles).append(facts)
        features = FeatureUse(
            linkhold=config.linkhold.enabled,
            repost_webhooks=config.repost.mode == "webhook",
            welcome=config.welcome.enabled,
        )
        return GuildFacts(
            channels=tuple(channels),
            roles=tuple(roles),
            group_roles=tuple(groups),
            member_channels=tuple(self._member_channels(guild, config))
            if features.linkhold else (),
            bot_top_role_position=me.top_role.position,
            bot_guild_permissions=granted(me.guild_permissions),
            features=features,
            content_missing=self.content.missing(guild.id),
            moderator_roles_configured=bool(config.core.moderator_roles),
            staff_visibility=tuple(self._staff_visibility(guild, config)),
            mod_log_configured=config.core.mod_log_channel is not None,
            queue_configured=config.linkhold.queue_channel is not None,
        )

    @staticmethod
    def _staff_visibility(guild: discord.Guild, config: GuildConfig
                          ) -> Iterator[StaffVisibility]:
        """For the queue and mod log: the moderator roles that can't view them (the configured
        ones; without any, the Manage Messages roles that are not admins or bots' own)."""
        configured = set(config.core.moderator_roles)
        if configured:
            mod_roles = [r for r in guild.roles if r.id in configured
                         and not r.permissions.administrator]
        else:
            mod_roles = [r for r in guild.roles if r.permissions.manage_messages
                         and not r.permissions.administrator and not r.managed
                         and not r.is_default()]
        for setting, channel_id in (("linkhold.queue_channel", config.linkhold.queue_channel),
                                    ("core.mod_log_channel", config.core.mod_log_channel)):
            channel = guild.get_channel(channel_id) if channel_id else None
            if channel is None or channel_id is None:
                continue
            unseen = tuple(r.id for r in mod_roles if not channel.permissions_for(r).view_channel)
            yield StaffVisibility(setting, channel_id, unseen)

    @staticmethod
    def _member_channels(guild: discord.Guild, config: GuildConfig) -> Iterator[ChannelFacts]:
        """Channels where everyone may post and Steward can see (it acts on posts there)."""
        skip = set(config.linkhold.ignored_channels)
        skip.update(c for c in (config.core.mod_log_channel, config.linkhold.queue_channel) if c)
        everyone = guild.default_role
        for channel in guild.channels:
            if channel.id in skip or not isinstance(
                    channel, discord.TextChannel | discord.ForumChannel):
                continue
            public = channel.permissions_for(everyone)
            can_post = public.send_messages_in_threads if isinstance(
                channel, discord.ForumChannel) else public.send_messages
            mine = channel.permissions_for(guild.me)
            if public.view_channel and can_post and mine.view_channel:
                yield ChannelFacts("member", channel.id, True, _kind(channel), granted(mine))

    async def _probe(self, guild_id: int) -> list[Finding]:
        found: list[Finding] = []
        for name, probe in list(self._probes.items()):
            try:
                found.extend(await probe(guild_id))
            except Exception:
                log.exception("doctor probe %s failed for guild %s", name, guild_id)
                found.append(Finding(
                    "probe.failed", name, Severity.WARNING,
                    f"The {name} check could not run.",
                    "Look at Steward's logs for the error; it usually clears on its own.",
                ))
        return found

    async def check(self, guild: discord.Guild) -> list[Finding]:
        """Diagnose a guild and record the findings (for `/steward doctor` and the CLI)."""
        return (await self._diagnose(guild))[0]

    async def _diagnose(self, guild: discord.Guild) -> tuple[list[Finding], GuildConfig]:
        config = self._settings.get(guild.id)
        facts = self.gather(guild, config, await self._group_roles(guild.id))
        extra = await self._probe(guild.id)
        findings = diagnose(replace(facts, extra=tuple(extra)))
        await self.repository.save(guild.id, findings, fingerprint(findings), self._clock.now())
        return findings, config

    async def check_and_report(self, guild: discord.Guild) -> list[Finding]:
        """Check, and post to the mod log when the findings differ from what it last told it.

        Findings that could not be posted (no usable mod-log channel) are remembered as
        unposted, so fixing them later doesn't announce an "all clear" nobody needed.
        """
        lock = self._locks.setdefault(guild.id, asyncio.Lock())
        async with lock:  # one check per guild at a time, so a change is reported once
            return await self._check_and_report(guild)

    async def _check_and_report(self, guild: discord.Guild) -> list[Finding]:
        findings, config = await self._diagnose(guild)
        current = fingerprint(findings)
        run = await self.repository.last_run(guild.id)
        reported = run.reported_fingerprint if run else None
        unposted = reported is None or reported.startswith(UNPOSTED)
        if reported is not None and reported.removeprefix(UNPOSTED) == current:
            return findings
        now = self._clock.now()
        if not findings and unposted:
            await self.repository.mark_reported(guild.id, current, now)
            return findings
        # Post where the settings the findings came from say (not newer ones: their check
        # comes next and reports for itself).
        outcome = await self._post(guild, config, findings)
        if outcome == "posted":
            await self.repository.mark_reported(guild.id, current, now)
        elif outcome == "impossible":
            await self.repository.mark_reported(guild.id, UNPOSTED + current, now)
        return findings

    async def _post(self, guild: discord.Guild, config: GuildConfig,
                    findings: list[Finding]) -> str:
        """Post the report: "posted", "impossible" (no usable channel) or "failed" (retry)."""
        channel_id = config.core.mod_log_channel
        channel = guild.get_channel(channel_id) if channel_id else None
        if not isinstance(channel, discord.TextChannel):
            return "impossible"
        perms = channel.permissions_for(guild.me)
        if not (perms.view_channel and perms.send_messages and perms.embed_links):
            return "impossible"
        try:
            await messaging.send(channel, embeds=[render_report(findings, changed=True)])
        except discord.Forbidden:
            return "impossible"
        except discord.HTTPException as exc:
            log.warning("could not post the doctor report to guild %s: %s", guild.id, exc.status)
            return "failed"
        log.info("doctor reported %d finding(s) for guild %s", len(findings), guild.id)
        return "posted"


def render_report(findings: list[Finding], *, changed: bool = False) -> discord.Embed:
    """One embed listing findings with their fixes (or an all-clear)."""
    if not findings:
        return discord.Embed(
            title="Steward doctor: all clear",
            description="Everything Steward needs is in place."
            + (" The problems reported earlier are fixed." if changed else ""),
            colour=discord.Colour.green(),
        )
    problems = sum(1 for f in findings if f.severity is Severity.PROBLEM)
    title = f"Steward doctor: {problems} problem(s), {len(findings) - problems} warning(s)"
    embed = discord.Embed(
        title=title,
        colour=discord.Colour.red() if problems else discord.Colour.gold(),
        description="Each item says what is wrong and exactly how to fix it. "
        "Run `/steward doctor` again after fixing.",
    )
    for finding in findings[:MAX_REPORTED]:
        icon = "❌" if finding.severity is Severity.PROBLEM else "⚠️"
        embed.add_field(name=f"{icon} {finding.code}",
                        value=f"{finding.message}\n**Fix:** {finding.fix}", inline=False)
    if len(findings) > MAX_REPORTED:
        embed.set_footer(text=f"and {len(findings) - MAX_REPORTED} more: run /steward doctor")
    return embed
