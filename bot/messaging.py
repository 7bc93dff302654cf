"""Every outgoing message goes through here: explicit allowed_mentions, Discord's limits enforced.

The default is that nobody is pinged. A caller that means to ping someone names exactly who.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord

from bot.domain import text as limits

log = logging.getLogger(__name__)

NOBODY = discord.AllowedMentions.none()


def ping_only(*users: discord.abc.Snowflake | int) -> discord.AllowedMentions:
    """Allowed mentions that ping exactly these users: no roles, no @everyone, no reply ping."""
    objects = [discord.Object(u) if isinstance(u, int) else u for u in users]
    return discord.AllowedMentions(everyone=False, roles=False, users=objects, replied_user=False)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Trim an embed in place to Discord's limits (title, description, fields, total)."""
    if embed.title:
        embed.title = limits.truncate(embed.title, limits.EMBED_TITLE_LIMIT)
    if embed.description:
        embed.description = limits.truncate(embed.description, limits.EMBED_DESCRIPTION_LIMIT)
    if len(embed.fields) > limits.EMBED_FIELDS_LIMIT:
        for index in range(len(embed.fields) - 1, limits.EMBED_FIELDS_LIMIT - 1, -1):
            embed.remove_field(index)
    for index, field in enumerate(list(embed.fields)):
        embed.set_field_at(
            index,
            name=limits.truncate(field.name or "\u200b", limits.EMBED_FIELD_NAME_LIMIT),
            value=limits.truncate(field.value or "\u200b", limits.EMBED_FIELD_VALUE_LIMIT),
            inline=bool(field.inline),
        )
    if embed.footer.text:
        embed.set_footer(text=limits.truncate(embed.footer.text, limits.EMBED_FOOTER_LIMIT),
                         icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(name=limits.truncate(embed.author.name, limits.EMBED_AUTHOR_LIMIT),
                         url=embed.author.url, icon_url=embed.author.icon_url)
    while len(embed) > limits.EMBED_TOTAL_LIMIT and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > limits.EMBED_TOTAL_LIMIT and embed.description:
        excess = len(embed) - limits.EMBED_TOTAL_LIMIT
        embed.description = limits.truncate(embed.description, len(embed.description) - excess)
    return embed


def prepare(
    content: str | None,
    embeds: Sequence[discord.Embed] = (),
) -> tuple[str | None, list[discord.Embed]]:
    """Content and embeds trimmed to Discord's limits."""
    if content is not None and len(content) > limits.MESSAGE_LIMIT:
        log.warning("outgoing content of %d characters trimmed", len(content))
        content = limits.truncate(content, limits.MESSAGE_LIMIT)
    fitted = [fit_embed(e) for e in list(embeds)[: limits.EMBEDS_PER_MESSAGE]]
    return content, fitted


async def send(
    destination: discord.abc.Messageable,
    content: str | None = None,
    *,
    embeds: Sequence[discord.Embed] = (),
    allowed_mentions: discord.AllowedMentions = NOBODY,
    **kwargs: Any,
) -> discord.Message:
    """Send a message with limits enforced and explicit allowed_mentions (default: nobody)."""
    content, fitted = prepare(content, embeds)
    return await destination.send(
        content=content, embeds=fitted, allowed_mentions=allowed_mentions, **kwargs
    )


async def reply_ephemeral(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embeds: Sequence[discord.Embed] = (),
    **kwargs: Any,
) -> None:
    """Answer an interaction privately, whether or not it was already deferred or answered."""
    content, fitted = prepare(content, embeds)
    if interaction.response.is_done():
        await interaction.followup.send(
            content=content or "", embeds=fitted, ephemeral=True, allowed_mentions=NOBODY,
            **kwargs,
        )
    else:
        await interaction.response.send_message(
            content=content, embeds=fitted, ephemeral=True, allowed_mentions=NOBODY, **kwargs
        )
