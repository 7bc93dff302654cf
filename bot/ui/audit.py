"""Audit entries as text and embeds: the mod-log embed and the /steward audit pages."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.domain.audit import AuditEntry
from bot.domain.text import truncate
from bot.i18n import N_, current, tr

_COLOURS = {
    "failed": discord.Colour.red(),
    "rejected": discord.Colour.dark_red(),
    "approved": discord.Colour.green(),
    "held": discord.Colour.orange(),
    "fallback": discord.Colour.orange(),  # template.fallback: a saved template is broken
}


# What each recorded action is called in the mod log (unknown ones show their code).
ACTION_TITLES: dict[str, str] = {
    "care.alert": N_("Care alert raised"),
    "care.claimed": N_("A moderator is reaching out"),
    "care.support_dm_closed": N_("Support message not sent: DMs closed"),
    "care.support_sent": N_("Support message sent"),
    "followup.answered": N_("Follow-up: the original poster answered"),
    "followup.asked": N_("Follow-up: original poster tagged"),
    "followup.closed": N_("Follow-up closed"),
    "followup.unsubscribed_left": N_("Follow-up: subscriber left"),
    "hold.approved": N_("Held post approved"),
    "hold.closed_member_left": N_("Hold closed: the member left"),
    "hold.held": N_("New member's link post held"),
    "hold.rejected": N_("Held post rejected"),
    "hold.remove_failed": N_("Held post could not be removed"),
    "hold.repeated": N_("Held post repeated"),
    "hold.trusted_and_approved": N_("Member trusted and post approved"),
    "member.trusted": N_("Member trusted"),
    "member.untrusted": N_("Member no longer trusted"),
    "privacy.forgotten": N_("Member forgotten"),
    "reminder.cancelled": N_("Reminder cancelled"),
    "reminder.scheduled": N_("Reminder scheduled"),
    "reminder.snoozed": N_("Reminder moved"),
    "repost.deleted": N_("Repost deleted"),
    "repost.edited": N_("Repost edited"),
    "repost.published": N_("Reposted for a member"),
    "settings.changed": N_("Settings changed"),
    "settings.imported": N_("Settings imported"),
    "template.fallback": N_("A saved template failed: the default was used"),
    "welcome.catchup_skipped": N_("Late joins not welcomed"),
    "welcome.failed": N_("Welcome failed"),
    "welcome.group_added": N_("Support group added"),
    "welcome.group_edited": N_("Support group changed"),
    "welcome.group_removed": N_("Support group removed"),
    "welcome.resent": N_("Welcome sent again"),
    "welcome.role_has_powers": N_("Support-group role has Steward powers"),
    "welcome.role_unsafe": N_("Support-group role is unsafe"),
    "welcome.roles_failed": N_("Support-group roles could not be given"),
}

# What each detail is called (unknown ones show their key as code).
DETAIL_LABELS: dict[str, str] = {
    "alert": N_("Alert"), "channel": N_("Channel"), "check_in_due": N_("Check-in due"),
    "edited": N_("Edited"), "followup": N_("Follow-up"), "from": N_("From"),
    "group": N_("Group"), "hold": N_("Hold"), "member_told": N_("Member told"),
    "mode": N_("Mode"), "part": N_("Part"), "parts": N_("Parts"), "post": N_("Post"),
    "reason": N_("Reason"), "removed": N_("Removed"), "role": N_("Role"),
    "source": N_("Source"), "where": N_("Where"), "outcome": N_("Outcome"),
    "setting": N_("Setting"), "error": N_("Error"), "count": N_("Count"),
    "reminder": N_("Reminder"), "due": N_("Due"), "days": N_("Days"),
    "queue": N_("Queue card"), "result": N_("Result"), "jump": N_("Post"),
    "question": N_("Question"), "tag": N_("Tag"), "answer": N_("Answer"),
}

_LITERALS: dict[str, object] = {"True": True, "False": False}
_PLAIN_VALUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:+-/#")


def detail_label(key: str) -> str:
    """A detail's name in words (its key as code when it has none)."""
    return tr(DETAIL_LABELS[key]) if key in DETAIL_LABELS else f"`{key}`"


def detail_value(value: object) -> str:
    """A detail's value: yes/no for flags, codes as code, words and mentions as they are."""
    if isinstance(value, bool):
        return tr("yes") if value else tr("no")
    text = str(value)
    if " → " in text:  # a setting's change, recorded as "old → new"
        return " → ".join(detail_value(_LITERALS.get(part, part)) for part in text.split(" → "))
    if text == "None":
        return "—"
    when = _moment(text)
    if when is not None:  # Discord writes it in each reader's language and time zone
        return f"<t:{int(when.timestamp())}:f>"
    if text and not text.isdigit() and set(text) <= _PLAIN_VALUE:
        return f"`{text}`"
    return current().known(text)  # a reason recorded in Steward's words reads in the reader's


def _moment(text: str) -> datetime | None:
    if len(text) < 16 or not text[:4].isdigit() or text[4] != "-" or "T" not in text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def mod_log_embed(entry: AuditEntry) -> discord.Embed:
    """A compact embed: action, who, whom, and the details (ids and jump links only)."""
    colour = next(
        (c for key, c in _COLOURS.items() if key in entry.action), discord.Colour.blurple()
    )
    # The title is the action's code (what /steward audit filters on); the first line says
    # it in words.
    embed = discord.Embed(title=entry.action, colour=colour, timestamp=entry.created_at)
    lines = [f"*{tr(ACTION_TITLES[entry.action])}*"] if entry.action in ACTION_TITLES else []
    if entry.actor_id is not None:
        lines.append(tr("**By:** <@{actor_id}>", actor_id=entry.actor_id))
    if entry.target_id is not None:
        lines.append(tr("**Member:** <@{target_id}>", target_id=entry.target_id))
    for key, value in entry.details.items():
        if value is None or value == "" or value == []:
            continue
        label = detail_label(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            lines.append(tr("**{label}:** [jump]({value})", label=label, value=value))
        else:
            lines.append(f"**{label}:** {detail_value(value)}")
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
    links = [f"[{detail_label(key)}]({value})" for key, value in entry.details.items()
             if isinstance(value, str) and value.startswith("https://")]
    other = [f"{detail_label(key)}: {truncate(detail_value(value), 60)}"
             for key, value in entry.details.items()
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
