"""The suite-wide ping audit (tests/conftest.py) sees every message that could ping a crowd."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox import Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _post(sb: Sandbox, channel_id: int, body: dict) -> int:
    async with aiohttp.ClientSession() as session, session.post(
            f"{sb.api_base}/channels/{channel_id}/messages", json=body,
            headers={"Authorization": f"Bot {sb.token}"}) as response:
        return response.status


async def test_messages_that_could_ping_everyone_or_roles_are_reported_once():
    async with Sandbox() as sb:
        guild = sb.add_guild("g")
        channel = sb.add_text_channel(guild, "general")
        role = sb.add_role(guild, "Carers")
        assert await _post(sb, channel.id, {"content": "@everyone hello"}) == 200
        assert await _post(sb, channel.id, {"content": f"<@&{role.id}>",
                                            "allowed_mentions": {"parse": ["roles"]}}) == 200
        assert await _post(sb, channel.id, {"content": "hi", "allowed_mentions": {
            "parse": [], "roles": [str(role.id)]}}) == 200
        assert await _post(sb, channel.id, {"content": "@everyone fine",
                                            "allowed_mentions": {"parse": ["users"]}}) == 200
        found = sb.take_ping_violations()
        assert len(found) == 3
        assert "no allowed_mentions" in found[0]
        assert sb.take_ping_violations() == []  # each reported once
        assert sb in Sandbox.live()


async def test_a_role_a_feature_is_meant_to_ping_may_be_allowed_one_by_one():
    async with Sandbox() as sb:
        guild = sb.add_guild("g")
        channel = sb.add_text_channel(guild, "queue")
        reviewers, carers = sb.add_role(guild, "Reviewers"), sb.add_role(guild, "Carers")
        sb.allow_role_pings(reviewers)
        with pytest.raises(ValueError):
            sb.allow_role_pings(guild.everyone)
        named = {"parse": [], "roles": [str(reviewers.id)]}
        assert await _post(sb, channel.id, {"content": f"<@&{reviewers.id}>",
                                            "allowed_mentions": named}) == 200
        assert sb.take_ping_violations() == []
        # Another role, or parse:["roles"] even with the allowed one, is still reported.
        assert await _post(sb, channel.id, {"content": "x", "allowed_mentions": {
            "parse": [], "roles": [str(reviewers.id), str(carers.id)]}}) == 200
        assert await _post(sb, channel.id, {"content": "x", "allowed_mentions": {
            "parse": ["roles"]}}) == 200
        assert len(sb.take_ping_violations()) == 2
        sb.forbid_role_pings()
        assert await _post(sb, channel.id, {"content": "x", "allowed_mentions": named}) == 200
        assert len(sb.take_ping_violations()) == 1
