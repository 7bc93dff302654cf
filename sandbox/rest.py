"""The REST side of the sandbox: an aiohttp app serving ``/api/v10/...``.

A tiny router maps ``"METHOD /template/{param}"`` to handlers (registered by the
``routes_*`` modules). Every request is recorded (:mod:`sandbox.records`) before it is
handled; injected faults (``sb.fail``) answer before the handler runs. Responses are JSON
with ``Content-Type`` exactly ``application/json`` (discord.py parses nothing else) and
carry ``X-RateLimit-*`` headers with ``Remaining > 0`` so discord.py never waits.

Also served: attachment bytes at ``/attachments/{channel_id}/{attachment_id}/{filename}``
(404 once the message is deleted) and the gateway websocket at ``/gateway``.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from sandbox import errors
from sandbox.models import Message
from sandbox.records import FaultRule, Recorded, RecordedFile
from sandbox.state import Upload, World

API_PREFIX = "/api/v10"


@dataclass
class Reply:
    """A non-default response from a handler (status other than 200, or no body)."""

    status: int = 200
    body: Any = None


@dataclass
class Ctx:
    """What a route handler gets: parsed request plus the world."""

    world: World
    request: web.Request
    route: str
    params: dict[str, Any]
    query: dict[str, str]
    body: Any
    uploads: list[Upload]
    reason: str | None
    record: Recorded
    answered: list[Message] = field(default_factory=list)
    after_send: list[Callable[[], None]] = field(default_factory=list)

    def id(self, name: str) -> int:
        """A numeric path parameter; non-numeric -> 404 like Discord."""
        value = self.params.get(name)
        if not isinstance(value, int):
            raise errors.not_found_route()
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.query.get(name)
        if value is None:
            return default
        return value.lower() in ("1", "true", "yes")

    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


Handler = Callable[[Ctx], Awaitable[Any]]


@dataclass
class RouteDef:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class Router:
    """Maps ``METHOD /path`` to handlers; literal segments win over ``{params}``."""

    def __init__(self) -> None:
        self.routes: list[RouteDef] = []

    def route(self, method: str, template: str, *, auth: bool = True
              ) -> Callable[[Handler], Handler]:
        def deco(handler: Handler) -> Handler:
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            self.routes.append(RouteDef(method, template, re.compile(f"^{regex}$"),
                                        handler, auth))
            # literal paths (e.g. ``@me``/``@original``) must win over parameters
            self.routes.sort(key=lambda r: r.template.count("{"))
            return handler
        return deco

    def match(self, method: str, path: str) -> tuple[RouteDef, dict[str, Any]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            m = route.pattern.match(path)
            if m:
                params: dict[str, Any] = {
                    k: int(v) if v.isdigit() else v for k, v in m.groupdict().items()
                }
                return route, params
        return None

    def templates(self) -> list[str]:
        return sorted(r.name for r in self.routes)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None
                  ) -> web.Response:
    """JSON with the exact ``application/json`` content type (no charset)."""
    text = json.dumps(body, separators=(",", ":"))
    resp = web.Response(status=status, body=text.encode(), headers=headers or {})
    resp.headers["Content-Type"] = "application/json"
    return resp


def ratelimit_headers(route: str, *, remaining: int = 49, reset_after: float = 1.0
                      ) -> dict[str, str]:
    bucket = hashlib.sha1(route.encode(), usedforsecurity=False).hexdigest()[:16]
    return {
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
    }


class RestApi:
    """Request pipeline: parse -> record -> auth -> faults -> handler -> respond."""

    def __init__(self, world: World, router: Router) -> None:
        self.world = world
        self.router = router
        self.requests: list[Recorded] = []
        self.total = 0  # every call, including records a bounded retention forgot
        self.status_counts: collections.Counter[int] = collections.Counter()
        self.faults: list[FaultRule] = []
        self.in_flight = 0
        self.last_request_at = 0.0
        self.pacer: Any = None  # sandbox.pacing.Pacer, for Discord-like rate limits

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.last_request_at = time.monotonic()
        try:
            return await self._handle(request)
        finally:
            self.in_flight -= 1
            self.last_request_at = time.monotonic()

    async def _parse(self, request: web.Request) -> tuple[Any, list[Upload]]:
        ctype = request.headers.get("Content-Type", "")
        uploads: list[Upload] = []
        body: Any = None
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                name = part.name or ""
                data = await part.read(decode=False)
                if name == "payload_json":
                    body = json.loads(bytes(data).decode())
                elif name.startswith("files["):
                    index = int(name[6:-1])
                    uploads.append(Upload(index, part.filename or f"file{index}",
                                          bytes(data), part.headers.get("Content-Type")))
        elif request.can_read_body:
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
        return body, uploads

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX):] or "/"
        method = request.method
        body, uploads = await self._parse(request)
        reason = request.headers.get("X-Audit-Log-Reason")
        found = self.router.match(method, path)
        route_name = found[0].name if found else "UNKNOWN"
        params = found[1] if found else {}
        record = Recorded(
            method=method,
            path=path,
            route=route_name,
            params=params,
            query=dict(request.query),
            json=body,
            files=[RecordedFile(u.index, u.filename, len(u.data), u.content_type)
                   for u in uploads],
            reason=urllib.parse.unquote(reason) if reason else None,
            at=self.world.now(),
            headers=dict(request.headers),
            unknown=found is None,
        )
        self.requests.append(record)
        self.total += 1
        if found is None:
            return self._finish(record, errors.not_found_route().status,
                                errors.not_found_route().body(), route_name)
        route_def, _ = found
        if route_def.auth and request.headers.get("Authorization") != f"Bot {self.world.token}":
            err = errors.unauthorized()
            return self._finish(record, err.status, err.body(), route_name)
        fault = self._fault_for(route_name, params)
        if fault is None and self.pacer is not None:
            fault = self.pacer.admit(route_name, params)
        ctx = Ctx(self.world, request, route_name, params, dict(request.query), body,
                  uploads, record.reason, record)
        if fault is not None and fault.after_effect:
            with contextlib.suppress(errors.ApiError):
                await route_def.handler(ctx)
        if fault is not None:
            return self._fault_response(record, fault)
        try:
            result = await route_def.handler(ctx)
        except errors.ApiError as exc:
            record.error_code = exc.code
            return self._finish(record, exc.status, exc.body(), route_name)
        status, payload = (result.status, result.body) if isinstance(result, Reply) else (
            200, result)
        if payload is None and status == 200:
            status = 204
        resp = self._finish(record, status, payload, route_name)
        await resp.prepare(request)
        await resp.write_eof()
        sent = time.monotonic()
        for msg in ctx.answered:
            msg.answered_at = sent
        for callback in ctx.after_send:
            callback()
        return resp

    def _finish(self, record: Recorded, status: int, payload: Any, route: str
                ) -> web.Response:
        record.status = status
        self.status_counts[status] += 1
        record.response = payload
        if isinstance(payload, dict) and status >= 400:
            record.error_code = payload.get("code")
        paced = self.pacer.headers(route, record.params) if self.pacer is not None else None
        headers = paced or ratelimit_headers(route)
        if status == 204:
            return web.Response(status=204, headers=headers)
        return json_response(status, payload, headers)

    def _fault_for(self, route: str, params: dict[str, Any]) -> FaultRule | None:
        for rule in self.faults:
            if rule.applies(route, params):
                rule.used += 1
                return rule
        return None

    def _fault_response(self, record: Recorded, rule: FaultRule) -> web.Response:
        record.fault = True
        record.status = rule.status
        self.status_counts[rule.status] += 1
        if rule.status == 429:
            body = {"message": "You are being rate limited.",
                    "retry_after": rule.retry_after, "global": rule.global_}
            headers = ratelimit_headers(record.route, remaining=0,
                                        reset_after=rule.retry_after)
            headers.update({
                "Via": "1.1 google",
                "Retry-After": str(max(1, round(rule.retry_after))),
                "X-RateLimit-Scope": "global" if rule.global_ else "user",
            })
            if rule.global_:
                headers["X-RateLimit-Global"] = "true"
            record.response = body
            return json_response(429, body, headers)
        body = {"message": f"{rule.status}: Server Error", "code": 0}
        record.response = body
        return json_response(rule.status, body)


def build_app(api: RestApi,
              gateway_handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
              ) -> web.Application:
    """The aiohttp application: REST, attachment CDN and gateway."""
    world = api.world

    async def cdn(request: web.Request) -> web.StreamResponse:
        att = world.attachments.get(int(request.match_info["aid"]))
        if att is None or not att.served:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=att.data,
                            content_type=att.content_type or "application/octet-stream")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/gateway", gateway_handler)
    app.router.add_get("/attachments/{cid}/{aid:\\d+}/{filename}", cdn)
    app.router.add_route("*", API_PREFIX + "/{tail:.*}", api.handle)
    return app
