"""REST routes for auto-moderation rules (Manage Server required, Discord's limits checked by
:func:`sandbox.automod.validate_rule`). Each change sends AUTO_MODERATION_RULE_CREATE /
UPDATE / DELETE (intent AUTO_MODERATION_CONFIGURATION)."""

from __future__ import annotations

from typing import Any

from sandbox import errors
from sandbox.automod import validate_rule
from sandbox.models import Guild
from sandbox.rest import Ctx, Reply, Router

router = Router()


def _rule(guild: Guild, rule_id: int) -> dict[str, Any]:
    rule = guild.automod_rules.get(rule_id)
    if rule is None:
        raise errors.ApiError(404, 10066, "Unknown auto moderation rule")
    return rule


def _guild(ctx: Ctx) -> Guild:
    guild = ctx.world.guild(ctx.id("guild_id"))
    ctx.world.require_guild(guild, "manage_guild")
    return guild


@router.route("GET", "/guilds/{guild_id}/auto-moderation/rules")
async def list_rules(ctx: Ctx) -> Any:
    return list(_guild(ctx).automod_rules.values())


@router.route("GET", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}")
async def get_rule(ctx: Ctx) -> Any:
    return _rule(_guild(ctx), ctx.id("rule_id"))


@router.route("POST", "/guilds/{guild_id}/auto-moderation/rules")
async def create_rule(ctx: Ctx) -> Any:
    world = ctx.world
    guild = _guild(ctx)
    rule_id = world.ids.next()
    rule = validate_rule(guild, ctx.json(), None, world.bot_user.id, rule_id)
    guild.automod_rules[rule_id] = rule
    await world.dispatch("AUTO_MODERATION_RULE_CREATE", rule)
    return rule


@router.route("PATCH", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}")
async def edit_rule(ctx: Ctx) -> Any:
    world = ctx.world
    guild = _guild(ctx)
    rule_id = ctx.id("rule_id")
    existing = _rule(guild, rule_id)
    rule = validate_rule(guild, ctx.json(), existing, world.bot_user.id, rule_id)
    guild.automod_rules[rule_id] = rule
    await world.dispatch("AUTO_MODERATION_RULE_UPDATE", rule)
    return rule


@router.route("DELETE", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}")
async def delete_rule(ctx: Ctx) -> Any:
    world = ctx.world
    guild = _guild(ctx)
    rule_id = ctx.id("rule_id")
    rule = _rule(guild, rule_id)
    del guild.automod_rules[rule_id]
    await world.dispatch("AUTO_MODERATION_RULE_DELETE", rule)
    return Reply(204)
