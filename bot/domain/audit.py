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


# --- which events go to the mod log ---------------------------------------------------------

# family -> (what a moderator calls it, the action prefixes it covers)
EVENT_FAMILIES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "linkhold": ("held links and decisions", ("hold.", "member.", "policy.")),
    "reposts": ("reposts, their edits and deletions", ("repost.",)),
    "followups": ("follow-ups and reminders", ("followup.", "reminder.")),
    "welcome": ("welcomes and support groups", ("welcome.",)),
    "care": ("care alerts and do-not-tag marks", ("care.",)),
    "settings": ("settings changes", ("settings.",)),
    "privacy": ("forget requests", ("privacy.",)),
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
    "hold.held": ("Link held", "Held"),
    "hold.repeated": ("Held post sent again", "Sent again"),
    "hold.remove_failed": ("Held link could not be removed", ""),
    "hold.approved": ("Post approved", "Approved by"),
    "hold.trusted_and_approved": ("Post approved, member trusted", "Approved by"),
    "hold.rejected": ("Post rejected", "Rejected by"),
    "hold.rejected.timeout": ("Post rejected, member timed out", "Rejected by"),
    "hold.rejected.ban": ("Post rejected, member banned", "Rejected by"),
    "hold.closed_member_left": ("Held post closed: member left", ""),
    "member.trusted": ("Member trusted", "Trusted by"),
    "member.untrusted": ("Member no longer trusted", "By"),
    "member.promoted": ("Trusted role given after the hold period", ""),
    "member.timeout": ("Member timed out", "Timed out by"),
    "member.ban": ("Member banned", "Banned by"),
    "repost.published": ("Post shared for a member", "Shared by"),
    "repost.edited": ("Shared post edited", "Edited by"),
    "repost.deleted": ("Shared post deleted", "Deleted by"),
    "followup.asked": ("Follow-up asked", "Asked by"),
    "followup.answered": ("Follow-up answered", ""),
    "followup.closed": ("Follow-up closed", ""),
    "followup.opted_out": ("Member turned follow-up pings off", ""),
    "followup.opted_in": ("Member turned follow-up pings on", ""),
    "followup.unsubscribed_left": ("Reply notifications removed: member left", ""),
    "reminder.scheduled": ("Reminder scheduled", "Scheduled by"),
    "reminder.cancelled": ("Reminder cancelled", "Cancelled by"),
    "reminder.snoozed": ("Reminder moved", "Moved by"),
    "reminder.fired": ("Reminder sent", ""),
    "reminder.stood_down": ("Reminder not needed", ""),
    "reminder.closed": ("Reminder closed", ""),
    "reminder.failed": ("Reminder failed", ""),
    "welcome.sent": ("Member welcomed", ""),
    "welcome.resent": ("Welcome sent again", "Sent by"),
    "welcome.failed": ("Welcome failed", ""),
    "welcome.catchup_skipped": ("Late joins not welcomed", ""),
    "welcome.group_added": ("Support group added", "Added by"),
    "welcome.group_edited": ("Support group changed", "Changed by"),
    "welcome.group_removed": ("Support group removed", "Removed by"),
    "welcome.roles_failed": ("Group roles could not be changed", ""),
    "welcome.role_unsafe": ("Group role refused", ""),
    "welcome.role_has_powers": ("Group role has moderator powers", ""),
    "care.alert": ("Care alert", ""),
    "care.claimed": ("Care alert taken", "Reaching out:"),
    "care.support_sent": ("Support message sent", "Sent by"),
    "care.support_dm_closed": ("Support message not delivered (DMs closed)", "Tried by"),
    "care.quiet_added": ("Member marked do-not-tag", "Marked by"),
    "care.quiet_changed": ("Do-not-tag reason changed", "Changed by"),
    "care.quiet_removed": ("Do-not-tag mark removed", "Removed by"),
    "settings.changed": ("Settings changed", "Changed by"),
    "settings.imported": ("Settings imported", "Imported by"),
    "settings.external": ("Settings file changed", ""),
    "privacy.forgotten": ("Member forgotten", "Requested by"),
    "template.fallback": ("A saved wording failed; the default was used", ""),
}


