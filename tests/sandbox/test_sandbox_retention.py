"""Bounded retention (sandbox.retention): a long run keeps recent records and counts them all."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox import Retention, Sandbox
from sandbox.retention import trim

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _get(sb: Sandbox, channel_id: int, message_id: int) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(
            f"{sb.api_base}/channels/{channel_id}/messages/{message_id}",
            headers={"Authorization": f"Bot {sb.token}"}) as response:
        return response.status, await response.json()


async def test_old_messages_and_requests_are_forgotten_but_counted_and_kept_ones_stay():
    retention = Retention(messages_per_channel=3, requests=2, every=3600)
    async with Sandbox(retention=retention) as sb:
        guild = sb.add_guild("g")
        channel = sb.add_text_channel(guild, "general")
        anna = sb.add_member(guild, "anna")
        seen = []
        sb.on_message(seen.append)
        posts = [await sb.post(channel, anna, f"post {i}") for i in range(6)]
        sb.keep(posts[0])
        statuses = [(await _get(sb, channel.id, p.id))[0] for p in posts[:3]]
        assert statuses == [200, 200, 200]
        trim(sb, retention)
        assert seen == posts  # every message was observed as it arrived
        assert sb.messages(channel) == [posts[0], *posts[3:]]
        status, body = await _get(sb, channel.id, posts[1].id)
        assert (status, body["code"]) == (404, 10008)
        assert (await _get(sb, channel.id, posts[0].id))[0] == 200
        assert sb.api.total == 5 and sb.api.status_counts == {200: 4, 404: 1}
        trim(sb, retention)
        assert [r.status for r in sb.requests] == [404, 200]  # only the last two are kept


async def test_without_retention_nothing_is_forgotten():
    async with Sandbox() as sb:
        guild = sb.add_guild("g")
        channel = sb.add_text_channel(guild, "general")
        anna = sb.add_member(guild, "anna")
        posts = [await sb.post(channel, anna, f"post {i}") for i in range(300)]
        assert sb.retention is None and sb.messages(channel) == posts
