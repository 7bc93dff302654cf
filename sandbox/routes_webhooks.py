"""REST routes for webhooks (management and execution) and interaction responses.

``/webhooks/{webhook_id}/{webhook_token}`` serves both channel webhooks and interaction
follow-ups (``webhook_id`` = application id, token = interaction token), exactly like
Discord; the route template is the same for both, so tests filter with ``params``.
"""

from __future__ import annotations

from typing import Any

from sandbox import errors, wire
from sandbox.interactions import InteractionResult
from sandbox.models import Channel, ChannelType, Message, Webhook
from sandbox.rest import Ctx, Reply, Router
from sandbox.routes_channels import new_thread, unarchive_if_needed
from sandbox.state import World
from sandbox.validation import validate_message, validate_webhook_username

router = Router()


def _interaction(world: World, app_id: int, token: str) -> InteractionResult | None:
    if app_id != world.application_id:
        return None
    for inter in world.interactions.values():
        if inter.token == token:
            return inter
    return None


def _interaction_by_id(world: World, inter_id: int, token: str) -> InteractionResult:
    inter = world.interactions.get(inter_id)
    if inter is None or inter.token != token:
        raise errors.unknown_interaction()
    return inter


# ---------------------------------------------------------------- callbacks
@router.route("POST", "/interactions/{interaction_id}/{interaction_token}/callback",
              auth=False)
async def interaction_callback(ctx: Ctx) -> Any:
    inter = _interaction_by_id(ctx.world, ctx.id("interaction_id"),
                               str(ctx.params["interaction_token"]))
    msg = await inter.callback(ctx.json(), ctx.uploads)
    if msg is not None:
        ctx.answered.append(msg)
    ctx.after_send.append(inter._touch)
    if ctx.flag("with_response"):
        return inter.callback_response(msg)
    return Reply(204)


# ---------------------------------------------------------- webhook admin
def _check_hook_name(body: dict[str, Any]) -> None:
    if "name" in body:
        validate_webhook_username(body["name"], "name")