def title_of(action: str) -> str:
    """A short human title for an action ("hold.held" -> "Link held")."""
    known = _TITLES.get(action)
    if known is not None:
        return known[0]
    words = action.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Event"


def actor_line(action: str, actor_mention: str | None) -> str | None:
    """"Approved by <@id>" (mention rendered, nobody pinged); None when Steward acted alone."""
    if actor_mention is None:
        return None
    verb = _TITLES.get(action, ("", "By"))[1] or "By"
    return f"{verb} {actor_mention}"


# --- details in plain words ------------------------------------------------------------------

_LABELS: Mapping[str, str] = {
    "hold": "Held post", "alert": "Care alert", "followup": "Follow-up", "reminder": "Reminder",
    "jump": "Link", "queue": "Queue card", "result": "Post", "question": "Question",
    "tag": "Tag", "answer": "Answer", "message": "Message", "channel": "Channel",
    "where": "Where", "removed": "Post removed", "edited": "Edited before approval",
    "member_told": "Member told", "check_in_due": "Check-in due", "due": "Due",
    "late_by": "Late by", "parts": "Messages", "mode": "Posted", "source": "From",
    "files_not_kept": "Files not kept", "notes": "Notes", "count": "Times",
    "follow_ups_closed": "Follow-up items closed", "subscriptions": "Subscriptions removed",
    "not_greeted": "Not welcomed", "why": "Why", "setting": "Setting", "problem": "Problem",
    "pseudonym": "Pseudonym", "cancelled": "Reminders cancelled", "kind": "Kind",
}
_LINK_WORDS: Mapping[str, str] = {
    "queue": "Open the card", "result": "Open the post", "question": "Open the question",
    "tag": "Open the tag", "answer": "Open the answer", "message": "Open the message",
    "jump": "Open", "source": "Open the original",
}
_VALUE_WORDS: Mapping[str, Mapping[str, str]] = {
    "removed": {"removed": "yes", "gone": "it was already gone",
                "failed": "no: I couldn't remove it"},
    "mode": {"webhook": "in the member's name", "bot": "by Steward"},
    "kind": {"checkin": "check-in", "remind": "reminder", "autocheck": "automatic check-in"},
    "source": {"manual": "words sent to the moderators another way"},
}
_SETTING_WORDS: Mapping[str, str] = {"None": "not set", "True": "on", "False": "off",
                                     "[]": "none"}
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
        label = _LABELS.get(key) or (f"`{key}`" if "." in key
                                     else key.replace("_", " ").capitalize())
        lines.append(f"**{label}:** {plain_value(key, value)}")
    return lines


def plain_value(key: str, value: Any) -> str:
    """One detail's value in words: links named, booleans as yes/no, ids as #n."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return f"[{_LINK_WORDS.get(key, 'Open')}]({value})"
    if isinstance(value, str) and key in _TIMES:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        return f"<t:{int(when.timestamp())}:f>"
    if key == "source" and isinstance(value, str) and value.startswith("hold:"):
        return f"held post #{value.partition(':')[2]}"
    if isinstance(value, str) and " → " in value:  # a setting's "old → new"
        channel = key.endswith("_channel")
        return " → ".join(f"<#{part}>" if channel and part.isdigit()
                          else _SETTING_WORDS.get(part, part)
                          for part in value.split(" → ", 1))
    if isinstance(value, str):
        return _VALUE_WORDS.get(key, {}).get(value, value)
    if isinstance(value, int) and key in ("hold", "alert", "followup", "reminder"):
        return f"#{value}"
    if isinstance(value, list):
        return ", ".join(f"#{v}" if isinstance(v, int) else str(v) for v in value)
    return str(value)
