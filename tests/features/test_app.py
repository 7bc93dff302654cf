"""The real Steward against the sandbox: connects, registers commands, survives faults."""

from __future__ import annotations

import discord
import pytest

from bot.app import intents
from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.world import StewardHarness, build_support_server


async def test_connects_with_the_intents_steward_needs(steward):
    sent = discord.Intents(steward.sb.identify["intents"])
    assert sent == intents()
    assert sent.guilds and sent.guild_messages and sent.message_content
    assert sent.members and sent.dm_messages
    assert not sent.presences and not sent.typing


async def test_caches_the_support_server(steward):
    guild = steward.bot.get_guild(steward.server.guild.id)
    assert guild is not None
    names = {c.name for c in guild.channels}
    assert {"general", "welcome", "mod-queue", "mod-log", "colorectal-cancer"} <= names
    assert guild.get_member(steward.server.member.id) is not None


async def test_registers_its_commands_and_every_top_level_one_sets_an_audience(steward):
    registered = steward.sb.registered_commands()
    names = [c.name for c in registered]
    assert "steward" in names
    assert len(names) == len(set((c.name, c.type) for c in registered)), "names collide"
    member_facing = {"groups", "preferences", "About this repost", "Manage my reposted post"}
    for command in registered:
        payload = steward.sb.command(command.name)
        if command.name in member_facing:
            continue
        assert payload.get("default_member_permissions") not in (None, "0"), command.name


async def test_loads_every_extension_and_routes_messages_through_one_listener(steward):
    bot = steward.bot
    assert set(bot.extensions) == {
        name for name in __import__("bot.app", fromlist=["x"]).extension_names()}
    assert len(bot.extra_events.get("on_message", [])) == 0


async def test_survives_a_dropped_connection_and_resumes(steward):
    sb = steward.sb
    await sb.drop_connection()
    # Posted while Steward is disconnected: Discord replays it on RESUME.
    message = await sb.post(steward.server.general, steward.server.member, "hello again")
    await sb.wait_for_resume()
    await sb.wait_for(
        lambda: discord.utils.get(steward.bot.cached_messages, id=message.id) is not None)
    assert steward.bot.is_ready() and not steward.bot.is_closed()


async def test_a_429_is_retried_and_the_message_sent_once(steward):
    sb = steward.sb
    sb.fail("POST /channels/{channel_id}/messages", status=429, times=1, retry_after=0.05)
    channel = steward.bot.get_channel(steward.server.general.id)
    from bot.messaging import send

    await send(channel, "Testing, with a rate limit on the way.")
    posts = sb.requests_matching("POST /channels/{channel_id}/messages",
                                 channel=steward.server.general)
    assert [p.status for p in posts] == [429, 200]
    assert [m.content for m in sb.messages(steward.server.general)].count(
        "Testing, with a rate limit on the way.") == 1


async def test_outgoing_messages_ping_nobody_by_default(steward):
    from bot.messaging import send

    channel = steward.bot.get_channel(steward.server.general.id)
    await send(channel, f"@everyone <@&{steward.server.moderators.id}> "
                        f"<@{steward.server.member.id}> hello")
    message = await steward.sb.wait_for_message(steward.server.general)
    assert steward.sb.mentions_pinged(message) == set()


async def test_restart_keeps_settings(steward):
    guild_id = steward.server.guild.id
    before = steward.bot.guild_settings.get(guild_id)
    bot = await steward.restart()
    assert bot.guild_settings.get(guild_id) == before
    assert bot.guild_settings.get(guild_id).core.mod_log_channel == steward.server.modlog.id


async def test_missing_privileged_intents_fail_start_with_4014(tmp_path):
    clock = FakeClock()
    async with Sandbox(clock=clock, privileged_intents_enabled=()) as sb:
        build_support_server(sb, clock)
        harness = StewardHarness(sb, clock, tmp_path / "s.sqlite3")
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await harness.start()
