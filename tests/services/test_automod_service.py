"""The AutoMod service without Discord: a real SQLite database, a FakeClock, the real scheduler,
and a fake `AutomodPort` that keeps rules and roles the way Discord would."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.hold_members import HighWaterRepository, PostCountRepository, TrustRepository
from bot.db.holds import HoldRepository
from bot.db.promotions import PromotionRepository
from bot.db.reminders import ReminderRepository
from bot.domain import automod as rule_domain
from bot.domain.holds import MemberFacts
from bot.services.audit import AuditService
from bot.services.automod import (
    PROMOTE_KIND,
    AutomodError,
    AutomodService,
    MemberNow,
    RoleCheck,
)
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import BlockFacts, LinkHoldService, Repositories, Someone
from bot.services.scheduler import Scheduler
from bot.tasks import BackgroundTasks
from tests.services.test_linkhold_service import (
    GENERAL,
    GUILD,
    MOD_LOG,
    NOW,
    QUEUE,
    FakeActions,
    FakePublisher,
)

ME = 777
TRUSTED, MODS = 501, 502
NEWBIE = 4_001


@dataclass
class FakePort:
    """Discord's rules and roles for one guild; `refuse` makes rule calls fail."""

    rules: dict[int, dict[str, Any]] = field(default_factory=dict)
    roles: dict[int, set[int]] = field(default_factory=dict)
    joined: dict[int, Any] = field(default_factory=dict)
    refuse: int | None = None
    role_outcome: Any = "done"
    can_manage_roles: bool = True
    can_manage_guild: bool = True
    calls: list[tuple] = field(default_factory=list)
    next_id: int = 9_000
    languages: dict[int, str] = field(default_factory=dict)

    def language(self, guild_id):
        return self.languages.get(guild_id, "en")

    def bot_user_id(self):
        return ME

    def guild_ids(self):
        return [GUILD]

    def _check(self):
        if self.refuse is not None:
            raise AutomodError(self.refuse, 50013 if self.refuse == 403 else 50035, "no")

    async def list_rules(self, guild_id):
        self.calls.append(("list",))
        self._check()
        return [dict(r) for r in self.rules.values()]

    async def create_rule(self, guild_id, payload):
        self.calls.append(("create",))
        self._check()
        self.next_id += 1
        rule = {**payload, "id": str(self.next_id), "creator_id": str(ME)}
        self.rules[self.next_id] = rule
        return rule

    async def edit_rule(self, guild_id, rule_id, payload):
        self.calls.append(("edit", rule_id))
        self._check()
        self.rules[rule_id] = {**self.rules[rule_id], **payload}
        return self.rules[rule_id]

    async def delete_rule(self, guild_id, rule_id):
        self.calls.append(("delete", rule_id))
        self._check()
        self.rules.pop(rule_id, None)

    def member(self, guild_id, member_id):
        if member_id not in self.joined:
            return None
        return MemberNow(self.joined[member_id], frozenset(self.roles.get(member_id, ())))

    async def still_member(self, guild_id, member_id):
        return member_id in self.joined

    async def add_role(self, guild_id, member_id, role_id, reason):
        self.calls.append(("add_role", member_id, role_id))
        if self.role_outcome == "done":
            self.roles.setdefault(member_id, set()).add(role_id)
        return self.role_outcome

    async def remove_role(self, guild_id, member_id, role_id, reason):
        self.calls.append(("remove_role", member_id, role_id))
        self.roles.get(member_id, set()).discard(role_id)
        return self.role_outcome

    def role_check(self, guild_id, role_id):
        return RoleCheck(exists=role_id is not None, position=3, managed=False,
                         bot_top_position=5, manage_roles=self.can_manage_roles,
                         manage_guild=self.can_manage_guild)

    def cached_joins(self, guild_id, role_id):
        return [(m, joined) for m, joined in self.joined.items()
                if role_id not in self.roles.get(m, ())]

    def named(self, kind):
        return [c for c in self.calls if c[0] == kind]

    def owned(self):
        return [r for r in self.rules.values() if rule_domain.is_owned(r, ME)]


