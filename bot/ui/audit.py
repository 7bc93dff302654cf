"""Audit entries as text and embeds: the mod-log embed and the /steward audit pages."""

from __future__ import annotations

import discord

from bot.domain.audit import AuditEntry
from bot.domain.text import truncate
from bot.i18n import tr

_COLOURS = {
    "failed": discord.Colour.red(),
    "rejected": discord.Colour.dark_red(),
    "approved": discord.Colour.green(),
    "held": discord.Colour.orange(),
    "fallback": discord.Colour.orange(),  # template.fallback: a saved template is broken
}


def mod_log_embed(entry: AuditEntry) -> discord.Embed:
    """A compact embed: action, who, whom, and the details (ids and jump links only)."""
    colour = next(
        (c for key, c in _COLOURS.items() if key in entry.action), discord.Colour.blurple()
    )
    embed = discord.Embed(title=entry.action, colour=colour, timestamp=entry.created_at)
    lines = []
    if entry.actor_id is not None:
        lines.append(tr("**By:** <@{actor_id}>", actor_id=entry.actor_id))
    if entry.target_id is not None:
        lines.append(tr("**Member:** <@{target_id}>", target_id=entry.target_id))
    for key, value in entry.details.items():
        if value is None or value == "" or value == []:
            continue
        label = key.replace("_", " ").capitalize()
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            lines.append(tr("**{label}:** [jump]({value})", label=label, value=value))
        else:
            lines.append(f"**{label}:** {value}")
    embed.description = "\n".join(lines) or None
    embed.set_footer(text=tr("audit #{id}", id=entry.id))
    return embed


def audit_line(entry: AuditEntry) -> str:
    """One compact line: when, what, who, whom, links."""
    when = f"<t:{int(entry.created_at.timestamp())}:R>" if entry.created_at else "?"
    parts = [f"{when} **{entry.action}**"]
    if entry.actor_id is not None:
        parts.append(tr("by <@{actor_id}>", actor_id=entry.actor_id))
    if entry.target_id is not None:
        parts.append(f"→ <@{entry.target_id}>")
    links = [f"[{key}]({value})" for key, value in entry.details.items()
             if isinstance(value, str) and value.startswith("https://")]
    other = [f"{key}: {truncate(str(value), 60)}" for key, value in entry.details.items()
             if not (isinstance(value, str) and value.startswith("https://"))
             and value not in (None, "", [], {})]
    if other:
        parts.append("· " + "; ".join(other))
    if links:
        parts.append(" ".join(links))
    return truncate(" ".join(parts), 380)


def audit_page(entries: list[AuditEntry], page: int, filters: str) -> discord.Embed:
    """A page of audit entries (newest first)."""
    embed = discord.Embed(title=tr("Audit log") + (f" ({filters})" if filters else ""),
                          colour=discord.Colour.blurple())
    if not entries:
        embed.description = (tr("Nothing recorded yet.") if page == 0 and not filters else
                             tr("No entries match.") if page == 0 else tr("No more entries."))
    else:
        embed.description = "\n".join(f"#{e.id} {audit_line(e)}" for e in entries)
    embed.set_footer(text=tr("Page {value}", value=page + 1))
    return embed
