"""Batched (group-commit) recording of results: exactly-once transitions, the crash window
between a send and its batched record, backpressure, and shutdown. Real SQLite, FakeClock."""

import asyncio
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.database import to_db_time
from bot.db.reminders import (
    CLAIM_DUE_SQL,
    NEXT_DUE_SQL,
    Completion,
    NewReminder,
    ReminderRepository,
)
from bot.services.scheduler import MAX_SENDS, Done, Scheduler
from bot.tasks import BackgroundTasks

GUILD, CHANNEL = 1, 2


class CountingRepository(ReminderRepository):
    """The real repository; remembers the size of each batched write."""

    def __init__(self, db):
        super().__init__(db)
        self.flushes = []

    async def finish_many(self, completions, now):
        self.flushes.append(len(completions))
        return await super().finish_many(completions, now)


@pytest.fixture
async def world(tmp_path):
    db = await Database.open(tmp_path / "r.db")
    await migrate(db)
    clock = FakeClock()
    tasks = BackgroundTasks()
    repo = CountingRepository(db)
    made = []

    def make(**kw):
        scheduler = Scheduler(repo, clock, tasks, **kw)
        made.append(scheduler)
        return scheduler

    yield db, clock, repo, tasks, make
    for scheduler in made:
        await scheduler.abort()  # a failed test may leave handlers waiting forever
    await tasks.drain(grace=1)
    await db.close()


def at(clock, **delta):
    return NewReminder(GUILD, "test", CHANNEL, clock.now() + timedelta(**delta), member_id=7)


async def idle(scheduler):
    await asyncio.wait_for(scheduler.wait_idle(), 5)


async def yield_until(predicate, limit=2000):
    """Let other tasks run until `predicate()` holds (only for steps that need no I/O)."""
    for _ in range(limit):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_claim_and_next_due_read_only_the_partial_index(world):
    db, clock, _, _, _ = world
    now = to_db_time(clock.now())
    for sql, params in ((NEXT_DUE_SQL, ()), (CLAIM_DUE_SQL, (now, now, 50))):
        plan = " | ".join(str(row["detail"]) for row in
                          await db.fetchall("EXPLAIN QUERY PLAN " + sql, params))
        assert "reminders_pending_due" in plan, plan
        assert "SCAN" not in plan, plan  # no full table or index scan, no sort step


async def test_a_burst_is_recorded_in_a_few_transactions_each_result_once(world):
    _, clock, repo, _, make = world
    finished = []

    async def quick(delivery):
        return Done.sent(5000 + delivery.reminder.id)

    async def listener(item):
        finished.append(item.reminder.id)

    scheduler = make(batch_size=300, max_in_flight=300)
    scheduler.register("test", quick)
    scheduler.on_finished(listener)
    await scheduler.schedule_many(at(clock, minutes=1) for _ in range(300))
    await scheduler.start()
    clock.advance(minutes=1)
    await idle(scheduler)
    assert sum(repo.flushes) == 300
    assert len(repo.flushes) <= 3  # not one transaction per reminder
    assert len(finished) == len(set(finished)) == 300
    sent = await repo.with_status(["sent"], limit=400)
    assert len(sent) == 300
    assert all(r.message_id == 5000 + r.id and r.fired_at == clock.now() for r in sent)


async def test_a_lone_reminder_is_recorded_without_waiting_for_company(world):
    _, clock, repo, _, make = world

    async def quick(delivery):
        return Done.sent(1)

    scheduler = make()
    scheduler.register("test", quick)
    await scheduler.start()
    reminder = await scheduler.schedule(at(clock, minutes=1))
    clock.advance(minutes=1)
    await idle(scheduler)  # idle means written: no timer holds a lone result back
    assert repo.flushes == [1]
    assert (await repo.get(reminder.id)).status == "sent"


