"""Time for the sandbox: a pluggable clock and Discord snowflakes derived from it.

Pass any object with ``now() -> datetime`` (timezone-aware, UTC) as ``Sandbox(clock=...)``;
the app's ``bot.clock.Clock`` and test fake clocks both fit. Snowflakes are built from the
clock's time so ``discord.utils.snowflake_time(id)`` gives back the creation time, and they
are strictly increasing even with a frozen fake clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

DISCORD_EPOCH_MS = 1420070400000


class SupportsNow(Protocol):
    """Anything with ``now()`` returning an aware UTC datetime."""

    def now(self) -> dt.datetime: ...


class RealClock:
    """Wall-clock time in UTC (the default)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def iso(when: dt.datetime | None) -> str | None:
    """Discord's ISO-8601 timestamp format (``+00:00`` offset)."""
    if when is None:
        return None
    if when.tzinfo is None:
        raise ValueError("sandbox timestamps must be timezone-aware")
    return when.astimezone(dt.UTC).isoformat()


def snowflake_for(when: dt.datetime, increment: int = 0) -> int:
    """A snowflake whose timestamp part is ``when`` (worker/process bits are 0)."""
    ms = int(when.timestamp() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (increment & 0xFFF)


def snowflake_time(snowflake: int) -> dt.datetime:
    """Inverse of :func:`snowflake_for` (same as ``discord.utils.snowflake_time``)."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


class SnowflakeGenerator:
    """Strictly increasing snowflakes stamped with the clock's current time."""

    def __init__(self, clock: SupportsNow) -> None:
        self._clock = clock
        self._last = 0
        self._issued: set[int] = set()
        # Where to resume the search for each backdated base: many ids stamped with the same
        # moment (e.g. 100,000 members "joined 30 days ago") stay linear, not quadratic.
        self._resume: dict[int, int] = {}

    def next(self, when: dt.datetime | None = None) -> int:
        """A fresh id; ``when`` backdates it (used for members/messages made in the past)."""
        if when is not None:
            # Backdated ids only need to be unique, not monotonic.
            base = snowflake_for(when, 1)
            candidate = self._resume.get(base, base)
            while candidate in self._issued:
                candidate += 1
            self._resume[base] = candidate + 1
        else:
            candidate = max(self._last + 1, snowflake_for(self._clock.now(), 1))
            while candidate in self._issued:
                candidate += 1
            self._last = candidate
        self._issued.add(candidate)
        return candidate
