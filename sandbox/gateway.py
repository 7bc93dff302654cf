"""The gateway side of the sandbox: Discord's websocket protocol (v10, JSON).

Supported: HELLO, HEARTBEAT/ACK, IDENTIFY (-> READY + one GUILD_CREATE per guild),
REQUEST_GUILD_MEMBERS (-> GUILD_MEMBERS_CHUNK echoing the nonce), RESUME (missed dispatches
replayed with their original ``s``, then RESUMED), ``zlib-stream`` compression (one deflate
context per connection, ``Z_SYNC_FLUSH`` per message) or none.

Each IDENTIFY starts a :class:`Session` with its own sequence numbers and a log of every
dispatch, so a dropped connection can resume. Dispatches are filtered by the intents the
session identified with (members events need GUILD_MEMBERS, guild messages
GUILD_MESSAGES, ...) and message content is blanked without MESSAGE_CONTENT, as Discord does.

Sharding: an IDENTIFY with ``shard: [id, count]`` gets a READY with that ``shard`` and only
the guilds with ``(guild_id >> 22) % count == id``; guild events go only to the session of the
shard owning the guild, DMs only to shard 0, as Discord does. ``GET /gateway/bot`` reports
``world.recommended_shards`` and ``world.max_concurrency``. An out-of-range shard is closed
with 4010.

Close codes: 4004 for a wrong token, 4010 for an invalid shard, 4014 when the bot asks for a
privileged intent that is not enabled in the sandbox's "developer portal"
(``Sandbox(privileged_intents_enabled=...)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from sandbox import wire
from sandbox.state import World

HEARTBEAT_INTERVAL_MS = 41250

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MODERATION = 1 << 2
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
AUTO_MODERATION_CONFIGURATION = 1 << 20
AUTO_MODERATION_EXECUTION = 1 << 21

PRIVILEGED = {"members": GUILD_MEMBERS, "presences": GUILD_PRESENCES,
              "message_content": MESSAGE_CONTENT}

EVENT_INTENTS = {
    "GUILD_CREATE": GUILDS, "GUILD_UPDATE": GUILDS, "GUILD_DELETE": GUILDS,
    "GUILD_ROLE_CREATE": GUILDS, "GUILD_ROLE_UPDATE": GUILDS, "GUILD_ROLE_DELETE": GUILDS,
    "CHANNEL_CREATE": GUILDS, "CHANNEL_UPDATE": GUILDS, "CHANNEL_DELETE": GUILDS,
    "THREAD_CREATE": GUILDS, "THREAD_UPDATE": GUILDS, "THREAD_DELETE": GUILDS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS, "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "GUILD_BAN_ADD": GUILD_MODERATION, "GUILD_BAN_REMOVE": GUILD_MODERATION,
    "AUTO_MODERATION_RULE_CREATE": AUTO_MODERATION_CONFIGURATION,
    "AUTO_MODERATION_RULE_UPDATE": AUTO_MODERATION_CONFIGURATION,
    "AUTO_MODERATION_RULE_DELETE": AUTO_MODERATION_CONFIGURATION,
    "AUTO_MODERATION_ACTION_EXECUTION": AUTO_MODERATION_EXECUTION,
}
MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE",
                  "MESSAGE_DELETE_BULK"}


@dataclass
class Connection:
    """One websocket connection (a session may span several)."""

    ws: web.WebSocketResponse
    request: web.Request
    compressor: Any = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: Session | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with self.lock:
            if self.ws.closed:
                return
            if self.compressor is not None:
                data = self.compressor.compress(text.encode())
                data += self.compressor.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


@dataclass
class Session:
    """A gateway session: sequence numbers and the dispatch log used for RESUME."""

    id: str
    intents: int
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    conn: Connection | None = None
    resumes: int = 0
    shard: tuple[int, int] | None = None

    def owns(self, guild_id: int | None) -> bool:
        """True when this session's shard receives events of `guild_id` (None: a DM)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return shard_of(guild_id, count) == shard_id

    def wants(self, event: str, data: dict[str, Any], bot_id: int) -> bool:
        if event in MESSAGE_EVENTS:
            need = GUILD_MESSAGES if data.get("guild_id") else DIRECT_MESSAGES
            return bool(self.intents & need)
        need = EVENT_INTENTS.get(event, 0)
        if event == "GUILD_MEMBER_UPDATE":
            is_self = (data.get("user") or {}).get("id") == str(bot_id)
            return is_self or bool(self.intents & GUILD_MEMBERS)
        return not need or bool(self.intents & need)


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events (Discord's formula)."""
    return (guild_id >> 22) % shard_count


def _event_guild(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to (None for DMs and guild-less events)."""
    raw = data.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else (
        data.get("guild_id"))
    return int(raw) if raw else None


def _blank_content(data: dict[str, Any], bot_id: int) -> dict[str, Any]:
    """What Discord sends without MESSAGE_CONTENT for someone else's guild message."""
    if not data.get("guild_id") or "content" not in data:
        return data
    if (data.get("author") or {}).get("id") == str(bot_id):
        return data
    if any(u.get("id") == str(bot_id) for u in data.get("mentions") or []):
        return data
    return {**data, "content": "", "embeds": [], "attachments": [], "components": []}


def _trim_members(data: dict[str, Any], session: Session, bot_id: int) -> dict[str, Any]:
    """Without GUILD_PRESENCES Discord puts only the bot in GUILD_CREATE ``members``
    (discord.py then asks for the rest with op 8, which the sandbox answers at once)."""
    if session.intents & GUILD_PRESENCES:
        return data
    members = [m for m in data.get("members") or [] if m["user"]["id"] == str(bot_id)]
    return {**data, "members": members}


class Gateway:
    """Serves ``/gateway`` and sends dispatches to every live session."""

    def __init__(self, world: World, privileged_enabled: set[str]) -> None:
        self.world = world
        self.privileged_enabled = set(privileged_enabled)
        self.url = "ws://127.0.0.1:0/gateway"
        self.sessions: dict[str, Session] = {}
        self._withheld: dict[str, set[str]] = {}  # intent -> sessions it was switched off for
        self.connections: list[Connection] = []
        self.identify: dict[str, Any] | None = None
        self.identifies = 0
        self.shard_identifies: list[tuple[int, int] | None] = []  # in order (tests)
        self.resumes = 0
        self.close_codes: list[int] = []
        self.received: list[dict[str, Any]] = []
        self.member_requests: list[dict[str, Any]] = []
        self.ready_sent = asyncio.Event()
        self.resumed = asyncio.Event()
        self.dispatch_lock = asyncio.Lock()
        self._queue: asyncio.Queue[tuple[str, dict[str, Any], asyncio.Future[None]]] = (
            asyncio.Queue())
        self._pump_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the pump that delivers queued dispatches in order."""
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def stop(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
            self._pump_task = None

    def set_privileged(self, name: str, enabled: bool) -> None:
        """Switch a privileged intent in the portal; live sessions feel it at once (with
        message content off, member messages arrive without their text)."""
        bit = PRIVILEGED[name]
        withheld = self._withheld.setdefault(name, set())
        if enabled:
            self.privileged_enabled.add(name)
            for session_id in withheld:  # only the sessions that had asked for it
                if session_id in self.sessions:
                    self.sessions[session_id].intents |= bit
            withheld.clear()
            return
        self.privileged_enabled.discard(name)
        for session in self.sessions.values():
            if session.intents & bit:
                session.intents &= ~bit
                withheld.add(session.id)

    @property
    def connected(self) -> bool:
        """True while some session has a live connection."""
        return any(s.conn is not None for s in self.sessions.values())

    def enqueue(self, event: str, data: dict[str, Any]) -> asyncio.Future[None]:
        """Queue a dispatch; events are delivered strictly in the order queued."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, data, fut))
        return fut

    async def _pump(self) -> None:
        while True:
            event, data, fut = await self._queue.get()
            try:
                await self._deliver(event, data)
            except Exception as exc:  # reported to the awaiting caller
                if not fut.done():
                    fut.set_exception(exc)
            else:
                if not fut.done():
                    fut.set_result(None)

    # ---------------------------------------------------------------- serving
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=2.0, max_msg_size=0, compress=False)
        await ws.prepare(request)
        conn = Connection(ws, request)
        if request.query.get("compress") == "zlib-stream":
            conn.compressor = zlib.compressobj()
        self.connections.append(conn)
        try:
            await conn.send({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS},
                             "s": None, "t": None})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                self.received.append(payload)
                await self._on_frame(conn, payload)
        finally:
            self.connections.remove(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if ws.close_code == 1000 and session.id in self.sessions:
                    # Client.close(): the session ends for good.
                    del self.sessions[session.id]
        return ws

    async def _on_frame(self, conn: Connection, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif op == 8:
            await self._members_chunk(conn, data or {})

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        self.identify = data
        self.identifies += 1
        if data.get("token") not in (self.world.token, f"Bot {self.world.token}"):
            await self._close(conn, 4004, b"Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        for name, bit in PRIVILEGED.items():
            if intents & bit and name not in self.privileged_enabled:
                await self._close(conn, 4014, b"Disallowed intent(s).")
                return
        shard: tuple[int, int] | None = None
        if data.get("shard") is not None:
            raw = data["shard"]
            shard = (int(raw[0]), int(raw[1]))
            if not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
                await self._close(conn, 4010, b"Invalid shard.")
                return
        session = Session(id=secrets.token_hex(16), intents=intents, conn=conn, shard=shard)
        conn.session = session
        self.sessions[session.id] = session
        self.shard_identifies.append(shard)
        world = self.world
        guilds = [g for g in list(world.guilds.values()) if session.owns(g.id)]
        ready = {
            "v": 10,
            "user": {**world.bot_user.to_wire(), "verified": True, "mfa_enabled": False,
                     "email": None},
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["sandbox"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        async with self.dispatch_lock:
            await self._send_dispatch(session, "READY", ready)
            for guild in guilds:
                data = wire.guild_create(world, guild)
                await self._send_dispatch(session, "GUILD_CREATE",
                                          _trim_members(data, session, world.bot_user.id))
        self.ready_sent.set()

    async def _close(self, conn: Connection, code: int, message: bytes) -> None:
        """Close from the server side, remembering the code (``sb.gateway.close_codes``)."""
        self.close_codes.append(code)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.close(code=code, message=message)

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") not in (
                self.world.token, f"Bot {self.world.token}"):
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        last = int(data.get("seq") or 0)
        async with self.dispatch_lock:
            old = session.conn
            session.conn = conn
            conn.session = session
            if old is not None and old is not conn and not old.ws.closed:
                await old.ws.close(code=4000)
            for frame in session.log:
                if frame["s"] > last:
                    await conn.send(frame)
            await self._send_dispatch(session, "RESUMED", {"_trace": ["sandbox"]})
        session.resumes += 1
        self.resumes += 1
        self.resumed.set()

    async def _members_chunk(self, conn: Connection, data: dict[str, Any]) -> None:
        self.member_requests.append(data)
        guild = self.world.guilds.get(int(data.get("guild_id") or 0))
        members = list(guild.members.values()) if guild else []
        query = (data.get("query") or "").lower()
        if data.get("user_ids"):
            raw = data["user_ids"]
            wanted = {int(u) for u in (raw if isinstance(raw, list) else [raw])}
            members = [m for m in members if m.id in wanted]
        elif query:
            members = [m for m in members if m.user.username.lower().startswith(query)]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        # Discord answers with chunks of at most 1,000 members.
        pieces = [members[i:i + 1000] for i in range(0, len(members), 1000)] or [[]]
        for index, piece in enumerate(pieces):
            chunk: dict[str, Any] = {
                "guild_id": str(data.get("guild_id")),
                "members": [m.to_wire() for m in piece],
                "chunk_index": index,
                "chunk_count": len(pieces),
                "not_found": [],
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            if conn.session is not None:
                async with self.dispatch_lock:
                    await self._send_dispatch(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    # -------------------------------------------------------------- dispatch
    async def _send_dispatch(self, session: Session, event: str, data: dict[str, Any]
                             ) -> None:
        session.seq += 1
        frame = {"op": 0, "s": session.seq, "t": event, "d": data}
        session.log.append(frame)
        if session.conn is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.conn.send(frame)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send (or buffer, while disconnected) an event to every session that wants it."""
        await self.enqueue(event, data)

    async def _deliver(self, event: str, data: dict[str, Any]) -> None:
        bot_id = self.world.bot_user.id
        if event in MESSAGE_EVENTS and not self._bot_sees(data):
            return
        guild_id = _event_guild(event, data)
        async with self.dispatch_lock:
            for session in list(self.sessions.values()):
                if not session.owns(guild_id) or not session.wants(event, data, bot_id):
                    continue
                payload = data
                if event == "GUILD_CREATE":
                    payload = _trim_members(data, session, bot_id)
                if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not (
                        session.intents & MESSAGE_CONTENT):
                    payload = _blank_content(data, bot_id)
                if event == "AUTO_MODERATION_ACTION_EXECUTION" and not (
                        session.intents & MESSAGE_CONTENT):
                    payload = {**data, "content": "", "matched_content": ""}
                await self._send_dispatch(session, event, payload)

    def _bot_sees(self, data: dict[str, Any]) -> bool:
        """Discord sends message events only for channels the bot can view."""
        chan = self.world.channels.get(int(data.get("channel_id") or 0))
        if chan is None or chan.is_dm:
            return True
        return self.world.bot_can(chan, "view_channel")

    # ----------------------------------------------------------------- faults
    async def drop(self, *, code: int = 4000, abort: bool = False) -> int:
        """Cut every live connection (sessions stay resumable). Returns how many."""
        conns = [c for c in self.connections if not c.ws.closed]
        async with self.dispatch_lock:
            for conn in conns:
                if conn.session is not None and conn.session.conn is conn:
                    conn.session.conn = None
        self.resumed.clear()
        for conn in conns:
            if abort:
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
            else:
                await self._close(conn, code, b"sandbox drop")
        return len(conns)

    async def send_op(self, op: int, d: Any) -> None:
        """Send a raw opcode (7 RECONNECT, 9 INVALID_SESSION) to every connection."""
        for conn in list(self.connections):
            await conn.send({"op": op, "d": d, "s": None, "t": None})

    async def close_all(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.close(code=1001, message=b"sandbox stopping")
