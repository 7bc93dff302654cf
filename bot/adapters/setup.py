"""/steward setup on Discord: moderators-only channels, created with the right overwrites."""

from __future__ import annotations

import logging

import discord

from bot.errors import BotMissingPermissions
from bot.i18n import tr

log = logging.getLogger(__name__)


def staff_overwrites(guild: discord.Guild, moderator_roles: list[int]
                     ) -> dict[discord.Role | discord.Member | discord.Object,
                               discord.PermissionOverwrite]:
    """Hidden from @everyone; visible to the moderator roles and to Steward."""
    overwrites: dict[discord.Role | discord.Member | discord.Object,
                     discord.PermissionOverwrite] = {
        guild.default_role: discord.PermissionOverwrite(view_channel=False),
        guild.me: discord.PermissionOverwrite(
            view_channel=True, send_messages=True, embed_links=True, attach_files=True,
            read_message_history=True),
    }
    for role_id in moderator_roles:
        role = guild.get_role(role_id)
        if role is not None:
            overwrites[role] = discord.PermissionOverwrite(
                view_channel=True, send_messages=True, read_message_history=True)
    return overwrites


async def create_staff_channels(guild: discord.Guild, names: list[str],
                                roles: list[int]) -> dict[str, discord.TextChannel]:
    """Create moderators-only text channels named `names` (refused without the permissions)."""
    me = guild.me.guild_permissions
    lacking = [label for label, ok in ((tr("Manage Channels"), me.manage_channels),
                                       (tr("Manage Roles"), me.manage_roles)) if not ok]
    if lacking:
        raise BotMissingPermissions(
            tr("I can't create channels without ") + " and ".join(lacking) + tr(". Give the "
            "Steward role ") + " and ".join(lacking) + tr(" in Server Settings → Roles, or "
            "pick existing channels with `queue_channel:` and `mod_log_channel:`."))
    made: dict[str, discord.TextChannel] = {}
    for name in names:
        made[name] = await guild.create_text_channel(
            name, overwrites=staff_overwrites(guild, roles),
            reason=tr("Steward setup: moderators-only channel"))
        log.info("setup created channel %s in guild %s", made[name].id, guild.id)
    return made

