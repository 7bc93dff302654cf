"""Rendering audit entries as compact mod-log embeds."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot import messaging
from bot.db.audit import AuditEntry

if TYPE_CHECKING:
    from bot.app import StewardBot

log = logging.getLogger(__name__)

_COLOURS = {
    "failed": discord.Colour.red(),
    "rejected": discord.Colour.dark_red(),
    "approved": discord.Colour.green(),
    "held": discord.Colour.orange(),
}


def render(entry: AuditEntry) -> discord.Embed:
    """A compact embed: action, who, whom, and the details (ids and jump links only)."""
    colour = next(
        (c for key, c in _COLOURS.items() if key in entry.action), discord.Colour.blurple()
    )
    embed = discord.Embed(title=entry.action, colour=colour, timestamp=entry.created_at)
    lines = []
    if entry.actor_id is not None:
        lines.append(f"**By:** <@{entry.actor_id}>")
    if entry.target_id is not None:
        lines.append(f"**Member:** <@{entry.target_id}>")
    for key, value in entry.details.items():
        if value is None or value == "" or value == []:
            continue
        label = key.replace("_", " ").capitalize()
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            lines.append(f"**{label}:** [jump]({value})")
        else:
            lines.append(f"**{label}:** {value}")
    embed.description = "\n".join(lines) or None
    embed.set_footer(text=f"audit #{entry.id}")
    return embed


async def post_entry(bot: StewardBot, entry: AuditEntry) -> None:
    """Post `entry` to the guild's mod-log channel, when one is configured and reachable."""
    channel_id = bot.guild_settings.get(entry.guild_id).core.mod_log_channel
    if channel_id is None:
        return
    channel = bot.get_channel(channel_id)
    if not isinstance(channel, discord.TextChannel | discord.Thread):
        log.warning("mod-log channel %s of guild %s is missing", channel_id, entry.guild_id)
        return
    try:
        await messaging.send(channel, embeds=[render(entry)])
    except discord.HTTPException as exc:
        log.warning("could not post to mod-log channel %s: %s", channel_id, exc.code)
