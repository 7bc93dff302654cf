"""REST routes for channels, messages, pins, threads and DMs.

Permission checks are the bot's effective permissions in the channel (see
:mod:`sandbox.permissions`); every mutation dispatches the gateway event Discord would
send back to the bot (MESSAGE_CREATE for its own messages, CHANNEL_UPDATE, ...).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sandbox import errors, wire
from sandbox.models import Channel, ChannelType, Message, Overwrite
from sandbox.rest import Ctx, Reply, Router
from sandbox.state import World
from sandbox.validation import validate_message

router = Router()


def check_can_post(world: World, chan: Channel, *, uploads: int = 0) -> None:
    """Discord's checks before the bot posts into ``chan``."""
    if chan.is_dm:
        if chan.recipient is not None and chan.recipient.dm_closed:
            raise errors.cannot_dm()
        return
    if chan.type in (ChannelType.FORUM, ChannelType.CATEGORY):
        raise errors.ApiError(400, 50008, "Cannot send messages in a non-text channel")
    if chan.is_thread:
        world.require(chan, "send_messages_in_threads")
        if chan.locked and not world.bot_can(chan, "manage_threads"):
            raise errors.missing_permissions()
    else:
        world.require(chan, "send_messages")
    if uploads:
        world.require(chan, "attach_files")


async def unarchive_if_needed(world: World, chan: Channel) -> None:
    """Posting into an archived (unlocked) thread unarchives it, like Discord."""
    if chan.is_thread and chan.archived:
        chan.archived = False
        chan.archive_timestamp = world.now()
        await world.dispatch("THREAD_UPDATE", chan.to_wire())


@router.route("GET", "/channels/{channel_id}")
async def get_channel(ctx: Ctx) -> Any:
    chan = ctx.world.channel(ctx.id("channel_id"))
    ctx.world.require(chan, "view_channel")
    return chan.to_wire()


