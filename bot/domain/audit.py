"""An audit entry (ids and jump links only, never message content), and how people read it.

The mod log speaks in plain words: a title per action ("Link held", "Post approved"), a line
saying who did it ("Approved by @Maria"), and details with labels and values a moderator
understands ("Post removed: yes", not "Removed: removed"). Which events reach the mod log is a
per-server setting (`core.mod_log_events`, families below); problems always do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.i18n import N_, current, tr


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action."""

    id: int
    guild_id: int
    actor_id: int | None
    action: str
    target_id: int | None
    details: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


def said(message: str, /, **values: Any) -> dict[str, Any]:
    """A sentence of Steward's own for an entry's details, recorded as its catalog message and
    values (mark the message with `N_`) and read in the reader's language when shown."""
    return {"said": message, "values": values}


# --- which events go to the mod log ---------------------------------------------------------

# family -> (what a moderator calls it, the action prefixes it covers)
EVENT_FAMILIES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "linkhold": (N_("held links and decisions"), ("hold.", "member.", "policy.")),
    "reposts": (N_("reposts, their edits and deletions"), ("repost.",)),
    "followups": (N_("follow-ups and reminders"), ("followup.", "reminder.")),
    "welcome": (N_("welcomes and support groups"), ("welcome.",)),
    "care": (N_("care alerts and do-not-tag marks"), ("care.",)),
    "settings": (N_("settings changes"), ("settings.",)),
    "privacy": (N_("forget requests"), ("privacy.",)),
}
# Welcomes are routine and frequent: off unless a server asks for them.
DEFAULT_MOD_LOG_EVENTS: tuple[str, ...] = tuple(f for f in EVENT_FAMILIES if f != "welcome")

# Words in an action that mean something went wrong: those always reach the mod log.
_PROBLEM_WORDS = ("failed", "unsafe", "has_powers", "fallback", "stuck", "skipped",
                  "dm_closed")


def family_of(action: str) -> str | None:
    """The event family of an action (None: not routable, e.g. template fallbacks)."""
    for family, (_, prefixes) in EVENT_FAMILIES.items():
        if action.startswith(prefixes):
            return family
    return None


def is_problem(action: str) -> bool:
    """Whether the action reports a problem a moderator should see whatever the routing."""
    return any(word in action for word in _PROBLEM_WORDS)


def goes_to_mod_log(action: str, events: Iterable[str]) -> bool:
    """Whether an entry is posted to the mod log under the server's routing."""
    if is_problem(action):
        return True
    family = family_of(action)
    return family is None or family in set(events)


# --- titles and the "who" line ---------------------------------------------------------------

