"""Who may do what: the moderator and admin checks, and the bot's own permission table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import discord

from bot.domain.authority import Standing, power_role_refusal, unusable_power_role
from bot.errors import InvalidInput, NotAdmin, NotAllowedThere, NotFound, NotModerator
from bot.i18n import N_, tr
from config.guild import CoreSettings


@dataclass(frozen=True, slots=True)
class NeededPermission:
    """A Discord permission the bot needs, where, and why."""

    name: str  # discord.Permissions attribute
    label: str
    where: str
    why: str


PERMISSIONS: tuple[NeededPermission, ...] = (
    NeededPermission("view_channel", N_("View Channel"), N_("every channel it works in"),
                     N_("see posts to check new members' links and answers to follow-ups")),
    NeededPermission("send_messages", N_("Send Messages"),
                     N_("queue, mod-log, welcome and member channels"),
                     N_("queue held posts, welcome members, post reposts and follow-ups")),
    NeededPermission("send_messages_in_threads", N_("Send Messages in Threads"),
                     N_("forums and threads"),
                     N_("repost and tag original posters inside forum posts")),
    NeededPermission("embed_links", N_("Embed Links"), N_("queue and mod-log channels"),
                     N_("show held posts and audit entries as embeds")),
    NeededPermission("attach_files", N_("Attach Files"), N_("member channels, queue channel"),
                     N_("re-upload a held post's pictures when it is approved; preview them "
                     "(spoilered) on the queue card")),
    NeededPermission("read_message_history", N_("Read Message History"),
                     N_("every channel it works in"),
                     N_("catch up after downtime and see whether an original poster answered")),
    NeededPermission("manage_messages", N_("Manage Messages"), N_("member channels"),
                     N_("remove a new member's held link post from the channel")),
    NeededPermission("manage_webhooks", N_("Manage Webhooks"), N_("member channels"),
                     N_("repost in the member's own name and picture")),
    NeededPermission("manage_threads", N_("Manage Threads"), N_("forums"),
                     N_("remove held forum posts and post one check-in into an archived thread")),
    NeededPermission("manage_roles", N_("Manage Roles"), N_("server (support-group roles)"),
                     N_("give and remove the support-group roles members pick, and the trusted "
                     "role")),
    NeededPermission("manage_channels", N_("Manage Channels"), N_("server (setup only)"),
                     N_("create the queue and mod-log channels during /steward setup")),
    NeededPermission("manage_guild", N_("Manage Server"), "server",
                     N_("read Membership Screening and keep Steward's AutoMod rule")),
)


def required_permissions() -> discord.Permissions:
    """Every permission in the table, as one value (the README's invite link carries it)."""
    return discord.Permissions(**{p.name: True for p in PERMISSIONS})


def is_moderator(member: discord.Member | discord.User, core: CoreSettings,
                 permissions: discord.Permissions | None = None) -> bool:
    """Manage Messages (in `permissions`, else server-wide) or a configured moderator role.

    Authority to act *as a moderator* is always decided server-wide (`require_moderator`): a
    channel overwrite (a group leader's Manage Messages in their own channel) grants none.
    `permissions` is only for exemptions in one channel, e.g. whose posts are never held there.
    """
    if not isinstance(member, discord.Member):
        return False
    perms = permissions if permissions is not None else member.guild_permissions
    if perms.manage_messages or perms.administrator or member.guild.owner_id == member.id:
        return True
    moderator_roles = set(core.moderator_roles)
    return any(role.id in moderator_roles for role in member.roles)


def is_admin(member: discord.Member | discord.User) -> bool:
    """Manage Server or Administrator server-wide, or the owner."""
    if not isinstance(member, discord.Member):
        return False
    perms = member.guild_permissions
    return perms.manage_guild or perms.administrator or member.guild.owner_id == member.id


def require_moderator(interaction: discord.Interaction, core: CoreSettings) -> discord.Member:
    """The interacting member, if a moderator of the server; raises NotModerator otherwise.

    Decided from server-level permissions and roles, never `interaction.permissions` (those
    are the permissions in the channel where the command ran, overwrites included).
    """
    user = interaction.user
    if interaction.guild is None or not isinstance(user, discord.Member):
        raise NotModerator
    if not is_moderator(user, core):
        raise NotModerator
    return user


def require_admin(interaction: discord.Interaction) -> discord.Member:
    """The interacting member, if they have Manage Server server-wide; raises NotAdmin otherwise."""
    user = interaction.user
    if interaction.guild is None or not isinstance(user, discord.Member):
        raise NotAdmin
    if not is_admin(user):
        raise NotAdmin
    return user


MODERATOR_DEFAULT = discord.Permissions(manage_messages=True)
ADMIN_DEFAULT = discord.Permissions(manage_guild=True)


CANT_POST_THERE = (N_("You can't post in <#{channel}> yourself, so I won't post there for you. "
                   "Pick a channel where you can view and send messages, or ask an admin."))
CANT_SEE_QUESTION = (N_("You can't see and post in <#{channel}> yourself, so I won't tag anyone "
                     "there for you. Ask a moderator who can."))

Place = (discord.abc.GuildChannel | discord.Thread)


def may_post_in(member: discord.Member, channel: Place) -> bool:
    """Whether `member` can view `channel` and send in it (threads: send in threads)."""
    perms = channel.permissions_for(member)
    if isinstance(channel, discord.Thread):
        return perms.view_channel and perms.send_messages_in_threads
    return perms.view_channel and perms.send_messages


async def place_in(guild: discord.Guild, channel_id: int) -> Place | None:
    """The channel or thread with this id in `guild` (cached, else fetched), or None."""
    found = guild.get_channel_or_thread(channel_id)
    if found is not None:
        return found
    try:
        fetched = await guild.fetch_channel(channel_id)
    except (discord.NotFound, discord.Forbidden):
        return None
    return fetched if getattr(fetched, "guild", None) == guild else None


async def require_may_post(member: discord.Member, channel_id: int,
                           message: str = CANT_POST_THERE) -> None:
    """Refuse (kindly) unless the moderator could post in this channel themselves.

    A moderator acts with Steward's hands, never beyond their own: a channel denied to them
    (an admins-only channel) stays closed to what they do through Steward.
    """
    place = await place_in(member.guild, channel_id)
    if place is None:
        raise NotFound(tr("I couldn't find that channel any more."))
    if not may_post_in(member, place):
        raise NotAllowedThere(message.format(channel=channel_id))


CANT_PUBLISH_HOLD = (N_("This post was held in <#{channel}>, which you can't view or post in "
                     "yourself, so I won't publish it there for you. A moderator who can see "
                     "that channel can decide it."))


def cached_place(guild: discord.Guild, *channel_ids: int | None) -> Place | None:
    """The first of these channels or threads that is in the cache (None if none is)."""
    for channel_id in channel_ids:
        if channel_id is not None and (
                found := guild.get_channel_or_thread(channel_id)) is not None:
            return found
    return None


async def require_may_publish_hold(member: discord.Member, channel_id: int,
                                   parent_id: int | None, *, cached_only: bool = False) -> None:
    """Refuse unless the moderator could post where the held post was (or its parent).

    A held forum post's thread is gone once held, so the parent forum decides then; when
    neither can be found the check stands aside (publishing will say what is missing).
    """
    place = cached_place(member.guild, channel_id, parent_id)
    if place is None and not cached_only:
        for candidate in (channel_id, parent_id):
            if candidate is not None and (place := await place_in(member.guild, candidate)):
                break
    if place is not None and not may_post_in(member, place):
        raise NotAllowedThere(CANT_PUBLISH_HOLD.format(channel=place.id))


async def standing(moderator: discord.Member, target_id: int) -> Standing:
    """The role hierarchy between a moderator, a target (by id) and Steward, server-wide."""
    guild = moderator.guild
    target = guild.get_member(target_id)
    if target is None:
        try:
            target = await guild.fetch_member(target_id)
        except discord.NotFound:
            target = None
    return Standing(
        moderator_top=moderator.top_role.position,
        moderator_is_owner=guild.owner_id == moderator.id,
        target_top=target.top_role.position if target is not None else None,
        target_is_owner=guild.owner_id == target_id,
        steward_top=guild.me.top_role.position,
    )


def may_timeout(member: discord.Member) -> bool:
    """Timeout Members (or Administrator) server-wide: channel overwrites never grant it."""
    perms = member.guild_permissions
    return perms.moderate_members or perms.administrator


def may_ban(member: discord.Member) -> bool:
    """Ban Members (or Administrator) server-wide."""
    perms = member.guild_permissions
    return perms.ban_members or perms.administrator


class _HasGroups(Protocol):
    async def groups(self, guild_id: int) -> Sequence[_Group]: ...


class _Group(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def role_id(self) -> int | None: ...


class _Services(Protocol):
    @property
    def welcome(self) -> _HasGroups: ...


class _Steward(Protocol):
    @property
    def services(self) -> _Services: ...


async def refuse_power_role(bot: _Steward, guild_id: int, role: discord.Role) -> None:
    """Refuse to give Steward powers (moderator, exempt from holds) to @everyone, to an
    integration's own role, or to a support-group role (members give those to themselves)."""
    unusable = unusable_power_role(everyone=role.is_default(), managed=role.managed)
    if unusable:
        raise InvalidInput(tr("Pick an ordinary role: I can't give {role_name} Steward powers "
                              "({unusable}).", role_name=_role_name(role), unusable=unusable))
    groups = await bot.services.welcome.groups(guild_id)
    problem = power_role_refusal(role.id, [(g.name, g.role_id) for g in groups])
    if problem:
        raise InvalidInput(tr("I can't give {mention} Steward powers: {problem}",
                              mention=role.mention, problem=problem))


def _role_name(role: discord.Role) -> str:
    """@everyone's mention is the mass ping itself: name it plainly."""
    return "@everyone" if role.is_default() else role.mention
