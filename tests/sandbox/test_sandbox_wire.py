"""The sandbox's wire protocol checked with a raw aiohttp client (no discord.py bot)."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.app import intents
from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.clock import snowflake_time
from sandbox.harness import connected_client

pytestmark = pytest.mark.sandbox


@pytest.fixture
async def sb():
    sandbox = Sandbox(clock=FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))
    await sandbox.start()
    guild = sandbox.add_guild("Hope Together")
    sandbox.add_text_channel(guild, "general")
    sandbox.add_member(guild, "anna")
    yield sandbox
    await sandbox.stop()


class Gw:
    """A minimal gateway client: decodes zlib-stream or text frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, compressed: bool) -> None:
        self.ws = ws
        self.inflate = zlib.decompressobj() if compressed else None
        self.binary_frames = 0

    async def recv(self) -> dict:
        buffer = b""
        while True:
            msg = await self.ws.receive(timeout=5)
            if msg.type == aiohttp.WSMsgType.TEXT:
                return json.loads(msg.data)
            if msg.type != aiohttp.WSMsgType.BINARY:
                raise AssertionError(f"unexpected frame {msg.type} {msg.data!r}")
            self.binary_frames += 1
            buffer += msg.data
            if buffer.endswith(b"\x00\x00\xff\xff"):
                return json.loads(self.inflate.decompress(buffer))

    async def send(self, op: int, d) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": d}))


async def _open(http: aiohttp.ClientSession, sb: Sandbox, compressed: bool) -> Gw:
    query = "?v=10&encoding=json" + ("&compress=zlib-stream" if compressed else "")
    ws = await http.ws_connect(sb.gateway_url + query, max_msg_size=0)
    return Gw(ws, compressed)


def _identify(sb: Sandbox, intents: int = 33283) -> dict:
    return {"token": sb.token, "intents": intents, "properties": {"os": "linux"}}


@pytest.mark.parametrize("compressed", [True, False], ids=["zlib-stream", "plain"])
async def test_hello_identify_ready_guild_create(sb, compressed):
    async with aiohttp.ClientSession() as http:
        gw = await _open(http, sb, compressed)
        hello = await gw.recv()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        await gw.send(1, None)
        assert (await gw.recv())["op"] == 11
        await gw.send(2, _identify(sb))
        ready = await gw.recv()
        assert (ready["t"], ready["s"]) == ("READY", 1)
        assert ready["d"]["resume_gateway_url"] == sb.gateway_url
        assert ready["d"]["application"] == {"id": str(sb.application_id), "flags": 0}
        guild = await gw.recv()
        assert (guild["t"], guild["s"]) == ("GUILD_CREATE", 2)
        assert guild["d"]["unavailable"] is False
        assert guild["d"]["member_count"] == 3
        # without GUILD_PRESENCES only the bot is included, like Discord
        assert [m["user"]["id"] for m in guild["d"]["members"]] == [str(sb.bot_user.id)]
        await gw.send(8, {"guild_id": int(guild["d"]["id"]), "query": "", "limit": 0,
                          "presences": False, "nonce": "abc"})
        chunk = await gw.recv()
        assert chunk["t"] == "GUILD_MEMBERS_CHUNK" and chunk["d"]["nonce"] == "abc"
        assert len(chunk["d"]["members"]) == 3
        assert (gw.binary_frames > 0) == compressed
        assert sb.identify["intents"] == 33283
        await gw.ws.close()


async def test_resume_replays_missed_dispatches(sb):
    guild = next(iter(sb.world.guilds.values()))
    general = guild.channel_named("general")
    anna = sb.member(guild, "anna")
    async with aiohttp.ClientSession() as http:
        gw = await _open(http, sb, True)
        await gw.recv()
        await gw.send(2, _identify(sb))
        session = (await gw.recv())["d"]["session_id"]
        await gw.recv()  # GUILD_CREATE, s=2
        await sb.drop_connection()
        await sb.wait_for(lambda: not sb.connected)
        await sb.post(general, anna, "missed")
        gw = await _open(http, sb, True)
        await gw.recv()
        await gw.send(6, {"token": sb.token, "session_id": session, "seq": 2})
        replay = await gw.recv()
        assert (replay["t"], replay["s"]) == ("MESSAGE_CREATE", 3)
        assert replay["d"]["content"] == "missed" and replay["d"]["member"]["joined_at"]
        assert (await gw.recv())["t"] == "RESUMED"
        await sb.wait_for_resume()
        await gw.send(6, {"token": sb.token, "session_id": "nope", "seq": 1})
        assert (await gw.recv()) == {"op": 9, "d": False, "s": None, "t": None}
        await gw.ws.close()


async def test_bad_token_closes_4004(sb):
    async with aiohttp.ClientSession() as http:
        gw = await _open(http, sb, False)
        await gw.recv()
        await gw.send(2, {**_identify(sb), "token": "wrong"})
        msg = await gw.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4004


async def test_rest_shapes_unknown_routes_and_auth(sb):
    headers = {"Authorization": f"Bot {sb.token}"}
    async with aiohttp.ClientSession() as http:
        r = await http.get(f"{sb.api_base}/users/@me", headers=headers)
        assert r.headers["Content-Type"] == "application/json"
        assert int(r.headers["X-RateLimit-Remaining"]) > 0
        assert (await r.json())["id"] == str(sb.bot_user.id)
        r = await http.get(f"{sb.api_base}/users/@me")
        assert r.status == 401
        r = await http.get(f"{sb.api_base}/nope/nothing", headers=headers)
        assert r.status == 404 and await r.json() == {"message": "404: Not Found", "code": 0}
    assert sb.unknown_requests[0].path == "/nope/nothing"


