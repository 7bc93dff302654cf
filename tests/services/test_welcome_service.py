"""The welcome service without Discord: a temporary SQLite file, a FakeClock, the real
scheduler as its timer, and a fake `WelcomeDiscord` port that records what would be sent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import count

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.reminders import ReminderRepository
from bot.db.welcome import WelcomeRepository
from bot.domain.audit import plain_value
from bot.domain.welcome import RoleFacts
from bot.domain.welcome_facts import GuildFacts, MemberFacts, MessageFacts
from bot.errors import BotMissingPermissions, InvalidInput, NotFound
from bot.services.guild_settings import GuildSettingsService
from bot.services.scheduler import Scheduler
from bot.services.welcome import TIMER_KIND, WelcomeService
from bot.services.welcome_ports import Posted, RolesRefused, SendFailed
from bot.tasks import BackgroundTasks

GUILD, WELCOME, RULES, GENERAL, FORUM, GRIEF = 1, 10, 11, 12, 13, 14
OWNER, BOT_TOP = 2, 50
COLORECTAL_ROLE, GRIEF_ROLE, MOD_ROLE = 21, 22, 23


@dataclass
class Post:
    channel_id: int
    text: str
    ping: tuple[int, ...]
    message_id: int


class FakeDiscord:
    """Discord as the welcome service sees it: cached facts, and the sends it asked for."""

    def __init__(self) -> None:
        self.guilds = {GUILD: GuildFacts(GUILD, "Hope Together", 120, None, BOT_TOP, OWNER)}
        self.members: dict[int, MemberFacts] = {}
        self.text_channels = {WELCOME, GENERAL, GRIEF}
        self.roles = {r: RoleFacts(r, 5, 0) for r in (COLORECTAL_ROLE, GRIEF_ROLE)}
        self.posts: list[Post] = []
        self.dms: list[tuple[int, str]] = []
        self.closed_dms: set[int] = set()
        self.role_changes: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
        self.refuse_posts: SendFailed | None = None
        # One failure per post, in order; `landed`: the post went out before the error.
        self.failures: list[tuple[SendFailed, bool]] = []
        self.refuse_roles = False
        self.history_reads = 0
        self._ids = count(5000)

    def guild_ids(self) -> list[int]:
        return list(self.guilds)

    def guild(self, guild_id: int) -> GuildFacts | None:
        return self.guilds.get(guild_id)

    def member(self, guild_id: int, member_id: int) -> MemberFacts | None:
        return self.members.get(member_id)

    def has_member(self, guild_id: int, member_id: int) -> bool:
        return member_id in self.members

    def joined_since(self, guild_id, since):
        return [m for m in self.members.values() if m.joined_at and m.joined_at > since]

    def is_text_channel(self, guild_id: int, channel_id: int) -> bool:
        return channel_id in self.text_channels

    def role(self, guild_id: int, role_id: int) -> RoleFacts | None:
        return self.roles.get(role_id)

    async def post_welcome(self, guild_id, channel_id, text, ping):
        if self.refuse_posts is not None:
            raise self.refuse_posts
        failure, landed = self.failures.pop(0) if self.failures else (None, False)
        if failure is not None and not landed:
            raise failure
        message_id = next(self._ids)
        self.posts.append(Post(channel_id, text, tuple(ping), message_id))
        if failure is not None:
            raise failure
        return Posted(channel_id, message_id,
                      f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}")

    async def find_welcome(self, guild_id, channel_id, member_id, since):
        self.history_reads += 1
        for p in reversed(self.posts):
            if p.channel_id == channel_id and member_id in p.ping:
                return Posted(channel_id, p.message_id, f"https://discord.com/channels/"
                              f"{guild_id}/{channel_id}/{p.message_id}")
        return None

    async def dm_welcome(self, guild_id, member_id, text):
        if member_id in self.closed_dms:
            return False
        self.dms.append((member_id, text))
        return True

    async def change_roles(self, guild_id, member_id, add, remove):
        if self.refuse_roles:
            raise RolesRefused(50013)
        self.role_changes.append((member_id, tuple(add), tuple(remove)))

    # test helpers

    def pinged(self, member_id: int) -> list[Post]:
        return [p for p in self.posts if member_id in p.ping]


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[tuple[str, int | None, dict]] = []

    async def record(self, guild_id, actor_id, action, target_id=None, details=None):
        self.entries.append((action, target_id, details or {}))

    def actions(self) -> list[str]:
        return [a for a, _, _ in self.entries]


class FakeCounters:
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def inc(self, name, amount=1.0, **labels):
        key = f"{name}:{labels.get('outcome')}"
        self.counts[key] = self.counts.get(key, 0) + amount


class World:
    def __init__(self, db, clock, settings, discord, audit, metrics, tasks) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.discord, self.audit, self.metrics, self.tasks = discord, audit, metrics, tasks
        self.names = count(100)
        self.quiet: dict[int, datetime] = {}  # member -> end of care's quiet window
        self.marked: set[int] = set()  # care's do-not-tag marks
        self.scheduler: Scheduler
        self.service: WelcomeService

    async def start(self) -> WelcomeService:
        """(Re)start the service and its scheduler on the same database, like a restart."""
        self.scheduler = Scheduler(ReminderRepository(self.db), self.clock, self.tasks)
        self.service = WelcomeService(WelcomeRepository(self.db), self.discord, self.settings,
                                      self.audit, self.metrics, self.scheduler, self.clock,
                                      quiet_until=self.quiet_until,
                                      do_not_tag=self.do_not_tag)
        await self.scheduler.start()
        await self.service.resume()
        await self.idle()
        return self.service

    async def quiet_until(self, guild_id: int, member_id: int) -> datetime | None:
        until = self.quiet.get(member_id)
        return until if until is not None and until > self.clock.now() else None

    async def do_not_tag(self, guild_id: int, member_id: int) -> bool:
        return member_id in self.marked

    async def stop(self) -> None:
        await self.scheduler.abort()

    async def idle(self) -> None:
        await asyncio.wait_for(self.scheduler.wait_idle(), 5)

    def member(self, **facts) -> MemberFacts:
        """A member who is in the server now (joined now unless told otherwise)."""
        member_id = next(self.names)
        facts.setdefault("joined_at", self.clock.now())
        member = MemberFacts(GUILD, member_id, f"member{member_id}", **facts)
        self.discord.members[member_id] = member
        return member

    async def join(self, **facts) -> MemberFacts:
        member = self.member(**facts)
        await self.service.on_join(member)
        return member

    def leave(self, member: MemberFacts) -> None:
        self.discord.members.pop(member.id, None)

    async def configure(self, **welcome) -> None:
        def mutate(config):
            for key, value in welcome.items():
                setattr(config.welcome, key, value)

        await self.settings.update(GUILD, mutate)

    async def timers(self) -> list:
        pending = await ReminderRepository(self.db).list_pending(GUILD, 100)
        return [r for r in pending if r.kind == TIMER_KIND]


@pytest.fixture
async def world(tmp_path):
    db = await Database.open(tmp_path / "welcome.sqlite3")
    await migrate(db)
    clock = FakeClock()
    settings = GuildSettingsService(GuildSettingsRepository(db), clock)
    await settings.load_all()

    def configure(config):
        config.welcome.channel = WELCOME
        config.core.rules_channel = RULES
        config.core.moderator_roles = [MOD_ROLE]

    await settings.update(GUILD, configure)
    tasks = BackgroundTasks()
    w = World(db, clock, settings, FakeDiscord(), FakeAudit(), FakeCounters(), tasks)
    await w.start()
    await w.service.directory.add_group(
        GUILD, w.member(is_owner=True), "Colorectal Cancer", FORUM, "Bowel and colon cancer",
        "colon, colorectal, bowel, ostomy", RoleFacts(COLORECTAL_ROLE, 5, 0))
    await w.service.directory.add_group(
        GUILD, w.member(is_owner=True), "Grief and Loss", GRIEF, "", "grief, bereavement",
        RoleFacts(GRIEF_ROLE, 5, 0))
    w.audit.entries.clear()
    w.clock.advance(minutes=1)
    yield w
    await w.stop()
    await tasks.drain(grace=1)
    await db.close()


async def greeted(world: World, member: MemberFacts) -> bool:
    return await world.service.repository.record(GUILD, member.id) is not None


# --- a lone join ------------------------------------------------------------------------------


async def test_a_lone_join_is_welcomed_at_once_pinging_only_them(world):
    member = await world.join()
    [post] = world.discord.posts
    assert post.channel_id == WELCOME and post.ping == (member.id,)
    assert post.text.startswith(f"Welcome to Hope Together, <@{member.id}>!")
    assert f"<#{RULES}>" in post.text and f"<#{FORUM}>" in post.text
    assert "first 3 days" in post.text  # link holds are on by default
    record = await world.service.repository.record(GUILD, member.id)
    assert record is not None and record.how == "single" and record.message_id == (
        post.message_id)
    assert await world.service.repository.pending(GUILD, member.id) is None
    assert world.metrics.counts == {"welcomes:sent": 1}
    assert world.discord.dms == []  # DMs are off by default
    assert await world.timers() == []  # a lone join needs no timer


async def test_bots_and_disabled_servers_are_not_welcomed(world):
    robot = await world.join(is_bot=True)
    assert world.discord.posts == [] and not await greeted(world, robot)
    await world.configure(enabled=False)
    human = await world.join()
    assert world.discord.posts == [] and not await greeted(world, human)


async def test_the_welcome_names_the_groups_they_picked_in_onboarding(world):
    member = await world.join(role_ids=frozenset({COLORECTAL_ROLE}))
    [post] = world.discord.posts
    assert (f"You picked **Colorectal Cancer**: the group meets in <#{FORUM}>."
            in post.text)
    assert post.text.index(f"<#{FORUM}>") < post.text.index(f"<#{GRIEF}>")  # theirs first
    assert "Grief and Loss**" not in post.text and member.id in post.ping


async def test_dm_welcome_and_a_member_who_does_not_accept_dms(world):
    await world.configure(dm=True)
    open_dms = await world.join()
    closed = world.member()
    world.discord.closed_dms.add(closed.id)
    await world.service.on_join(closed)
    assert [m for m, _ in world.discord.dms] == [open_dms.id]
    assert len(world.discord.pinged(closed.id)) == 1  # the channel welcome still went out


async def test_no_welcome_channel_still_claims_and_falls_back_to_the_system_channel(world):
    await world.configure(channel=None)
    nowhere = await world.join()
    assert world.discord.posts == [] and await greeted(world, nowhere)
    world.discord.guilds[GUILD] = replace(world.discord.guilds[GUILD], system_channel_id=GENERAL)
    world.clock.advance(seconds=30)
    member = await world.join()
    assert [p.channel_id for p in world.discord.pinged(member.id)] == [GENERAL]


async def test_a_refused_post_alerts_the_mod_log_and_counts_as_failed(world):
    world.discord.refuse_posts = SendFailed(403, 50013, forbidden=True)
    member = await world.join()
    action, target, details = world.audit.entries[-1]
    assert (action, target) == ("welcome.failed", member.id)
    assert "missing Send Messages" in plain_value("problem", details["problem"])
    assert details["channel"] == f"<#{WELCOME}>"
    assert world.metrics.counts == {"welcomes:failed": 1}
    world.discord.refuse_posts = SendFailed(500, 0, forbidden=False)
    world.clock.advance(seconds=30)
    await world.join()
    assert plain_value("problem", world.audit.entries[-1][2]["problem"]) == "Discord error 500/0"


def storm(status: int = 429) -> SendFailed:
    """What the adapter raises once discord.py has given up on a 429 (or a 5xx)."""
    return SendFailed(status, 0, forbidden=False, transient=True)


async def test_a_transient_failure_is_retried_later_and_greets_exactly_once(world):
    world.discord.failures = [(storm(429), False), (storm(429), False)]
    member = await world.join()
    assert world.discord.posts == [] and await greeted(world, member)  # claimed, not sent
    assert "welcome.failed" not in world.audit.actions()  # nothing for moderators to do
    [retry] = await world.timers()
    assert retry.member_id == member.id and retry.channel_id == WELCOME
    assert retry.due_at == world.clock.now() + timedelta(seconds=30)
    world.clock.advance(seconds=31)
    await world.idle()
    assert world.discord.posts == []  # the storm goes on: backed off again
    world.clock.advance(minutes=2)
    await world.idle()
    [post] = world.discord.pinged(member.id)
    assert post.text.startswith(f"Welcome to Hope Together, <@{member.id}>!")
    record = await world.service.repository.record(GUILD, member.id)
    assert record.message_id == post.message_id and record.how == "single"
    assert await world.timers() == []
    world.clock.advance(hours=2)
    await world.idle()
    assert len(world.discord.pinged(member.id)) == 1
    assert world.metrics.counts == {"welcomes:retry": 1, "welcomes:sent": 1}
    assert "welcome.failed" not in world.audit.actions()


async def test_a_5xx_whose_welcome_landed_is_not_sent_again(world):
    world.discord.failures = [(storm(500), True)]
    member = await world.join()
    [landed] = world.discord.pinged(member.id)
    assert (await world.service.repository.record(GUILD, member.id)).message_id is None
    world.clock.advance(seconds=31)
    await world.idle()
    assert world.discord.history_reads == 1  # looked before re-sending
    assert world.discord.pinged(member.id) == [landed]
    record = await world.service.repository.record(GUILD, member.id)
    assert record.message_id == landed.message_id
    assert await world.timers() == []


async def test_a_retry_for_someone_who_left_or_a_permanent_refusal(world):
    world.discord.failures = [(storm(), False), (storm(), False)]
    gone = await world.join()
    stays = await world.join()
    world.leave(gone)
    world.discord.refuse_posts = SendFailed(403, 50013, forbidden=True)
    world.clock.advance(seconds=31)
    await world.idle()
    assert world.discord.posts == []
    [(action, target, details)] = [e for e in world.audit.entries if e[0] == "welcome.failed"]
    assert target == stays.id and "/welcome resend" in plain_value("problem", details["problem"])
    assert await world.timers() == []


async def test_a_burst_post_that_fails_is_retried_for_each_member(world):
    world.clock.advance(minutes=5)
    joined = [await world.join() for _ in range(9)]
    singles = [p.ping for p in world.discord.posts]  # greeted at once, before the burst
    members = joined[len(singles):]
    assert len(members) >= 2
    world.discord.failures = [(storm(), False)]
    world.clock.advance(seconds=11)
    await world.idle()
    assert [p.ping for p in world.discord.posts] == singles  # the batch's post failed
    assert sorted(t.member_id for t in await world.timers()) == [m.id for m in members]
    world.clock.advance(seconds=31)
    await world.idle()
    for member in members:
        [post] = world.discord.pinged(member.id)
        assert post.ping == (member.id,)
        assert (await world.service.repository.record(GUILD, member.id)).message_id == (
            post.message_id)
    assert await world.timers() == []


# --- rejoin and resend ------------------------------------------------------------------------


async def test_a_rejoin_gets_no_second_welcome_but_moderators_can_resend(world):
    member = await world.join()
    world.leave(member)
    world.clock.advance(seconds=30)
    again = replace(member, did_rejoin=True)
    world.discord.members[again.id] = again
    await world.service.on_join(again)
    # Even without Discord's rejoin flag, the welcome record stops a second welcome.
    await world.service.on_join(replace(member, did_rejoin=False))
    assert len(world.discord.pinged(member.id)) == 1
    posted = await world.service.resend(again, actor_id=OWNER)
    assert len(world.discord.pinged(member.id)) == 2
    record = await world.service.repository.record(GUILD, member.id)
    assert record.how == "resend" and record.message_id == posted.message_id
    assert world.audit.entries[-1][:2] == ("welcome.resent", member.id)
    assert world.audit.entries[-1][2]["jump"] == posted.jump_url


async def test_resend_explains_a_missing_channel_or_permission(world):
    member = await world.join()
    world.discord.refuse_posts = SendFailed(403, 50013, forbidden=True)
    with pytest.raises(BotMissingPermissions, match=f"<#{WELCOME}>"):
        await world.service.resend(member, actor_id=OWNER)
    await world.configure(channel=None)
    with pytest.raises(InvalidInput, match="no welcome channel"):
        await world.service.resend(member, actor_id=OWNER)


# --- screening and onboarding: waiting, and the fallback through the scheduler ----------------


async def test_screening_waits_then_greets_when_it_completes(world):
    member = await world.join(pending=True)
    row = await world.service.repository.pending(GUILD, member.id)
    assert row is not None and row.status == "screening" and world.discord.posts == []
    done = replace(member, pending=False)
    world.discord.members[member.id] = done
    await world.service.on_member_update(member, done)
    assert len(world.discord.pinged(member.id)) == 1
    # The fallback timer finds nothing left to do.
    world.clock.advance(minutes=11)
    await world.idle()
    assert len(world.discord.pinged(member.id)) == 1


async def test_onboarding_waits_for_completion_not_for_role_picks(world):
    member = await world.join(onboarding_started=True)
    picked = replace(member, role_ids=frozenset({GRIEF_ROLE}))
    await world.service.on_member_update(member, picked)
    assert world.discord.posts == []
    completed = replace(picked, onboarding_completed=True)
    world.discord.members[member.id] = completed
    await world.service.on_member_update(picked, completed)
    [post] = world.discord.posts
    assert "You picked **Grief and Loss**" in post.text


async def test_screening_falls_back_after_the_timeout_via_the_scheduler(world):
    member = await world.join(pending=True)
    [timer] = await world.timers()
    assert timer.due_at == world.clock.now() + timedelta(minutes=10)
    world.clock.advance(minutes=9)
    await world.idle()
    assert world.discord.posts == []
    world.clock.advance(minutes=1, seconds=1)
    await world.idle()
    assert len(world.discord.pinged(member.id)) == 1
    assert await world.timers() == []


async def test_a_member_who_leaves_during_screening_is_never_greeted(world):
    stays_away = await world.join(pending=True)
    world.leave(stays_away)
    gone_silently = await world.join(pending=True)
    world.leave(gone_silently)  # the leave event never arrived: the timer finds them gone
    await world.service.on_leave(GUILD, stays_away.id)
    assert await world.service.repository.pending(GUILD, stays_away.id) is None
    world.clock.advance(minutes=11)
    await world.idle()
    assert world.discord.posts == []
    assert await world.service.repository.pending(GUILD, gone_silently.id) is None


async def test_screening_completed_for_a_join_steward_missed(world):
    recent = world.member(pending=True)
    old = world.member(pending=True, joined_at=world.clock.now() - timedelta(days=30))
    for member in (old, recent):
        done = replace(member, pending=False)
        world.discord.members[member.id] = done
        await world.service.on_member_update(member, done)
    assert [p.ping for p in world.discord.posts] == [(recent.id,)]


async def test_a_restart_while_in_screening_still_greets_once(world):
    completes = await world.join(pending=True)
    times_out = await world.join(pending=True)
    await world.stop()
    service = await world.start()
    done = replace(completes, pending=False)
    world.discord.members[completes.id] = done
    await service.on_member_update(completes, done)
    world.clock.advance(minutes=11)
    await world.idle()
    assert len(world.discord.pinged(completes.id)) == 1
    assert len(world.discord.pinged(times_out.id)) == 1


async def test_a_crash_between_saving_and_greeting_is_picked_up_after_a_restart(world):
    # The row a lone join saves before its welcome is sent, left by a crash.
    member = world.member()
    now = world.clock.now()
    await world.service.repository.add_pending(GUILD, member.id, now, "ready",
                                               now + timedelta(minutes=1))
    await world.stop()
    await world.start()  # re-arms a wake-up for it
    world.clock.advance(minutes=1)
    await world.idle()
    assert len(world.discord.pinged(member.id)) == 1


# --- bursts -----------------------------------------------------------------------------------


async def test_a_burst_is_coalesced_pinging_only_those_still_here_without_dms(world):
    await world.configure(dm=True)
    world.clock.advance(minutes=5)
    members = [await world.join() for _ in range(30)]
    singles = [p for p in world.discord.posts if len(p.ping) == 1]
    assert [p.ping[0] for p in singles] == [m.id for m in members[:5]]  # the threshold
    leaver = members[10]
    world.leave(leaver)
    await world.service.on_leave(GUILD, leaver.id)
    silent = members[11]
    world.leave(silent)  # left without the service hearing of it
    assert len(await world.timers()) == 1  # one timer for the whole batch
    world.clock.advance(seconds=10)
    await world.idle()
    bursts = [p for p in world.discord.posts if p not in singles]
    assert [len(p.ping) for p in bursts] == [20, 3]
    assert all(p.text.startswith("A warm welcome to everyone who just joined") for p in bursts)
    stayed = [m.id for m in members[5:] if m not in (leaver, silent)]
    assert [i for p in bursts for i in p.ping] == stayed
    assert {m for m, _ in world.discord.dms} == {m.id for m in members[:5]}
    for member_id in stayed:
        record = await world.service.repository.record(GUILD, member_id)
        assert record.how == "burst" and record.message_id is not None
    assert not await greeted(world, leaver) and not await greeted(world, silent)
    assert world.metrics.counts == {"welcomes:sent": 5 + 23}


async def test_a_member_marked_while_waiting_in_a_burst_is_left_out_of_it(world):
    world.clock.advance(minutes=5)
    members = [await world.join() for _ in range(8)]
    marked = members[6]
    world.marked.add(marked.id)  # moderators marked them before the batch was sent
    world.clock.advance(seconds=10)
    await world.idle()
    pinged = [i for p in world.discord.posts for i in p.ping]
    assert marked.id not in pinged and members[7].id in pinged
    assert not await greeted(world, marked)
    assert await world.service.repository.pending(GUILD, marked.id) is None


async def test_a_join_saved_after_its_batch_was_flushed_is_still_greeted(world):
    world.clock.advance(minutes=5)
    members = [await world.join() for _ in range(7)]
    joined = world.clock.now()
    world.clock.advance(seconds=10)
    await world.idle()
    assert len([p for p in world.discord.posts if len(p.ping) > 1]) == 1
    # A join read the clock before the window ended, but was saved after the batch's timer
    # ran: it belongs to that batch, whose timer must run again.
    late = world.member(joined_at=joined)
    await world.service.ready(late, joined)
    await world.idle()
    assert len(world.discord.pinged(late.id)) == 1
    assert all(len(world.discord.pinged(m.id)) == 1 for m in members)


async def test_a_batch_of_one_is_a_plain_welcome_without_dm(world):
    await world.configure(dm=True, burst_threshold=1)
    world.clock.advance(minutes=5)
    first = await world.join()
    second = await world.join()
    world.clock.advance(seconds=10)
    await world.idle()
    assert [p.ping for p in world.discord.posts] == [(first.id,), (second.id,)]
    assert world.discord.posts[1].text.startswith("Welcome to Hope Together")
    assert [m for m, _ in world.discord.dms] == [first.id]


async def test_a_restart_during_a_burst_greets_the_batch_once(world):
    world.clock.advance(minutes=5)
    members = [await world.join() for _ in range(9)]
    await world.stop()
    await world.start()
    world.clock.advance(seconds=11)
    await world.idle()
    for member in members:
        assert len(world.discord.pinged(member.id)) == 1


# --- suggestions ------------------------------------------------------------------------------


def post(member: MemberFacts, text: str, channel: int = GENERAL,
         parent: int | None = None) -> MessageFacts:
    return MessageFacts(GUILD, channel, parent, 900, text, member.id, member.joined_at)


async def test_a_suggestion_is_made_once_per_member_per_group(world):
    member = await world.join()
    suggest = world.service.directory.suggest
    assert await suggest(post(member, "My colonoscopy is next Tuesday")) is None
    assert await suggest(post(member, "Does anyone else live with ostomies?")) == (
        "Interested in more discussions like this? The **Colorectal Cancer** group meets in "
        f"<#{FORUM}>.")
    assert await suggest(post(member, "colon cancer again")) is None
    # Restarted: the claim is in the database.
    await world.stop()
    service = await world.start()
    assert await service.directory.suggest(post(member, "bowel trouble")) is None
    assert "Grief and Loss" in await service.directory.suggest(post(member, "the grief"))


async def test_no_suggestion_for_followed_groups_group_channels_moderators_or_old_members(
        world):
    suggest = world.service.directory.suggest
    follower = await world.join(role_ids=frozenset({COLORECTAL_ROLE}))
    assert await suggest(post(follower, "colon cancer, day 3")) is None
    assert "Grief and Loss" in await suggest(post(follower, "the grief comes in waves"))
    newcomer = await world.join()
    assert await suggest(post(newcomer, "colon", channel=FORUM)) is None
    assert await suggest(post(newcomer, "colon", channel=77, parent=FORUM)) is None
    moderator = await world.join(is_moderator=True)
    assert await suggest(post(moderator, "colon cancer resources")) is None
    old = world.member(joined_at=world.clock.now() - timedelta(days=30))
    assert await suggest(post(old, "colon cancer question")) is None
    await world.configure(suggestions=False)
    assert await suggest(post(newcomer, "colon again")) is None


async def test_no_suggestion_while_care_keeps_the_member_quiet(world):
    suggest = world.service.directory.suggest
    member = await world.join()
    assert len(world.discord.pinged(member.id)) == 1  # the first welcome still goes out
    world.quiet[member.id] = world.clock.now() + timedelta(hours=24)
    assert await suggest(post(member, "colon cancer, day 3")) is None
    world.clock.advance(hours=25)  # the window ended; the suggestion was not used up
    assert "Colorectal Cancer" in await suggest(post(member, "colon cancer, day 4"))


async def test_a_member_marked_do_not_tag_is_never_welcomed_again_nor_suggested_groups(world):
    suggest = world.service.directory.suggest
    member = await world.join()
    assert len(world.discord.pinged(member.id)) == 1
    world.marked.add(member.id)
    assert await suggest(post(member, "colon cancer, day 3")) is None
    world.marked.discard(member.id)  # unmarked: treated like anyone again
    assert "Colorectal Cancer" in await suggest(post(member, "colon cancer, day 4"))
    world.marked.add(member.id)
    world.leave(member)
    world.clock.advance(days=30)
    world.discord.members[member.id] = member
    await world.service.on_join(replace(member, did_rejoin=False))
    with pytest.raises(InvalidInput, match="never to tag"):
        await world.service.resend(member, actor_id=OWNER)
    assert len(world.discord.pinged(member.id)) == 1
    # Marked before they ever joined (they asked, then came back): no welcome, no timer.
    newcomer = world.member()
    world.marked.add(newcomer.id)
    await world.service.on_join(newcomer)
    await world.service.on_join(replace(newcomer, pending=True))
    assert world.discord.pinged(newcomer.id) == [] and not await greeted(world, newcomer)
    # Screening done (or a late join found on start): still nothing.
    await world.service.ready(newcomer, world.clock.now())
    assert world.discord.pinged(newcomer.id) == []
    assert await world.service.repository.pending(GUILD, newcomer.id) is None


# --- catching up on joins missed while offline ------------------------------------------------


async def test_catch_up_plan_greets_recent_missed_joins_once_and_notes_the_rest(world):
    last_seen = world.clock.now()
    world.clock.advance(hours=30)
    now = world.clock.now()
    too_old = [world.member(joined_at=now - timedelta(hours=25, minutes=i)) for i in range(2)]
    missed = [world.member(joined_at=now - timedelta(minutes=60 - i)) for i in range(55)]
    robot = world.member(is_bot=True, joined_at=now)
    rejoined = world.member(did_rejoin=True, joined_at=now)
    screening = world.member(pending=True, joined_at=now)
    plan = await world.service.catchup.catch_up(GUILD, last_seen, now)
    assert plan.greet == tuple(m.id for m in missed[6:]) + (screening.id,)
    assert (plan.too_old, plan.over_cap) == (2, 6)
    assert world.service.last_catchup[GUILD] == plan
    row = await world.service.repository.pending(GUILD, screening.id)
    assert row is not None and row.status == "screening"
    world.clock.advance(seconds=11)
    await world.idle()
    pinged = [i for p in world.discord.posts for i in p.ping]
    assert sorted(pinged) == sorted(m.id for m in missed[6:])
    for member in (*too_old, *missed[:6], robot, rejoined, screening):
        assert member.id not in pinged
    [note] = [d for a, _, d in world.audit.entries if a == "welcome.catchup_skipped"]
    assert note["not_greeted"] == 8 and "/welcome resend" in plain_value("why", note["why"])
    # Planned again from the same moment: those welcomed (or still pending) are left out.
    again = await world.service.catchup.catch_up(GUILD, last_seen, world.clock.now())
    assert again.greet == tuple(m.id for m in missed[:6])


async def test_the_first_start_greets_nobody_retroactively(world):
    world.member(joined_at=world.clock.now() - timedelta(minutes=1))
    plan = await world.service.catchup.catch_up(GUILD, None, world.clock.now())
    assert plan.greet == () and world.discord.posts == [] and world.service.last_catchup == {}


# --- the directory and the picker -------------------------------------------------------------


async def test_unsafe_group_roles_are_refused(world):
    directory = world.service.directory
    owner = world.member(is_owner=True, top_role_position=99)
    admin = world.member(top_role_position=3)
    cases = [
        (RoleFacts(30, 5, 8192), owner, "grants permissions"),
        (RoleFacts(31, 5, 0, managed=True), owner, "managed"),
        (RoleFacts(32, BOT_TOP, 0), owner, "not below my highest role"),
        (RoleFacts(33, 5, 0), admin, "not below your highest role"),
    ]
    for role, actor, reason in cases:
        with pytest.raises(InvalidInput, match=reason):
            await directory.add_group(GUILD, actor, f"Unsafe {role.id}", GENERAL, role=role)
    assert [g.name for g in await world.service.groups(GUILD)] == [
        "Colorectal Cancer", "Grief and Loss"]


async def test_group_edit_remove_duplicates_and_autocomplete(world):
    directory = world.service.directory
    owner = world.member(is_owner=True)
    await directory.add_group(GUILD, owner, "Caregivers", GENERAL, keywords="caregiver, carer")
    with pytest.raises(InvalidInput, match="already a group called"):
        await directory.add_group(GUILD, owner, "caregivers", GENERAL)
    assert await directory.autocomplete(GUILD, "car") == ["Caregivers"]
    assert await directory.autocomplete(GUILD, "loss") == ["Grief and Loss"]
    edited = await directory.edit_group(GUILD, owner, "Caregivers", new_name="Carers",
                                        description="For those who care")
    assert (edited.name, edited.description, edited.keywords) == (
        "Carers", "For those who care", ("caregiver", "carer"))
    with pytest.raises(NotFound, match="no group called"):
        await directory.remove_group(GUILD, OWNER, "Nobody")
    removed = await directory.remove_group(GUILD, OWNER, "carers")
    assert removed.name == "Carers"
    assert world.audit.actions() == ["welcome.group_added", "welcome.group_edited",
                                      "welcome.group_removed"]


async def test_the_picker_gives_and_takes_roles_and_skips_unsafe_ones(world):
    directory = world.service.directory
    groups = {g.name: g.id for g in await world.service.groups(GUILD)}
    member = world.member(role_ids=frozenset({GRIEF_ROLE}))
    state = await directory.picker_state(member)
    assert state.chosen == {groups["Grief and Loss"]}
    result = await directory.apply_choice(member, {groups["Colorectal Cancer"]},
                                          set(groups.values()))
    assert world.discord.role_changes == [(member.id, (COLORECTAL_ROLE,), (GRIEF_ROLE,))]
    assert [g.name for g in result.chosen] == ["Colorectal Cancer"]
    assert (result.added, result.removed, result.skipped_unsafe) == (
        [COLORECTAL_ROLE], [GRIEF_ROLE], [])
    # The role gained a permission since it was saved: not given, and the mod log hears.
    world.discord.roles[COLORECTAL_ROLE] = RoleFacts(COLORECTAL_ROLE, 5, 8)
    result = await directory.apply_choice(world.member(), {groups["Colorectal Cancer"]},
                                          set(groups.values()))
    assert result.skipped_unsafe == [COLORECTAL_ROLE] and result.added == []
    assert world.audit.actions()[-1] == "welcome.role_unsafe"


async def test_the_picker_without_manage_roles_explains_and_alerts(world):
    groups = await world.service.groups(GUILD)
    world.discord.refuse_roles = True
    with pytest.raises(BotMissingPermissions, match="missing a permission"):
        await world.service.directory.apply_choice(world.member(), {groups[0].id},
                                                   {g.id for g in groups})
    action, _, details = world.audit.entries[-1]
    assert action == "welcome.roles_failed"
    assert "Manage Roles" in plain_value("problem", details["problem"])


# --- a saved template that fails at send time -------------------------------------------------


def break_template(world: World, field: str) -> None:
    """A template that slipped past validation (an older version, a hand-edited database)."""
    config = world.settings.get(GUILD)
    config.welcome = config.welcome.model_copy(update={field: "Hi {x}, welcome!"})


async def test_a_template_that_fails_at_send_time_still_greets_with_the_default(world):
    break_template(world, "template")
    member = await world.join()
    [post] = world.discord.posts
    assert post.ping == (member.id,)
    assert post.text.startswith(f"Welcome to Hope Together, <@{member.id}>!")
    assert await greeted(world, member)
    assert world.audit.entries == [
        ("template.fallback", member.id, {"setting": "welcome.template"})]
    # A preview shows the default too, but records nothing.
    await world.service.preview(member)
    assert len(world.audit.entries) == 1


async def test_a_burst_template_that_fails_at_send_time_greets_with_the_default(world):
    break_template(world, "burst_template")
    world.clock.advance(minutes=5)
    members = [await world.join() for _ in range(8)]
    world.clock.advance(seconds=10)
    await world.idle()
    [burst] = [p for p in world.discord.posts if len(p.ping) > 1]
    assert burst.text.startswith("A warm welcome to everyone who just joined")
    assert burst.ping == tuple(m.id for m in members[5:])
    assert [e for e in world.audit.entries if e[0] == "template.fallback"] == [
        ("template.fallback", None, {"setting": "welcome.burst_template"})]
