"""Optional Discord-like rate limits for the sandbox (off unless ``sb.api.pacer`` is set).

``sb.api.pacer = Pacer()`` makes the sandbox answer like Discord under load: at most
``global_per_second`` requests per second from the bot (a global 429 beyond that), and at most
``channel_messages`` messages per ``channel_window`` seconds per channel, announced in the
``X-RateLimit-*`` headers so discord.py waits before the bucket runs dry (a 429 if it doesn't).
Real time, because discord.py's own rate limiter sleeps in real time. Used by benchmarks.
"""

from __future__ import annotations

import collections
import hashlib
import time
from typing import Any

from sandbox.records import FaultRule

MESSAGE_ROUTE = "POST /channels/{channel_id}/messages"


class Pacer:
    """A global requests-per-second cap and per-channel message buckets."""

    def __init__(self, global_per_second: int = 50, channel_messages: int = 5,
                 channel_window: float = 5.0) -> None:
        self.global_per_second = global_per_second
        self.channel_messages = channel_messages
        self.channel_window = channel_window
        self._recent: collections.deque[float] = collections.deque()
        self._windows: dict[Any, tuple[float, int]] = {}
        self.limited = 0

    def admit(self, route: str, params: dict[str, Any]) -> FaultRule | None:
        """None if the request may proceed; otherwise the 429 to answer with."""
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.global_per_second:
            self.limited += 1
            wait = max(0.001, 1.0 - (now - self._recent[0]))
            return FaultRule(route, 429, 1, retry_after=wait, global_=True)
        if route == MESSAGE_ROUTE:
            key = params.get("channel_id")
            start, used = self._window(key, now)
            if used >= self.channel_messages:
                self.limited += 1
                return FaultRule(route, 429, 1, retry_after=start + self.channel_window - now)
            self._windows[key] = (start, used + 1)
        self._recent.append(now)
        return None

    def _window(self, key: Any, now: float) -> tuple[float, int]:
        start, used = self._windows.get(key, (now, 0))
        if now - start >= self.channel_window:
            start, used = now, 0
        return start, used

    def headers(self, route: str, params: dict[str, Any]) -> dict[str, str] | None:
        """Bucket headers for a message route (None: use the default, never-limited ones)."""
        if route != MESSAGE_ROUTE:
            return None
        now = time.monotonic()
        start, used = self._window(params.get("channel_id"), now)
        reset_after = max(0.0, start + self.channel_window - now)
        bucket = hashlib.sha1(route.encode(), usedforsecurity=False).hexdigest()[:16]
        return {
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Limit": str(self.channel_messages),
            "X-RateLimit-Remaining": str(max(0, self.channel_messages - used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
