"""Looking at what happened, and waiting for it without sleeps in tests.

Waits poll the sandbox state every few milliseconds and raise ``AssertionError`` with a
helpful description on timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sandbox import mentions
from sandbox.automod import Blocked
from sandbox.errors import SandboxError
from sandbox.models import Channel, Command, Guild, Member, Message, User
from sandbox.permissions import has
from sandbox.records import Recorded
from sandbox.scenario_base import SandboxBase

POLL = 0.005


class QueriesMixin(SandboxBase):
    """requests / messages / commands / mentions, and the wait helpers."""

    # -------------------------------------------------------------- records
    @property
    def requests(self) -> list[Recorded]:
        """Every REST call since the last :meth:`reset` (oldest first)."""
        return self.api.requests[self._request_floor:]

    def requests_matching(self, route: str, *, channel: Channel | None = None,
                          predicate: Callable[[Recorded], bool] | None = None,
                          **params: Any) -> list[Recorded]:
        """Calls to ``route`` (``"POST /channels/{channel_id}/messages"``), optionally with
        path params (``channel=ch`` is ``channel_id=ch.id``; objects become their ids)."""
        if channel is not None:
            params["channel_id"] = channel.id
        return [r for r in self.requests if r.matches(route, **params)
                and (predicate is None or predicate(r))]

    @property
    def unknown_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.unknown]

    @property
    def identify(self) -> dict[str, Any] | None:
        """The last IDENTIFY payload (``sb.identify["intents"]``)."""
        return self.gateway.identify

    def take_ping_violations(self) -> list[str]:
        """Messages sent since the last call that could ping @everyone, @here or a role.

        A message-creating request (channel message, webhook execute, interaction response
        or follow-up) with text or embeds must carry ``allowed_mentions`` that parse neither
        "everyone" nor "roles" and lists no role. Not cleared by :meth:`reset`: a suite-wide
        hook calls this after every test.
        """
        floor, self._ping_floor = self._ping_floor, len(self.api.requests)
        found: list[str] = []
        for request in self.api.requests[floor:]:
            if not _creates_a_message(request):
                continue
            body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}
            inner = body.get("data")
            data: dict[str, Any] = inner if isinstance(inner, dict) else body
            if not (data.get("content") or data.get("embeds")):
                continue
            allowed = request.allowed_mentions
            if allowed is None:
                found.append(f"{request.method} {request.path}: no allowed_mentions")
                continue
            parse = set(allowed.get("parse") or [])
            roles = {int(r) for r in allowed.get("roles") or []}
            if parse & {"everyone", "roles"} or roles - self._pingable_roles:
                found.append(f"{request.method} {request.path}: allows {allowed}")
        return found

    def allow_role_pings(self, *roles: Any) -> None:
        """Let messages ping exactly these roles, named one by one in ``allowed_mentions``
        (a feature meant to ping them, like a reviewer role). Never @everyone, never
        ``parse: ["roles"]``."""
        for role in roles:
            role_id = int(getattr(role, "id", role))
            if any(role_id == g.id for g in self.world.guilds.values()):
                raise ValueError("@everyone can never be pinged")
            self._pingable_roles.add(role_id)

    def forbid_role_pings(self) -> None:
        """Undo :meth:`allow_role_pings` (every role ping is reported again)."""
        self._pingable_roles.clear()

    def reset(self) -> None:
        """Forget recorded requests, faults and interactions (keeps world + connection).
        ``wait_for_message`` only considers messages created after the reset."""
        self._request_floor = len(self.api.requests)
        self.api.faults.clear()
        self._floor = self.world.ids.next()
        self.world.interactions.clear()

    def blocks(self, channel: Channel | None = None) -> list[Blocked]:
        """Posts AutoMod blocked (all time, oldest first), optionally in one channel."""
        return [b for b in self.world.automod_blocks if channel is None or b.channel is channel]

    # ------------------------------------------------------------- messages
    def messages(self, channel: Channel, *, include_deleted: bool = False) -> list[Message]:
        """Messages in a channel/thread/DM, oldest first (ephemeral ones are not here)."""
        msgs = self.world.messages_in(channel)
        return [m for m in msgs if include_deleted or not m.deleted]

    def dms(self, user: User | Member) -> list[Message]:
        """Visible messages in the bot's DM channel with ``user``."""
        target = user.user if isinstance(user, Member) else user
        chan = self.world.dm_channels.get(target.id)
        return self.messages(chan) if chan else []

    def message(self, message_id: int) -> Message:
        msg = self.world.messages.get(message_id)
        if msg is None:
            raise SandboxError(f"no message {message_id}")
        return msg

    def registered_commands(self, guild: Guild | None = None) -> list[Command]:
        """Commands the bot registered globally (``guild=None``) or for ``guild``."""
        return list(self.world.command_list(guild.id if guild else None))

    def command(self, name: str, guild: Guild | None = None) -> dict[str, Any]:
        """The registered JSON of one command (searching the guild, then global)."""
        cmd = self.world.find_command(name, guild.id if guild else None)
        if cmd is None:
            raise SandboxError(f"command {name!r} is not registered")
        return cmd.data

    def can_use_command(self, guild: Guild, user: User | Member, name: str) -> bool:
        """Would Discord show ``/name`` to ``user``? (``default_member_permissions``:
        the member needs every bit, administrators and the owner always can.)
        ``sb.slash`` does not enforce this, so tests can check the bot's own guards."""
        cmd = self.world.find_command(name, guild.id)
        if cmd is None:
            raise SandboxError(f"command {name!r} is not registered")
        needed = cmd.data.get("default_member_permissions")
        if needed is None:
            return True
        member = guild.members.get(user.id)
        if member is None:
            return False
        from sandbox.permissions import ALL, base_permissions

        perms = base_permissions(guild, member)
        return perms == ALL or perms & int(needed) == int(needed)

    def mentions_pinged(self, message: Message, *, respect_permissions: bool = False
                        ) -> set[int | str]:
        """Who ``message`` pings: user ids, role ids, "everyone"/"here".

        Pure ``allowed_mentions`` semantics by default; ``respect_permissions=True`` also
        applies the sender's MENTION_EVERYONE permission and role ``mentionable``.
        """
        replied = None
        if message.referenced is not None and message.reference and (
                message.reference.get("type", 0) == 0):
            replied = message.referenced.author.id
        guild = self.world.guild_of(message.channel)
        pingable = None
        may_everyone = True
        if respect_permissions and guild is not None:
            if message.webhook_id is not None:
                perms = -1
            else:
                perms = self.world.permissions(message.author.id, message.channel)
            may_everyone = perms == -1 or has(perms, "mention_everyone")

            def pingable(role_id: int) -> bool:
                role = guild.roles.get(role_id)
                return role is not None and (role.mentionable or may_everyone)
        return mentions.pinged(message.content, message.allowed_mentions,
                               replied_user_id=replied, role_pingable=pingable,
                               may_mention_everyone=may_everyone)

    # ---------------------------------------------------------------- waits
    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, *,  # noqa: ASYNC109
                       message: str | None = None) -> Any:
        """Poll ``predicate()`` until truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(message or f"condition not met within {timeout}s")
            await asyncio.sleep(POLL)

    async def wait_for_request(self, route: str,
                               predicate: Callable[[Recorded], bool] | None = None,
                               timeout: float = 5.0, *, after: Recorded | int | None = None,  # noqa: ASYNC109
                               channel: Channel | None = None, **params: Any) -> Recorded:
        """The first call to ``route`` since the last reset (or after ``after``, a
        Recorded or an index into ``sb.requests``) that matches params/predicate and has
        been answered."""
        wanted = dict(params)
        if channel is not None:
            wanted["channel_id"] = channel.id

        def find() -> Recorded | None:
            pool = self.requests
            if isinstance(after, Recorded):
                pool = pool[next((i + 1 for i, r in enumerate(pool) if r is after), 0):]
            elif isinstance(after, int):
                pool = pool[after:]
            return next((r for r in pool if r.status and r.matches(route, **wanted)
                         and (predicate is None or predicate(r))), None)

        seen = [r.route for r in self.requests][-10:]
        return await self.wait_for(  # type: ignore[no-any-return]
            find, timeout,
            message=f"no {route} {params or ''} within {timeout}s; last requests were {seen}")

    async def wait_for_message(self, where: Channel | User | Member,
                               predicate: Callable[[Message], bool] | None = None,
                               timeout: float = 5.0, *, from_bot: bool = True) -> Message:  # noqa: ASYNC109
        """First message (created since the last reset) in a channel, or in the DM with a
        user, that matches ``predicate``. ``from_bot`` limits it to the bot and webhooks."""
        def find() -> Message | None:
            msgs = self.messages(where) if isinstance(where, Channel) else self.dms(where)
            for msg in msgs:
                if msg.id <= self._floor:
                    continue
                if from_bot and msg.author.id != self.world.bot_user.id and not msg.webhook_id:
                    continue
                if predicate is None or predicate(msg):
                    return msg
            return None

        name = getattr(where, "name", None) or getattr(where, "username", where)
        return await self.wait_for(  # type: ignore[no-any-return]
            find, timeout, message=f"no matching message in {name!r} within {timeout}s")

    async def idle(self, quiet: float = 0.05, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot made no REST request for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.api.in_flight and time.monotonic() - self.api.last_request_at >= quiet:
                return
            await asyncio.sleep(POLL)
        raise AssertionError(f"the bot kept making requests for {timeout}s")

    # ----------------------------------------------------- connection faults
    async def drop_connection(self, *, abort: bool = False, code: int = 4000) -> None:
        """Cut the bot's websocket (close ``code``, or abort TCP); it should RESUME.
        Events sent meanwhile are replayed on resume."""
        self.gateway.resumed.clear()
        if not await self.gateway.drop(code=code, abort=abort):
            raise SandboxError("the bot is not connected")

    async def wait_for_resume(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot RESUMEd (after :meth:`drop_connection`)."""
        try:
            await asyncio.wait_for(self.gateway.resumed.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"the bot did not resume within {timeout}s") from None

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT (the bot should close and RESUME)."""
        self.gateway.resumed.clear()
        await self.gateway.send_op(7, None)

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; ``resumable=False`` forces a fresh IDENTIFY."""
        if not resumable:
            self.gateway.sessions.clear()
        await self.gateway.send_op(9, resumable)


def _creates_a_message(request: Recorded) -> bool:
    if request.method != "POST" or request.status >= 400:
        return False
    return (request.route == "POST /channels/{channel_id}/messages"
            or request.route.startswith("POST /webhooks/")
            or request.route.endswith("/callback")
            or request.route == "POST /channels/{channel_id}/threads")
