"""The persistent scheduler on a real SQLite database with a FakeClock (no real waiting)."""

import asyncio
from datetime import timedelta

import discord
import pytest

from bot.adapters.scheduler import classify_discord_error
from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.reminders import NewReminder, ReminderRepository
from bot.services.scheduler import MAX_SENDS, DeliveryFailed, Done, RetryLater, Scheduler
from bot.tasks import BackgroundTasks

GUILD, CHANNEL = 1, 2


class FakeResponse:
    """Just enough of aiohttp's response for discord.HTTPException."""

    def __init__(self, status):
        self.status = status
        self.reason = "err"


def http_error(status):
    return discord.HTTPException(FakeResponse(status), {"message": "x", "code": 0})


@pytest.fixture
async def world(tmp_path):
    db = await Database.open(tmp_path / "s.db")
    await migrate(db)
    clock = FakeClock()
    tasks = BackgroundTasks()
    repo = ReminderRepository(db)
    made = []

    def make(**kw):
        scheduler = Scheduler(repo, clock, tasks, **kw)
        made.append(scheduler)
        return scheduler

    yield db, clock, repo, make
    for scheduler in made:
        await scheduler.stop()
    await tasks.drain(grace=1)
    await db.close()


async def idle(scheduler):
    await asyncio.wait_for(scheduler.wait_idle(), 5)


def at(clock, **delta):
    return NewReminder(GUILD, "test", CHANNEL, clock.now() + timedelta(**delta), member_id=7)


class Recorder:
    def __init__(self, clock):
        self.clock = clock
        self.fired = []
        self.finished = []

    async def handler(self, delivery):
        self.fired.append((delivery.reminder.id, self.clock.now(), delivery.late))
        await delivery.sending()
        return Done.sent(1000 + delivery.reminder.id)

    async def listener(self, finished):
        self.finished.append(finished)


async def started(make, clock, recorder, **kw):
    scheduler = make(**kw)
    scheduler.register("test", recorder.handler)
    scheduler.on_finished(recorder.listener)
    await scheduler.start()
    await idle(scheduler)
    return scheduler


async def test_fires_only_when_due_and_records_the_result(world):
    _, clock, repo, make = world
    rec = Recorder(clock)
    scheduler = await started(make, clock, rec)
    reminder = await scheduler.schedule(at(clock, hours=2))
    await idle(scheduler)
    clock.advance(hours=1, minutes=59)
    await idle(scheduler)
    assert rec.fired == []
    clock.advance(minutes=1)
    await idle(scheduler)
    assert [r for r, _, _ in rec.fired] == [reminder.id]
    stored = await repo.get(reminder.id)
    assert stored.status == "sent" and stored.message_id == 1000 + reminder.id
    assert stored.sends == 1 and stored.note is None
    assert rec.finished[0].late is False


async def test_a_sooner_reminder_wakes_the_sleeping_loop(world):
    _, clock, _, make = world
    rec = Recorder(clock)
    scheduler = await started(make, clock, rec)
    late = await scheduler.schedule(at(clock, days=3))
    await idle(scheduler)
    soon = await scheduler.schedule(at(clock, minutes=5))
    await idle(scheduler)
    clock.advance(minutes=5)
    await idle(scheduler)
    assert [r for r, _, _ in rec.fired] == [soon.id]
    clock.advance(days=3)
    await idle(scheduler)
    assert [r for r, _, _ in rec.fired] == [soon.id, late.id]


async def test_two_reminders_due_at_the_same_second_both_fire_once(world):
    _, clock, repo, make = world
    rec = Recorder(clock)
    scheduler = await started(make, clock, rec)
    first = await scheduler.schedule(at(clock, minutes=10))
    second = await scheduler.schedule(at(clock, minutes=10))
    clock.advance(minutes=10)
    await idle(scheduler)
    clock.advance(days=1)
    await idle(scheduler)
    assert sorted(r for r, _, _ in rec.fired) == [first.id, second.id]
    assert {(await repo.get(i)).status for i in (first.id, second.id)} == {"sent"}


