"""When something should happen: `30m`, `2h`, `3d`, `2w`, `1d12h`, or `YYYY-MM-DD HH:MM`.

Units may also be written as words, in English or Spanish: `3 days`, `2 hours 30 minutes`,
`3 días`, `1 semana y 2 días`, `45 minutos` (accents and case don't matter).

Relative durations count from `now`; absolute dates are read in the guild's IANA time zone
(zoneinfo). Anything sooner than a minute, later than a year, or unreadable is refused with
an error that lists the accepted forms, fit to show the moderator as is.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import N_, tr, trn

MIN_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(days=365)

ACCEPTED_FORMS = (
    N_("a duration like `30m`, `2h`, `3d`, `2w`, `1d12h` or `3 days` (w = weeks, d = days, "
       "h = hours, m = minutes), or a date and time like `2026-03-14 15:30` in the server's "
       "time zone")
)

_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "m": timedelta(minutes=1)}
# Units in this order, each at most once: 2w3d4h30m, 1d12h, 45m.
_RELATIVE = re.compile(
    r"(?:(?P<w>\d{1,4})w)?(?:(?P<d>\d{1,5})d)?(?:(?P<h>\d{1,6})h)?(?:(?P<m>\d{1,7})m)?",
    re.IGNORECASE,
)
# Unit words, English and Spanish (accents already removed), and the letter each stands for.
_UNIT_WORDS = {
    "w": ("weeks", "week", "wks", "wk", "semanas", "semana", "sem"),
    "d": ("days", "day", "dias", "dia"),
    "h": ("hours", "hour", "hrs", "hr", "horas", "hora"),
    "m": ("minutes", "minute", "mins", "min", "minutos", "minuto"),
}
_WORD_UNIT = re.compile(
    r"(\d+)\s*(" + "|".join(w for words in _UNIT_WORDS.values() for w in words) + r")\b")
_LETTER = {word: letter for letter, words in _UNIT_WORDS.items() for word in words}
_CONNECTORS = re.compile(r"(?:,|\b(?:and|y)\b)")
_ABSOLUTE = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})"
)


class DurationError(ValueError):
    """The text can't be used as a time; the message says why and what is accepted."""

    def __init__(self, problem: str) -> None:
        super().__init__(tr("{problem} Use {forms}.", problem=problem, forms=tr(ACCEPTED_FORMS)))
        self.problem = problem


def zone(name: str) -> tzinfo:
    """The IANA time zone `name` (UTC for an unknown name, which settings never store)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_duration(text: str) -> timedelta:
    """`2h`, `1d12h`, ... as a timedelta (no bounds check); DurationError when unreadable."""
    compact = "".join(_CONNECTORS.sub(" ", _unit_words(text)).split())
    match = _RELATIVE.fullmatch(compact)
    if not compact or match is None or not any(match.groupdict().values()):
        raise DurationError(tr("I couldn't read {shown} as a time.", shown=_shown(text)))
    total = timedelta()
    for unit, amount in match.groupdict().items():
        if amount:
            total += int(amount) * _UNITS[unit]
    return total


def parse_when(text: str, now: datetime, timezone: str | tzinfo = "UTC") -> datetime:
    """The UTC moment `text` names, counted from `now` or read in `timezone`; bounds checked."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = zone(timezone) if isinstance(timezone, str) else timezone
    stripped = text.strip()
    absolute = _ABSOLUTE.fullmatch(stripped)
    if absolute is not None:
        when = _local_to_utc(absolute, tz, stripped)
    else:
        when = now + parse_duration(stripped)
    return check_bounds(when, now)


def check_bounds(when: datetime, now: datetime) -> datetime:
    """`when` in UTC if it is at least a minute and at most a year after `now`."""
    delay = when - now
    if delay < timedelta():
        raise DurationError(tr("That time is in the past."))
    if delay < MIN_DELAY:
        raise DurationError(tr("That is less than a minute away."))
    if delay > MAX_DELAY:
        raise DurationError(tr("That is more than a year away."))
    return when.astimezone(UTC)


def describe(delta: timedelta) -> str:
    """A short human duration: `3 days`, `2 hours 30 minutes`, `1 minute` (`3 días`)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(trn("{count} day", "{count} days", days, count=days))
    if hours:
        parts.append(trn("{count} hour", "{count} hours", hours, count=hours))
    if mins:
        parts.append(trn("{count} minute", "{count} minutes", mins, count=mins))
    return " ".join(parts[:2]) or tr("less than a minute")


def _unit_words(text: str) -> str:
    """`3 días y 2 horas` -> `3d y 2h`: unit words (any case, accents or not) become letters."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                    if not unicodedata.combining(c))
    return _WORD_UNIT.sub(lambda m: m[1] + _LETTER[m[2]], plain)


def _local_to_utc(match: re.Match[str], tz: tzinfo, text: str) -> datetime:
    try:
        local = datetime(int(match["y"]), int(match["mo"]), int(match["d"]),
                         int(match["h"]), int(match["mi"]), tzinfo=tz)
    except ValueError:
        raise DurationError(tr("{shown} is not a real date and time.",
                               shown=_shown(text))) from None
    as_utc = local.astimezone(UTC)
    # A wall time skipped by a daylight-saving jump does not survive the round trip.
    if as_utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise DurationError(
            tr("{shown} doesn't exist in {tz} (the clocks jump forward then).",
               shown=_shown(text), tz=tz)
        )
    return as_utc


def _shown(text: str) -> str:
    flat = " ".join(text.split())
    return f"`{flat[:40]}`" if flat else tr("an empty time")
