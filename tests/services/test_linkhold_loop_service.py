"""The held-post loop closes (issue 15 §2), without Discord: the member hears when to expect a
decision, gets their words back on rejection, and moderators are pinged once when a hold waits
(through the durable scheduler, across a restart)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.hold_members import HighWaterRepository, PostCountRepository, TrustRepository
from bot.db.holds import HoldRepository
from bot.db.reminders import NewReminder, ReminderRepository
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import LinkHoldService, Repositories
from bot.services.linkhold_ping import PING_KIND
from bot.services.scheduler import Scheduler
from bot.tasks import BackgroundTasks
from tests.services.test_linkhold_service import (
    GUILD,
    MOD,
    MOD_LOG,
    NEWBIE,
    NOW,
    QUEUE,
    Env,
    FakeActions,
    FakePublisher,
    hold_of,
    post,
)

REVIEWERS = 4_242


class Steward:
    """The service with a real scheduler over one database; `restart()` builds both again."""

    def __init__(self, db: Database, clock: FakeClock) -> None:
        self.db, self.clock = db, clock
        self.actions = FakeActions()
        self.env: Env | None = None

    async def start(self) -> Env:
        self.tasks = BackgroundTasks()
        settings = GuildSettingsService(GuildSettingsRepository(self.db), self.clock)
        await settings.load_all()
        audit = AuditService(AuditRepository(self.db), self.clock)
        self.scheduler = Scheduler(ReminderRepository(self.db), self.clock, self.tasks)
        service = LinkHoldService(
            Repositories(HoldRepository(self.db), TrustRepository(self.db),
                         PostCountRepository(self.db), HighWaterRepository(self.db)),
            settings, self.clock, self.actions, FakePublisher(), audit=audit,
            background=self.tasks, download_timeout=0.05, scheduler=self.scheduler)
        await service.load()
        await self.scheduler.start()
        self.env = Env(service, self.actions, self.clock, settings, audit,
                       FakePublisher(), self.db)
        return self.env

    async def idle(self) -> None:
        await asyncio.wait_for(self.scheduler.wait_idle(), 5)

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.tasks.drain(0.1)


@pytest.fixture
async def world(tmp_path):
    db = await Database.open(tmp_path / "world.sqlite3")
    await migrate(db)
    clock = FakeClock(NOW)
    s = Steward(db, clock)
    env = await s.start()

    def configure(c):
        c.linkhold.queue_channel = QUEUE
        c.linkhold.reviewer_role = REVIEWERS
        c.core.mod_log_channel = MOD_LOG

    await env.settings.update(GUILD, configure)
    yield s
    await s.stop()
    await db.close()


async def hold_one(env: Env, text: str = "see tinyurl.com/abcd", member: int = NEWBIE):
    p = post(member, text)
    assert await env.service.consider(p, env.someone(member))
    return await hold_of(env, p)


# --- when to expect a decision ----------------------------------------------------------------


async def test_without_history_the_member_gets_the_generic_wording(world):
    env = world.env
    await hold_one(env)
    (dm,) = env.actions.named("dm")
    assert "Until then a moderator will review your post and may post it for you." in dm[2]
    assert "usually" not in dm[2]


async def test_the_notice_says_when_to_expect_a_decision_from_recent_decisions(world):
    env = world.env
    for i, wait in enumerate((timedelta(hours=1), timedelta(hours=2), timedelta(minutes=150))):
        hold = await hold_one(env, f"link {i} tinyurl.com/{i}", member=NEWBIE + 10 + i)
        world.clock.advance(wait)
        if i == 1:
            await env.service.approve(GUILD, hold.id, MOD)
        else:
            await env.service.reject(GUILD, hold.id, MOD, tell_member=False)
    # A member who left (closed, not a moderator decision) doesn't count.
    gone = await hold_one(env, "bye tinyurl.com/left", member=NEWBIE + 20)
    world.clock.advance(days=5)
    await env.service.member_left(GUILD, gone.member_id)
    env.actions.calls.clear()
    await hold_one(env, "now tinyurl.com/now", member=NEWBIE + 30)
    (dm,) = env.actions.named("dm")
    assert "(usually within 2 hours here)" in dm[2], dm[2]  # the median of 1, 2, 2.5 h
    # Decisions older than 30 days are forgotten: back to the generic wording.
    world.clock.advance(days=31)
    env.actions.calls.clear()
    await hold_one(env, "later tinyurl.com/later", member=NEWBIE + 31)
    (dm,) = env.actions.named("dm")
    assert "usually" not in dm[2]


# --- rejection: told kindly, words back --------------------------------------------------------


async def test_rejection_says_where_to_ask_and_returns_long_words_in_pieces(world):
    env = world.env
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "contact_channel", 777))
    words = "Our fundraiser story, please read: gofund.me/x\n" + "We were told. " * 300
    hold = await hold_one(env, words)
    env.actions.calls.clear()
    decision = await env.service.reject(GUILD, hold.id, MOD, reason="We can't check links.")
    assert decision.member_told is True
    dms = [c[2] for c in env.actions.named("dm")]
    assert len(dms) >= 3 and all(len(d) <= 2000 for d in dms)
    assert "<#777>" in dms[0] and "We can't check links." in dms[0]
    returned = "".join(d.split("```\n", 1)[1].rsplit("\n```", 1)[0] for d in dms
                       if "```" in d)
    assert returned.replace("\n", "") == words.replace("\n", "")


async def test_rejection_with_dms_closed_is_reported_and_does_not_fail(world):
    env = world.env
    env.actions.dms_closed.add(NEWBIE)
    hold = await hold_one(env)
    decision = await env.service.reject(GUILD, hold.id, MOD)
    assert decision.member_told is False and decision.hold.status == "rejected"


async def test_timeout_and_ban_never_send_the_scam_back(world):
    env = world.env
    hold = await hold_one(env, "Dr Ade cures cancer: cure-clinic.info")
    env.actions.calls.clear()
    await env.service.punish(GUILD, hold.id, MOD, "ban", moderator_may=True, steward_may=True)
    assert env.actions.named("dm") == []


# --- the reviewer ping -----------------------------------------------------------------------


async def test_a_waiting_hold_pings_the_reviewer_role_once_even_across_a_restart(world):
    env = world.env
    hold = await hold_one(env)
    world.clock.advance(minutes=59)
    await world.idle()
    assert env.actions.named("ping") == []
    world.clock.advance(minutes=2)
    await world.idle()
    (ping,) = env.actions.named("ping")
    assert ping[1:4] == (QUEUE, hold.queue_message_id, REVIEWERS)
    assert f"<@&{REVIEWERS}>" in ping[4] and "an hour" in ping[4] and "@everyone" not in ping[4]
    assert (await env.service.holds.get(hold.id)).pinged_at is not None
    await world.stop()
    env = await world.start()
    world.clock.advance(hours=3)
    await world.idle()
    assert len(env.actions.named("ping")) == 1


async def test_a_restart_before_the_ping_is_due_still_pings_once(world):
    env = world.env
    await hold_one(env)
    await world.stop()
    world.clock.advance(minutes=30)
    env = await world.start()
    world.clock.advance(minutes=31)
    await world.idle()
    assert len(env.actions.named("ping")) == 1


async def test_a_hold_queued_twice_after_a_crash_is_still_pinged_once(world):
    env = world.env
    hold = await hold_one(env)
    # The same timer armed again (the queue step re-ran after a crash).
    await world.scheduler.schedule(NewReminder(
        guild_id=GUILD, kind=PING_KIND, channel_id=QUEUE,
        due_at=hold.created_at + timedelta(minutes=60), note=f"hold:{hold.id}"))
    world.clock.advance(minutes=61)
    await world.idle()
    assert len(env.actions.named("ping")) == 1


async def test_no_ping_once_the_hold_was_decided(world):
    env = world.env
    hold = await hold_one(env)
    await env.service.approve(GUILD, hold.id, MOD)
    world.clock.advance(minutes=61)
    await world.idle()
    assert env.actions.named("ping") == []


async def test_no_ping_when_turned_off_or_no_role(world):
    env = world.env
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "queue_ping_minutes", 0))
    await hold_one(env)
    world.clock.advance(hours=2)
    await world.idle()
    assert env.actions.named("ping") == []
    # Armed while on, then the role was unset (and there are no moderator roles): no ping.
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "queue_ping_minutes", 60))
    await hold_one(env, "x tinyurl.com/other", member=NEWBIE + 1)
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "reviewer_role", None))
    world.clock.advance(hours=2)
    await world.idle()
    assert env.actions.named("ping") == []


async def test_no_role_set_means_no_ping_and_everyone_is_never_pinged(world):
    env = world.env

    def configure(c):
        c.linkhold.reviewer_role = None
        c.core.moderator_roles = [555, 556]  # moderator roles are not pinged by default

    await env.settings.update(GUILD, configure)
    await hold_one(env)
    world.clock.advance(minutes=61)
    await world.idle()
    assert env.actions.named("ping") == []
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "reviewer_role", GUILD))
    await hold_one(env, "y tinyurl.com/y", member=NEWBIE + 2)
    world.clock.advance(minutes=61)
    await world.idle()
    assert env.actions.named("ping") == []  # the @everyone role (id = guild id): never


async def test_a_failed_ping_is_retried_and_sent_once(world):
    env = world.env
    env.actions.ping_fails = True
    hold = await hold_one(env)
    world.clock.advance(minutes=61)
    await world.idle()
    assert len(env.actions.named("ping")) == 1
    assert (await env.service.holds.get(hold.id)).pinged_at is None  # given back
    env.actions.ping_fails = False
    world.clock.advance(minutes=5)
    await world.idle()
    assert len(env.actions.named("ping")) == 2
    assert (await env.service.holds.get(hold.id)).pinged_at is not None
    world.clock.advance(hours=5)
    await world.idle()
    assert len(env.actions.named("ping")) == 2
