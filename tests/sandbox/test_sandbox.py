"""The sandbox against a real discord.py client (one bot for the whole module)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from bot.app import intents
from sandbox import Sandbox
from sandbox.harness import connected_client

pytestmark = pytest.mark.sandbox


class ShiftClock:
    """Real time plus an adjustable offset (to expire interactions)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class ApproveView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Approve", custom_id="steward:approve",
                       style=discord.ButtonStyle.green)
    async def approve(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await interaction.response.send_message(f"approved by {interaction.user.name}",
                                                ephemeral=True)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text = discord.ui.TextInput(label="Your feedback", custom_id="fb", max_length=200)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class PickView(discord.ui.View):
    @discord.ui.select(custom_id="pick", placeholder="Pick one",
                       options=[discord.SelectOption(label="A", value="a"),
                                discord.SelectOption(label="B", value="b")])
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.edit_message(content=f"picked {select.values[0]}",
                                                view=None)


def make_bot(guild_id: int, events: dict[str, list]) -> commands.Bot:
    bot = commands.Bot(command_prefix="!", intents=intents(), guild_ready_timeout=0.05)
    gobj = discord.Object(guild_id)
    gate = asyncio.Event()
    bot.slow_gate = gate  # type: ignore[attr-defined]

    linkhold = app_commands.Group(name="linkhold", description="Link holds")

    @linkhold.command(name="allow", description="Allow a domain")
    async def allow(interaction: discord.Interaction, domain: str,
                    member: discord.Member | None = None) -> None:
        who = member.name if member else "everyone"
        await interaction.response.send_message(f"allowed {domain} for {who}", ephemeral=True)

    bot.tree.add_command(linkhold, guild=gobj)

    @bot.tree.command(name="panel", description="Post the panel", guild=gobj)
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Panel", view=PickView())

    @bot.tree.command(name="feedback", description="Give feedback", guild=gobj)
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @bot.tree.command(name="think", description="Defer then follow up", guild=gobj)
    async def think(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("done thinking")
        await interaction.followup.send("and one more")

    @bot.tree.command(name="slow", description="Answers late", guild=gobj)
    async def slow(interaction: discord.Interaction) -> None:
        await gate.wait()
        await interaction.response.send_message("too late")

    @bot.tree.command(name="noop", description="Never answers", guild=gobj)
    async def noop(interaction: discord.Interaction) -> None:
        return

    @bot.tree.context_menu(name="Repost for member")
    async def repost(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"repost: {message.content}", ephemeral=True)

    async def setup_hook() -> None:
        bot.add_view(ApproveView())
        await bot.tree.sync()
        await bot.tree.sync(guild=gobj)

    bot.setup_hook = setup_hook  # type: ignore[method-assign]

    @bot.event
    async def on_message(message: discord.Message) -> None:
        events.setdefault("message", []).append(message)

    @bot.event
    async def on_thread_create(thread: discord.Thread) -> None:
        events.setdefault("thread", []).append(thread)

    @bot.event
    async def on_member_join(member: discord.Member) -> None:
        events.setdefault("join", []).append(member)

    @bot.event
    async def on_resumed() -> None:
        events.setdefault("resumed", []).append(True)

    return bot


class World:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.guild = sb.add_guild("Hope Together")
        self.general = sb.add_text_channel(self.guild, "general")
        self.mods = sb.add_text_channel(self.guild, "mod-log")
        self.forum = sb.add_forum_channel(self.guild, "colorectal", tags=["question", "story"])
        self.moderators = sb.add_role(self.guild, "Moderators",
                                      discord.Permissions(manage_messages=True))
        now = sb.now()
        self.anna = sb.add_member(self.guild, "anna", joined_at=now - timedelta(days=30))
        self.mod = sb.add_member(self.guild, "morgan", roles=[self.moderators])
        self.events: dict[str, list] = {}
        self.bot = make_bot(self.guild.id, self.events)


@pytest_asyncio.fixture(scope="module")
async def world():
    clock = ShiftClock()
    sb = Sandbox(clock=clock)
    await sb.start()
    w = World(sb)
    w.clock = clock
    async with connected_client(sb, w.bot):
        yield w
    await sb.stop()


@pytest.fixture(autouse=True)
def _fresh(world):
    world.sb.reset()
    world.clock.offset = timedelta(0)
    world.events.clear()
    yield


async def test_connects_with_requested_intents_and_caches_guild(world):
    sb, bot = world.sb, world.bot
    assert sb.identify["intents"] == bot.intents.value
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.name == "Hope Together"
    assert {c.name for c in guild.channels} >= {"general", "mod-log", "colorectal"}
    assert guild.get_member(world.anna.id).joined_at == world.anna.joined_at
    assert guild.me.top_role.name == "Steward"
    assert isinstance(guild.get_channel(world.forum.id), discord.ForumChannel)


async def test_bot_message_is_recorded_and_dispatched_back(world):
    sb = world.sb
    sent = await world.bot.get_channel(world.general.id).send(
        f"hi <@{world.anna.id}>", allowed_mentions=discord.AllowedMentions(users=False))
    call = await sb.wait_for_request("POST /channels/{channel_id}/messages",
                                     channel=world.general)
    assert "users" not in call.allowed_mentions["parse"]
    msg = sb.messages(world.general)[-1]
    assert msg.id == sent.id and msg.author.id == sb.bot_user.id
    assert sb.mentions_pinged(msg) == set()
    await sb.wait_for(lambda: any(m.id == sent.id for m in world.events.get("message", [])))


async def test_user_post_reaches_on_message_with_member_and_attachment(world):
    sb = world.sb
    msg = await sb.post(world.general, world.anna, "look", attachments=[("scan.png", b"PNG!")])
    await sb.wait_for(lambda: world.events.get("message"))
    got = world.events["message"][0]
    assert isinstance(got.author, discord.Member) and got.author.joined_at is not None
    assert await got.attachments[0].read() == b"PNG!"
    await got.delete()
    assert msg.deleted
    with pytest.raises(discord.NotFound):
        await got.attachments[0].read()


async def test_polls_system_messages_and_user_app_posts_arrive_as_discord_sends_them(world):
    sb = world.sb
    app = sb.add_user("FreeMedsApp", bot=True)
    await sb.post(world.general, world.anna, "", poll=("Best clinic?", ["a.example", "b"]))
    await sb.post(world.general, world.anna, "", message_type=6)  # a pin notice
    await sb.post(world.general, world.anna, "see shop.example", via_app=app)
    await sb.wait_for(lambda: len(world.events.get("message", [])) == 3)
    poll, pin, via = world.events["message"]
    assert poll.poll is not None and poll.poll.question == "Best clinic?"
    assert [a.text for a in poll.poll.answers] == ["a.example", "b"]
    assert pin.type is discord.MessageType.pins_add and pin.is_system()
    assert via.author.id == app.id and via.application_id == app.id
    assert via.interaction_metadata is not None
    assert via.interaction_metadata.user.id == world.anna.id


async def test_slash_subcommand_with_options_is_ephemeral(world):
    sb = world.sb
    names = {c.name for c in sb.registered_commands(world.guild)}
    assert {"linkhold", "panel", "feedback"} <= names
    assert sb.registered_commands()[0].name == "Repost for member"
    r = await sb.slash(world.guild, world.mod, "linkhold allow", domain="x.com",
                       member=world.anna)
    await r.responded()
    assert r.response_type == 4 and r.ephemeral
    assert r.content == "allowed x.com for anna"
    assert r.message not in sb.messages(world.general)


async def test_persistent_button_click(world):
    sb = world.sb
    await world.bot.get_channel(world.general.id).send("Review", view=ApproveView())
    msg = await sb.wait_for_message(world.general, lambda m: m.content == "Review")
    r = await sb.click(msg, "Approve", by=world.mod)
    await r.responded()
    assert r.content == "approved by morgan" and r.ephemeral


async def test_select_on_interaction_response_edits_message(world):
    sb = world.sb
    r = await sb.slash(world.guild, world.anna, "panel")
    await r.responded()
    picked = await sb.select(r.message, ["b"], by=world.anna, placeholder="Pick one")
    await picked.done()
    assert picked.response_type == 7
    assert r.message.content == "picked b" and r.message.components == []


async def test_modal_open_and_submit(world):
    sb = world.sb
    r = await sb.slash(world.guild, world.anna, "feedback")
    await r.responded()
    assert r.response_type == 9 and r.modal.title == "Feedback"
    assert r.modal.labels == ["Your feedback"]
    s = await sb.submit_modal(r.modal, values={"Your feedback": "lovely"})
    await s.responded()
    assert s.content == "thanks: lovely"


async def test_deferred_thinking_then_followups(world):
    sb = world.sb
    r = await sb.slash(world.guild, world.anna, "think")
    await r.done()
    assert r.response_type == 5 and r.ephemeral
    assert r.content == "done thinking"  # the first follow-up replaced "thinking..."
    assert [m.content for m in r.followups] == ["and one more"]


async def test_message_context_menu(world):
    sb = world.sb
    target = await sb.post(world.general, world.anna, "please repost me")
    r = await sb.context_menu(world.guild, world.mod, "Repost for member", target=target)
    await r.responded()
    assert r.content == "repost: please repost me"


async def test_late_answer_is_unknown_interaction(world):
    sb = world.sb
    r = await sb.slash(world.guild, world.anna, "slow")
    await sb.wait_for(lambda: sb.gateway.sessions)  # dispatched
    await asyncio.sleep(0)
    world.clock.offset = timedelta(seconds=4)
    world.bot.slow_gate.set()
    await r.responded()
    world.bot.slow_gate.clear()
    assert r.error is not None and r.error.code == 10062 and not r.answered


async def test_double_answer_and_modal_after_defer_are_40060(world):
    sb = world.sb
    r = await sb.slash(world.guild, world.anna, "noop")
    await sb.idle()
    import aiohttp

    url = f"{sb.api_base}/interactions/{r.id}/{r.token}/callback?with_response=1"
    async with aiohttp.ClientSession() as http:
        first = await http.post(url, json={"type": 5, "data": {}})
        assert first.status == 200 and first.headers["Content-Type"] == "application/json"
        modal = {"type": 9, "data": {"custom_id": "m", "title": "T", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "a", "label": "A",
                                        "style": 1}]}]}}
        second = await http.post(url, json=modal)
        assert second.status == 400 and (await second.json())["code"] == 40060