@router.route("PATCH", "/channels/{channel_id}")
async def edit_channel(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    chan = world.channel(ctx.id("channel_id"))
    if chan.is_thread:
        owner = chan.owner_id == world.bot_user.id
        needs_manage = "locked" in body or not owner or (chan.locked and "archived" in body)
        if needs_manage:
            world.require(chan, "manage_threads")
        for key in ("name", "auto_archive_duration", "rate_limit_per_user", "locked"):
            if key in body:
                setattr(chan, key, body[key])
        if "archived" in body:
            chan.archived = bool(body["archived"])
            chan.archive_timestamp = world.now()
        if "applied_tags" in body:
            chan.applied_tags = [int(t) for t in body["applied_tags"] or []]
        await world.dispatch("THREAD_UPDATE", chan.to_wire())
        return chan.to_wire()
    world.require(chan, "manage_channels")
    if "permission_overwrites" in body:
        world.require(chan, "manage_roles")
        chan.overwrites = parse_overwrites(body["permission_overwrites"])
    for key in ("name", "topic", "position", "nsfw", "rate_limit_per_user"):
        if key in body:
            setattr(chan, key, body[key])
    if "parent_id" in body:
        chan.parent_id = int(body["parent_id"]) if body["parent_id"] else None
    if "available_tags" in body:
        chan.available_tags = [
            {**t, "id": str(t.get("id") or world.ids.next())} for t in body["available_tags"]
        ]
    await world.dispatch("CHANNEL_UPDATE", chan.to_wire())
    return chan.to_wire()


def parse_overwrites(raw: list[dict[str, Any]]) -> dict[int, Overwrite]:
    return {
        int(o["id"]): Overwrite(int(o["id"]), int(o.get("type", 0)),
                                int(o.get("allow") or 0), int(o.get("deny") or 0))
        for o in raw or []
    }


async def remove_channel(world: World, chan: Channel) -> None:
    """Delete a channel (and its threads/messages) and dispatch the delete events."""
    chan.deleted = True
    for msg in world.messages_in(chan):
        for att in msg.attachments:
            att.served = False
    if chan.is_thread:
        await world.dispatch("THREAD_DELETE", {
            "id": str(chan.id), "guild_id": str(chan.guild_id),
            "parent_id": str(chan.parent_id), "type": int(chan.type)})
        return
    for other in list(world.channels.values()):
        if other.is_thread and other.parent_id == chan.id and not other.deleted:
            other.deleted = True
    await world.dispatch("CHANNEL_DELETE", chan.to_wire())


@router.route("DELETE", "/channels/{channel_id}")
async def delete_channel(ctx: Ctx) -> Any:
    world = ctx.world
    chan = world.channel(ctx.id("channel_id"))
    world.require(chan, "manage_threads" if chan.is_thread else "manage_channels")
    await remove_channel(world, chan)
    return chan.to_wire()


@router.route("PUT", "/channels/{channel_id}/permissions/{target}")
async def put_overwrite(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    chan = world.channel(ctx.id("channel_id"))
    world.require(chan, "manage_roles")
    target = ctx.id("target")
    chan.overwrites[target] = Overwrite(target, int(body.get("type", 0)),
                                        int(body.get("allow") or 0),
                                        int(body.get("deny") or 0))
    await world.dispatch("CHANNEL_UPDATE", chan.to_wire())
    return Reply(204)


@router.route("DELETE", "/channels/{channel_id}/permissions/{target}")
async def delete_overwrite(ctx: Ctx) -> Any:
    world = ctx.world
    chan = world.channel(ctx.id("channel_id"))
    world.require(chan, "manage_roles")
    chan.overwrites.pop(ctx.id("target"), None)
    await world.dispatch("CHANNEL_UPDATE", chan.to_wire())
    return Reply(204)


# ------------------------------------------------------------------- messages
def upload_names(payload: Any, uploads: Any) -> set[str]:
    """The file names a message body uploads (``attachments`` may rename ``files[n]``)."""
    described = {str(a.get("id")): a.get("filename") for a in (
        payload.get("attachments") or [] if isinstance(payload, dict) else [])
        if isinstance(a, dict)}
    return {str(described.get(str(u.index)) or u.filename) for u in uploads}


@router.route("POST", "/channels/{channel_id}/messages")
async def create_message(ctx: Ctx) -> Any:
    world, payload = ctx.world, ctx.json()
    chan = world.channel(ctx.id("channel_id"))
    check_can_post(world, chan, uploads=len(ctx.uploads))
    validate_message(payload, file_count=len(ctx.uploads),
                     attachment_names=upload_names(payload, ctx.uploads))
    nonce = payload.get("nonce") if isinstance(payload, dict) else None
    if nonce is not None and payload.get("enforce_nonce"):
        # Discord: the same nonce from the same author within a few minutes returns the
        # message created the first time instead of creating another.
        for earlier in world.visible(chan):
            if earlier.author.id == world.bot_user.id and earlier.nonce == nonce:
                return wire.message(world, earlier)
    msg = world.build_message(chan, world.bot_user, payload, ctx.uploads)
    await unarchive_if_needed(world, chan)
    world.store(msg)
    ctx.answered.append(msg)
    await world.publish(msg)
    return wire.message(world, msg)


def _readable(ctx: Ctx) -> Channel:
    chan = ctx.world.channel(ctx.id("channel_id"))
    ctx.world.require(chan, "view_channel", "read_message_history")
    return chan


@router.route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(ctx: Ctx) -> Any:
    chan = _readable(ctx)
    return wire.message(ctx.world, ctx.world.message(chan, ctx.id("message_id")))


@router.route("GET", "/channels/{channel_id}/messages")
async def history(ctx: Ctx) -> Any:
    """Newest first; ``after`` returns the oldest ``limit`` messages after it."""
    world = ctx.world
    chan = _readable(ctx)
    limit = max(1, min(100, int(ctx.query.get("limit", 50))))
    msgs = sorted(world.visible(chan), key=lambda m: m.id)
    if "around" in ctx.query:
        pivot = int(ctx.query["around"])
        older = [m for m in msgs if m.id < pivot][-(limit // 2):] if limit > 1 else []
        rest = [m for m in msgs if m.id >= pivot][: limit - len(older)]
        picked = older + rest
    elif "after" in ctx.query:
        picked = [m for m in msgs if m.id > int(ctx.query["after"])][:limit]
    else:
        if "before" in ctx.query:
            msgs = [m for m in msgs if m.id < int(ctx.query["before"])]
        picked = msgs[-limit:]
    return [wire.message(world, m) for m in reversed(picked)]


def _check_author_or_manage(world: World, chan: Channel, msg: Message) -> None:
    if msg.author.id == world.bot_user.id and msg.webhook_id is None:
        return
    if chan.is_dm:
        raise errors.ApiError(403, 50003, "Cannot execute action on a DM channel")
    world.require(chan, "manage_messages")


@router.route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(ctx: Ctx) -> Any:
    world, payload = ctx.world, ctx.json()
    chan = world.channel(ctx.id("channel_id"))
    msg = world.message(chan, ctx.id("message_id"))
    if msg.author.id != world.bot_user.id or msg.webhook_id is not None:
        if set(payload) - {"flags"}:
            raise errors.ApiError(403, 50005, "Cannot edit a message authored by another user")
        world.require(chan, "manage_messages")
    kept = msg.attachments
    if "attachments" in payload:
        keep_ids = {int(a["id"]) for a in payload.get("attachments") or []
                    if isinstance(a, dict) and int(a.get("id", 0)) > 10_000}
        kept = [a for a in msg.attachments if a.id in keep_ids]
    validate_message(payload, file_count=len(ctx.uploads), edit=True,
                     current_flags=msg.flags, current_text=bool(msg.content or msg.embeds),
                     attachment_names={a.filename for a in kept}
                     | upload_names(payload, ctx.uploads))
    await world.edit(msg, payload, ctx.uploads)
    ctx.answered.append(msg)
    return wire.message(world, msg)


@router.route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(ctx: Ctx) -> Any:
    world = ctx.world
    chan = world.channel(ctx.id("channel_id"))
    msg = world.message(chan, ctx.id("message_id"))
    _check_author_or_manage(world, chan, msg)
    await world.delete(msg)
    return Reply(204)


@router.route("POST", "/channels/{channel_id}/messages/bulk-delete")
async def bulk_delete(ctx: Ctx) -> Any:
    world = ctx.world
    chan = world.channel(ctx.id("channel_id"))
    world.require(chan, "manage_messages")
    ids = [int(i) for i in ctx.json().get("messages") or []]
    if not 2 <= len(ids) <= 100:
        raise errors.invalid_form_body("messages", "BASE_TYPE_BAD_LENGTH",
                                       "Must be between 2 and 100 in length.")
    cutoff = world.now() - dt.timedelta(days=14)
    targets = [world.message(chan, i) for i in ids]
    if any(m.timestamp and m.timestamp < cutoff for m in targets):
        raise errors.ApiError(400, 50034,
                              "You can only bulk delete messages that are under 14 days old.")
    for msg in targets:
        msg.deleted = True
        for att in msg.attachments:
            att.served = False
    data: dict[str, Any] = {"ids": [str(i) for i in ids], "channel_id": str(chan.id)}
    if chan.guild_id:
        data["guild_id"] = str(chan.guild_id)
    await world.dispatch("MESSAGE_DELETE_BULK", data)
    return Reply(204)


# ----------------------------------------------------------------------- pins
@router.route("GET", "/channels/{channel_id}/messages/pins")
async def list_pins(ctx: Ctx) -> Any:
    world = ctx.world
    chan = _readable(ctx)
    pinned = sorted((m for m in world.visible(chan) if m.pinned),
                    key=lambda m: m.pinned_at or world.now(), reverse=True)
    return {"items": [{"pinned_at": m.pinned_at and m.pinned_at.isoformat(),
                       "message": wire.message(world, m)} for m in pinned],
            "has_more": False}


@router.route("GET", "/channels/{channel_id}/pins")
async def list_pins_legacy(ctx: Ctx) -> Any:
    return [item["message"] for item in (await list_pins(ctx))["items"]]


async def _set_pin(ctx: Ctx, pinned: bool) -> Any:
    world = ctx.world
    chan = world.channel(ctx.id("channel_id"))
    if not (world.bot_can(chan, "pin_messages") or world.bot_can(chan, "manage_messages")):
        world.require(chan, "pin_messages")
    msg = world.message(chan, ctx.id("message_id"))
    msg.pinned = pinned
    msg.pinned_at = world.now() if pinned else None
    await world.dispatch("MESSAGE_UPDATE", wire.message(world, msg))
    return Reply(204)


@router.route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
async def pin(ctx: Ctx) -> Any:
    return await _set_pin(ctx, True)


@router.route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
async def unpin(ctx: Ctx) -> Any:
    return await _set_pin(ctx, False)


@router.route("PUT", "/channels/{channel_id}/pins/{message_id}")
async def pin_legacy(ctx: Ctx) -> Any:
    return await _set_pin(ctx, True)


@router.route("DELETE", "/channels/{channel_id}/pins/{message_id}")
async def unpin_legacy(ctx: Ctx) -> Any:
    return await _set_pin(ctx, False)


@router.route("POST", "/channels/{channel_id}/typing")
async def typing(ctx: Ctx) -> Any:
    ctx.world.channel(ctx.id("channel_id"))
    return Reply(204)


# -------------------------------------------------------------------- threads
def new_thread(world: World, parent: Channel, name: str, owner_id: int, *,
               thread_id: int | None = None, private: bool = False,
               auto_archive: int = 1440, tags: list[int] | None = None) -> Channel:
    thread = Channel(
        id=thread_id or world.ids.next(),
        type=ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
        name=name,
        guild_id=parent.guild_id,
        parent_id=parent.id,
        owner_id=owner_id,
        auto_archive_duration=auto_archive,
        applied_tags=list(tags or []),
        created_at=world.now(),
        thread_members={owner_id},
    )
    world.channels[thread.id] = thread
    guild = world.guild_of(parent)
    if guild is not None:
        guild.channels[thread.id] = thread
    return thread


@router.route("POST", "/channels/{channel_id}/threads")
async def start_thread(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    parent = world.channel(ctx.id("channel_id"))
    name = str(body.get("name") or "")
    if not name or len(name) > 100:
        raise errors.invalid_form_body("name", "BASE_TYPE_BAD_LENGTH",
                                       "Must be between 1 and 100 in length.")
    if parent.type == ChannelType.FORUM:
        world.require(parent, "send_messages")
        payload = body.get("message") or {}
        validate_message(payload, file_count=len(ctx.uploads))
        tags = [int(t) for t in body.get("applied_tags") or []]
        thread = new_thread(world, parent, name, world.bot_user.id,
                            auto_archive=int(body.get("auto_archive_duration") or 1440),
                            tags=tags)
        msg = world.build_message(thread, world.bot_user, payload, ctx.uploads,
                                  msg_id=thread.id)
        world.store(msg)
        ctx.answered.append(msg)
        await world.dispatch("THREAD_CREATE", wire.thread_create(thread))
        await world.publish(msg)
        return {**thread.to_wire(), "message": wire.message(world, msg)}
    private = int(body.get("type") or 11) == ChannelType.PRIVATE_THREAD
    world.require(parent, "create_private_threads" if private else "create_public_threads")
    thread = new_thread(world, parent, name, world.bot_user.id, private=private,
                        auto_archive=int(body.get("auto_archive_duration") or 1440))
    await world.dispatch("THREAD_CREATE", wire.thread_create(thread))
    return thread.to_wire()


@router.route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
async def start_thread_from_message(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    parent = world.channel(ctx.id("channel_id"))
    world.require(parent, "create_public_threads")
    msg = world.message(parent, ctx.id("message_id"))
    if msg.id in world.channels:
        raise errors.ApiError(400, 160004, "A thread has already been created for this message")
    thread = new_thread(world, parent, str(body.get("name") or "thread"), world.bot_user.id,
                        thread_id=msg.id,
                        auto_archive=int(body.get("auto_archive_duration") or 1440))
    await world.dispatch("THREAD_CREATE", wire.thread_create(thread))
    return thread.to_wire()


def _thread(ctx: Ctx) -> Channel:
    chan = ctx.world.channel(ctx.id("channel_id"))
    if not chan.is_thread:
        raise errors.ApiError(400, 50024, "Cannot execute action on this channel type")
    return chan


def _thread_member_wire(chan: Channel, user_id: int) -> dict[str, Any]:
    return {"id": str(chan.id), "user_id": str(user_id), "flags": 0,
            "join_timestamp": (chan.created_at or dt.datetime.now(dt.UTC)).isoformat()}


@router.route("GET", "/channels/{channel_id}/thread-members")
async def thread_members(ctx: Ctx) -> Any:
    chan = _thread(ctx)
    return [_thread_member_wire(chan, uid) for uid in sorted(chan.thread_members)]


@router.route("GET", "/channels/{channel_id}/thread-members/{user_id}")
async def thread_member(ctx: Ctx) -> Any:
    chan = _thread(ctx)
    if ctx.id("user_id") not in chan.thread_members:
        raise errors.unknown_member()
    return _thread_member_wire(chan, ctx.id("user_id"))


async def _thread_join(ctx: Ctx, user_id: int, join: bool) -> Any:
    chan = _thread(ctx)
    if chan.archived:
        raise errors.archived_thread()
    if join:
        chan.thread_members.add(user_id)
    else:
        chan.thread_members.discard(user_id)
    return Reply(204)


@router.route("PUT", "/channels/{channel_id}/thread-members/@me")
async def join_thread(ctx: Ctx) -> Any:
    return await _thread_join(ctx, ctx.world.bot_user.id, True)


@router.route("DELETE", "/channels/{channel_id}/thread-members/@me")
async def leave_thread(ctx: Ctx) -> Any:
    return await _thread_join(ctx, ctx.world.bot_user.id, False)


@router.route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
async def add_thread_member(ctx: Ctx) -> Any:
    ctx.world.require(_thread(ctx), "send_messages_in_threads")
    return await _thread_join(ctx, ctx.id("user_id"), True)


@router.route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
async def remove_thread_member(ctx: Ctx) -> Any:
    ctx.world.require(_thread(ctx), "manage_threads")
    return await _thread_join(ctx, ctx.id("user_id"), False)


# ------------------------------------------------------------------------ DMs
@router.route("POST", "/users/@me/channels")
async def open_dm(ctx: Ctx) -> Any:
    world = ctx.world
    user = world.users.get(int(ctx.json().get("recipient_id") or 0))
    if user is None:
        raise errors.unknown_user()
    return world.dm_channel(user).to_wire()