@dataclass
class Env:
    db: Database
    clock: FakeClock
    settings: GuildSettingsService
    port: FakePort
    actions: FakeActions
    linkhold: LinkHoldService
    automod: AutomodService
    scheduler: Scheduler
    tasks: BackgroundTasks

    async def idle(self):
        await asyncio.wait_for(self.scheduler.wait_idle(), 5)

    async def set(self, **linkhold):
        def mutate(config):
            for key, value in linkhold.items():
                setattr(config.linkhold, key, value)

        await self.settings.update(GUILD, mutate)


async def build(db, clock, port, *, batch=200):
    settings = GuildSettingsService(GuildSettingsRepository(db), clock)
    await settings.load_all()
    audit = AuditService(AuditRepository(db), clock)
    tasks = BackgroundTasks()
    actions = FakeActions()
    linkhold = LinkHoldService(
        Repositories(HoldRepository(db), TrustRepository(db), PostCountRepository(db),
                     HighWaterRepository(db)),
        settings, clock, actions, FakePublisher(), audit=audit, background=tasks)
    await linkhold.load()
    scheduler = Scheduler(ReminderRepository(db), clock, tasks)
    automod = AutomodService(PromotionRepository(db), settings, clock, port, scheduler,
                             linkhold, audit=audit, batch=batch)
    await scheduler.start()
    return Env(db, clock, settings, port, actions, linkhold, automod, scheduler, tasks)


@pytest.fixture
async def env(tmp_path):
    db = await Database.open(tmp_path / "steward.sqlite3")
    await migrate(db)
    clock = FakeClock(NOW)
    port = FakePort()
    e = await build(db, clock, port)

    def configure(c):
        c.linkhold.queue_channel = QUEUE
        c.linkhold.trusted_role = TRUSTED
        c.core.mod_log_channel = MOD_LOG
        c.core.moderator_roles = [MODS]

    await e.settings.update(GUILD, configure)
    yield e
    await e.scheduler.stop()
    await e.tasks.drain(0.1)
    await db.close()


FOREIGN = {"id": "42", "name": "No slurs", "creator_id": "1", "event_type": 1,
           "trigger_type": 1, "trigger_metadata": {"keyword_filter": ["x"]},
           "actions": [{"type": 1, "metadata": {}}], "enabled": True,
           "exempt_roles": [], "exempt_channels": []}


# --- the rule ---------------------------------------------------------------------------------


async def test_turning_automod_on_creates_one_rule_and_leaves_foreign_rules_alone(env):
    env.port.rules[42] = dict(FOREIGN)
    await env.set(automod=True)
    [rule] = env.port.owned()
    assert {str(TRUSTED), str(MODS)} <= set(rule["exempt_roles"])
    assert env.port.rules[42] == FOREIGN
    assert await env.automod.sync_rule(GUILD) == "unchanged"
    assert len(env.port.named("create")) == 1 and not env.port.named("edit")
    assert not [c for c in env.port.named("delete") if c[1] == 42]


async def test_allowlist_and_settings_changes_patch_the_rule(env):
    await env.set(automod=True)
    await env.set(allowlist=["cancer.gov"])
    [rule] = env.port.owned()
    assert rule["trigger_metadata"]["allow_list"] == ["cancer.gov"]
    assert len(env.port.named("edit")) == 1
    await env.set(hold_days=5)  # not part of the rule: no request at all
    assert len(env.port.named("edit")) == 1