async def test_multipart_message_and_empty_message(sb):
    guild = next(iter(sb.world.guilds.values()))
    general = guild.channel_named("general")
    url = f"{sb.api_base}/channels/{general.id}/messages"
    headers = {"Authorization": f"Bot {sb.token}", "X-Audit-Log-Reason": "because%20yes"}
    async with aiohttp.ClientSession() as http:
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("payload_json", json.dumps(
            {"content": "scan", "attachments": [{"id": 0, "filename": "scan.png"}]}))
        form.add_field("files[0]", b"\x89PNG", filename="scan.png",
                       content_type="application/octet-stream")
        r = await http.post(url, data=form, headers=headers)
        body = await r.json()
        assert r.status == 200 and body["attachments"][0]["size"] == 4
        fetched = await http.get(body["attachments"][0]["url"])
        assert await fetched.read() == b"\x89PNG"
        r = await http.post(url, json={"content": ""}, headers=headers)
        assert r.status == 400 and (await r.json())["code"] == 50006
    call = sb.requests_matching("POST /channels/{channel_id}/messages", channel=general)[0]
    assert call.files[0].filename == "scan.png" and call.reason == "because yes"
    assert call.json["content"] == "scan"
    # snowflakes carry the (fake) clock's time
    assert snowflake_time(int(body["id"])) == sb.now()


async def test_privileged_intent_not_enabled_is_4014():
    async with Sandbox(privileged_intents_enabled={"members"}) as sb:
        sb.add_guild("Hope Together")
        client = commands.Bot(command_prefix="!", intents=intents(),
                              guild_ready_timeout=0.05)
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with connected_client(sb, client):
                pass
        assert 4014 in sb.gateway.close_codes
        await client.close()


async def test_tcp_abort_resumes_discord_py():
    async with Sandbox() as sb:
        guild = sb.add_guild("Hope Together")
        general = sb.add_text_channel(guild, "general")
        anna = sb.add_member(guild, "anna")
        client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
        seen: list[str] = []
        client.event(_collector(seen))
        async with connected_client(sb, client):
            await sb.drop_connection(abort=True)
            await sb.post(general, anna, "during outage")
            await sb.wait_for_resume()
            await sb.wait_for(lambda: "during outage" in seen)
            assert sb.gateway.identifies == 1 and sb.gateway.resumes == 1


def _collector(seen: list[str]):
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    return on_message


async def test_without_message_content_other_messages_are_blank():
    async with Sandbox() as sb:
        guild = sb.add_guild("Hope Together")
        general = sb.add_text_channel(guild, "general")
        anna = sb.add_member(guild, "anna")
        wanted = intents()
        wanted.message_content = False
        client = discord.Client(intents=wanted, guild_ready_timeout=0.05)
        seen: list[str] = []
        client.event(_collector(seen))
        async with connected_client(sb, client):
            await sb.post(general, anna, "secret")
            await sb.post(general, anna, f"hey {sb.bot_user.mention}")
            await sb.wait_for(lambda: len(seen) == 2)
            assert seen == ["", f"hey {sb.bot_user.mention}"]


async def test_switching_message_content_off_blanks_messages_until_switched_back_on():
    async with Sandbox() as sb:
        guild = sb.add_guild("Hope Together")
        general = sb.add_text_channel(guild, "general")
        anna = sb.add_member(guild, "anna")
        client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
        seen: list[str] = []
        client.event(_collector(seen))
        async with connected_client(sb, client):
            sb.set_privileged_intent("message_content", False)
            await sb.post(general, anna, "hidden")
            await sb.wait_for(lambda: len(seen) == 1)
            sb.set_privileged_intent("message_content", True)
            await sb.post(general, anna, "visible")
            await sb.wait_for(lambda: len(seen) == 2)
            assert seen == ["", "visible"]


async def test_switching_an_intent_back_on_gives_it_only_to_sessions_that_asked():
    async with Sandbox() as sb:
        guild = sb.add_guild("Hope Together")
        general = sb.add_text_channel(guild, "general")
        anna = sb.add_member(guild, "anna")
        wanted = intents()
        wanted.message_content = False
        client = discord.Client(intents=wanted, guild_ready_timeout=0.05)
        seen: list[str] = []
        client.event(_collector(seen))
        async with connected_client(sb, client):
            sb.set_privileged_intent("message_content", False)
            sb.set_privileged_intent("message_content", True)
            await sb.post(general, anna, "still secret")
            await sb.wait_for(lambda: len(seen) == 1)
            assert seen == [""]


async def test_op7_reconnect_resumes():
    async with Sandbox() as sb:
        guild = sb.add_guild("Hope Together")
        sb.add_text_channel(guild, "general")
        client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
        readies: list[bool] = []

        async def on_ready() -> None:
            readies.append(True)

        client.event(on_ready)
        async with connected_client(sb, client):
            await sb.request_reconnect()
            await sb.wait_for_resume()
            assert sb.gateway.identifies == 1 and readies == [True]
            # (op 9 with d=false makes discord.py wait 5 s before IDENTIFYing again,
            # so sb.invalidate_session() is not exercised here)
