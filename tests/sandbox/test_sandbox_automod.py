"""The sandbox's AutoMod against a plain discord.py client: rule routes and Discord's limits,
keyword/regex matching with exemptions and allow_list, blocks, alert messages and events."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest
import pytest_asyncio
from discord.ext import commands

from bot.app import intents as steward_intents
from bot.clock import FakeClock
from sandbox import Blocked, Message, MessageBlocked, Sandbox
from sandbox.automod import keyword_regex, unsupported_regex
from sandbox.harness import connected_client

pytestmark = pytest.mark.sandbox

LINK = r"(?i)https?://[a-z0-9.-]+"
KIND = discord.AutoModRuleEventType.message_send


class Env:
    pass


def _intents(*, content: bool = True) -> discord.Intents:
    intents = steward_intents()
    intents.auto_moderation = True
    intents.message_content = content
    return intents


@pytest_asyncio.fixture(scope="module")
async def env():
    e = Env()
    e.clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    e.sb = sb = Sandbox(clock=e.clock)
    await sb.start()
    e.guild = sb.add_guild("Hope Together")
    e.general = sb.add_text_channel(e.guild, "general")
    e.quiet = sb.add_text_channel(e.guild, "quiet")
    e.queue = sb.add_text_channel(e.guild, "mod-queue")
    e.trusted = sb.add_role(e.guild, "Trusted")
    e.admins = sb.add_role(e.guild, "Admins", discord.Permissions(manage_guild=True))
    e.anna = sb.add_member(e.guild, "anna")
    e.tess = sb.add_member(e.guild, "tess", roles=[e.trusted])
    e.ada = sb.add_member(e.guild, "ada", roles=[e.admins])
    e.owner = e.guild.members[e.guild.owner_id]
    e.events = {}
    e.bot = commands.Bot(command_prefix="!", intents=_intents(), guild_ready_timeout=0.05)

    def record(name):
        async def handler(*args):
            e.events.setdefault(name, []).append(args[-1])
        handler.__name__ = f"on_{name}"
        return handler

    for name in ("automod_action", "automod_rule_create", "automod_rule_update",
                 "automod_rule_delete", "message"):
        e.bot.add_listener(record(name), f"on_{name}")
    async with connected_client(sb, e.bot):
        e.g = e.bot.get_guild(e.guild.id)
        yield e
    await sb.stop()


@pytest.fixture(autouse=True)
def _fresh(env):
    env.sb.reset()
    env.events.clear()
    yield
    env.guild.automod_rules.clear()


async def _link_rule(env, *, allow=(), exempt_roles=(), exempt_channels=(), alert=True,
                     block=True, custom="New members can't post links yet."):
    actions = []
    if block:
        actions.append(discord.AutoModRuleAction(custom_message=custom))
    if alert:
        actions.append(discord.AutoModRuleAction(channel_id=env.queue.id))
    return await env.g.create_automod_rule(
        name="Steward: links", event_type=KIND,
        trigger=discord.AutoModTrigger(regex_patterns=[LINK], allow_list=list(allow)),
        actions=actions, enabled=True,
        exempt_roles=[discord.Object(r.id) for r in exempt_roles],
        exempt_channels=[discord.Object(c.id) for c in exempt_channels])


# ------------------------------------------------------------------ rule routes
async def test_rule_lifecycle_through_discord_py_with_events(env):
    sb, g = env.sb, env.g
    rule = await _link_rule(env, allow=["good.example"], exempt_roles=[env.trusted])
    assert rule.trigger.regex_patterns == [LINK] and rule.trigger.allow_list == ["good.example"]
    assert rule.creator_id == sb.bot_user.id and rule.enabled
    assert [r.id for r in await g.fetch_automod_rules()] == [rule.id]
    assert (await g.fetch_automod_rule(rule.id)).name == "Steward: links"
    edited = await rule.edit(trigger=discord.AutoModTrigger(regex_patterns=[LINK],
                                                            allow_list=["ok.example"]))
    assert edited.trigger.allow_list == ["ok.example"]
    assert edited.exempt_role_ids == {env.trusted.id}  # a PATCH keeps what it does not name
    await edited.delete()
    assert await g.fetch_automod_rules() == []
    await sb.wait_for(lambda: env.events.get("automod_rule_delete"))
    assert [r.id for r in env.events["automod_rule_create"]] == [rule.id]
    assert env.events["automod_rule_update"][0].trigger.allow_list == ["ok.example"]
    with pytest.raises(discord.NotFound):
        await g.fetch_automod_rule(rule.id)


def _field_codes(exc: discord.HTTPException) -> str:
    return repr(exc.text)


@pytest.mark.parametrize(("trigger", "needle"), [
    (dict(keyword_filter=["x"] * 1001), "keyword_filter"),
    (dict(keyword_filter=["x" * 61]), "keyword_filter.0"),
    (dict(regex_patterns=["a"] * 11), "regex_patterns"),
    (dict(regex_patterns=["a" * 261]), "regex_patterns.0"),
    (dict(regex_patterns=["foo(?=bar)"]), "regex_patterns.0: Invalid regex"),
    (dict(regex_patterns=[r"(a)\1"]), "regex_patterns.0: Invalid regex"),
    (dict(keyword_filter=["x"], allow_list=["y"] * 101), "allow_list"),
    (dict(keyword_filter=["x"], allow_list=["y" * 61]), "allow_list.0"),
])
async def test_trigger_limits_are_refused_like_discord(env, trigger, needle):
    with pytest.raises(discord.HTTPException) as caught:
        await env.g.create_automod_rule(
            name="too much", event_type=KIND, trigger=discord.AutoModTrigger(**trigger),
            actions=[discord.AutoModRuleAction()])
    assert caught.value.status == 400 and caught.value.code == 50035
    assert needle in _field_codes(caught.value)
    assert env.guild.automod_rules == {}


async def test_exemption_action_and_count_limits(env):
    g = env.g
    many_roles = [discord.Object(i) for i in range(1, 22)]
    many_channels = [discord.Object(i) for i in range(1, 52)]
    cases = [
        (dict(exempt_roles=many_roles), "exempt_roles"),
        (dict(exempt_channels=many_channels), "exempt_channels"),
        (dict(actions=[discord.AutoModRuleAction(custom_message="x" * 151)]), "custom_message"),
    ]
    for extra, needle in cases:
        kwargs = {"name": "r", "event_type": KIND,
                  "trigger": discord.AutoModTrigger(keyword_filter=["spam"]),
                  "actions": [discord.AutoModRuleAction()], **extra}
        with pytest.raises(discord.HTTPException) as caught:
            await g.create_automod_rule(**kwargs)
        assert caught.value.code == 50035 and needle in _field_codes(caught.value)
    for i in range(6):
        await g.create_automod_rule(name=f"k{i}", event_type=KIND,
                                    trigger=discord.AutoModTrigger(keyword_filter=[f"w{i}"]),
                                    actions=[discord.AutoModRuleAction()])
    with pytest.raises(discord.HTTPException) as caught:
        await g.create_automod_rule(name="k7", event_type=KIND,
                                    trigger=discord.AutoModTrigger(keyword_filter=["w7"]),
                                    actions=[discord.AutoModRuleAction()])
    assert "Maximum number of rules of this type" in _field_codes(caught.value)
    assert len(env.guild.automod_rules) == 6


async def test_manage_server_is_required(env):
    sb = env.sb
    before = sb.bot_role(env.guild).permissions
    sb.set_bot_permissions(env.guild, before & ~discord.Permissions(manage_guild=True).value)
    try:
        with pytest.raises(discord.Forbidden) as caught:
            await env.g.fetch_automod_rules()
        assert caught.value.code == 50013
        with pytest.raises(discord.Forbidden):
            await _link_rule(env)
    finally:
        sb.set_bot_permissions(env.guild, before)
    assert env.guild.automod_rules == {}


# --------------------------------------------------------------------- matching
def _executions(env, rule):
    """Execution events of this rule (earlier tests' late events are ignored)."""
    return [ex for ex in env.events.get("automod_action", []) if ex.rule_id == rule.id]


async def test_blocked_post_is_never_created_and_reported(env):
    sb = env.sb
    rule = await _link_rule(env)
    result = await sb.try_post(env.general, env.anna, "free stuff https://spam.example/x")
    assert isinstance(result, Blocked)
    assert result.custom_message == "New members can't post links yet."
    assert result.rule_names == ["Steward: links"]
    assert sb.blocks(env.general)[-1] is result
    assert not any("spam.example" in m.content for m in sb.messages(env.general))
    await sb.wait_for(lambda: len(_executions(env, rule)) == 2)
    block, alert = _executions(env, rule)
    assert block.action.type is discord.AutoModRuleActionType.block_message
    assert alert.action.type is discord.AutoModRuleActionType.send_alert_message
    for ex in (block, alert):
        assert ex.rule_id == rule.id and ex.user_id == env.anna.id
        assert ex.channel_id == env.general.id and ex.message_id is None
        assert ex.content == "free stuff https://spam.example/x"
        assert ex.matched_keyword == LINK and ex.matched_content == "https://spam.example"
    assert block.alert_system_message_id is None
    assert alert.alert_system_message_id == result.alerts[0].id
    await sb.idle()
    assert all(m.channel.id != env.general.id for m in env.events.get("message", []))
    with pytest.raises(MessageBlocked) as caught:
        await sb.post(env.general, env.anna, "again http://spam.example")
    assert caught.value.blocked.content == "again http://spam.example"


async def test_alert_message_shape(env):
    sb = env.sb
    await _link_rule(env)
    blocked = await sb.try_post(env.general, env.anna, "look www https://spam.example")
    assert isinstance(blocked, Blocked)
    alert = sb.messages(env.queue)[-1]
    assert alert is blocked.alerts[0]
    assert alert.type == 24 and alert.author is env.anna.user and alert.content == ""
    embed = alert.embeds[0]
    assert embed["type"] == "auto_moderation_message"
    assert embed["description"] == "look www https://spam.example"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["rule_name"] == "Steward: links"
    assert fields["channel_id"] == str(env.general.id)
    assert fields["keyword"] == LINK
    assert fields["keyword_matched_content"] == "https://spam.example"
    got = await sb.wait_for(lambda: [m for m in env.events.get("message", [])
                                     if m.id == alert.id])
    assert got[0].type is discord.MessageType.auto_moderation_action
    assert got[0].embeds[0].description == "look www https://spam.example"


async def test_exemptions_skip_the_rule(env):
    sb = env.sb
    await _link_rule(env, exempt_roles=[env.trusted], exempt_channels=[env.quiet])
    text = "see https://spam.example"
    before = len(sb.blocks())
    for channel, who in ((env.general, env.tess), (env.quiet, env.anna),
                         (env.general, env.owner), (env.general, env.ada)):
        assert isinstance(await sb.try_post(channel, who, text), Message)
    thread = await sb.create_thread(env.quiet, env.anna, "chat")
    assert isinstance(await sb.try_post(thread, env.anna, text), Message)
    assert len(sb.blocks()) == before
    assert isinstance(await sb.try_post(env.general, env.anna, text), Blocked)
    assert len(sb.blocks()) == before + 1


async def test_allow_list_covers_matched_text(env):
    sb = env.sb
    await _link_rule(env, allow=["good.example"])
    assert isinstance(await sb.try_post(env.general, env.anna, "https://good.example/a"),
                      Message)
    assert isinstance(await sb.try_post(env.general, env.anna,
                                        "https://good.example and https://bad.example"),
                      Blocked)


async def test_alert_only_rule_keeps_the_message(env):
    sb = env.sb
    rule = await _link_rule(env, block=False)
    msg = await sb.try_post(env.general, env.anna, "https://spam.example")
    assert isinstance(msg, Message) and msg in sb.messages(env.general)
    executed = await sb.wait_for(lambda: _executions(env, rule))
    assert executed[0].message_id == msg.id
    assert sb.messages(env.queue)[-1].type == 24


async def test_keyword_wildcards_and_disabled_rules(env):
    sb = env.sb
    rule = await env.g.create_automod_rule(
        name="words", event_type=KIND,
        trigger=discord.AutoModTrigger(keyword_filter=["cure", "miracle*", "*pill"]),
        actions=[discord.AutoModRuleAction(custom_message="no")], enabled=True)
    outcomes = {text: isinstance(await sb.try_post(env.general, env.anna, text), Blocked)
                for text in ("a CURE for it", "secure", "miracles here", "a nomiracle",
                             "sleeping pills", "Painkiller", "sleepingpill ok")}
    assert outcomes == {"a CURE for it": True, "secure": False, "miracles here": True,
                        "a nomiracle": False, "sleeping pills": False, "Painkiller": False,
                        "sleepingpill ok": True}
    await rule.edit(enabled=False)
    assert isinstance(await sb.try_post(env.general, env.anna, "a cure"), Message)


async def test_forum_post_content_is_checked_too(env):
    sb = env.sb
    forum = sb.add_forum_channel(env.guild, "stories")
    await _link_rule(env)
    threads_before = [c for c in env.guild.channels.values() if c.parent_id == forum.id]
    with pytest.raises(MessageBlocked) as caught:
        await sb.forum_post(forum, env.anna, "my story", "read it at https://spam.example")
    assert caught.value.blocked.channel is forum
    assert [c for c in env.guild.channels.values() if c.parent_id == forum.id] == threads_before
    thread, starter = await sb.forum_post(forum, env.anna, "my story", "no links here")
    assert starter.id == thread.id and thread.parent_id == forum.id
    assert [c for c in env.guild.channels.values() if c.parent_id == forum.id] == [thread]

async def test_stewards_generated_rule_is_accepted_and_blocks_like_its_spec(env):
    """The payload bot.domain.automod builds passes the sandbox's Discord checks as is."""
    from bot.domain.automod import RuleFacts, build_rule, differs, is_owned, rule_payload

    sb = env.sb
    spec = build_rule(RuleFacts(allowlist=["nhs.uk"], trusted_role_id=env.trusted.id,
                                ignored_channel_ids=[env.quiet.id],
                                queue_channel_id=env.queue.id))
    created = await env.bot.http.create_auto_moderation_rule(env.guild.id, reason=None,
                                                             **rule_payload(spec))
    assert is_owned(created, sb.bot_user.id) and not differs(created, spec)
    outcomes = {}
    for channel, who, text in ((env.general, env.anna, "cheap pills at meds-now.xyz"),
                               (env.general, env.anna, "see https://www.nhs.uk/conditions"),
                               (env.general, env.tess, "cheap pills at meds-now.xyz"),
                               (env.quiet, env.anna, "cheap pills at meds-now.xyz"),
                               (env.general, env.anna, "I'm fine.Now off to B.Com class")):
        result = await sb.try_post(channel, who, text)
        outcomes[(channel.name, who.user.username, text)] = isinstance(result, Blocked)
    assert list(outcomes.values()) == [True, False, False, False, False]
    blocked = sb.blocks(env.general)[-1]
    assert blocked.custom_message == spec.custom_message
    assert blocked.alerts[0].channel is env.queue


def test_keyword_and_regex_helpers():
    assert keyword_regex("*cat*").search("concatenate")
    assert not keyword_regex("cat").search("concatenate")
    assert unsupported_regex(r"(?<=x)y") and unsupported_regex(r"a++")
    assert unsupported_regex(r"x\Z") and unsupported_regex("(") is not None
    assert unsupported_regex(r"(?i)https?://\S+") is None


async def test_content_blank_without_message_content_intent():
    # Last in the file: connecting a second client points discord.py's URLs at this sandbox.
    clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    async with Sandbox(clock=clock) as sb:
        guild = sb.add_guild("Quiet")
        general = sb.add_text_channel(guild, "general")
        anna = sb.add_member(guild, "anna")
        seen = []
        bot = commands.Bot(command_prefix="!", intents=_intents(content=False),
                           guild_ready_timeout=0.05)

        async def on_automod_action(execution):
            seen.append(execution)

        bot.add_listener(on_automod_action)
        async with connected_client(sb, bot):
            g = bot.get_guild(guild.id)
            await g.create_automod_rule(
                name="links", event_type=KIND,
                trigger=discord.AutoModTrigger(regex_patterns=[LINK]),
                actions=[discord.AutoModRuleAction()], enabled=True)
            blocked = await sb.try_post(general, anna, "https://spam.example")
            assert isinstance(blocked, Blocked)
            assert blocked.custom_message.startswith("Your message could not be delivered")
            await sb.wait_for(lambda: seen)
    assert seen[0].content == "" and seen[0].matched_content == ""
    assert seen[0].matched_keyword == LINK