async def test_reminders_due_during_downtime_fire_on_start_marked_late(world):
    _, clock, repo, make = world
    before = make()
    await before.schedule(at(clock, minutes=5))
    await before.schedule(at(clock, minutes=30))
    await before.schedule(at(clock, days=2))
    # The bot is down while the first two fall due.
    clock.advance(minutes=40)
    rec = Recorder(clock)
    after = await started(make, clock, rec)
    await idle(after)
    lates = sorted((r, late) for r, _, late in rec.fired)
    assert [late for _, late in lates] == [True, False]  # 35 min late vs 10 min late
    assert await repo.count_pending() == 1
    assert [f.lateness for f in sorted(rec.finished, key=lambda f: f.reminder.id)] == [
        timedelta(minutes=35), timedelta(minutes=10)]


async def test_429_and_5xx_are_retried_with_backoff_then_succeed(world):
    _, clock, repo, make = world
    calls = []

    async def flaky(delivery):
        calls.append(clock.now())
        await delivery.sending()
        if len(calls) == 1:
            raise http_error(429)
        if len(calls) == 2:
            raise http_error(503)
        return Done.sent(55)

    scheduler = make(classify=classify_discord_error)  # as the composition root wires it
    scheduler.register("test", flaky)
    await scheduler.start()
    reminder = await scheduler.schedule(at(clock, minutes=1))
    clock.advance(minutes=1)
    await idle(scheduler)
    stored = await repo.get(reminder.id)
    assert stored.status == "pending" and stored.maybe_sent  # a send was under way
    assert stored.due_at == clock.now() + timedelta(seconds=30)
    clock.advance(seconds=30)
    await idle(scheduler)
    assert (await repo.get(reminder.id)).due_at == clock.now() + timedelta(minutes=1)
    clock.advance(minutes=1)
    await idle(scheduler)
    stored = await repo.get(reminder.id)
    assert stored.status == "sent" and stored.attempts == 3 and len(calls) == 3


def test_discord_errors_are_classified_for_the_scheduler():
    assert isinstance(classify_discord_error(http_error(429)), RetryLater)
    assert isinstance(classify_discord_error(http_error(502)), RetryLater)
    assert isinstance(classify_discord_error(TimeoutError()), RetryLater)
    forbidden = discord.Forbidden(FakeResponse(403), {"message": "x", "code": 50001})
    missing = discord.NotFound(FakeResponse(404), {"message": "x", "code": 10003})
    assert classify_discord_error(forbidden).reason == "no_access"
    assert classify_discord_error(missing).reason == "not_found"
    assert classify_discord_error(http_error(400)) is None
    assert classify_discord_error(ValueError("bug")) is None


async def test_a_plain_scheduler_retries_retry_later_without_knowing_discord(world):
    _, clock, repo, make = world
    calls = []

    async def busy(delivery):
        calls.append(clock.now())
        if len(calls) == 1:
            raise RetryLater("busy")
        return Done.sent(56)

    scheduler = make()
    scheduler.register("test", busy)
    await scheduler.start()
    reminder = await scheduler.schedule(at(clock, minutes=1))
    clock.advance(minutes=1)
    await idle(scheduler)
    stored = await repo.get(reminder.id)
    assert stored.status == "pending" and not stored.maybe_sent  # nothing was being sent
    clock.advance(seconds=30)
    await idle(scheduler)
    assert (await repo.get(reminder.id)).status == "sent" and len(calls) == 2


async def test_permanent_failures_are_recorded_and_reported(world):
    _, clock, repo, make = world
    rec = Recorder(clock)

    async def refuse(delivery):
        raise DeliveryFailed("no_access")

    scheduler = await started(make, clock, rec)
    scheduler.register("test", refuse)
    scheduler.register("other", rec.handler)
    gone = await scheduler.schedule(at(clock, minutes=1))
    unknown = await scheduler.schedule(
        NewReminder(GUILD, "nobody-handles-this", CHANNEL, clock.now() + timedelta(minutes=1)))
    clock.advance(minutes=1)
    await idle(scheduler)
    assert (await repo.get(gone.id)).status == "failed"
    assert (await repo.get(gone.id)).reason == "no_access"
    assert (await repo.get(unknown.id)).status == "failed"
    assert {f.reminder.id for f in rec.finished} == {gone.id, unknown.id}


