"""Optional Prometheus metrics (`STEWARD_METRICS_PORT`; needs the `metrics` extra).

Features reach it with `bot.services.metrics` and call `inc` / `set` / `observe` with
one of the names below. When metrics are off (no port, or prometheus-client not installed)
every call is a cheap no-op, so features never check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

# name -> (kind, help, label names). Names are exported with the "steward_" prefix.
CATALOGUE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "holds_pending": ("gauge", "Held posts waiting for a moderator", ()),
    "holds_decided": ("counter", "Held posts decided, by outcome", ("outcome",)),
    "hold_decision_seconds": ("histogram", "Time from hold to decision", ()),
    "reposts": ("counter", "Posts reposted on a member's behalf, by mode", ("mode",)),
    "reminders_pending": ("gauge", "Follow-up reminders scheduled", ()),
    "reminders": ("counter", "Follow-up reminders, by outcome (fired/late/failed/answered)",
                  ("outcome",)),
    "welcomes": ("counter", "Welcomes, by outcome (sent/failed)", ("outcome",)),
    "audit_actions": ("counter", "Audit entries recorded, by action", ("action",)),
    "discord_http_errors": ("counter", "Discord REST responses >= 400, by status", ("status",)),
    "gateway_latency_seconds": ("gauge", "Heartbeat latency to Discord's gateway", ()),
}

_DECISION_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0,
                     3 * 86400.0, 7 * 86400.0)


class Metrics:
    """The bot's metrics; a no-op unless enabled and prometheus-client is installed."""

    def __init__(self, *, enabled: bool = True) -> None:
        self._metrics: dict[str, Any] = {}
        self._server: Any = None
        self._thread: Any = None
        self.registry: Any = None
        self.port: int | None = None
        if not enabled:
            return
        try:
            import prometheus_client as prom
        except ImportError:
            log.error("STEWARD_METRICS_PORT is set but prometheus-client is not installed "
                      "(install steward-bot[metrics]); metrics are off")
            return
        self.registry = prom.CollectorRegistry()
        kinds = {"counter": prom.Counter, "gauge": prom.Gauge, "histogram": prom.Histogram}
        for name, (kind, help_text, labels) in CATALOGUE.items():
            extra: dict[str, Any] = {}
            if kind == "histogram":
                extra["buckets"] = _DECISION_BUCKETS
            self._metrics[name] = kinds[kind](f"steward_{name}", help_text, labels,
                                              registry=self.registry, **extra)

    @property
    def enabled(self) -> bool:
        """Whether metrics are being collected."""
        return self.registry is not None

    def _get(self, name: str, labels: dict[str, str]) -> Any:
        metric = self._metrics.get(name)
        if metric is None:
            if self.enabled and name not in CATALOGUE:
                raise KeyError(f"unknown metric {name!r}")
            return None
        return metric.labels(**labels) if labels else metric

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add to a counter (or gauge)."""
        metric = self._get(name, labels)
        if metric is not None:
            metric.inc(amount)

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        metric = self._get(name, labels)
        if metric is not None:
            metric.set(value)

    def set_function(self, name: str, read: Callable[[], float]) -> None:
        """Read a gauge's value when scraped (e.g. the gateway latency)."""
        metric = self._get(name, {})
        if metric is not None:
            metric.set_function(read)

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record one observation in a histogram."""
        metric = self._get(name, labels)
        if metric is not None:
            metric.observe(value)

    def start(self, port: int, addr: str = "127.0.0.1") -> int | None:
        """Serve /metrics on `port` (0: any free port); returns the port, or None when off."""
        if not self.enabled:
            return None
        import prometheus_client as prom

        self._server, self._thread = prom.start_http_server(port, addr, registry=self.registry)
        self.port = int(self._server.server_port)
        log.info("metrics on port %d", self.port)
        return self.port

    def bound_address(self) -> str | None:
        """The address the endpoint listens on, or None when it is not serving."""
        return None if self._server is None else str(self._server.server_address[0])

    async def stop(self) -> None:
        """Stop serving (waits for the server thread without blocking the loop)."""
        if self._server is None:
            return
        server, self._server = self._server, None
        await asyncio.to_thread(server.shutdown)
        server.server_close()

    def http_trace(self) -> aiohttp.TraceConfig:
        """An aiohttp trace config counting Discord's error responses (pass as `http_trace`)."""
        return http_trace_config(lambda: self)


def http_trace_config(find: Callable[[], Metrics | None]) -> aiohttp.TraceConfig:
    """A trace config that counts responses >= 400 in whatever `find()` returns at the time."""
    trace = aiohttp.TraceConfig()

    async def on_request_end(session: aiohttp.ClientSession, context: SimpleNamespace,
                             params: aiohttp.TraceRequestEndParams) -> None:
        status = params.response.status
        if status >= 400:
            metrics = find()
            if metrics is not None:
                metrics.inc("discord_http_errors", status=str(status))

    trace.on_request_end.append(on_request_end)
    return trace