# action -> (title, verb for the person who did it)
_TITLES: Mapping[str, tuple[str, str]] = {
    "hold.held": (N_("Link held"), N_("Held")),
    "hold.repeated": (N_("Held post sent again"), N_("Sent again")),
    "hold.remove_failed": (N_("Held link could not be removed"), ""),
    "hold.approved": (N_("Post approved"), N_("Approved by")),
    "hold.trusted_and_approved": (N_("Post approved, member trusted"), N_("Approved by")),
    "hold.rejected": (N_("Post rejected"), N_("Rejected by")),
    "hold.rejected.timeout": (N_("Post rejected, member timed out"), N_("Rejected by")),
    "hold.rejected.ban": (N_("Post rejected, member banned"), N_("Rejected by")),
    "hold.closed_member_left": (N_("Held post closed: member left"), ""),
    "member.trusted": (N_("Member trusted"), N_("Trusted by")),
    "member.untrusted": (N_("Member no longer trusted"), N_("By")),
    "member.promoted": (N_("Trusted role given after the hold period"), ""),
    "member.timeout": (N_("Member timed out"), N_("Timed out by")),
    "member.ban": (N_("Member banned"), N_("Banned by")),
    "repost.published": (N_("Post shared for a member"), N_("Shared by")),
    "repost.edited": (N_("Shared post edited"), N_("Edited by")),
    "repost.deleted": (N_("Shared post deleted"), N_("Deleted by")),
    "followup.asked": (N_("Follow-up asked"), N_("Asked by")),
    "followup.answered": (N_("Follow-up answered"), ""),
    "followup.closed": (N_("Follow-up closed"), ""),
    "followup.opted_out": (N_("Member turned follow-up pings off"), ""),
    "followup.opted_in": (N_("Member turned follow-up pings on"), ""),
    "followup.unsubscribed_left": (N_("Reply notifications removed: member left"), ""),
    "reminder.scheduled": (N_("Reminder scheduled"), N_("Scheduled by")),
    "reminder.cancelled": (N_("Reminder cancelled"), N_("Cancelled by")),
    "reminder.snoozed": (N_("Reminder moved"), N_("Moved by")),
    "reminder.fired": (N_("Reminder sent"), ""),
    "reminder.stood_down": (N_("Reminder not needed"), ""),
    "reminder.closed": (N_("Reminder closed"), ""),
    "reminder.failed": (N_("Reminder failed"), ""),
    "welcome.sent": (N_("Member welcomed"), ""),
    "welcome.resent": (N_("Welcome sent again"), N_("Sent by")),
    "welcome.failed": (N_("Welcome failed"), ""),
    "welcome.catchup_skipped": (N_("Late joins not welcomed"), ""),
    "welcome.group_added": (N_("Support group added"), N_("Added by")),
    "welcome.group_edited": (N_("Support group changed"), N_("Changed by")),
    "welcome.group_removed": (N_("Support group removed"), N_("Removed by")),
    "welcome.roles_failed": (N_("Group roles could not be changed"), ""),
    "welcome.role_unsafe": (N_("Group role refused"), ""),
    "welcome.role_has_powers": (N_("Group role has moderator powers"), ""),
    "care.alert": (N_("Care alert"), ""),
    "care.claimed": (N_("Care alert taken"), N_("Reaching out:")),
    "care.support_sent": (N_("Support message sent"), N_("Sent by")),
    "care.support_dm_closed": (N_("Support message not delivered (DMs closed)"), N_("Tried by")),
    "care.quiet_added": (N_("Member marked do-not-tag"), N_("Marked by")),
    "care.quiet_changed": (N_("Do-not-tag reason changed"), N_("Changed by")),
    "care.quiet_removed": (N_("Do-not-tag mark removed"), N_("Removed by")),
    "settings.changed": (N_("Settings changed"), N_("Changed by")),
    "settings.imported": (N_("Settings imported"), N_("Imported by")),
    "settings.external": (N_("Settings file changed"), ""),
    "privacy.forgotten": (N_("Member forgotten"), N_("Requested by")),
    "template.fallback": (N_("A saved wording failed; the default was used"), ""),
}


def title_of(action: str) -> str:
    """A short human title for an action ("hold.held" -> "Link held")."""
    known = _TITLES.get(action)
    if known is not None:
        return tr(known[0])
    words = action.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else tr("Event")


def actor_line(action: str, actor_mention: str | None) -> str | None:
    """"Approved by <@id>" (mention rendered, nobody pinged); None when Steward acted alone."""
    if actor_mention is None:
        return None
    verb = tr(_TITLES.get(action, ("", "By"))[1] or N_("By"))
    return f"{verb} {actor_mention}"


# --- details in plain words ------------------------------------------------------------------

