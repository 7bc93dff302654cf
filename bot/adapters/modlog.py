"""The mod-log channel: posts audit entries (and the doctor's reports) where a guild says."""

from __future__ import annotations

import logging
from typing import Protocol

import discord

from bot import messaging
from bot.domain.audit import AuditEntry, goes_to_mod_log
from bot.i18n import speaking
from bot.ui.audit import mod_log_embed
from bot.ui.language import server_language
from config.guild import GuildConfig

log = logging.getLogger(__name__)

Channel = discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel


class ChannelLookup(Protocol):
    """The bot's channel cache (a `discord.Client`)."""

    def get_channel(self, id: int, /) -> Channel | None:
        """A cached channel or thread."""


class GuildSettings(Protocol):
    """A guild's current settings (bot.services.guild_settings)."""

    def get(self, guild_id: int) -> GuildConfig:
        """The guild's settings."""


class ModLogPoster:
    """Posts an audit entry to its guild's mod-log channel, when one is set and reachable."""

    def __init__(self, channels: ChannelLookup, settings: GuildSettings) -> None:
        self._channels = channels
        self._settings = settings

    async def post(self, entry: AuditEntry) -> None:
        """Post `entry` (the audit service's mod-log sink)."""
        core = self._settings.get(entry.guild_id).core
        channel_id = core.mod_log_channel
        if channel_id is None or not goes_to_mod_log(entry.action, core.mod_log_events):
            return
        channel = self._channels.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            log.warning("mod-log channel %s of guild %s is missing", channel_id, entry.guild_id)
            return
        try:
            with speaking(server_language(self._settings.get(entry.guild_id).core.language,
                                          channel.guild)):
                embed = mod_log_embed(entry)
            await messaging.send(channel, embeds=[embed])
        except discord.HTTPException as exc:
            log.warning("could not post to mod-log channel %s: %s", channel_id, exc.code)
