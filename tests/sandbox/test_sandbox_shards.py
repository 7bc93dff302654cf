"""Sharding in the sandbox, with real discord.py AutoShardedClients: READY per shard with that
shard's guilds, events routed by ``(guild_id >> 22) % shard_count``, DMs to shard 0,
``GET /gateway/bot``, and 4010 for a shard out of range."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.app import intents, point_at
from bot.domain.shards import shard_of
from sandbox import Sandbox
from sandbox.harness import connected_client

pytestmark = pytest.mark.sandbox


class Recorder(discord.AutoShardedClient):
    def __init__(self, shard_ids: list[int], count: int) -> None:
        super().__init__(intents=intents(), shard_ids=shard_ids, shard_count=count)
        self.messages: list[tuple[int | None, str]] = []

    async def on_message(self, message: discord.Message) -> None:
        guild = message.guild.id if message.guild else None
        self.messages.append((guild, message.content))


async def test_two_sharded_clients_each_get_only_their_guilds_and_dms_go_to_shard_0():
    async with Sandbox() as sb:
        sb.world.max_concurrency = 2
        first = sb.add_guild("Hope Together", shard=(0, 2))
        second = sb.add_guild("Carers Corner", shard=(1, 2))
        assert shard_of(first.id, 2) == 0 and shard_of(second.id, 2) == 1
        chat = {g.id: sb.add_text_channel(g, "general") for g in (first, second)}
        anna = sb.add_member(first, "anna")
        sb.add_member(second, anna.user)
        zero, one = Recorder([0], 2), Recorder([1], 2)
        async with connected_client(sb, zero), connected_client(sb, one):
            assert [g.id for g in zero.guilds] == [first.id]
            assert [g.id for g in one.guilds] == [second.id]
            for guild in (first, second):
                await sb.post(chat[guild.id], anna, f"hello {guild.name}")
            await sb.post(sb.dm_channel(anna), anna, "a direct message")
            await sb.wait_for(lambda: len(zero.messages) == 2 and len(one.messages) == 1)
            await asyncio.sleep(0.2)
            assert zero.messages == [(first.id, "hello Hope Together"),
                                     (None, "a direct message")]
            assert one.messages == [(second.id, "hello Carers Corner")]
        assert sorted(s for s in sb.gateway.shard_identifies if s) == [(0, 2), (1, 2)]


async def test_gateway_bot_reports_shards_and_identify_concurrency():
    async with Sandbox() as sb:
        sb.world.recommended_shards, sb.world.max_concurrency = 3, 16
        client = discord.Client(intents=intents())
        point_at(sb.api_base, sb.gateway_url)
        await client.login(sb.token)
        try:
            shards, url, limit = await client.http.get_bot_gateway()
        finally:
            await client.close()
        assert (shards, url, limit["max_concurrency"]) == (3, sb.gateway_url, 16)


async def test_a_shard_out_of_range_is_closed_with_4010():
    async with Sandbox() as sb:
        sb.add_guild("Hope Together")
        client = discord.AutoShardedClient(intents=intents(), shard_ids=[2], shard_count=2)
        with pytest.raises(discord.ConnectionClosed) as raised:
            async with connected_client(sb, client, timeout=10):
                pass
        assert raised.value.code == 4010
        assert 4010 in sb.gateway.close_codes