async def test_the_rule_speaks_the_servers_language_and_stays_steward_s_own(env):
    await env.set(automod=True)
    [rule] = env.port.owned()
    assert rule["name"] == rule_domain.RULE_NAME
    assert rule["actions"][0]["metadata"]["custom_message"] == rule_domain.CUSTOM_MESSAGE
    env.port.languages[GUILD] = "es"

    def spanish(config):
        config.core.language = "es"

    await env.settings.update(GUILD, spanish)
    [reworded] = env.port.owned()  # the same rule, edited in place: no second rule
    assert reworded["id"] == rule["id"] and len(env.port.named("create")) == 1
    assert reworded["name"].startswith("Steward: ") and reworded["name"] != rule["name"]
    message = reworded["actions"][0]["metadata"]["custom_message"]
    assert "enlaces" in message and len(message) <= rule_domain.MAX_CUSTOM_MESSAGE
    assert env.automod.is_ours(GUILD, rule_name=reworded["name"])
    fresh = await build(env.db, env.clock, env.port)  # a restart finds it by its new name
    await fresh.automod.start()
    assert [r["id"] for r in env.port.owned()] == [rule["id"]]
    assert await fresh.automod.sync_rule(GUILD) == "unchanged"
    await fresh.scheduler.stop()
    await fresh.tasks.drain(0.1)


async def test_a_deleted_rule_is_recreated_and_an_edited_one_put_back(env):
    await env.set(automod=True)
    [rule] = env.port.owned()
    del env.port.rules[int(rule["id"])]
    await env.automod.rule_deleted(GUILD, int(rule["id"]))
    [again] = env.port.owned()
    assert again["id"] != rule["id"]
    await env.automod.rule_deleted(GUILD, 42)  # somebody else's rule: nothing happens
    assert len(env.port.named("create")) == 2
    tampered = {**again, "exempt_roles": []}
    env.port.rules[int(again["id"])] = tampered
    await env.automod.rule_updated(GUILD, tampered)
    assert str(TRUSTED) in env.port.owned()[0]["exempt_roles"]


async def test_a_restart_finds_its_rule_and_removes_leftover_duplicates(env):
    await env.set(automod=True)
    [rule] = env.port.owned()
    env.port.next_id += 1
    env.port.rules[env.port.next_id] = {**rule, "id": str(env.port.next_id)}  # a crash leftover
    fresh = await build(env.db, env.clock, env.port)
    await fresh.automod.start()
    assert [r["id"] for r in env.port.owned()] == [rule["id"]]
    await fresh.scheduler.stop()
    await fresh.tasks.drain(0.1)


async def test_turning_automod_off_deletes_only_its_own_rule(env):
    env.port.rules[42] = dict(FOREIGN)
    await env.set(automod=True)
    await env.set(automod=False)
    assert env.port.owned() == [] and 42 in env.port.rules
    assert env.automod.state(GUILD).sync == "deleted"


async def test_without_manage_server_the_doctor_explains_and_nothing_breaks(env):
    env.port.refuse = 403
    env.port.can_manage_guild = False
    await env.set(automod=True)
    assert env.automod.state(GUILD).sync == "forbidden"
    findings = await env.automod.probe(GUILD)
    [finding] = [f for f in findings if f.subject == "manage_guild:automod"]
    assert "Manage Server" in finding.fix and "bot-side holds carry on" in finding.message
    env.port.refuse, env.port.can_manage_guild = 400, True
    assert await env.automod.sync_rule(GUILD) == "refused"
    assert any(f.code == "automod.refused" for f in await env.automod.probe(GUILD))
    env.port.refuse = 500  # Discord down: nothing stored, the next change tries again
    assert await env.automod.sync_rule(GUILD) == "failed"
    env.port.refuse = None
    assert await env.automod.sync_rule(GUILD) == "created"
    assert not any(f.code == "automod.refused" for f in await env.automod.probe(GUILD))


