"""Welcomes on Discord: discord.py objects -> welcome facts, and the welcome's REST calls.

One builder per kind of fact (`member_facts`, `guild_facts`, `message_facts`, `role_facts`);
`DiscordWelcome` implements the service's `WelcomeDiscord` port (cached reads, posts, DMs,
role changes), and `suggest` is the router handler that replies with a group pointer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import discord

from bot import messaging
from bot.adapters.scheduler import classify_discord_error
from bot.domain.welcome import RoleFacts
from bot.domain.welcome_facts import GuildFacts, MemberFacts, MessageFacts
from bot.errors import InvalidInput
from bot.i18n import tr
from bot.permissions import is_moderator
from bot.services.scheduler import RetryLater
from bot.services.welcome import WelcomeService
from bot.services.welcome_ports import Posted, RolesRefused, SendFailed, Settings
from config.guild import CoreSettings

log = logging.getLogger(__name__)

# Builds the "Find your support group" button row for a guild (bot/ui/welcome.py).
ViewFactory = Callable[[int], discord.ui.View]

HISTORY_WINDOW = 100  # recent messages searched for a welcome that may have landed
CLOCK_SLACK = timedelta(seconds=5)  # Discord's clock vs ours, for the history search


# --- facts


def member_facts(member: discord.Member, core: CoreSettings) -> MemberFacts:
    """A member as the welcome rules see them."""
    guild = member.guild
    return MemberFacts(
        guild_id=guild.id, id=member.id, display_name=member.display_name,
        is_bot=member.bot, joined_at=member.joined_at, pending=bool(member.pending),
        did_rejoin=member.flags.did_rejoin,
        onboarding_started=member.flags.started_onboarding,
        onboarding_completed=member.flags.completed_onboarding,
        role_ids=frozenset(r.id for r in member.roles),
        top_role_position=member.top_role.position,
        is_owner=guild.owner_id == member.id,
        is_moderator=is_moderator(member, core),
    )


def guild_facts(guild: discord.Guild) -> GuildFacts:
    """A server as the welcome rules see it."""
    me = guild.me
    return GuildFacts(
        id=guild.id, name=guild.name, member_count=guild.member_count or len(guild.members),
        system_channel_id=guild.system_channel.id if guild.system_channel else None,
        bot_top_position=me.top_role.position if me else 0, owner_id=guild.owner_id)


def message_facts(message: discord.Message) -> MessageFacts | None:
    """A member's post in a server, or None (DMs, webhooks, users no longer members)."""
    guild = message.guild
    author = message.author
    if guild is None or not isinstance(author, discord.Member):
        return None
    channel = message.channel
    return MessageFacts(guild.id, channel.id, getattr(channel, "parent_id", None), message.id,
                        message.content, author.id, author.joined_at)


def role_facts(role: discord.Role) -> RoleFacts:
    """A role as the safety rules see it."""
    return RoleFacts(role.id, role.position, role.permissions.value, role.managed,
                     role.is_default())


def group_channel_id(channel: discord.abc.GuildChannel) -> int:
    """Where a group meets: a text channel or a forum, else InvalidInput."""
    if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
        raise InvalidInput(tr("A group meets in a text channel or a forum."))
    return channel.id


def send_failed(exc: discord.HTTPException) -> SendFailed:
    """A Discord error as the welcome service sees it: forbidden, transient, or neither."""
    return SendFailed(exc.status, exc.code, forbidden=isinstance(exc, discord.Forbidden),
                      transient=isinstance(classify_discord_error(exc), RetryLater))


# --- the port