async def test_drop_and_resume_replays_missed_event(world):
    sb = world.sb
    await sb.drop_connection()
    missed = await sb.post(world.general, world.anna, "while you were away")
    await sb.wait_for_resume()
    await sb.wait_for(lambda: any(m.id == missed.id for m in world.events.get("message", [])))
    await sb.wait_for(lambda: world.events.get("resumed"))


async def test_rate_limited_message_is_retried_once(world):
    sb = world.sb
    sb.fail("POST /channels/{channel_id}/messages", 429, times=1, channel=world.mods)
    await world.bot.get_channel(world.mods.id).send("after 429")
    calls = sb.requests_matching("POST /channels/{channel_id}/messages", channel=world.mods)
    assert [c.status for c in calls] == [429, 200]
    assert [m.content for m in sb.messages(world.mods)].count("after 429") == 1


async def test_server_error_once_then_success(world):
    sb = world.sb
    sb.fail("POST /channels/{channel_id}/messages", 500, times=1, channel=world.mods)
    await world.bot.get_channel(world.mods.id).send("after 500")
    calls = sb.requests_matching("POST /channels/{channel_id}/messages", channel=world.mods)
    assert [c.status for c in calls] == [500, 200]


async def test_missing_permissions_on_denied_channel(world):
    sb = world.sb
    secret = sb.add_text_channel(world.guild, "secret")
    sb.deny(secret, "send_messages")
    await sb.wait_for(lambda: world.bot.get_channel(secret.id))
    with pytest.raises(discord.Forbidden) as info:
        await world.bot.get_channel(secret.id).send("nope")
    assert info.value.code == 50013


