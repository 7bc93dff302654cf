"""Serialise sandbox objects into the JSON shapes Discord sends (gateway and REST).

These need cross-references (a message's author's member, a guild's channels and threads),
so they take the :class:`~sandbox.state.World`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.clock import iso
from sandbox.mentions import content_mentions
from sandbox.models import Channel, Guild, Member, Message

if TYPE_CHECKING:
    from sandbox.state import World


def message(world: World, msg: Message, *, depth: int = 0) -> dict[str, Any]:
    """A full message object (MESSAGE_CREATE/UPDATE, REST responses)."""
    users, roles, everyone = content_mentions(msg.content)
    guild = world.guilds.get(msg.guild_id) if msg.guild_id else None
    mentions: list[dict[str, Any]] = []
    for uid in users:
        user = world.users.get(uid)
        if user is None:
            continue
        entry = user.to_wire()
        member = guild.members.get(uid) if guild else None
        if member is not None:
            entry["member"] = member.to_wire(with_user=False)
        mentions.append(entry)
    out: dict[str, Any] = {
        "id": str(msg.id),
        "channel_id": str(msg.channel.id),
        "type": msg.type,
        "content": msg.content,
        "author": msg.author.to_wire(),
        "timestamp": iso(msg.timestamp),
        "edited_timestamp": iso(msg.edited_at),
        "tts": msg.tts,
        "mention_everyone": bool(everyone),
        "mentions": mentions,
        "mention_roles": [str(r) for r in roles if guild and r in guild.roles],
        "attachments": [a.to_wire() for a in msg.attachments],
        "embeds": msg.embeds,
        "components": msg.components,
        "pinned": msg.pinned,
        "flags": msg.flags,
    }
    if msg.nonce is not None:
        out["nonce"] = msg.nonce
    if guild is not None:
        out["guild_id"] = str(guild.id)
        member = guild.members.get(msg.author.id)
        if member is not None and msg.webhook_id is None:
            out["member"] = member.to_wire(with_user=False)
    if msg.webhook_id is not None:
        out["webhook_id"] = str(msg.webhook_id)
    if msg.application_id is not None:
        out["application_id"] = str(msg.application_id)
    if msg.reference is not None:
        out["message_reference"] = msg.reference
        if msg.reference.get("type", 0) == 0 and depth == 0:
            ref = msg.referenced
            out["referenced_message"] = (
                message(world, ref, depth=1) if ref is not None and not ref.deleted else None
            )
    if msg.snapshots:
        out["message_snapshots"] = msg.snapshots
    if msg.interaction_metadata is not None:
        out["interaction_metadata"] = msg.interaction_metadata
    if msg.poll is not None:
        out["poll"] = msg.poll
    if msg.channel.is_thread and msg.id != msg.channel.id:
        out["position"] = msg.channel.message_count
    return out


def snapshot(world: World, msg: Message) -> dict[str, Any]:
    """The ``message_snapshots`` entry for forwarding ``msg``."""
    full = message(world, msg, depth=1)
    keep = ("type", "content", "embeds", "attachments", "timestamp", "edited_timestamp",
            "flags", "mentions", "mention_roles", "components", "sticker_items")
    return {"message": {k: full[k] for k in keep if k in full}}


def member_event(guild: Guild, member: Member) -> dict[str, Any]:
    """GUILD_MEMBER_ADD / UPDATE payload."""
    return {**member.to_wire(), "guild_id": str(guild.id)}


def channel(chan: Channel) -> dict[str, Any]:
    return chan.to_wire()


def thread_create(chan: Channel, *, newly_created: bool = True) -> dict[str, Any]:
    out = chan.to_wire()
    if newly_created:
        out["newly_created"] = True
    return out


def guild_base(guild: Guild) -> dict[str, Any]:
    """Guild fields shared by GUILD_CREATE and GET /guilds/{id}."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": guild.description,
        "owner_id": str(guild.owner_id),
        "region": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "roles": [r.to_wire() for r in sorted(guild.roles.values(), key=lambda r: r.position)],
        "emojis": [],
        "stickers": [],
        "features": ["COMMUNITY"],
        "mfa_level": 0,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": guild.preferred_locale,
        "nsfw_level": 0,
        "max_members": 500000,
        "premium_progress_bar_enabled": False,
        "approximate_member_count": len(guild.members),
        "application_id": None,
    }


def guild_create(world: World, guild: Guild, *, unavailable_flag: bool = True) -> dict[str, Any]:
    """GUILD_CREATE: everything the bot needs, members included (keeps chunking cheap)."""
    out = guild_base(guild)
    channels = [c for c in guild.channels.values() if not c.deleted]
    out.update(
        joined_at=iso(world.bot_member(guild).joined_at),
        large=len(guild.members) > 250,
        member_count=len(guild.members),
        members=[m.to_wire() for m in guild.members.values()],
        channels=[c.to_wire() for c in channels if not c.is_thread],
        threads=[c.to_wire() for c in channels if c.is_thread and not c.archived],
        presences=[],
        voice_states=[],
        stage_instances=[],
        guild_scheduled_events=[],
        soundboard_sounds=[],
    )
    if unavailable_flag:
        out["unavailable"] = False
    return out