async def test_results_apply_only_to_the_claim_they_belong_to(world):
    _, clock, repo, _, _ = world
    reminder = await repo.add(at(clock, minutes=-1), clock.now())
    [first] = await repo.claim_due(clock.now(), 10)
    assert first.attempts == 1
    await repo.recover(clock.now())  # a restart: the first claim is gone
    [second] = await repo.claim_due(clock.now(), 10)
    assert second.attempts == 2
    stale = Completion(reminder.id, 1, "sent", clock.now(), None, 11)
    assert await repo.finish_many([stale], clock.now()) == set()
    assert not await repo.mark_sending(reminder.id, clock.now(), attempts=1)
    assert not await repo.retry(reminder.id, clock.now(), clock.now(), maybe_sent=True,
                                attempts=1)
    stored = await repo.get(reminder.id)
    assert (stored.status, stored.sends, stored.maybe_sent) == ("running", 0, False)
    assert await repo.mark_sending(reminder.id, clock.now(), attempts=2)
    current = Completion(reminder.id, 2, "sent", clock.now(), None, 22)
    assert await repo.finish_many([current], clock.now()) == {reminder.id}
    assert await repo.finish_many([current], clock.now()) == set()  # exactly once
    stored = await repo.get(reminder.id)
    assert (stored.status, stored.message_id, stored.sends) == ("sent", 22, 1)
    with pytest.raises(ValueError):
        await repo.finish_many([Completion(reminder.id, 2, "pending", clock.now())],
                               clock.now())


async def crash_after_result(scheduler, handled):
    """Wait for the handler to return, then crash before the batched write can start."""
    async with asyncio.timeout(5):
        await handled.wait()  # a direct wait: we resume before the writer's first step
    assert scheduler.unrecorded == 1  # the result exists only in memory
    await scheduler.abort()


async def test_crash_after_send_before_the_batched_record_is_caught_by_history(world):
    _, clock, repo, _, make = world
    channel = []  # what "Discord" shows
    handled = asyncio.Event()

    async def post(delivery):
        if delivery.maybe_sent and delivery.reminder.id in channel:
            return Done.sent(None, found_existing=True)
        await delivery.sending()
        channel.append(delivery.reminder.id)
        handled.set()
        return Done.sent(77)

    first = make()
    first.register("test", post)
    await first.start()
    reminder = await first.schedule(at(clock, minutes=1))
    clock.advance(minutes=1)
    await crash_after_result(first, handled)
    stored = await repo.get(reminder.id)
    assert (stored.status, stored.sends) == ("sending", 1)

    second = make()
    second.register("test", post)
    await second.start()
    await idle(second)
    assert channel == [reminder.id]  # posted once
    stored = await repo.get(reminder.id)
    assert (stored.status, stored.sends, stored.maybe_sent) == ("sent", 1, True)


async def test_crash_before_the_batched_record_of_a_stand_down_just_runs_again(world):
    _, clock, repo, _, make = world
    runs = []
    handled = asyncio.Event()

    async def stand_down(delivery):
        runs.append(delivery.reminder.attempts)
        handled.set()
        return Done.stood_down("answered")

    first = make()
    first.register("test", stand_down)
    await first.start()
    reminder = await first.schedule(at(clock, minutes=1))
    clock.advance(minutes=1)
    await crash_after_result(first, handled)
    assert (await repo.get(reminder.id)).status == "running"  # nothing was sent

    second = make()
    second.register("test", stand_down)
    await second.start()
    await idle(second)
    stored = await repo.get(reminder.id)
    assert runs == [1, 2]
    assert (stored.status, stored.sends, stored.maybe_sent) == ("stood_down", 0, False)


