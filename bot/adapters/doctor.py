"""The doctor on Discord: a guild as the bot sees it -> the doctor's facts; reports -> mod log.

One builder per kind of fact (configured channels, roles, channels where members post, staff
visibility); `DiscordGuildReader.read` puts them together for `bot.services.doctor`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Protocol

import discord

from bot import messaging
from bot.domain.doctor import (
    PERMISSION_LABELS,
    ChannelFacts,
    Finding,
    GuildFacts,
    RoleFacts,
    StaffVisibility,
)
from bot.services.doctor import PostOutcome, ServerRef
from bot.ui.doctor import render_report
from bot.ui.language import speaking_server
from config.guild import GuildConfig

log = logging.getLogger(__name__)

StaffChannel = tuple[str, int | None]


class GuildLookup(Protocol):
    """The bot's guild cache (a `discord.Client`)."""

    def get_guild(self, id: int, /) -> discord.Guild | None:
        """A cached guild."""


def channel_kind(channel: object) -> str:
    """The doctor's name for a channel's type."""
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


def looks_empty(message: discord.Message) -> bool:
    """An ordinary member message with no text, files, embeds, stickers or poll."""
    if message.type not in (discord.MessageType.default, discord.MessageType.reply):
        return False
    return not (message.content or message.attachments or message.embeds
                or message.stickers or message.poll)


def channel_facts(guild: discord.Guild, ref: ServerRef) -> ChannelFacts:
    """A configured channel: whether it exists, its kind, and what Steward may do there."""
    channel = guild.get_channel_or_thread(ref.id)
    if channel is None:
        return ChannelFacts(ref.setting, ref.id, exists=False)
    return ChannelFacts(ref.setting, ref.id, True, channel_kind(channel),
                        granted(channel.permissions_for(guild.me)))


def role_facts(guild: discord.Guild, ref: ServerRef) -> RoleFacts:
    """A configured role: whether it exists, its position, whether an integration owns it,
    and whether it is @everyone."""
    role = guild.get_role(ref.id)
    return RoleFacts(ref.setting, ref.id, role is not None, role.position if role else 0,
                     bool(role and role.managed), everyone=bool(role and role.is_default()))


def member_channel_facts(guild: discord.Guild, skip: set[int]) -> Iterator[ChannelFacts]:
    """Channels where everyone may post and Steward can see (it acts on posts there)."""
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
            yield ChannelFacts("member", channel.id, True, channel_kind(channel), granted(mine))


def staff_visibility(guild: discord.Guild, moderator_roles: Sequence[int],
                     staff_channels: Sequence[StaffChannel]) -> Iterator[StaffVisibility]:
    """For the queue and mod log: the moderator roles that can't view them (the configured
    ones; without any, the Manage Messages roles that are not admins or bots' own)."""
    configured = set(moderator_roles)
    if configured:
        # @everyone and integration roles get their own finding (role.unusable_power)
        mod_roles = [r for r in guild.roles if r.id in configured
                     and not r.permissions.administrator
                     and not r.managed and not r.is_default()]
    else:
        mod_roles = [r for r in guild.roles if r.permissions.manage_messages
                     and not r.permissions.administrator and not r.managed
                     and not r.is_default()]
    for setting, channel_id in staff_channels:
        channel = guild.get_channel(channel_id) if channel_id else None
        if channel is None or channel_id is None:
            continue
        unseen = tuple(r.id for r in mod_roles if not channel.permissions_for(r).view_channel)
        yield StaffVisibility(setting, channel_id, unseen)


class DiscordGuildReader:
    """Reads a guild from the bot's cache into `GuildFacts` (the doctor's `GuildReader`)."""

    def __init__(self, guilds: GuildLookup) -> None:
        self._guilds = guilds

    def read(self, guild_id: int, config: GuildConfig,
             refs: Sequence[ServerRef]) -> GuildFacts | None:
        """The Discord side of the facts (None when the bot is not in the guild)."""
        guild = self._guilds.get_guild(guild_id)
        if guild is None:
            return None
        channels = [channel_facts(guild, r) for r in refs if r.kind == "channel"]
        roles = [role_facts(guild, r) for r in refs if r.kind == "role"]
        groups = [role_facts(guild, r) for r in refs if r.kind == "group_role"]
        member_channels: tuple[ChannelFacts, ...] = ()
        if config.linkhold.enabled:
            skip = set(config.linkhold.ignored_channels)
            skip.update(c for c in (config.core.mod_log_channel,
                                    config.linkhold.queue_channel) if c)
            member_channels = tuple(member_channel_facts(guild, skip))
        staff = (("linkhold.queue_channel", config.linkhold.queue_channel),
                 ("core.mod_log_channel", config.core.mod_log_channel))
        return GuildFacts(
            channels=tuple(channels),
            roles=tuple(roles),
            group_roles=tuple(groups),
            member_channels=member_channels,
            bot_top_role_position=guild.me.top_role.position,
            bot_guild_permissions=granted(guild.me.guild_permissions),
            staff_visibility=tuple(staff_visibility(guild, config.core.moderator_roles, staff)),
        )


class DoctorReportPoster:
    """Posts the doctor's report to the mod-log channel (the doctor's `ReportPoster`)."""

    def __init__(self, guilds: GuildLookup) -> None:
        self._guilds = guilds

    async def post(self, guild_id: int, channel_id: int,
                   findings: Sequence[Finding]) -> PostOutcome:
        """"posted", "impossible" (no usable channel) or "failed" (worth retrying)."""
        guild = self._guilds.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild is not None else None
        if guild is None or not isinstance(channel, discord.TextChannel):
            return "impossible"
        perms = channel.permissions_for(guild.me)
        if not (perms.view_channel and perms.send_messages and perms.embed_links):
            return "impossible"
        try:
            with speaking_server(self._guilds, guild_id):
                report = render_report(findings, changed=True)
            await messaging.send(channel, embeds=[report])
        except discord.Forbidden:
            return "impossible"
        except discord.HTTPException as exc:
            log.warning("could not post the doctor report to guild %s: %s", guild_id, exc.status)
            return "failed"
        return "posted"
