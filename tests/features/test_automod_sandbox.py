"""Issue 14 end to end: Steward's AutoMod rule, the trusted role and blocks turned into holds,
the real StewardBot against the sandbox (which enforces Discord's AutoMod limits and matching).
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import StewardBot
from bot.clock import FakeClock
from bot.domain import automod as rule_domain
from bot.ui.care import TITLE as CARE_TITLE
from sandbox import Sandbox
from sandbox.automod import Blocked, MessageBlocked
from sandbox.errors import SandboxError
from sandbox.world import StewardHarness
from tests.waits import eventually

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

_names = count()
PUT_ROLE = "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}"
DELETE_ROLE = "DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}"
RULES = "POST /guilds/{guild_id}/auto-moderation/rules"
PATCH_RULE = "PATCH /guilds/{guild_id}/auto-moderation/rules/{rule_id}"


def fresh() -> str:
    return f"automod-newcomer{next(_names)}"


class Env(StewardHarness):
    """A support server with a queue channel, a trusted role and Steward (restartable)."""

    def __init__(self, sb: Sandbox, clock: FakeClock, database: Path) -> None:
        super().__init__(sb, clock, database, on_start=self._started)
        g = self.guild = sb.add_guild("Hope Together", "owner")
        self.owner = sb.member(g, "owner")
        self.general = sb.add_text_channel(g, "general")
        self.resources = sb.add_text_channel(g, "resources")
        self.forum = sb.add_forum_channel(g, "our-stories")
        self.queue = sb.add_text_channel(g, "mod-queue")
        self.mod_log = sb.add_text_channel(g, "mod-log")
        self.mod_role = sb.add_role(g, "Moderators", ["manage_messages"])
        self.trusted = sb.add_role(g, "Members")
        self.moderator = sb.add_member(g, "mod", roles=[self.mod_role])
        self.veteran = sb.add_member(g, "veteran", roles=[self.trusted],
                                     joined_at=clock.now() - timedelta(days=90))

    async def _started(self, bot: StewardBot) -> None:
        await self.sb.wait_for(lambda: bot.services.linkhold.started,
                               message="link holds never started")
        await self.sb.wait_for(lambda: bot.services.automod.ready.is_set(),
                               message="AutoMod never started")
        await self.sb.idle()

    def rules(self) -> list[dict]:
        return list(self.guild.automod_rules.values())

    def owned(self) -> list[dict]:
        return [r for r in self.rules()
                if rule_domain.is_owned(r, self.sb.world.bot_user.id)]

    async def slash(self, who, command: str, **options):
        r = await self.sb.slash(self.guild, who, command, **options)
        await r.done()
        return r


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    clock = FakeClock()
    database = tmp_path_factory.mktemp("automod") / "steward.sqlite3"
    async with Sandbox(clock) as sb, Env(sb, clock, database) as e:
        await e.slash(e.owner, "steward settings", mod_log=e.mod_log)
        r = await e.slash(e.owner, "linkhold settings", queue_channel=e.queue,
                          trusted_role=e.trusted)
        assert "Saved" in r.content, r.content
        # Somebody else's keyword rule, which Steward must never touch.
        foreign = {"id": str(sb.world.ids.next()), "guild_id": str(e.guild.id),
                   "name": "No slurs", "creator_id": str(e.owner.id), "event_type": 1,
                   "trigger_type": 1, "trigger_metadata": {"keyword_filter": ["badword"],
                                                           "regex_patterns": [],
                                                           "allow_list": []},
                   "actions": [{"type": 1, "metadata": {}}], "enabled": True,
                   "exempt_roles": [], "exempt_channels": []}
        e.guild.automod_rules[int(foreign["id"])] = foreign
        e.foreign = dict(foreign)
        r = await e.slash(e.owner, "linkhold automod", state="on")
        assert "AutoMod now blocks" in r.content, r.content
        yield e


@pytest.fixture(autouse=True)
def _clean(env):
    env.sb.reset()


async def hold_of(env: Env, key: int):
    repo = env.bot.services.linkhold.holds
    hold = await eventually(lambda: repo.by_message(env.guild.id, key))
    return await eventually(lambda: _queued(repo, hold.id))


async def _queued(repo, hold_id):
    hold = await repo.get(hold_id)
    return hold if hold is not None and hold.step == "queued" else None


def card_of(env: Env, hold_id: int):
    for msg in env.sb.messages(env.queue):
        if f"Hold #{hold_id} ·" in msg.display_text:  # the Components V2 card
            return msg
    return None


# --- the rule ---------------------------------------------------------------------------------


async def test_one_rule_within_discords_limits_and_the_foreign_rule_untouched(env):
    [rule] = env.owned()
    meta = rule["trigger_metadata"]
    assert 1 <= len(meta["regex_patterns"]) <= 10
    assert all(len(p) <= 260 for p in meta["regex_patterns"])
    # What Steward sent stays in the syntax Rust's regex (Discord) and Python's re share.
    assert all(rule_domain.foreign_syntax(p) == [] for p in meta["regex_patterns"])
    assert len(meta["allow_list"]) <= 100
    assert len(rule["exempt_roles"]) <= 20 and len(rule["exempt_channels"]) <= 50
    assert str(env.trusted.id) in rule["exempt_roles"]
    block = next(a for a in rule["actions"] if a["type"] == 1)
    assert len(block["metadata"]["custom_message"]) <= 150
    alert = next(a for a in rule["actions"] if a["type"] == 2)
    assert alert["metadata"]["channel_id"] == str(env.queue.id)
    foreign = env.guild.automod_rules[int(env.foreign["id"])]
    assert foreign == env.foreign


async def test_the_rule_follows_the_allowlist_and_the_lists_past_the_limits(env):
    r = await env.slash(env.moderator, "linkhold allow", domain="cancer.gov")
    assert "now pass" in r.content
    [rule] = env.owned()
    assert "cancer.gov" in rule["trigger_metadata"]["allow_list"]
    patches = env.sb.requests_matching(PATCH_RULE)
    assert len(patches) == 1
    # A newcomer's allowlisted link passes AutoMod (and Steward).
    newbie = await env.sb.join(env.guild, fresh())
    posted = await env.sb.try_post(env.general, newbie, "see https://www.cancer.gov/types")
    assert not isinstance(posted, Blocked)
    # 120 ignored channels: 50 fit, and Steward says what happens to the rest.
    many = [env.sb.add_text_channel(env.guild, f"room{i}").id for i in range(55)]

    def ignore_all(config):
        config.linkhold.ignored_channels = [*config.linkhold.ignored_channels, *many]

    await env.bot.guild_settings.update(env.guild.id, ignore_all)
    [rule] = env.owned()
    assert len(rule["exempt_channels"]) == 50
    findings = await env.bot.services.automod.probe(env.guild.id)
    assert any(f.code == "automod.limits" and "AutoMod still blocks" in f.message
               for f in findings)

    def unignore(config):
        config.linkhold.ignored_channels = []

    await env.bot.guild_settings.update(env.guild.id, unignore)


async def test_a_deleted_rule_comes_back_and_a_restart_never_duplicates_it(env):
    sb = env.sb
    [rule] = env.owned()
    del env.guild.automod_rules[int(rule["id"])]
    await sb.world.dispatch("AUTO_MODERATION_RULE_DELETE", rule)
    await sb.wait_for(lambda: len(env.owned()) == 1, message="rule not re-created")
    assert env.owned()[0]["id"] != rule["id"]
    await env.restart()
    assert len(env.owned()) == 1
    assert len(sb.requests_matching(RULES)) == 1  # the re-creation; none at the restart
    assert int(env.foreign["id"]) in env.guild.automod_rules


async def test_a_create_answered_with_500_after_it_took_effect_leaves_one_rule(env):
    sb = env.sb
    for rule in env.owned():
        del env.guild.automod_rules[int(rule["id"])]
    # Discord made the rule, then the answer was lost: discord.py retries the POST.
    sb.fail(RULES, 500, after_effect=True)
    assert await env.bot.services.automod.sync_rule(env.guild.id) == "created"
    assert len(sb.requests_matching(RULES)) == 2
    assert len(env.owned()) == 1
    assert int(env.foreign["id"]) in env.guild.automod_rules


# --- blocks become holds ----------------------------------------------------------------------


async def test_a_blocked_post_becomes_a_hold_and_is_approved_under_the_members_name(env):
    sb = env.sb
    newbie = await sb.join(env.guild, fresh())
    result = await sb.try_post(env.general, newbie, "Our fundraiser: https://gofund.example/abc",
                               attachments=[("scan.png", b"png", "image/png")])
    assert isinstance(result, Blocked)  # never created: nobody saw it
    assert not [m for m in sb.messages(env.general) if "gofund" in m.content]
    [alert] = result.alerts
    hold = await hold_of(env, alert.id)
    assert hold.kind == "automod" and hold.member_told == "dm"
    card = card_of(env, hold.id)
    assert "**Blocked by AutoMod**" in card.display_text
    assert "Attachments are not delivered" in card.display_text
    dms = sb.dms(newbie)
    assert len(dms) == 1, [(m.content[:60], m.author.id) for m in dms]
    [dm] = dms
    assert result.custom_message not in dm.content and "moderator" in dm.content
    assert not sb.requests_matching("DELETE /channels/{channel_id}/messages/{message_id}")
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.done()
    copies = [m for m in sb.messages(env.general) if "gofund.example/abc" in m.content]
    assert len(copies) == 1 and copies[0].webhook_id is not None
    [execute] = [q for q in sb.requests_matching("POST /webhooks/{webhook_id}/{webhook_token}")
                 if q.ok and q.params.get("webhook_id") != sb.application_id]
    assert execute.json["username"] == newbie.user.username  # under the member's name
    # The event and the alert name the same block: still one hold.
    assert len(await env.bot.services.linkhold.pending(env.guild.id)) == 0


async def test_a_blocked_forum_post_is_one_hold_and_approval_asks_for_its_title(env):
    sb = env.sb
    newbie = await sb.join(env.guild, fresh())
    forum_before = {c.id for c in sb.world.channels.values() if c.parent_id == env.forum.id}
    with pytest.raises(MessageBlocked) as caught:
        await sb.forum_post(env.forum, newbie, "My first scan results",
                            "Our clinic's page: https://clinic.example/scans")
    result = caught.value.blocked
    # Nothing was created; the event names the forum (there is no thread) and no title.
    assert {c.id for c in sb.world.channels.values()
            if c.parent_id == env.forum.id} == forum_before
    assert [x["channel_id"] for x in result.executions] == [str(env.forum.id)] * 2
    assert all("My first scan" not in x["content"] for x in result.executions)
    [alert] = result.alerts
    hold = await hold_of(env, alert.id)
    assert hold.kind == "automod" and hold.title_unknown and hold.forum_title is None
    assert hold.channel_id == hold.parent_id == env.forum.id
    pending = await env.bot.services.linkhold.pending(env.guild.id)
    assert [h.id for h in pending if h.member_id == newbie.id] == [hold.id]  # event + alert
    card = card_of(env, hold.id)
    assert f"**Where:** <#{env.forum.id}>" in card.display_text
    assert "**Forum post title:** not known" in card.display_text
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.responded()
    assert r.modal is not None  # approving asks for the title first
    [title_input] = r.modal.inputs()
    name = newbie.nick or newbie.user.global_name or newbie.user.username
    assert title_input["value"] == f"Shared for {name}"  # the neutral default
    assert not sb.requests_matching("POST /webhooks/{webhook_id}/{webhook_token}")
    s = await sb.submit_modal(r.modal, by=env.moderator,
                              values={title_input["custom_id"]: "Scan results question"})
    await s.done()
    assert "Approved hold" in s.texts[-1], s.texts
    posts = [c for c in sb.world.channels.values()
             if c.parent_id == env.forum.id and c.id not in forum_before and not c.deleted]
    assert [p.name for p in posts] == ["Scan results question"]
    [execute] = [q for q in sb.requests_matching("POST /webhooks/{webhook_id}/{webhook_token}")
                 if q.ok and q.params.get("webhook_id") != sb.application_id]
    assert execute.json["username"] == newbie.user.username  # under the member's name
    assert execute.json["thread_name"] == "Scan results question"
    assert "clinic.example/scans" in sb.messages(posts[0])[0].content
    # Decided: the card's Approve is gone, and there is still one post.
    with pytest.raises(SandboxError, match="disabled"):
        await sb.click(card_of(env, hold.id), "Approve", by=env.moderator)
    assert len([c for c in sb.world.channels.values()
                if c.parent_id == env.forum.id and c.id not in forum_before]) == 1


async def test_an_established_members_forum_post_is_not_blocked(env):
    blocks = len(env.sb.world.automod_blocks)
    thread, starter = await env.sb.forum_post(env.forum, env.veteran, "Useful links",
                                              "read https://example.org/guide")
    await env.sb.idle()
    assert not starter.deleted and not thread.deleted
    assert len(env.sb.world.automod_blocks) == blocks
    assert await env.bot.services.linkhold.holds.by_message(env.guild.id, starter.id) is None


async def test_members_from_before_the_trusted_role_get_it_without_a_member_request(env):
    # The moderator joined 30 days ago, before the trusted role was set: promoted from the
    # member cache discord.py already has (Steward reads no member list for it).
    await env.sb.wait_for(lambda: env.trusted.id in env.guild.members[env.moderator.id].roles,
                          message="the earlier member was not promoted")


async def test_trusted_and_veteran_members_are_not_blocked(env):
    posted = await env.sb.try_post(env.general, env.veteran, "read https://example.org/x")
    assert not isinstance(posted, Blocked) and not posted.deleted


async def test_blocks_while_steward_was_down_become_one_hold_each_at_startup(env):
    sb = env.sb
    newbie = await sb.join(env.guild, fresh())
    await sb.idle()
    await env.stop()
    env.clock.advance(seconds=5)
    first = await sb.try_post(env.general, newbie, "first https://spam.example/one")
    second = await sb.try_post(env.resources, newbie, "second https://spam.example/two")
    with pytest.raises(MessageBlocked) as caught:  # a forum post, recovered from its alert
        await sb.forum_post(env.forum, newbie, "Hello", "third https://spam.example/three")
    third = caught.value.blocked
    assert isinstance(first, Blocked) and isinstance(second, Blocked)
    await env.start()
    for blocked in (first, second, third):
        hold = await hold_of(env, blocked.alerts[0].id)
        assert hold.content == blocked.content
        assert hold.title_unknown == (blocked is third)
    await env.restart()
    repo = env.bot.services.linkhold.holds
    mine = [h for h in await repo.pending(env.guild.id) if h.member_id == newbie.id]
    assert len(mine) == 3


async def test_the_bot_side_detector_still_holds_what_the_patterns_miss(env):
    sb = env.sb
    newbie = await sb.join(env.guild, fresh())
    msg = await sb.post(env.general, newbie, "hello there")
    await sb.edit(msg, "now look at bit . ly / scam")
    hold = await eventually(lambda: env.bot.services.linkhold.holds.by_message(
        env.guild.id, msg.id))
    assert hold.kind == "edit"


# --- the trusted role -------------------------------------------------------------------------


async def test_promotion_fires_on_time_and_survives_a_restart(env):
    sb = env.sb
    newbie = await sb.join(env.guild, fresh())
    await sb.idle()
    await env.restart()
    env.clock.advance(days=2, hours=23)
    await sb.idle()
    assert env.trusted.id not in env.guild.members[newbie.id].roles
    env.clock.advance(hours=2)
    await sb.wait_for(lambda: env.trusted.id in env.guild.members[newbie.id].roles,
                      message="the trusted role was not given")
    posted = await sb.try_post(env.general, env.guild.members[newbie.id],
                               "now I can share https://example.org/guide")
    assert not isinstance(posted, Blocked)


async def test_trust_and_untrust_give_and_take_the_role(env):
    sb = env.sb
    newbie = await sb.join(env.guild, fresh())
    r = await env.slash(env.moderator, "linkhold trust", member=newbie)
    assert "trusted" in r.content
    assert env.trusted.id in env.guild.members[newbie.id].roles
    r = await env.slash(env.moderator, "linkhold untrust", member=newbie)
    assert env.trusted.id not in env.guild.members[newbie.id].roles
    assert sb.requests_matching(DELETE_ROLE)


# --- missing permissions ----------------------------------------------------------------------


async def test_without_manage_server_the_doctor_says_so_and_bot_side_holds_carry_on(env):
    sb = env.sb
    from bot.permissions import required_permissions
    everything = required_permissions()
    without = everything.value & ~0x20  # MANAGE_GUILD
    sb.set_bot_permissions(env.guild, without)
    await sb.idle()
    try:
        r = await env.slash(env.owner, "linkhold automod", state="on")
        assert "Manage Server" in r.content, r.content
        findings = await env.bot.services.doctor.check_and_report(env.guild.id)
        [finding] = [f for f in findings if f.subject == "manage_guild:automod"]
        assert "bot-side holds carry on" in finding.message
        newbie = await sb.join(env.guild, fresh())
        # The rule is still there from before, so delete it as an admin might have.
        for rule in env.owned():
            del env.guild.automod_rules[int(rule["id"])]
        msg = await sb.post(env.general, newbie, "look https://spam.example/x")
        await sb.wait_for(lambda: msg.deleted, message="bot-side hold did not happen")
    finally:
        sb.set_bot_permissions(env.guild, everything.value)
        await sb.idle()
        await env.bot.services.automod.sync_rule(env.guild.id)
    assert len(env.owned()) == 1


async def test_a_trusted_role_above_steward_or_no_manage_roles_the_doctor_explains(env):
    sb = env.sb
    high = sb.add_role(env.guild, "Veterans", above_bot=True)
    await sb.idle()

    def use_high(config):
        config.linkhold.trusted_role = high.id

    await env.bot.guild_settings.update(env.guild.id, use_high)
    try:
        findings = await env.bot.services.doctor.check_and_report(env.guild.id)
        [finding] = [f for f in findings if f.code == "trusted_role.hierarchy"]
        assert "drag the Steward role above" in finding.fix
        r = await env.slash(env.owner, "linkhold settings", trusted_role=high)
        assert "above my highest role" in r.content
    finally:
        def back(config):
            config.linkhold.trusted_role = env.trusted.id

        await env.bot.guild_settings.update(env.guild.id, back)
    from bot.permissions import required_permissions
    everything = required_permissions()
    sb.set_bot_permissions(env.guild, everything.value & ~(1 << 28))  # MANAGE_ROLES
    await sb.idle()
    try:
        findings = await env.bot.services.doctor.check_and_report(env.guild.id)
        assert any(f.subject == "manage_roles:trusted_role" for f in findings)
        newbie = await sb.join(env.guild, fresh())
        r = await env.slash(env.moderator, "linkhold trust", member=newbie)
        assert env.trusted.id not in env.guild.members[newbie.id].roles
    finally:
        sb.set_bot_permissions(env.guild, everything.value)
        await sb.idle()


# --- care (issue 15): a blocked post that reads as distress gets a person, not an automated DM ---


async def test_a_blocked_distress_post_gets_one_care_alert_and_no_dm_nor_does_the_next(env):
    sb = env.sb
    newbie = await sb.join(env.guild, fresh())
    first = await sb.try_post(env.general, newbie,
                              "I can't go on. My goodbye letter: https://letters.example/me")
    assert isinstance(first, Blocked)
    hold = await hold_of(env, first.alerts[0].id)
    assert hold.member_told == "care"

    def care_cards():
        return [m for m in sb.messages(env.queue)
                if any(e.get("title") == CARE_TITLE for e in m.embeds)
                and f"<@{newbie.id}>" in m.embeds[0]["description"]]

    await sb.wait_for(lambda: care_cards() or None, message="no care alert")
    [alert] = care_cards()
    # The blocked post never existed: the alert links to its queue card.
    assert f"/{env.queue.id}/{hold.queue_message_id})" in alert.embeds[0]["description"]
    assert "Care alert" in card_of(env, hold.id).display_text
    # In the quiet window that opened, the next blocked post gets no DM either.
    second = await sb.try_post(env.general, newbie, "see https://clinic.example/x")
    assert isinstance(second, Blocked)
    later = await hold_of(env, second.alerts[0].id)
    assert later.member_told == "quiet"
    await sb.idle(quiet=0.2)
    assert sb.dms(newbie) == []
    assert len(care_cards()) == 1