class DiscordWelcome:
    """The welcome service's view of Discord (implements `WelcomeDiscord`)."""

    def __init__(self, client: discord.Client, settings: Settings,
                 view: ViewFactory | None = None) -> None:
        self._client = client
        self._settings = settings
        self._view = view

    def _member(self, guild_id: int, member_id: int) -> discord.Member | None:
        guild = self._client.get_guild(guild_id)
        return guild.get_member(member_id) if guild is not None else None

    def _extra(self, guild_id: int) -> dict[str, Any]:
        return {"view": self._view(guild_id)} if self._view is not None else {}

    def guild_ids(self) -> list[int]:
        """The servers Steward is in."""
        return [g.id for g in self._client.guilds]

    def guild(self, guild_id: int) -> GuildFacts | None:
        """A server Steward is in, or None."""
        guild = self._client.get_guild(guild_id)
        return guild_facts(guild) if guild is not None else None

    def member(self, guild_id: int, member_id: int) -> MemberFacts | None:
        """A member's current state, or None when they are not in the server."""
        member = self._member(guild_id, member_id)
        if member is None:
            return None
        return member_facts(member, self._settings.get(guild_id).core)

    def has_member(self, guild_id: int, member_id: int) -> bool:
        """True while the member is in the server."""
        return self._member(guild_id, member_id) is not None

    def joined_since(self, guild_id: int, since: datetime) -> list[MemberFacts]:
        """Members who joined after `since`."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return []
        core = self._settings.get(guild_id).core
        return [member_facts(m, core) for m in guild.members
                if m.joined_at is not None and m.joined_at > since]

    def is_text_channel(self, guild_id: int, channel_id: int) -> bool:
        """True when the channel exists in that server and is a text channel."""
        guild = self._client.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild is not None else None
        return isinstance(channel, discord.TextChannel)

    def role(self, guild_id: int, role_id: int) -> RoleFacts | None:
        """A role of the server, or None when it is gone."""
        guild = self._client.get_guild(guild_id)
        role = guild.get_role(role_id) if guild is not None else None
        return role_facts(role) if role is not None else None

    async def post_welcome(self, guild_id: int, channel_id: int, text: str,
                           ping: Sequence[int]) -> Posted:
        """Post a welcome with the picker button, pinging exactly `ping`."""
        guild = self._client.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild is not None else None
        if not isinstance(channel, discord.TextChannel):
            raise SendFailed(404, 10003, forbidden=False)  # Unknown Channel
        try:
            message = await messaging.send(channel, text,
                                           allowed_mentions=messaging.ping_only(*ping),
                                           **self._extra(guild_id))
        except discord.HTTPException as exc:
            raise send_failed(exc) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise SendFailed(0, 0, forbidden=False, transient=True) from exc
        return Posted(channel.id, message.id, message.jump_url)

    async def find_welcome(self, guild_id: int, channel_id: int, member_id: int,
                           since: datetime) -> Posted | None:
        """Steward's welcome mentioning the member in the channel since `since`, if any."""
        guild = self._client.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild is not None else None
        me = self._client.user
        if not isinstance(channel, discord.TextChannel) or me is None:
            return None
        after = discord.Object(discord.utils.time_snowflake(since - CLOCK_SLACK))
        try:
            async for message in channel.history(limit=HISTORY_WINDOW, after=after):
                if message.author.id == me.id and (
                        member_id in message.raw_mentions
                        or any(u.id == member_id for u in message.mentions)):
                    return Posted(channel.id, message.id, message.jump_url)
        except discord.HTTPException as exc:
            log.warning("could not read channel %s to look for a welcome: %s", channel_id,
                        exc.code)
            raise send_failed(exc) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise SendFailed(0, 0, forbidden=False, transient=True) from exc
        return None

    async def dm_welcome(self, guild_id: int, member_id: int, text: str) -> bool:
        """DM the welcome; False (logged) when the member doesn't accept DMs."""
        member = self._member(guild_id, member_id)
        if member is None:
            return False
        try:
            await messaging.send(member, text, **self._extra(guild_id))
        except discord.Forbidden:
            log.info("member %s of guild %s does not accept DMs; welcome DM skipped",
                     member_id, guild_id)
            return False
        except discord.HTTPException as exc:
            log.warning("welcome DM to member %s failed: %s", member_id, exc.code)
            return False
        return True

    async def change_roles(self, guild_id: int, member_id: int, add: Sequence[int],
                           remove: Sequence[int]) -> None:
        """Give and take group roles; RolesRefused when Discord says no."""
        if not add and not remove:
            return
        guild = self._client.get_guild(guild_id)
        if guild is None:
            raise InvalidInput(tr("I can't see that server right now."))
        member = guild.get_member(member_id) or await guild.fetch_member(member_id)
        try:
            if add:
                await member.add_roles(*(discord.Object(r) for r in add),
                                       reason=tr("support group picked"))
            if remove:
                await member.remove_roles(*(discord.Object(r) for r in remove),
                                          reason=tr("support group unpicked"))
        except discord.Forbidden as exc:
            raise RolesRefused(exc.code) from exc


# --- the router handler


async def suggest(service: WelcomeService, message: discord.Message) -> bool:
    """Point a newcomer's on-topic post to its group, once per group (never consumes it)."""
    facts = message_facts(message)
    if facts is None:
        return False
    text = await service.directory.suggest(facts)
    if text is None:
        return False
    try:
        await messaging.send(message.channel, text,
                             reference=message.to_reference(fail_if_not_exists=False),
                             mention_author=False)
    except discord.HTTPException as exc:
        log.warning("group suggestion in channel %s failed: %s", message.channel.id, exc.code)
    return False
