"""Audit entries as text and embeds: the mod-log embed and the /steward audit pages.

The words come from `bot.domain.audit` (titles, who did it, details in plain words); times are
Discord timestamps, shown to each reader in their own time zone.
"""

from __future__ import annotations

import discord

from bot.domain.audit import (
    EVENT_FAMILIES,
    AuditEntry,
    actor_line,
    detail_lines,
    plain_value,
    title_of,
)
from bot.domain.text import truncate
from bot.i18n import tr

_COLOURS = {
    "failed": discord.Colour.red(),
    "rejected": discord.Colour.dark_red(),
    "approved": discord.Colour.green(),
    "held": discord.Colour.orange(),
    "fallback": discord.Colour.orange(),  # template.fallback: a saved template is broken
}


def _mention(user_id: int | None) -> str | None:
    # A forgotten person's id is a pseudonym (negative) or 0: no mention for those.
    if user_id is None:
        return None
    return f"<@{user_id}>" if user_id > 0 else tr("a former member")


def mod_log_embed(entry: AuditEntry) -> discord.Embed:
    """A compact embed: a human title, who did it and when, whom, and the details in words."""
    colour = next(
        (c for key, c in _COLOURS.items() if key in entry.action), discord.Colour.blurple()
    )
    embed = discord.Embed(title=title_of(entry.action), colour=colour)
    first = [part for part in (
        actor_line(entry.action, _mention(entry.actor_id)),
        f"<t:{int(entry.created_at.timestamp())}:f>" if entry.created_at else None,
    ) if part]
    lines = [" · ".join(first)] if first else []
    if entry.target_id is not None:
        lines.append(tr("**Member:** {member}", member=_mention(entry.target_id)))
    lines.extend(detail_lines(entry.details))
    embed.description = truncate("\n".join(lines), 4000) or None
    embed.set_footer(text=tr("Audit entry {id}", id=entry.id))
    return embed


def audit_line(entry: AuditEntry) -> str:
    """One compact line: when, what, who, whom, details."""
    when = f"<t:{int(entry.created_at.timestamp())}:R>" if entry.created_at else "?"
    parts = [f"{when} **{title_of(entry.action)}**"]
    if entry.actor_id is not None:
        parts.append(tr("by {member}", member=_mention(entry.actor_id)))
    if entry.target_id is not None:
        parts.append(f"→ {_mention(entry.target_id)}")
    values = [plain_value(key, value) if isinstance(value, str) and value.startswith(
        "https://") else f"{key.replace('_', ' ')}: {truncate(plain_value(key, value), 60)}"
        for key, value in entry.details.items()
        if value not in (None, "", [], {}) and not (key == "edited" and value is False)]
    if values:
        parts.append("· " + "; ".join(values))
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


def describe_routing(events: list[str]) -> str:
    """Which events the mod log shows, one line each."""
    lines = [f"{'✅' if family in events else '⬜'} **{family}**: {tr(label)}"
             for family, (label, _) in EVENT_FAMILIES.items()]
    return (tr("**What the mod log shows** (problems, like a failed welcome, always go):\n")
            + "\n".join(lines)
            + tr("\nChange one with `/steward modlog event: welcome show: True`."))

