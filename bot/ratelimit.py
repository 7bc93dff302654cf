"""This process's share of Discord's global REST limit (50 requests/s per bot token).

Every process of one bot shares that limit, so each gets a budget (``STEWARD_REST_BUDGET``,
by default 50 times the share of shards it runs) and a token bucket holds it to it. The bucket
sits in front of discord.py's HTTP through aiohttp's public tracing hook: discord.py hands
`Client(http_trace=...)` to its `aiohttp.ClientSession`, and aiohttp awaits every
``on_request_start`` callback before it sends the request, so waiting there delays the request
without touching discord.py's internals. Interaction responses and follow-ups don't count
against Discord's global limit and aren't held back (nor is the gateway's websocket).
See docs/guide/scaling.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp

DISCORD_GLOBAL_LIMIT = 50.0


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `take()` waits for one."""

    def __init__(self, rate: float, burst: float | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._now = now
        self._tokens = self.burst
        self._stamp = now()
        self._lock = asyncio.Lock()
        self.waited = 0.0  # seconds requests spent waiting, in total (metrics, benches)
        self.taken = 0

    def _refill(self) -> None:
        now = self._now()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self) -> float:
        """Reserve a token; how long to wait before using it (0: at once)."""
        self._refill()
        self._tokens -= 1
        self.taken += 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def take(self) -> None:
        """Wait until a request may go (requests go in the order they asked)."""
        async with self._lock:
            wait = self.delay()
        if wait > 0:
            self.waited += wait
            await asyncio.sleep(wait)


def exempt(path: str) -> bool:
    """Requests outside Discord's global limit: interaction callbacks, and webhook
    executions and follow-ups (``/webhooks/{id}/{token}``, authorised by the token)."""
    if "/interactions/" in path:
        return True
    _, found, rest = path.partition("/webhooks/")
    return bool(found) and len([p for p in rest.split("/") if p]) >= 2


def budget_trace(bucket: TokenBucket, trace: aiohttp.TraceConfig | None = None
                 ) -> aiohttp.TraceConfig:
    """`trace` (or a new one) that makes every counted REST request take a token first."""
    trace = trace or aiohttp.TraceConfig()

    async def on_request_start(session: aiohttp.ClientSession, context: SimpleNamespace,
                               params: aiohttp.TraceRequestStartParams) -> None:
        if params.url.scheme in ("ws", "wss") or exempt(params.url.path):
            return
        await bucket.take()

    trace.on_request_start.append(on_request_start)
    return trace