async def test_the_rule_stays_within_discords_limits_and_says_what_did_not_fit(env):
    def lots(c):
        c.linkhold.allowlist = [f"site{i}.org" for i in range(130)]
        c.linkhold.exempt_roles = list(range(1000, 1025))
        c.linkhold.ignored_channels = list(range(2000, 2060))
        c.linkhold.automod = True

    await env.settings.update(GUILD, lots)
    [rule] = env.port.owned()
    meta = rule["trigger_metadata"]
    assert len(meta["regex_patterns"]) <= 10 and all(len(p) <= 260
                                                     for p in meta["regex_patterns"])
    assert len(meta["allow_list"]) == 100
    assert len(rule["exempt_roles"]) == 20 and len(rule["exempt_channels"]) == 50
    assert str(TRUSTED) in rule["exempt_roles"]  # the trusted role always fits first
    [message] = [a["metadata"]["custom_message"] for a in rule["actions"] if a["type"] == 1]
    assert len(message) <= 150
    limits = [f.message for f in await env.automod.probe(GUILD) if f.code == "automod.limits"]
    assert len(limits) == 3
    assert any("30 allowlisted domains" in m and "hold a moderator can approve" in m
               for m in limits)


# --- promotions -------------------------------------------------------------------------------


async def test_a_promotion_is_scheduled_at_join_and_fires_on_time(env):
    env.port.joined[NEWBIE] = NOW
    await env.automod.member_joined(GUILD, NEWBIE, NOW)
    [reminder] = await env.scheduler.repository.pending_for_member(GUILD, NEWBIE)
    assert reminder.kind == PROMOTE_KIND and reminder.due_at == NOW + timedelta(days=3)
    env.clock.advance(days=2, hours=23)
    await env.idle()
    assert not env.port.named("add_role")
    env.clock.advance(hours=1)
    await env.idle()
    assert env.port.named("add_role") == [("add_role", NEWBIE, TRUSTED)]
    assert await env.automod.promotions.get(GUILD, NEWBIE) is None


async def test_a_promotion_survives_a_restart(env):
    env.port.joined[NEWBIE] = NOW
    await env.automod.member_joined(GUILD, NEWBIE, NOW)
    await env.scheduler.abort()  # a crash
    fresh = await build(env.db, env.clock, env.port)
    await fresh.automod.start()
    fresh.clock.advance(days=3)
    await fresh.idle()
    assert env.port.named("add_role") == [("add_role", NEWBIE, TRUSTED)]
    await fresh.scheduler.stop()
    await fresh.tasks.drain(0.1)


async def test_min_posts_waits_for_the_post_that_reaches_the_count(env):
    await env.set(min_posts=2)
    env.port.joined[NEWBIE] = NOW - timedelta(days=10)
    await env.automod.member_joined(GUILD, NEWBIE, NOW - timedelta(days=10))
    assert await env.scheduler.repository.pending_for_member(GUILD, NEWBIE) == []
    await env.linkhold.count_post(GUILD, NEWBIE)
    assert not env.port.named("add_role")
    await env.linkhold.count_post(GUILD, NEWBIE)
    assert env.port.named("add_role") == [("add_role", NEWBIE, TRUSTED)]


async def test_a_member_who_left_is_not_promoted(env):
    env.port.joined[NEWBIE] = NOW
    await env.automod.member_joined(GUILD, NEWBIE, NOW)
    del env.port.joined[NEWBIE]
    env.clock.advance(days=4)
    await env.idle()
    assert not env.port.named("add_role")
    assert await env.automod.promotions.get(GUILD, NEWBIE) is None