async def test_closed_dms_fail_with_50007(world):
    sb = world.sb
    closed = sb.add_member(world.guild, "private-pat")
    sb.close_dms(closed)
    user = await world.bot.fetch_user(closed.id)
    with pytest.raises(discord.Forbidden) as info:
        await user.send("hello")
    assert info.value.code == 50007
    anna = await world.bot.fetch_user(world.anna.id)
    await anna.send("welcome!")
    assert [m.content for m in sb.dms(world.anna)] == ["welcome!"]


async def test_forum_post_and_webhook_into_its_thread(world):
    sb = world.sb
    thread, starter = await sb.forum_post(world.forum, world.anna, "My scan", "what is this?",
                                          tags=["question"])
    assert starter.id == thread.id
    await sb.wait_for(lambda: world.events.get("thread"))
    created = world.events["thread"][0]
    assert created.owner_id == world.anna.id and created.applied_tags[0].name == "question"
    forum = world.bot.get_channel(world.forum.id)
    hook = await forum.create_webhook(name="Steward reposts")
    sent = await hook.send("reposted text", username="anna (via Steward)", wait=True,
                           thread=discord.Object(thread.id))
    msg = sb.message(sent.id)
    assert msg.channel is thread and msg.webhook_id == hook.id
    assert msg.author.username == "anna (via Steward)"
    call = sb.requests_matching("POST /webhooks/{webhook_id}/{webhook_token}")[-1]
    assert call.query["thread_id"] == str(thread.id)


