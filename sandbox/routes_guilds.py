"""REST routes for the bot user, the application (commands), guilds, members, roles,
and bans (auto-moderation rules: ``sandbox.routes_automod``).

Role management follows Discord's hierarchy rule: the bot needs MANAGE_ROLES and may only
touch roles strictly below its own highest role (else 403 50013). Timeouts need
MODERATE_MEMBERS, bans BAN_MEMBERS, kicks KICK_MEMBERS; none of them work on the owner
or on members whose top role is not below the bot's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sandbox import errors, wire
from sandbox.models import Channel, ChannelType, Command, Guild, Member, Role
from sandbox.permissions import ADMINISTRATOR, base_permissions, top_role_position
from sandbox.rest import Ctx, Reply, Router
from sandbox.routes_channels import parse_overwrites
from sandbox.state import World
from sandbox.validation import validate_command

router = Router()


# ------------------------------------------------------------ user / app
@router.route("GET", "/users/@me")
async def me(ctx: Ctx) -> Any:
    return {**ctx.world.bot_user.to_wire(), "verified": True, "mfa_enabled": False}


@router.route("GET", "/gateway/bot")
async def gateway_bot(ctx: Ctx) -> Any:
    world = ctx.world
    return {"url": world.gateway_url, "shards": world.recommended_shards,
            "session_start_limit": {"total": 1000, "remaining": 999,
                                    "reset_after": 14_400_000,
                                    "max_concurrency": world.max_concurrency}}


@router.route("GET", "/users/{user_id}")
async def get_user(ctx: Ctx) -> Any:
    user = ctx.world.users.get(ctx.id("user_id"))
    if user is None:
        raise errors.unknown_user()
    return user.to_wire()


@router.route("GET", "/oauth2/applications/@me")
async def application(ctx: Ctx) -> Any:
    world = ctx.world
    return {
        "id": str(world.application_id),
        "name": world.bot_user.username,
        "description": "Steward (sandbox)",
        "icon": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": world.owner_user.to_wire(),
        "verify_key": "0" * 64,
        "team": None,
        "flags": 0,
        "summary": "",
        "bot": world.bot_user.to_wire(),
    }


@router.route("GET", "/users/@me/guilds")
async def my_guilds(ctx: Ctx) -> Any:
    return [{"id": str(g.id), "name": g.name, "icon": None, "owner": False,
             "permissions": "0", "features": []} for g in ctx.world.guilds.values()]


def _register(world: World, guild_id: int | None, body: list[dict[str, Any]]
              ) -> list[dict[str, Any]]:
    existing = {(c.name, c.type): c for c in world.command_list(guild_id)}
    out: list[Command] = []
    for index, raw in enumerate(body):
        validate_command(raw, index)
    for raw in body:
        data = dict(raw)
        ctype = int(data.get("type") or 1)
        old = existing.get((data["name"], ctype))
        cmd_id = old.id if old else world.ids.next()
        perms = data.get("default_member_permissions")
        data.update(
            id=str(cmd_id),
            application_id=str(world.application_id),
            type=ctype,
            version=str(world.ids.next()),
            description=data.get("description") or "",
            default_member_permissions=None if perms is None else str(perms),
            dm_permission=data.get("dm_permission", True),
            nsfw=bool(data.get("nsfw", False)),
        )
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        out.append(Command(cmd_id, guild_id, data))
    world.commands[guild_id] = out
    return [c.data for c in out]


@router.route("PUT", "/applications/{application_id}/commands")
async def put_global_commands(ctx: Ctx) -> Any:
    return _register(ctx.world, None, ctx.body or [])


@router.route("GET", "/applications/{application_id}/commands")
async def get_global_commands(ctx: Ctx) -> Any:
    return [c.data for c in ctx.world.command_list(None)]


@router.route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def put_guild_commands(ctx: Ctx) -> Any:
    ctx.world.guild(ctx.id("guild_id"))
    return _register(ctx.world, ctx.id("guild_id"), ctx.body or [])


@router.route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def get_guild_commands(ctx: Ctx) -> Any:
    return [c.data for c in ctx.world.command_list(ctx.id("guild_id"))]


# ------------------------------------------------------------------ guilds
@router.route("GET", "/guilds/{guild_id}")
async def get_guild(ctx: Ctx) -> Any:
    guild = ctx.world.guild(ctx.id("guild_id"))
    out = wire.guild_base(guild)
    if ctx.flag("with_counts"):
        out["approximate_presence_count"] = 0
    return out


@router.route("GET", "/guilds/{guild_id}/channels")
async def guild_channels(ctx: Ctx) -> Any:
    guild = ctx.world.guild(ctx.id("guild_id"))
    return [c.to_wire() for c in guild.channels.values() if not c.deleted and not c.is_thread]


@router.route("GET", "/guilds/{guild_id}/threads/active")
async def active_threads(ctx: Ctx) -> Any:
    guild = ctx.world.guild(ctx.id("guild_id"))
    threads = [c for c in guild.channels.values()
               if c.is_thread and not c.deleted and not c.archived]
    return {"threads": [t.to_wire() for t in threads], "members": []}


@router.route("POST", "/guilds/{guild_id}/channels")
async def create_channel(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    guild = world.guild(ctx.id("guild_id"))
    world.require_guild(guild, "manage_channels")
    if body.get("permission_overwrites"):
        world.require_guild(guild, "manage_roles")
    chan = Channel(
        id=world.ids.next(),
        type=ChannelType(int(body.get("type") or 0)),
        name=str(body.get("name") or "channel"),
        guild_id=guild.id,
        position=int(body.get("position") or len(guild.channels)),
        parent_id=int(body["parent_id"]) if body.get("parent_id") else None,
        topic=body.get("topic"),
        nsfw=bool(body.get("nsfw")),
        overwrites=parse_overwrites(body.get("permission_overwrites") or []),
        available_tags=[{**t, "id": str(world.ids.next())}
                        for t in body.get("available_tags") or []],
    )
    world.channels[chan.id] = chan
    guild.channels[chan.id] = chan
    await world.dispatch("CHANNEL_CREATE", chan.to_wire())
    return chan.to_wire()


# ----------------------------------------------------------------- members
@router.route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(ctx: Ctx) -> Any:
    guild = ctx.world.guild(ctx.id("guild_id"))
    return ctx.world.member(guild, ctx.id("user_id")).to_wire()


@router.route("GET", "/guilds/{guild_id}/members")
async def list_members(ctx: Ctx) -> Any:
    guild = ctx.world.guild(ctx.id("guild_id"))
    limit = max(1, min(1000, int(ctx.query.get("limit", 1))))
    after = int(ctx.query.get("after", 0))
    members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
    return [m.to_wire() for m in members[:limit]]


def check_hierarchy(world: World, guild: Guild, target: Member) -> None:
    """The bot may only act on members below its top role (never the owner)."""
    if target.id == guild.owner_id:
        raise errors.missing_permissions()
    bot = world.bot_member(guild)
    if target.id != bot.id and top_role_position(guild, target) >= top_role_position(
            guild, bot):
        raise errors.missing_permissions()


def check_role_manageable(world: World, guild: Guild, role: Role) -> None:
    world.require_guild(guild, "manage_roles")
    if role.is_everyone or role.managed:
        raise errors.missing_permissions()
    if role.position >= top_role_position(guild, world.bot_member(guild)):
        raise errors.missing_permissions()


def _role(world: World, guild: Guild, role_id: int) -> Role:
    role = guild.roles.get(role_id)
    if role is None:
        raise errors.unknown_role()
    return role


async def member_updated(world: World, guild: Guild, member: Member) -> None:
    await world.dispatch("GUILD_MEMBER_UPDATE", wire.member_event(guild, member))


@router.route("PATCH", "/guilds/{guild_id}/members/{user_id}")
async def edit_member(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    guild = world.guild(ctx.id("guild_id"))
    member = world.member(guild, ctx.id("user_id"))
    if "roles" in body:
        new = {int(r) for r in body["roles"] or []}
        for rid in new.symmetric_difference(member.roles):
            check_role_manageable(world, guild, _role(world, guild, rid))
        member.roles = sorted(new)
    if "nick" in body:
        world.require_guild(guild, "manage_nicknames")
        check_hierarchy(world, guild, member)
        member.nick = body["nick"] or None
    if "communication_disabled_until" in body:
        world.require_guild(guild, "moderate_members")
        check_hierarchy(world, guild, member)
        if base_permissions(guild, member) & ADMINISTRATOR:
            raise errors.missing_permissions()  # administrators cannot be timed out
        until = body["communication_disabled_until"]
        if until is None:
            member.communication_disabled_until = None
        else:
            when = dt.datetime.fromisoformat(str(until))
            if when - world.now() > dt.timedelta(days=28, minutes=1):
                raise errors.invalid_form_body(
                    "communication_disabled_until", "BASE_TYPE_BAD_LENGTH",
                    "Timeout cannot be longer than 28 days.")
            member.communication_disabled_until = when
    if "flags" in body:
        member.flags = int(body["flags"])
    await member_updated(world, guild, member)
    return member.to_wire()


@router.route("PATCH", "/guilds/{guild_id}/members/@me")
async def edit_me(ctx: Ctx) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    member = world.bot_member(guild)
    if "nick" in ctx.json():
        member.nick = ctx.json()["nick"] or None
    await member_updated(world, guild, member)
    return member.to_wire()


async def _member_role(ctx: Ctx, add: bool) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    member = world.member(guild, ctx.id("user_id"))
    role = _role(world, guild, ctx.id("role_id"))
    check_role_manageable(world, guild, role)
    if add and role.id not in member.roles:
        member.roles.append(role.id)
    elif not add and role.id in member.roles:
        member.roles.remove(role.id)
    await member_updated(world, guild, member)
    return Reply(204)


@router.route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def add_role(ctx: Ctx) -> Any:
    return await _member_role(ctx, True)


@router.route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def remove_role(ctx: Ctx) -> Any:
    return await _member_role(ctx, False)


async def remove_member(world: World, guild: Guild, member: Member) -> None:
    guild.members.pop(member.id, None)
    await world.dispatch("GUILD_MEMBER_REMOVE",
                         {"guild_id": str(guild.id), "user": member.user.to_wire()})


@router.route("DELETE", "/guilds/{guild_id}/members/{user_id}")
async def kick(ctx: Ctx) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    member = world.member(guild, ctx.id("user_id"))
    world.require_guild(guild, "kick_members")
    check_hierarchy(world, guild, member)
    await remove_member(world, guild, member)
    return Reply(204)


# -------------------------------------------------------------------- bans
@router.route("PUT", "/guilds/{guild_id}/bans/{user_id}")
async def ban(ctx: Ctx) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    world.require_guild(guild, "ban_members")
    user = world.users.get(ctx.id("user_id"))
    if user is None:
        raise errors.unknown_user()
    member = guild.members.get(user.id)
    if member is not None:
        check_hierarchy(world, guild, member)
    guild.bans[user.id] = {"user": user.to_wire(), "reason": ctx.reason}
    seconds = int(ctx.json().get("delete_message_seconds") or 0)
    if seconds:
        cutoff = world.now() - dt.timedelta(seconds=seconds)
        for msg in list(world.messages.values()):
            if (msg.author.id == user.id and msg.guild_id == guild.id and not msg.deleted
                    and msg.timestamp and msg.timestamp >= cutoff):
                await world.delete(msg)
    await world.dispatch("GUILD_BAN_ADD", {"guild_id": str(guild.id), "user": user.to_wire()})
    if member is not None:
        await remove_member(world, guild, member)
    return Reply(204)


@router.route("DELETE", "/guilds/{guild_id}/bans/{user_id}")
async def unban(ctx: Ctx) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    world.require_guild(guild, "ban_members")
    entry = guild.bans.pop(ctx.id("user_id"), None)
    if entry is None:
        raise errors.unknown_ban()
    await world.dispatch("GUILD_BAN_REMOVE", {"guild_id": str(guild.id), "user": entry["user"]})
    return Reply(204)


@router.route("GET", "/guilds/{guild_id}/bans/{user_id}")
async def get_ban(ctx: Ctx) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    world.require_guild(guild, "ban_members")
    entry = guild.bans.get(ctx.id("user_id"))
    if entry is None:
        raise errors.unknown_ban()
    return entry


@router.route("GET", "/guilds/{guild_id}/bans")
async def list_bans(ctx: Ctx) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    world.require_guild(guild, "ban_members")
    return list(guild.bans.values())


# ------------------------------------------------------------------- roles
@router.route("GET", "/guilds/{guild_id}/roles")
async def list_roles(ctx: Ctx) -> Any:
    guild = ctx.world.guild(ctx.id("guild_id"))
    return [r.to_wire() for r in sorted(guild.roles.values(), key=lambda r: r.position)]


@router.route("POST", "/guilds/{guild_id}/roles")
async def create_role(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    guild = world.guild(ctx.id("guild_id"))
    world.require_guild(guild, "manage_roles")
    role = Role(id=world.ids.next(), guild_id=guild.id, name=body.get("name") or "new role",
                permissions=int(body.get("permissions") or 0), position=1,
                color=int(body.get("color") or 0), hoist=bool(body.get("hoist")),
                mentionable=bool(body.get("mentionable")))
    shifted = [other for other in guild.roles.values() if not other.is_everyone]
    for other in shifted:
        other.position += 1
    guild.roles[role.id] = role
    await world.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_wire()})
    for other in shifted:  # every role whose position moved is announced, like Discord
        await world.dispatch("GUILD_ROLE_UPDATE",
                             {"guild_id": str(guild.id), "role": other.to_wire()})
    return role.to_wire()


@router.route("PATCH", "/guilds/{guild_id}/roles/{role_id}")
async def edit_role(ctx: Ctx) -> Any:
    world, body = ctx.world, ctx.json()
    guild = world.guild(ctx.id("guild_id"))
    role = _role(world, guild, ctx.id("role_id"))
    check_role_manageable(world, guild, role)
    for key in ("name", "hoist", "mentionable"):
        if key in body:
            setattr(role, key, body[key])
    if "permissions" in body:
        role.permissions = int(body["permissions"] or 0)
    if "color" in body:
        role.color = int(body["color"] or 0)
    await world.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.to_wire()})
    return role.to_wire()


@router.route("DELETE", "/guilds/{guild_id}/roles/{role_id}")
async def delete_role(ctx: Ctx) -> Any:
    world = ctx.world
    guild = world.guild(ctx.id("guild_id"))
    role = _role(world, guild, ctx.id("role_id"))
    check_role_manageable(world, guild, role)
    del guild.roles[role.id]
    for member in guild.members.values():
        if role.id in member.roles:
            member.roles.remove(role.id)
    await world.dispatch("GUILD_ROLE_DELETE",
                         {"guild_id": str(guild.id), "role_id": str(role.id)})
    return Reply(204)