async def test_a_refused_role_is_explained_and_a_5xx_retried(env):
    env.port.joined[NEWBIE] = NOW
    env.port.role_outcome = "forbidden"
    env.port.can_manage_roles = False
    await env.automod.member_joined(GUILD, NEWBIE, NOW - timedelta(days=5))
    assert env.automod.state(GUILD).role_failure == "forbidden"
    assert await env.automod.promotions.get(GUILD, NEWBIE) is not None  # tried again later
    findings = await env.automod.probe(GUILD)
    assert any(f.subject == "manage_roles:trusted_role" for f in findings)
    # A 500 when the scheduled promotion fires: the scheduler tries again.
    other = NEWBIE + 1
    env.port.joined[other] = NOW
    await env.automod.member_joined(GUILD, other, NOW)
    env.port.role_outcome = 500
    env.clock.advance(days=3)
    await env.idle()
    [again] = await env.scheduler.repository.pending_for_member(GUILD, other)
    assert again.attempts == 1 and again.due_at > env.clock.now()
    env.port.role_outcome = "done"
    env.clock.advance(hours=1)
    await env.idle()
    assert TRUSTED in env.port.roles[other]


async def test_startup_reconciles_stored_join_dates_in_batches(env):
    members = [NEWBIE + i for i in range(5)]
    for i, member in enumerate(members):
        env.port.joined[member] = NOW - timedelta(days=i)
        await env.automod.promotions.remember(GUILD, member, NOW - timedelta(days=i))
    env.port.roles[members[0]] = {TRUSTED}  # given by hand meanwhile
    fresh = await build(env.db, env.clock, env.port, batch=2)
    assert await fresh.automod.reconcile() == 5
    await fresh.idle()  # due now: given through the paced scheduler
    given = {c[1] for c in env.port.named("add_role")}
    assert given == {members[3], members[4]}  # joined 3 and 4 days ago
    pending = {r.member_id for r in
               await env.scheduler.repository.with_status(["pending"], limit=50)}
    assert pending == {members[1], members[2]}
    assert await fresh.automod.promotions.get(GUILD, members[0]) is None
    await fresh.scheduler.stop()
    await fresh.tasks.drain(0.1)


async def test_members_from_before_the_trusted_role_are_promoted_from_the_cache(env):
    await env.set(trusted_role=None)
    veterans = [NEWBIE + i for i in range(5)]
    for member in veterans:
        env.port.joined[member] = NOW - timedelta(days=100)
    env.port.joined[NEWBIE + 9] = NOW  # joined just now
    env.port.roles[veterans[0]] = {TRUSTED}
    await env.set(trusted_role=TRUSTED)  # seeds from the cache, then plans
    await env.idle()
    assert {c[1] for c in env.port.named("add_role")} == set(veterans[1:])
    [later] = await env.scheduler.repository.pending_for_member(GUILD, NEWBIE + 9)
    assert later.due_at == NOW + timedelta(days=3)
    env.port.calls.clear()
    fresh = await build(env.db, env.clock, env.port)  # a restart: nothing given twice
    await fresh.automod.start()
    await fresh.idle()
    assert not env.port.named("add_role")
    await fresh.scheduler.stop()
    await fresh.tasks.drain(0.1)


async def test_trust_and_untrust_give_and_take_the_role(env):
    await env.linkhold.trust(GUILD, NEWBIE, 9)
    await env.linkhold.untrust(GUILD, NEWBIE, 9)
    assert env.port.named("add_role") == [("add_role", NEWBIE, TRUSTED)]
    assert env.port.named("remove_role") == [("remove_role", NEWBIE, TRUSTED)]


# --- blocks -----------------------------------------------------------------------------------


def register(env: Env, member_id: int) -> None:
    env.actions.members[member_id] = Someone(
        MemberFacts(member_id, NOW, NOW - timedelta(days=400)), "Newbie")


async def test_a_block_becomes_one_hold_and_the_member_is_told_once_by_dm(env):
    register(env, NEWBIE)
    block = BlockFacts(guild_id=GUILD, channel_id=GENERAL, member_id=NEWBIE,
                       content="my page https://spam.example/x", key=123_456,
                       matched="https://spam.example")
    assert await env.automod.blocked(block, None)
    assert not await env.automod.blocked(block, None)  # the alert after the event
    [hold] = await env.linkhold.pending(GUILD)
    assert hold.kind == "automod" and [x.domain for x in hold.links] == ["spam.example"]
    assert env.actions.named("remove") == []
    [dm] = env.actions.named("dm")
    assert rule_domain.CUSTOM_MESSAGE not in dm[2] and "moderator" in dm[2]
    assert not env.actions.named("notice")
    assert env.actions.named("card")