async def test_limits_are_rejected_like_discord(world):
    channel = world.bot.get_channel(world.general.id)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("x" * 2001)
    assert info.value.code == 50035 and "content" in str(info.value)
    hook = await channel.create_webhook(name="Reposts")
    with pytest.raises(discord.HTTPException) as info:
        await hook.send("hi", username="Discord Staff")
    assert info.value.code == 50035
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embed=discord.Embed(title="t" * 257))
    assert info.value.code == 50035


async def test_role_above_bot_cannot_be_assigned(world):
    sb = world.sb
    admins = sb.add_role(world.guild, "Admins", above_bot=True)
    guild = world.bot.get_guild(world.guild.id)
    await sb.wait_for(lambda: guild.get_role(admins.id))
    member = guild.get_member(world.anna.id)
    with pytest.raises(discord.Forbidden):
        await member.add_roles(guild.get_role(admins.id))
    await member.add_roles(guild.get_role(world.moderators.id))
    assert world.moderators.id in world.anna.roles
    await sb.wait_for(lambda: world.moderators.id in [r.id for r in member.roles])
    await member.remove_roles(guild.get_role(world.moderators.id))


async def test_member_join_event_carries_pending_and_flags(world):
    sb = world.sb
    newbie = await sb.join(world.guild, "newbie", pending=True)
    await sb.wait_for(lambda: world.events.get("join"))
    got = world.events["join"][0]
    assert got.id == newbie.id and got.pending
    await sb.leave(world.guild, newbie)
    again = await sb.join(world.guild, newbie)
    assert again.flags & 1  # DID_REJOIN


async def test_history_is_newest_first_and_after_is_oldest(world):
    sb = world.sb
    room = sb.add_text_channel(world.guild, "history")
    posted = [await sb.post(room, world.anna, f"m{i}", silent=True) for i in range(5)]
    channel = await world.bot.fetch_channel(room.id)
    newest = [m.content async for m in channel.history(limit=3)]
    assert newest == ["m4", "m3", "m2"]
    oldest = [m.content async for m in channel.history(limit=2, oldest_first=True)]
    assert oldest == ["m0", "m1"]
    after = [m.content async for m in channel.history(limit=2, after=discord.Object(
        posted[1].id))]
    assert after == ["m2", "m3"]


async def test_component_defer_then_edit_original_edits_the_message(world):
    sb = world.sb

    class Confirm(discord.ui.View):
        @discord.ui.button(label="Confirm", custom_id="confirm")
        async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
            await interaction.response.defer()
            await interaction.edit_original_response(content="confirmed", view=None)
            await interaction.followup.send("secret note", ephemeral=True)

    await world.bot.get_channel(world.general.id).send("Confirm?", view=Confirm())
    msg = await sb.wait_for_message(world.general, lambda m: m.content == "Confirm?")
    r = await sb.click(msg, "Confirm", by=world.anna)
    await r.done()
    assert r.response_type == 6 and r.message is msg
    assert msg.content == "confirmed" and msg.components == []
    note = r.followups[0]
    assert note.ephemeral and note not in sb.messages(world.general)


