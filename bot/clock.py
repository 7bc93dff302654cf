"""Time as a dependency: services read `clock.now()` and sleep with `clock.sleep_until()`.

`SystemClock` is real time. `FakeClock` is moved by tests and the demo; sleepers wake when it
passes their deadline, so nothing in a test waits in real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time and can sleep until a moment."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once `now() >= when`."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        """Sleep in real time until `when` (re-checking, as event loops may wake early)."""
        # Re-check: loops may wake early, and long sleeps are capped.
        while (remaining := (when - self.now()).total_seconds()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(remaining, 3600.0))


class FakeClock:
    """A clock that only moves when told to; used by tests and the offline demo."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()

    def now(self) -> datetime:
        """The simulated current time."""
        return self._now

    async def sleep_until(self, when: datetime) -> None:
        """Wait until the clock is advanced to or past `when`."""
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._counter), future))
        await future

    def set(self, when: datetime) -> None:
        """Jump to `when` (never backwards) and wake every sleeper now due."""
        if when < self._now:
            raise ValueError("FakeClock cannot go backwards")
        self._now = when
        while self._sleepers and self._sleepers[0][0] <= when:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by `delta` (or `timedelta(**kwargs)`) and return the new time."""
        self.set(self._now + (delta if delta is not None else timedelta(**kwargs)))
        return self._now