async def test_a_block_with_dms_closed_gets_no_channel_notice(env):
    register(env, NEWBIE)
    env.actions.dms_closed.add(NEWBIE)
    block = BlockFacts(guild_id=GUILD, channel_id=GENERAL, member_id=NEWBIE,
                       content="see www.spam.example", key=654_321)
    await env.automod.blocked(block, None)
    [hold] = await env.linkhold.pending(GUILD)
    assert hold.member_told == "none" and not env.actions.named("notice")


async def test_a_blocked_forum_post_is_approved_as_a_forum_post_with_the_given_title(env):
    register(env, NEWBIE)
    forum = 3_333  # the block names the forum twice: no thread was made
    block = BlockFacts(guild_id=GUILD, channel_id=forum, member_id=NEWBIE, parent_id=forum,
                       content="our page https://clinic.example/x", key=777_001)
    assert await env.automod.blocked(block, None)
    [hold] = await env.linkhold.pending(GUILD)
    assert hold.title_unknown and not hold.is_forum_post and hold.forum_title is None
    await env.linkhold.approve(GUILD, hold.id, 9, title="A question about scans")
    [request] = env.linkhold._publish.requests
    assert request.destination_id == forum and request.forum_title == "A question about scans"
    # No title given (Edit & approve): the publisher falls back to the neutral one.
    block2 = BlockFacts(guild_id=GUILD, channel_id=forum, member_id=NEWBIE, parent_id=forum,
                        content="again https://clinic.example/y", key=777_002)
    await env.automod.blocked(block2, None)
    [second] = await env.linkhold.pending(GUILD)
    await env.linkhold.approve(GUILD, second.id, 9, content="edited https://clinic.example/y")
    assert env.linkhold._publish.requests[-1].forum_title is None


async def test_a_block_in_a_thread_or_channel_is_not_a_forum_post(env):
    register(env, NEWBIE)
    for key, parent in ((777_010, None), (777_011, GENERAL)):  # a channel; a thread in it
        await env.automod.blocked(BlockFacts(guild_id=GUILD, channel_id=key - 700_000,
                                             member_id=NEWBIE, parent_id=parent,
                                             content="see https://spam.example/z", key=key),
                                  None)
    holds = await env.linkhold.pending(GUILD)
    assert len(holds) == 2 and not any(h.title_unknown for h in holds)


async def test_blocks_are_recognised_by_rule_id_or_rule_name(env):
    await env.set(automod=True)
    [rule] = env.port.owned()
    assert env.automod.is_ours(GUILD, rule_id=int(rule["id"]))
    assert env.automod.is_ours(GUILD, rule_name=rule_domain.RULE_NAME)
    assert not env.automod.is_ours(GUILD, rule_id=42, rule_name="No slurs")
    a, b = env.automod.synthetic_key(), env.automod.synthetic_key()
    assert a != b


def test_trusted_role_and_automod_travel_with_config_export_and_import():
    from bot.services.config_io import export_toml, plan_import
    from config.guild import GuildConfig

    config = GuildConfig()
    config.linkhold.trusted_role = 700_000_000_000_000_009
    config.linkhold.automod = True
    text = export_toml(config, GUILD)
    policy = text[text.index("\n[policy."):text.index("\n[server]")]
    assert "automod = true" in policy and "700000000000000009" not in policy
    assert plan_import(text, GuildConfig(), GUILD).new == config
    # Into another server: the policy (automod) comes, the role id (server part) does not.
    other = plan_import(text, GuildConfig(), GUILD + 1).new
    assert other.linkhold.automod and other.linkhold.trusted_role is None
