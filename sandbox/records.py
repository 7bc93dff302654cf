"""What the bot sent: every REST call is kept as a :class:`Recorded`.

``sb.requests`` is the full list (oldest first) and ``sb.requests_matching(route, ...)``
filters it. ``route`` is the template form used everywhere in the sandbox, e.g.
``"POST /channels/{channel_id}/messages"``; path parameters are in ``params`` as ints when
numeric (``params["channel_id"] == ch.id``). Unknown routes are recorded with
``route == "UNKNOWN"`` and ``unknown=True``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordedFile:
    """A file uploaded with a request."""

    index: int
    filename: str
    size: int
    content_type: str | None = None


@dataclass
class Recorded:
    """One HTTP request the bot made, and the sandbox's answer."""

    method: str
    path: str
    route: str
    params: dict[str, Any]
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    reason: str | None
    at: dt.datetime
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0
    response: Any = None
    error_code: int | None = None
    unknown: bool = False
    fault: bool = False

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """``allowed_mentions`` from the JSON body (payload_json for multipart)."""
        body = self.json
        if isinstance(body, dict):
            if "allowed_mentions" in body:
                found: dict[str, Any] | None = body["allowed_mentions"]
                return found
            nested = body.get("message")
            if isinstance(nested, dict):
                return nested.get("allowed_mentions")
            inner = body.get("data")
            if isinstance(inner, dict):
                return inner.get("allowed_mentions")
        return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def matches(self, route: str, **params: Any) -> bool:
        """True if ``route`` matches and every given param equals (ids or objects)."""
        if route not in (self.route, self.route.split(" ", 1)[-1]):
            return False
        for key, want in params.items():
            want_id = getattr(want, "id", want)
            if self.params.get(key) != want_id:
                return False
        return True

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class FaultRule:
    """A failure injected with ``sb.fail(...)``; consumed once per matching request."""

    route: str
    status: int
    times: int
    retry_after: float = 0.05
    global_: bool = False
    params: dict[str, int] = field(default_factory=dict)
    used: int = 0
    after_effect: bool = False  # run the handler first (Discord acted, then the reply failed)
    skip: int = 0  # let this many matching requests through before failing
    skipped: int = 0

    def applies(self, route: str, params: dict[str, Any]) -> bool:
        if self.used >= self.times or self.route != route:
            return False
        if not all(params.get(k) == v for k, v in self.params.items()):
            return False
        if self.skipped < self.skip:
            self.skipped += 1
            return False
        return True