async def test_crash_between_sending_and_recording_does_not_resend(world):
    """The handler posts, then the process dies before 'sent' is recorded."""
    _, clock, repo, make = world
    channel = []  # what "Discord" shows in the channel
    never, posted = asyncio.Event(), asyncio.Event()

    async def crashy(delivery):
        await delivery.sending()
        channel.append(delivery.reminder.id)
        posted.set()
        await never.wait()  # the crash: we never get to record the result

    first = make()
    first.register("test", crashy)
    await first.start()
    reminder = await first.schedule(at(clock, minutes=1))
    clock.advance(minutes=1)
    await asyncio.wait_for(posted.wait(), 5)
    await first.abort()
    assert (await repo.get(reminder.id)).status == "sending"

    async def careful(delivery):
        if delivery.maybe_sent and delivery.reminder.id in channel:
            return Done.sent(None, found_existing=True)
        await delivery.sending()
        channel.append(delivery.reminder.id)
        return Done.sent(1)

    second = make()
    second.register("test", careful)
    await second.start()
    await idle(second)
    assert channel == [reminder.id]
    assert (await repo.get(reminder.id)).status == "sent"


async def test_duplicates_are_bounded_when_history_cannot_show_the_message(world):
    """Repeated crashes after sending, and we can never see our message: at most MAX_SENDS."""
    _, clock, repo, make = world
    posts = []
    never = asyncio.Event()
    reached = asyncio.Event()

    async def blind_crashy(delivery):
        try:
            await delivery.sending()
        finally:
            reached.set()
        posts.append(delivery.reminder.id)
        await never.wait()

    reminder = None
    for _ in range(MAX_SENDS):
        scheduler = make()
        scheduler.register("test", blind_crashy)
        await scheduler.start()
        if reminder is None:
            reminder = await scheduler.schedule(at(clock, minutes=1))
            clock.advance(minutes=1)
        await asyncio.wait_for(reached.wait(), 5)
        reached.clear()
        await scheduler.abort()
    last = make()
    last.register("test", blind_crashy)
    await last.start()
    await idle(last)
    assert len(posts) == MAX_SENDS
    stored = await repo.get(reminder.id)
    assert stored.status == "failed" and stored.reason == "may_have_sent"


async def test_memory_is_bounded_by_batches_and_in_flight_limit(world):
    _, clock, repo, make = world
    running = 0
    peak = 0
    done = 0

    async def slow(delivery):
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)
        running -= 1
        done += 1
        return Done.sent(None)

    scheduler = make(batch_size=20, max_in_flight=7)
    scheduler.register("test", slow)
    await scheduler.schedule_many(at(clock, seconds=s % 60 + 61) for s in range(300))
    await scheduler.start()
    clock.advance(minutes=3)
    await idle(scheduler)
    assert done == 300 and peak <= 7
    assert await repo.count_pending() == 0


async def test_cancel_and_snooze(world):
    _, clock, repo, make = world
    rec = Recorder(clock)
    scheduler = await started(make, clock, rec)
    a = await scheduler.schedule(at(clock, hours=1))
    b = await scheduler.schedule(at(clock, hours=1))
    assert await repo.cancel(a.id, clock.now(), guild_id=GUILD)
    assert not await repo.cancel(a.id, clock.now(), guild_id=GUILD)
    assert not await repo.snooze(b.id, clock.now() + timedelta(hours=5), clock.now(),
                                 guild_id=999)
    assert await repo.snooze(b.id, clock.now() + timedelta(hours=5), clock.now(), guild_id=GUILD)
    clock.advance(hours=2)
    await idle(scheduler)
    assert rec.fired == []
    clock.advance(hours=3)
    await idle(scheduler)
    assert [r for r, _, _ in rec.fired] == [b.id]