_LABELS: Mapping[str, str] = {
    "hold": N_("Held post"), "alert": N_("Care alert"), "followup": N_("Follow-up"),
    "reminder": N_("Reminder"),
    "jump": N_("Link"), "queue": N_("Queue card"), "result": N_("Post"), "question": N_("Question"),
    "tag": N_("Tag"), "answer": N_("Answer"), "message": N_("Message"), "channel": N_("Channel"),
    "where": N_("Where"), "removed": N_("Post removed"), "edited": N_("Edited before approval"),
    "member_told": N_("Member told"), "check_in_due": N_("Check-in due"), "due": N_("Due"),
    "late_by": N_("Late by"), "parts": N_("Messages"), "mode": N_("Posted"), "source": N_("From"),
    "files_not_kept": N_("Files not kept"), "notes": N_("Notes"), "count": N_("Times"),
    "follow_ups_closed": N_("Follow-up items closed"), "subscriptions": N_("Subscriptions removed"),
    "not_greeted": N_("Not welcomed"), "why": N_("Why"), "setting": N_("Setting"),
    "problem": N_("Problem"),
    "pseudonym": N_("Pseudonym"), "trusted": N_("Trusted"), "reason": N_("Reason"),
    "part": N_("Part"), "group": N_("Group"), "role": N_("Role"), "roles": N_("Roles"),
    "member": N_("Member"), "members": N_("Members"), "outcome": N_("Outcome"),
    "error": N_("Error"), "days": N_("Days"),
    "cancelled": N_("Reminders cancelled"), "kind": N_("Kind"), "via": N_("Through"),
    "failed": N_("Not finished"), "shared_posts_deleted": N_("Shared posts deleted"),
}
_LINK_WORDS: Mapping[str, str] = {
    "queue": N_("Open the card"), "result": N_("Open the post"),
    "question": N_("Open the question"),
    "tag": N_("Open the tag"), "answer": N_("Open the answer"), "message": N_("Open the message"),
    "jump": N_("Open"), "source": N_("Open the original"),
}
_VALUE_WORDS: Mapping[str, Mapping[str, str]] = {
    "removed": {"removed": N_("yes"), "gone": N_("it was already gone"),
                "failed": N_("no: I couldn't remove it")},
    "mode": {"webhook": N_("in the member's name"), "bot": N_("by Steward")},
    "kind": {"checkin": N_("check-in"), "remind": N_("reminder"),
    "autocheck": N_("automatic check-in")},
    "source": {"manual": N_("words sent to the moderators another way")},
}
_SETTING_WORDS: Mapping[str, str] = {"None": N_("not set"), "True": N_("on"),
                                     "False": N_("off"), "[]": N_("none")}
_HIDE_WHEN_FALSE = frozenset({"edited"})
_TIMES = frozenset({"check_in_due", "due"})  # stored as ISO text: shown as Discord timestamps


def detail_lines(details: Mapping[str, Any]) -> list[str]:
    """The details as "**Label:** value" lines, in plain words."""
    lines = []
    for key, value in details.items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        if key in _HIDE_WHEN_FALSE and value is False:
            continue
        # A setting's name is kept as written in the guide (`core.timezone`).
        label = tr(_LABELS[key]) if key in _LABELS else (
            f"`{key}`" if "." in key else key.replace("_", " ").capitalize())
        lines.append(f"**{label}:** {plain_value(key, value)}")
    return lines


def plain_value(key: str, value: Any) -> str:
    """One detail's value in words: links named, booleans as yes/no, ids as #n."""
    if isinstance(value, bool):
        return tr("yes") if value else tr("no")
    if isinstance(value, dict) and isinstance(value.get("said"), str):  # see `said`
        values = value.get("values")
        return tr(value["said"], **(values if isinstance(values, dict) else {}))
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return f"[{tr(_LINK_WORDS.get(key, N_('Open')))}]({value})"
    if isinstance(value, str) and key in _TIMES:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        return f"<t:{int(when.timestamp())}:f>"
    if key == "source" and isinstance(value, str) and value.startswith("hold:"):
        return tr("held post #{item}", item=value.partition(':')[2])
    if isinstance(value, str) and " → " in value:  # a setting's "old → new"
        channel = key.endswith("_channel")
        return " → ".join(f"<#{part}>" if channel and part.isdigit()
                          else tr(_SETTING_WORDS[part]) if part in _SETTING_WORDS else part
                          for part in value.split(" → ", 1))
    if key == "pseudonym":
        return f"`{value}`"  # an identifier, not words
    if isinstance(value, str):
        words = _VALUE_WORDS.get(key, {})
        # Words Steward recorded (a reason) read in the reader's language; people's stay.
        return tr(words[value]) if value in words else current().known(value)
    if isinstance(value, int) and key in ("hold", "alert", "followup", "reminder"):
        return f"#{value}"
    if isinstance(value, list):
        return ", ".join(f"#{v}" if isinstance(v, int) else str(v) for v in value)
    return str(value)
