"""discord.py's REST surface against the sandbox: moderation, threads, pins, webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import pytest
import pytest_asyncio
from discord.ext import commands

from bot.app import intents
from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.harness import connected_client

pytestmark = pytest.mark.sandbox


class Env:
    pass


@pytest_asyncio.fixture(scope="module")
async def env():
    e = Env()
    e.clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    e.sb = sb = Sandbox(clock=e.clock)
    await sb.start()
    e.guild = sb.add_guild("Hope Together")
    e.general = sb.add_text_channel(e.guild, "general")
    e.forum = sb.add_forum_channel(e.guild, "stories", tags=["story"])
    e.anna = sb.add_member(e.guild, "anna")
    e.ben = sb.add_member(e.guild, "ben")
    e.events = {}
    e.bot = commands.Bot(command_prefix="!", intents=intents(),
                         guild_ready_timeout=0.05)

    @e.bot.event
    async def on_message_edit(before, after):
        e.events.setdefault("edit", []).append((before.content, after.content))

    @e.bot.event
    async def on_raw_message_delete(payload):
        e.events.setdefault("delete", []).append(payload.message_id)

    @e.bot.event
    async def on_member_update(before, after):
        e.events.setdefault("member_update", []).append(after)

    async with connected_client(sb, e.bot):
        e.g = e.bot.get_guild(e.guild.id)
        yield e
    await sb.stop()


@pytest.fixture(autouse=True)
def _fresh(env):
    env.sb.reset()
    env.events.clear()


async def test_edit_delete_and_bulk_delete(env):
    sb, channel = env.sb, env.g.get_channel(env.general.id)
    mine = await channel.send("draft")
    await mine.edit(content="final")
    await sb.wait_for(lambda: ("draft", "final") in env.events.get("edit", []))
    theirs = await sb.post(env.general, env.anna, "spam 1")
    again = await sb.post(env.general, env.anna, "spam 2")
    await channel.delete_messages([discord.Object(theirs.id), discord.Object(again.id)])
    assert theirs.deleted and again.deleted
    await mine.delete()
    assert [m.content for m in sb.messages(env.general)] == []
    await sb.wait_for(lambda: mine.id in env.events.get("delete", []))


async def test_user_edit_fires_on_message_edit(env):
    sb = env.sb
    msg = await sb.post(env.general, env.anna, "hello")
    await sb.edit(msg, "hello again")
    await sb.wait_for(lambda: ("hello", "hello again") in env.events.get("edit", []))


async def test_reply_forward_and_mentions(env):
    sb, channel = env.sb, env.g.get_channel(env.general.id)
    original = await sb.post(env.general, env.anna, "question?")
    fetched = await channel.fetch_message(original.id)
    reply = await fetched.reply("answer", mention_author=False)
    stored = sb.message(reply.id)
    assert stored.reference["message_id"] == str(original.id) and stored.type == 19
    assert sb.mentions_pinged(stored) == set()
    pinged = await fetched.reply(f"<@{env.ben.id}> and @everyone")
    assert sb.mentions_pinged(sb.message(pinged.id)) == {env.anna.id, env.ben.id, "everyone"}
    assert sb.mentions_pinged(sb.message(pinged.id), respect_permissions=True) == {
        env.anna.id, env.ben.id}
    fwd = await fetched.forward(channel)
    snap = sb.message(fwd.id).snapshots[0]["message"]
    assert snap["content"] == "question?"
    user_fwd = await sb.post(env.general, env.ben, forward_of=original)
    assert user_fwd.snapshots and user_fwd.reference["type"] == 1


async def test_pins(env):
    channel = env.g.get_channel(env.general.id)
    msg = await channel.send("rules")
    await msg.pin()
    pins = [m async for m in channel.pins()]
    assert [m.id for m in pins] == [msg.id]
    await msg.unpin()
    assert [m async for m in channel.pins()] == []


async def test_timeout_ban_kick_and_roles(env):
    sb, g = env.sb, env.g
    anna = g.get_member(env.anna.id)
    until = env.clock.now() + timedelta(hours=1)
    await anna.timeout(until, reason="cooling off")
    assert env.anna.communication_disabled_until == until
    call = sb.requests_matching("PATCH /guilds/{guild_id}/members/{user_id}")[-1]
    assert call.reason == "cooling off"
    await sb.wait_for(lambda: env.events.get("member_update"))
    await anna.timeout(None)
    role = await g.create_role(name="Helpers", permissions=discord.Permissions.none())
    await anna.add_roles(role)
    assert role.id in env.anna.roles
    await role.edit(name="Helpers!")
    await role.delete()
    sb.set_bot_permissions(env.guild, discord.Permissions(view_channel=True))
    try:
        with pytest.raises(discord.Forbidden):
            await anna.timeout(timedelta(minutes=5))
        with pytest.raises(discord.Forbidden):
            await g.ban(anna)
    finally:
        from sandbox.scenario import BOT_DEFAULT

        sb.set_bot_permissions(env.guild, BOT_DEFAULT)
    ben = await g.fetch_member(env.ben.id)
    await g.ban(ben, reason="spam", delete_message_seconds=0)
    assert env.ben.id in env.guild.bans and env.ben.id not in env.guild.members
    await g.unban(ben)
    with pytest.raises(discord.NotFound):
        await g.fetch_member(env.ben.id)
    sb.add_member(env.guild, env.ben)


async def test_channel_create_with_overwrites_and_automod(env):
    sb, g = env.sb, env.g
    overwrites = {g.default_role: discord.PermissionOverwrite(view_channel=False),
                  g.me: discord.PermissionOverwrite(view_channel=True)}
    created = await g.create_text_channel("mod-log", overwrites=overwrites)
    chan = sb.world.channels[created.id]
    assert chan.overwrites[env.guild.id].deny & discord.Permissions(view_channel=True).value
    await sb.wait_for(lambda: g.get_channel(created.id))
    assert not sb.world.permissions(env.anna.id, chan)
    rule = await g.create_automod_rule(
        name="links", event_type=discord.AutoModRuleEventType.message_send,
        trigger=discord.AutoModTrigger(keyword_filter=["spam"]),
        actions=[discord.AutoModRuleAction(custom_message="no")], enabled=True)
    assert [r.id for r in await g.fetch_automod_rules()] == [rule.id]
    await rule.delete()


async def test_bot_threads_forum_posts_and_locking(env):
    sb, g = env.sb, env.g
    forum = g.get_channel(env.forum.id)
    tag = forum.available_tags[0]
    post = await forum.create_thread(name="Welcome", content="Say hi", applied_tags=[tag])
    thread = sb.world.channels[post.thread.id]
    assert post.message.id == thread.id and thread.applied_tags == [tag.id]
    await post.thread.edit(archived=True, locked=True)
    assert thread.archived and thread.locked
    await post.thread.edit(archived=False)
    general = g.get_channel(env.general.id)
    starter = await general.send("discussion")
    t = await starter.create_thread(name="Discuss")
    assert t.id == starter.id
    await t.send("in thread")
    await sb.archive(sb.world.channels[t.id])
    await t.send("unarchives")
    assert not sb.world.channels[t.id].archived
    await sb.lock(sb.world.channels[t.id])
    sb.deny(env.general, "manage_threads")
    with pytest.raises(discord.Forbidden):
        await t.send("locked")
    sb.allow(env.general, "manage_threads")


async def test_webhook_message_lifecycle(env):
    sb, g = env.sb, env.g
    general = g.get_channel(env.general.id)
    hook = await general.create_webhook(name="Reposter")
    msg = await hook.send("as anna", username="anna", avatar_url="https://x/a.png", wait=True,
                          allowed_mentions=discord.AllowedMentions.none())
    stored = sb.message(msg.id)
    assert stored.webhook_id == hook.id and stored.author.username == "anna"
    assert stored.allowed_mentions == {"parse": []}
    await msg.edit(content="edited")
    assert stored.content == "edited"
    await msg.delete()
    assert stored.deleted
    assert [w.id for w in await general.webhooks()] == [hook.id]
    await hook.delete()
    with pytest.raises(discord.NotFound):
        await hook.send("gone", wait=True)


async def test_dm_flow_and_user_dm_reply(env):
    sb = env.sb
    user = await env.bot.fetch_user(env.anna.id)
    await user.send("hi anna")
    dm = sb.dm_channel(env.anna)
    answer = await sb.post(dm, env.anna, "hi bot")
    assert [m.content for m in sb.dms(env.anna)] == ["hi bot"][:0] + ["hi anna", "hi bot"]
    assert answer.channel.is_dm


async def test_history_of_backdated_messages(env):
    sb = env.sb
    room = sb.add_text_channel(env.guild, "old")
    old = await sb.post(room, env.anna, "long ago", at=env.clock.now() - timedelta(days=20),
                        silent=True)
    assert discord.utils.snowflake_time(old.id) == env.clock.now() - timedelta(days=20)
    new = await sb.post(room, env.anna, "recent", silent=True)
    channel = await env.bot.fetch_channel(room.id)
    with pytest.raises(discord.HTTPException) as info:
        await channel.delete_messages([discord.Object(old.id), discord.Object(new.id)])
    assert info.value.code == 50034
