"""Care rules: the support message's template, extra phrases, quiet windows (pure).

Detection itself is `bot.domain.distress.assess`; this module holds the small rules around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.distress import normalize
from bot.i18n import N_

# Names a support template may use.
SUPPORT_NAMES = frozenset({"member", "server", "moderator"})

# The default support message: gentle, no phone numbers (servers add their own helplines).
DEFAULT_SUPPORT_TEMPLATE = (
    N_("Hi {member}, I'm one of the moderators of {server}. I saw your post and wanted to check "
    "in with you. You don't have to reply, but if you'd like to talk, I'm here, and so are "
    "the people in our community.\n\n"
    "If things feel like too much right now, please reach out to someone you trust, or to a "
    "crisis line where you live (findahelpline.com lists free, confidential ones by country). "
    "If you are in danger, please contact your local emergency number.\n\n"
    "Take care of yourself. 💙")
)

PHRASE_MIN = 3
PHRASE_MAX = 100
PHRASES_MAX = 100
QUOTE_LIMIT = 0  # the card carries no words of the post: the jump link is enough


def clean_phrase(phrase: str) -> str:
    """A server's extra phrase, trimmed and checked (ValueError with a kind message)."""
    text = " ".join(phrase.split())
    if not PHRASE_MIN <= len(text) <= PHRASE_MAX:
        raise ValueError(f"a phrase must be {PHRASE_MIN} to {PHRASE_MAX} characters long")
    if not normalize(text).strip(" .,"):
        raise ValueError("a phrase needs some letters or numbers")
    return text


def clean_phrases(phrases: Sequence[str]) -> list[str]:
    """A server's extra phrases: each checked, duplicates (by normalized form) dropped."""
    if len(phrases) > PHRASES_MAX:
        raise ValueError(f"at most {PHRASES_MAX} extra phrases")
    seen: set[str] = set()
    out: list[str] = []
    for phrase in phrases:
        text = clean_phrase(phrase)
        key = normalize(text)
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out


def quiet_end(now: datetime, quiet_hours: int) -> datetime:
    """When a quiet window that starts `now` ends."""
    return now + timedelta(hours=quiet_hours)


def still_quiet(until: datetime | None, now: datetime) -> datetime | None:
    """`until` while it is in the future, else None."""
    return until if until is not None and until > now else None


# Discord gives every server "en-US" until someone changes it, so that locale says nothing
# about the language members write in.
_UNKNOWN_LOCALES = frozenset({"", "en-us"})


def language_for(locale: str | None) -> str:
    """The detector's language for a server locale.

    "es" reads posts with the Spanish *and* the English lexicon (see `assess`), so it is also
    the answer whenever the members' language is unknown: no locale, Discord's default
    "en-US", or a language the detector has no lexicon for. Only another English locale
    ("en-GB") reads English alone. Reading both costs no precision on the English corpus
    (benches/distress).
    """
    key = (locale or "").strip().casefold().replace("_", "-")
    if key.startswith("en") and key not in _UNKNOWN_LOCALES:
        return "en"
    return "es"