async def test_crashes_before_batched_records_with_blind_history_still_send_at_most_max(world):
    """Every run posts and returns, the crash always beats the write, and the history check
    never finds the message: the bound is still MAX_SENDS posts, then 'may_have_sent'."""
    _, clock, repo, _, make = world
    posts = []
    handled = asyncio.Event()
    finished = []

    async def blind(delivery):
        try:
            await delivery.sending()
        finally:
            handled.set()
        posts.append(delivery.reminder.id)
        return Done.sent(len(posts))

    async def listener(item):
        finished.append(item)

    reminder = None
    for _ in range(MAX_SENDS):
        scheduler = make()
        scheduler.register("test", blind)
        await scheduler.start()
        if reminder is None:
            reminder = await scheduler.schedule(at(clock, minutes=1))
            clock.advance(minutes=1)
        await crash_after_result(scheduler, handled)
        handled.clear()
    last = make()
    last.register("test", blind)
    last.on_finished(listener)
    await last.start()
    await idle(last)
    assert len(posts) == MAX_SENDS
    stored = await repo.get(reminder.id)
    assert (stored.status, stored.reason, stored.sends) == ("failed", "may_have_sent", MAX_SENDS)
    assert [f.done.reason for f in finished] == ["may_have_sent"]


async def test_waiting_results_are_bounded_and_hold_back_new_handlers(world):
    db, clock, repo, _, make = world
    calls = []
    first_call = asyncio.Event()

    async def quick(delivery):
        calls.append(delivery.reminder.id)
        first_call.set()
        return Done.sent(None)

    scheduler = make(batch_size=50, max_in_flight=2, max_unrecorded=5)
    scheduler.register("test", quick)
    await scheduler.schedule_many(at(clock, minutes=1) for _ in range(50))
    await scheduler.start()
    clock.advance(minutes=1)
    await asyncio.wait_for(first_call.wait(), 5)
    async with db.transaction() as tx:  # the database is busy: no flush can land
        await yield_until(lambda: scheduler.unrecorded >= 5)
        for _ in range(200):
            await asyncio.sleep(0)
        recorded = (await tx.fetchone(
            "SELECT COUNT(*) FROM reminders WHERE status = 'sent'"))[0]
        assert scheduler.unrecorded <= 5 + 2 - 1  # max_unrecorded + max_in_flight - 1
        assert len(calls) == recorded + scheduler.unrecorded < 50  # nothing else started
    await idle(scheduler)
    assert len(calls) == 50
    assert len(await repo.with_status(["sent"], limit=100)) == 50


async def test_stop_writes_every_result(world):
    _, clock, repo, _, make = world
    release, all_started = asyncio.Event(), asyncio.Event()
    started = []

    async def slow(delivery):
        await delivery.sending()
        started.append(delivery.reminder.id)
        if len(started) == 4:
            all_started.set()
        await release.wait()
        return Done.sent(3)

    scheduler = make()
    scheduler.register("test", slow)
    await scheduler.schedule_many(at(clock, minutes=1) for _ in range(4))
    await scheduler.start()
    clock.advance(minutes=1)
    await asyncio.wait_for(all_started.wait(), 5)
    stopping = asyncio.ensure_future(scheduler.stop())
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert scheduler.unrecorded == 0
    assert len(await repo.with_status(["sent"])) == 4
    assert await repo.with_status(["running", "sending", "pending"]) == []


async def test_shutdown_writes_results_of_deliveries_it_waits_for(world):
    """Bot shutdown drains background tasks: the loop is cancelled at once, deliveries are
    waited for, and their results are still written (no spurious 'sending' rows)."""
    _, clock, repo, tasks, make = world
    release, all_started = asyncio.Event(), asyncio.Event()
    started = []

    async def slow(delivery):
        await delivery.sending()
        started.append(delivery.reminder.id)
        if len(started) == 3:
            all_started.set()
        await release.wait()
        return Done.sent(9)

    scheduler = make()
    scheduler.register("test", slow)
    await scheduler.schedule_many(at(clock, minutes=1) for _ in range(3))
    await scheduler.start()
    clock.advance(minutes=1)
    await asyncio.wait_for(all_started.wait(), 5)
    draining = asyncio.ensure_future(tasks.drain(grace=5))
    await yield_until(lambda: not scheduler.running)
    release.set()
    await asyncio.wait_for(draining, 5)
    assert scheduler.unrecorded == 0
    assert len(await repo.with_status(["sent"])) == 3
    assert await repo.with_status(["running", "sending"]) == []
