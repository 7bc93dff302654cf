"""The sandbox's data model: plain dataclasses for what Discord stores.

Objects are mutable and compared by identity; ids are real-looking snowflakes. Tests get
these objects back from the scenario API (``sb.add_member`` returns a :class:`Member`,
``sb.post`` a :class:`Message`, ...) and may read any field. They should change state only
through the :class:`~sandbox.Sandbox` methods so the matching gateway events are sent.

Wire serialisation that needs no cross-references lives here (``to_wire``); anything that
needs lookups across the world (messages with their author's member, guild payloads) lives in
:mod:`sandbox.wire`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from sandbox.clock import iso


class ChannelType(IntEnum):
    """Channel types used by the sandbox (Discord's numbers)."""

    TEXT = 0
    DM = 1
    CATEGORY = 4
    NEWS = 5
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    FORUM = 15


THREAD_TYPES = {ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD}


class MessageFlags:
    """Message flag bits."""

    CROSSPOSTED = 1 << 0
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class MemberFlags:
    """Guild member flag bits."""

    DID_REJOIN = 1 << 0
    COMPLETED_ONBOARDING = 1 << 1
    BYPASSES_VERIFICATION = 1 << 2
    STARTED_ONBOARDING = 1 << 3


@dataclass(eq=False)
class User:
    """A Discord user (members wrap one)."""

    id: int
    username: str
    bot: bool = False
    avatar: str | None = None
    global_name: str | None = None
    dm_closed: bool = False
    locale: str = "en-US"  # the Discord client's language, sent with each interaction

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass(eq=False)
class Role:
    """A guild role. ``permissions`` is the integer bit set."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    @property
    def is_everyone(self) -> bool:
        return self.id == self.guild_id

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None,
                       "tertiary_color": None},
            "hoist": self.hoist,
            "mentionable": self.mentionable,
            "managed": self.managed,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            out["tags"] = {"bot_id": str(self.bot_id)}
        return out


@dataclass(eq=False)
class Member:
    """A user's membership in a guild. ``roles`` holds role ids (never @everyone)."""

    guild_id: int
    user: User
    joined_at: dt.datetime
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    pending: bool = False
    flags: int = 0
    communication_disabled_until: dt.datetime | None = None
    avatar: str | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def mention(self) -> str:
        return f"<@{self.user.id}>"

    def to_wire(self, *, with_user: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "joined_at": iso(self.joined_at),
            "nick": self.nick,
            "avatar": self.avatar,
            "deaf": False,
            "mute": False,
            "pending": self.pending,
            "flags": self.flags,
            "premium_since": None,
            "communication_disabled_until": iso(self.communication_disabled_until),
        }
        if with_user:
            out["user"] = self.user.to_wire()
        return out


@dataclass(eq=False)
class Overwrite:
    """A channel permission overwrite (type 0 = role, 1 = member)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow),
                "deny": str(self.deny)}


@dataclass(eq=False)
class Channel:
    """A guild channel, category, forum, thread, or DM channel."""

    id: int
    type: ChannelType
    name: str | None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    # threads
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: dt.datetime | None = None
    applied_tags: list[int] = field(default_factory=list)
    thread_members: set[int] = field(default_factory=set)
    message_count: int = 0
    created_at: dt.datetime | None = None
    # DMs
    recipient: User | None = None
    deleted: bool = False
    last_message_id: int | None = None  # newest message posted (Discord keeps it after deletes)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def is_dm(self) -> bool:
        return self.type == ChannelType.DM

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def tag_id(self, name_or_id: str | int) -> int:
        """Resolve a forum tag by name (or pass an id through)."""
        if isinstance(name_or_id, int):
            return name_or_id
        for tag in self.available_tags:
            if tag["name"] == name_or_id:
                return int(tag["id"])
        raise KeyError(f"forum {self.name!r} has no tag {name_or_id!r}")

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": str(self.id), "type": int(self.type), "flags": 0,
                               "last_message_id": str(self.last_message_id)
                               if self.last_message_id else None}
        if self.is_dm:
            out["recipients"] = [self.recipient.to_wire()] if self.recipient else []
            return out
        out.update(
            guild_id=str(self.guild_id),
            name=self.name,
            position=self.position,
            parent_id=str(self.parent_id) if self.parent_id else None,
            nsfw=self.nsfw,
            rate_limit_per_user=self.rate_limit_per_user,
        )
        if self.is_thread:
            out.update(
                owner_id=str(self.owner_id) if self.owner_id else None,
                message_count=self.message_count,
                member_count=len(self.thread_members),
                total_message_sent=self.message_count,
                applied_tags=[str(t) for t in self.applied_tags],
                thread_metadata={
                    "archived": self.archived,
                    "locked": self.locked,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(self.archive_timestamp or self.created_at),
                    "create_timestamp": iso(self.created_at),
                    "invitable": True,
                },
            )
            return out
        out["permission_overwrites"] = [o.to_wire() for o in self.overwrites.values()]
        if self.type in (ChannelType.TEXT, ChannelType.NEWS, ChannelType.FORUM):
            out["topic"] = self.topic
        if self.type == ChannelType.FORUM:
            out.update(
                available_tags=self.available_tags,
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        return out


@dataclass(eq=False)
class Attachment:
    """An uploaded file; its bytes are served at ``url`` until the message is deleted."""

    id: int
    filename: str
    data: bytes
    url: str
    content_type: str | None = None
    description: str | None = None
    served: bool = True

    @property
    def size(self) -> int:
        return len(self.data)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            out["content_type"] = self.content_type
        if self.description:
            out["description"] = self.description
        return out


@dataclass(eq=False)
class Message:
    """A message in a channel, a DM, or (ephemeral) attached to an interaction.

    ``author`` is the user shown as author: for webhook messages it is a synthetic user
    whose ``username`` is the webhook's (or the ``username`` override given on execute) and
    ``webhook_id`` is set. ``allowed_mentions`` is the object the sender gave (None if
    absent) with ``users``/``roles`` ids as strings (the raw body is in ``sb.requests``).
    ``reference`` is the raw ``message_reference`` dict (replies: type 0, forwards: type 1);
    ``snapshots`` holds forwarded message payloads.
    """

    id: int
    channel: Channel
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    timestamp: dt.datetime | None = None
    edited_at: dt.datetime | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    allowed_mentions: dict[str, Any] | None = None
    flags: int = 0
    type: int = 0
    tts: bool = False
    pinned: bool = False
    pinned_at: dt.datetime | None = None
    deleted: bool = False
    reference: dict[str, Any] | None = None
    referenced: Message | None = None
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    interaction_metadata: dict[str, Any] | None = None
    poll: dict[str, Any] | None = None  # the message's poll object, as Discord sends it
    interaction_id: int | None = None
    nonce: str | int | None = None
    sticker_ids: list[int] = field(default_factory=list)
    # monotonic time when the bot's HTTP request that created/edited it got its response
    answered_at: float | None = None

    @property
    def guild_id(self) -> int | None:
        return self.channel.guild_id

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MessageFlags.EPHEMERAL)

    @property
    def jump_url(self) -> str:
        guild = self.guild_id or "@me"
        return f"https://discord.com/channels/{guild}/{self.channel.id}/{self.id}"

    @property
    def display_text(self) -> str:
        """The text of a Components V2 message: its text displays, in order."""
        return "\n".join(str(c.get("content") or "") for c in iter_components(self.components)
                         if c.get("type") == 10)

    @property
    def gallery(self) -> list[dict[str, Any]]:
        """The items of its media galleries (Components V2)."""
        return [item for c in iter_components(self.components) if c.get("type") == 12
                for item in c.get("items") or []]

    def buttons(self) -> list[dict[str, Any]]:
        """Every button component (walking action rows/sections/containers)."""
        return [c for c in iter_components(self.components) if c.get("type") == 2]


def iter_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten a component tree (action rows, labels, sections, containers)."""
    out: list[dict[str, Any]] = []
    for comp in components:
        out.append(comp)
        if "components" in comp:
            out.extend(iter_components(comp["components"]))
        if "component" in comp:
            out.extend(iter_components([comp["component"]]))
        if "accessory" in comp:
            out.extend(iter_components([comp["accessory"]]))
    return out


@dataclass(eq=False)
class Webhook:
    """A channel webhook (type 1). ``url`` is the discord.com form discord.py expects."""

    id: int
    token: str
    channel_id: int
    guild_id: int
    name: str
    creator: User | None = None
    avatar: str | None = None
    application_id: int | None = None
    deleted: bool = False

    @property
    def url(self) -> str:
        return f"https://discord.com/api/webhooks/{self.id}/{self.token}"

    def to_wire(self, *, with_token: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "type": 1,
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id),
            "name": self.name,
            "avatar": self.avatar,
            "application_id": str(self.application_id) if self.application_id else None,
        }
        if with_token:
            out["token"] = self.token
        if self.creator is not None:
            out["user"] = self.creator.to_wire()
        return out


@dataclass(eq=False)
class Guild:
    """A guild with its roles, members, channels (incl. threads), bans and automod rules."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    bans: dict[int, dict[str, Any]] = field(default_factory=dict)
    automod_rules: dict[int, dict[str, Any]] = field(default_factory=dict)
    description: str | None = None
    preferred_locale: str = "en-US"

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def member(self, user_id: int) -> Member | None:
        return self.members.get(user_id)

    def channel_named(self, name: str) -> Channel:
        for ch in self.channels.values():
            if ch.name == name and not ch.deleted:
                return ch
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    def role_named(self, name: str) -> Role:
        for role in self.roles.values():
            if role.name == name:
                return role
        raise KeyError(f"guild {self.name!r} has no role {name!r}")


@dataclass(eq=False)
class Command:
    """An application command as registered by the bot (``data`` is Discord's response)."""

    id: int
    guild_id: int | None
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def type(self) -> int:
        return int(self.data.get("type", 1))