async def test_click_on_ephemeral_followup(world):
    sb = world.sb

    class Again(discord.ui.View):
        @discord.ui.button(label="Again", custom_id="again")
        async def again(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
            await interaction.response.send_message("clicked again", ephemeral=True)

    @world.bot.tree.command(name="offer", description="x", guild=discord.Object(world.guild.id))
    async def offer(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send("first", ephemeral=True)
        await interaction.followup.send("choose", view=Again(), ephemeral=True)

    await world.bot.tree.sync(guild=discord.Object(world.guild.id))
    r = await sb.slash(world.guild, world.anna, "offer")
    await r.done()
    assert r.content == "first"
    choose = r.followups[-1]
    assert choose.ephemeral and choose.content == "choose"
    clicked = await sb.click(choose, "Again", by=world.anna)
    await clicked.responded()
    assert clicked.content == "clicked again"


async def test_user_context_menu_and_guild_join(world):
    sb = world.sb

    @world.bot.tree.context_menu(name="Check member", guild=discord.Object(world.guild.id))
    async def check(interaction: discord.Interaction, member: discord.Member) -> None:
        perms = interaction.permissions.manage_messages
        await interaction.response.send_message(f"{member.name} mod={perms}", ephemeral=True)

    await world.bot.tree.sync(guild=discord.Object(world.guild.id))
    r = await sb.context_menu(world.guild, world.mod, "Check member", target=world.anna)
    await r.responded()
    assert r.content == "anna mod=True"
    joined: list[discord.Guild] = []

    async def on_guild_join(guild: discord.Guild) -> None:
        joined.append(guild)

    world.bot.add_listener(on_guild_join)
    later = sb.add_guild("Second Home")
    await sb.wait_for(lambda: world.bot.get_guild(later.id))
    await sb.wait_for(lambda: joined)


async def test_autocomplete_and_dm_slash(world):
    sb = world.sb
    gobj = discord.Object(world.guild.id)

    async def fruits(interaction: discord.Interaction, current: str):
        return [app_commands.Choice(name=f, value=f) for f in ("apple", "apricot", "banana")
                if f.startswith(current)]

    @world.bot.tree.command(name="fruit", description="x", guild=gobj)
    @app_commands.autocomplete(name=fruits)
    async def fruit(interaction: discord.Interaction, name: str, count: int) -> None:
        await interaction.response.send_message(f"{count} {name}")

    @world.bot.tree.command(name="hello", description="works in DMs")
    async def hello(interaction: discord.Interaction) -> None:
        where = "dm" if interaction.guild is None else "guild"
        await interaction.response.send_message(f"hello from {where}")

    await world.bot.tree.sync(guild=gobj)
    await world.bot.tree.sync()
    r = await sb.autocomplete(world.guild, world.anna, "fruit", focused="name", name="ap")
    await r.responded()
    assert [c["value"] for c in r.autocomplete_choices] == ["apple", "apricot"]
    r = await sb.slash(world.guild, world.anna, "fruit", name="apple", count=3)
    await r.responded()
    assert r.content == "3 apple" and not r.ephemeral
    assert r.message in sb.messages(world.general)
    r = await sb.slash(None, world.anna, "hello", sb.dm_channel(world.anna))
    await r.responded()
    assert r.content == "hello from dm"
    assert sb.dms(world.anna)[-1].content == "hello from dm"


async def test_no_message_events_from_channels_the_bot_cannot_see(world):
    sb = world.sb
    hidden = sb.add_text_channel(world.guild, "hidden")
    sb.deny(hidden, "view_channel")
    await sb.post(hidden, world.anna, "you cannot see this")
    marker = await sb.post(world.general, world.anna, "but this")
    await sb.wait_for(lambda: any(m.id == marker.id for m in world.events.get("message", [])))
    assert [m.content for m in world.events["message"]] == ["but this"]


async def test_can_use_command_follows_default_member_permissions(world):
    sb = world.sb

    @world.bot.tree.command(name="modonly", description="x", guild=discord.Object(world.guild.id))
    @app_commands.default_permissions(manage_messages=True)
    async def modonly(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    await world.bot.tree.sync(guild=discord.Object(world.guild.id))
    assert sb.command("modonly", world.guild)["default_member_permissions"] == str(
        discord.Permissions(manage_messages=True).value)
    assert sb.can_use_command(world.guild, world.mod, "modonly")
    assert not sb.can_use_command(world.guild, world.anna, "modonly")
    assert sb.can_use_command(world.guild, world.anna, "feedback")