@router.route("POST", "/channels/{channel_id}/webhooks")
async def create_webhook(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    chan = world.channel(ctx.id("channel_id"))
    if chan.is_dm or chan.is_thread:
        raise errors.ApiError(400, 50024, "Cannot execute action on this channel type")
    world.require(chan, "manage_webhooks")
    if not body.get("name"):
        raise errors.invalid_form_body("name", "BASE_TYPE_REQUIRED", "This field is required")
    _check_hook_name(body)
    hook = world.new_webhook(chan, str(body["name"]), world.bot_user, body.get("avatar"),
                             application=True)
    await world.dispatch("WEBHOOKS_UPDATE", {"guild_id": str(chan.guild_id),
                                             "channel_id": str(chan.id)})
    return hook.to_wire()


@router.route("GET", "/channels/{channel_id}/webhooks")
async def channel_webhooks(ctx: Ctx) -> Any:
    world = ctx.world
    chan = world.channel(ctx.id("channel_id"))
    world.require(chan, "manage_webhooks")
    return [h.to_wire() for h in world.webhooks.values()
            if h.channel_id == chan.id and not h.deleted]


@router.route("GET", "/guilds/{guild_id}/webhooks")
async def guild_webhooks(ctx: Ctx) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    world.require_guild(guild, "manage_webhooks")
    return [h.to_wire() for h in world.webhooks.values()
            if h.guild_id == guild.id and not h.deleted]


def _managed_hook(ctx: Ctx) -> Webhook:
    world = ctx.world
    token = ctx.params.get("webhook_token")
    hook = world.webhook(ctx.id("webhook_id"), str(token) if token is not None else None)
    if token is None:
        world.require(world.channel(hook.channel_id), "manage_webhooks")
    return hook


@router.route("GET", "/webhooks/{webhook_id}")
async def get_webhook(ctx: Ctx) -> Any:
    return _managed_hook(ctx).to_wire()


@router.route("GET", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def get_webhook_token(ctx: Ctx) -> Any:
    hook = _managed_hook(ctx)
    out = hook.to_wire()
    out.pop("user", None)
    return out


async def _edit_hook(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    hook = _managed_hook(ctx)
    _check_hook_name(body)
    if "name" in body:
        hook.name = str(body["name"])
    if "avatar" in body:
        hook.avatar = body["avatar"]
    if "channel_id" in body and "webhook_token" not in ctx.params:
        target = world.channel(int(body["channel_id"]))
        world.require(target, "manage_webhooks")
        hook.channel_id = target.id
    return hook.to_wire()


@router.route("PATCH", "/webhooks/{webhook_id}")
async def edit_webhook(ctx: Ctx) -> Any:
    return await _edit_hook(ctx)


@router.route("PATCH", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def edit_webhook_token(ctx: Ctx) -> Any:
    return await _edit_hook(ctx)


async def _delete_hook(ctx: Ctx) -> Any:
    hook = _managed_hook(ctx)
    hook.deleted = True
    return Reply(204)


@router.route("DELETE", "/webhooks/{webhook_id}")
async def delete_webhook(ctx: Ctx) -> Any:
    return await _delete_hook(ctx)


@router.route("DELETE", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def delete_webhook_token(ctx: Ctx) -> Any:
    return await _delete_hook(ctx)


# -------------------------------------------------------------- execution
def _target_channel(world: World, hook: Webhook, thread_id: str | None) -> Channel:
    chan = world.channel(hook.channel_id)
    if thread_id:
        thread = world.channels.get(int(thread_id))
        if thread is None or thread.deleted or thread.parent_id != chan.id:
            raise errors.unknown_channel()
        return thread
    return chan


@router.route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def execute(ctx: Ctx) -> Any:
    world, payload = ctx.world, ctx.json()
    inter = _interaction(world, ctx.id("webhook_id"), str(ctx.params["webhook_token"]))
    if inter is not None:
        msg = await inter.followup(payload, ctx.uploads)
        ctx.answered.append(msg)
        ctx.after_send.append(inter._touch)
        return wire.message(world, msg)
    hook = world.webhook(ctx.id("webhook_id"), str(ctx.params["webhook_token"]))
    validate_webhook_username(payload.get("username"))
    validate_message(payload, file_count=len(ctx.uploads))
    chan = _target_channel(world, hook, ctx.query.get("thread_id"))
    author = world.webhook_author(hook, payload.get("username"), payload.get("avatar_url"))
    if chan.type == ChannelType.FORUM:
        name = payload.get("thread_name")
        if not name:
            raise errors.ApiError(400, 220001,
                                  "Webhooks posted to forum channels must have a "
                                  "thread_name or thread_id")
        thread = new_thread(world, chan, str(name), hook.id,
                            tags=[int(t) for t in payload.get("applied_tags") or []])
        msg = world.build_message(thread, author, payload, ctx.uploads, webhook=hook,
                                  msg_id=thread.id)
        await world.dispatch("THREAD_CREATE", wire.thread_create(thread))
    else:
        if chan.is_thread and chan.locked:
            raise errors.missing_permissions()
        msg = world.build_message(chan, author, payload, ctx.uploads, webhook=hook)
        await unarchive_if_needed(world, msg.channel)
    world.store(msg)
    ctx.answered.append(msg)
    await world.publish(msg)
    if ctx.flag("wait"):
        return wire.message(world, msg)
    return Reply(204)


def _hook_message(ctx: Ctx) -> tuple[Message, InteractionResult | None]:
    world = ctx.world
    ref = str(ctx.params["message_id"])
    inter = _interaction(world, ctx.id("webhook_id"), str(ctx.params["webhook_token"]))
    if inter is not None:
        return inter.find(ref), inter
    hook = world.webhook(ctx.id("webhook_id"), str(ctx.params["webhook_token"]))
    if not ref.isdigit():
        raise errors.unknown_message()
    msg = world.messages.get(int(ref))
    if msg is None or msg.deleted or msg.webhook_id != hook.id:
        raise errors.unknown_message()
    thread_id = ctx.query.get("thread_id")
    if (thread_id and msg.channel.id != int(thread_id)) or (
            not thread_id and msg.channel.is_thread and msg.channel.id != msg.id):
        raise errors.unknown_message()
    return msg, None


@router.route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
              auth=False)
async def get_hook_message(ctx: Ctx) -> Any:
    msg, _ = _hook_message(ctx)
    return wire.message(ctx.world, msg)


@router.route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
              auth=False)
async def edit_hook_message(ctx: Ctx) -> Any:
    msg, inter = _hook_message(ctx)
    validate_message(ctx.json(), file_count=len(ctx.uploads), edit=True)
    await ctx.world.edit(msg, ctx.json(), ctx.uploads)
    ctx.answered.append(msg)
    if inter is not None:
        inter._touch()
        ctx.after_send.append(inter._touch)
    return wire.message(ctx.world, msg)


@router.route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
              auth=False)
async def delete_hook_message(ctx: Ctx) -> Any:
    msg, inter = _hook_message(ctx)
    await ctx.world.delete(msg)
    if inter is not None:
        inter._touch()
    return Reply(204)
