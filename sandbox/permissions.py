"""Discord's permission algorithm (base permissions, then channel overwrites).

Implements https://discord.com/developers/docs/topics/permissions#permission-overwrites:

1. guild owner -> everything;
2. base = @everyone role | every role of the member; ADMINISTRATOR -> everything;
3. channel overwrites in order: @everyone, all of the member's roles (deny then allow,
   combined), then the member-specific overwrite;
4. threads use their parent channel's overwrites; a member timed out keeps only
   VIEW_CHANNEL and READ_MESSAGE_HISTORY; without VIEW_CHANNEL nothing else applies.

Permission names are discord.py's (``discord.Permissions.VALID_FLAGS``), e.g.
``"send_messages"``, ``"manage_messages"``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import discord

from sandbox.models import Channel, Guild, Member

ALL = discord.Permissions.all().value
ADMINISTRATOR = discord.Permissions(administrator=True).value
VIEW_CHANNEL = discord.Permissions(view_channel=True).value
READ_HISTORY = discord.Permissions(read_message_history=True).value


def bits(*names: str) -> int:
    """Permission bits for discord.py permission names (``bits("send_messages")``)."""
    value = 0
    for name in names:
        try:
            value |= discord.Permissions.VALID_FLAGS[name]
        except KeyError:
            raise ValueError(f"unknown permission name {name!r}") from None
    return value


def to_int(perms: discord.Permissions | int | Iterable[str] | None) -> int:
    """Accept discord.Permissions, an int, or permission names."""
    if perms is None:
        return 0
    if isinstance(perms, discord.Permissions):
        return perms.value
    if isinstance(perms, int):
        return perms
    return bits(*perms)


def has(value: int, *names: str) -> bool:
    """True when every named permission is in ``value``."""
    need = bits(*names)
    return value & need == need


def base_permissions(guild: Guild, member: Member) -> int:
    """Guild-level permissions of a member (roles only)."""
    if member.id == guild.owner_id:
        return ALL
    value = guild.everyone.permissions
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            value |= role.permissions
    if value & ADMINISTRATOR:
        return ALL
    return value


def channel_permissions(
    guild: Guild,
    member: Member,
    channel: Channel,
    now: dt.datetime | None = None,
) -> int:
    """Effective permissions of ``member`` in ``channel`` (threads use their parent)."""
    value = base_permissions(guild, member)
    if value == ALL:
        return ALL
    target = channel
    if channel.is_thread and channel.parent_id is not None:
        target = guild.channels.get(channel.parent_id, channel)
    overwrites = target.overwrites
    everyone = overwrites.get(guild.id)
    if everyone is not None:
        value &= ~everyone.deny
        value |= everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        ow = overwrites.get(role_id)
        if ow is not None and ow.type == 0:
            allow |= ow.allow
            deny |= ow.deny
    value &= ~deny
    value |= allow
    own = overwrites.get(member.id)
    if own is not None and own.type == 1:
        value &= ~own.deny
        value |= own.allow
    if (
        now is not None
        and member.communication_disabled_until is not None
        and member.communication_disabled_until > now
    ):
        value &= VIEW_CHANNEL | READ_HISTORY
    if not value & VIEW_CHANNEL:
        return 0
    return value


def top_role_position(guild: Guild, member: Member) -> int:
    """Highest role position of a member (owner counts as infinitely high)."""
    if member.id == guild.owner_id:
        return 1 << 30
    return max((guild.roles[r].position for r in member.roles if r in guild.roles), default=0)
