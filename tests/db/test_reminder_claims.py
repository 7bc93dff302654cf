"""Sharded claims on every backend: owned servers only, leases, and two connections racing.

Two `Database` objects on one database stand for two processes (on PostgreSQL two pools; on
SQLite two connections to one file, which SQLite serialises).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.clock import FakeClock
from bot.db import Database
from bot.db.followups import FollowupRepository
from bot.db.reminders import Claims, Completion, NewReminder, ReminderRepository
from bot.db.reposts import RepostRepository
from bot.db.welcome import DuplicateGroup, WelcomeRepository
from bot.domain.shards import Shards, parse_shards, shard_of

# Guild ids whose shard (of 2) is 0 and 1.
EVEN, ODD = 4 << 22, 5 << 22
LEASE = timedelta(seconds=30)


def claims(ids: tuple[int, ...] | None, count: int = 2, token: str = "") -> Claims:
    return Claims(Shards(ids, count), LEASE, token)


async def add(repo: ReminderRepository, guild_id: int, n: int, clock: FakeClock) -> None:
    await repo.add_many([NewReminder(guild_id, "remind", 9, clock.now() - timedelta(minutes=1),
                                     member_id=7, note=f"n{i}") for i in range(n)], clock.now())


def test_shard_ranges_and_ownership():
    assert parse_shards("0-3", 8).ids == (0, 1, 2, 3)
    assert parse_shards("0,2,5-6", 8).ids == (0, 2, 5, 6)
    for bad in ("8", "3-1", "a", "-1", ""):
        try:
            parse_shards(bad, 8)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
    assert shard_of(EVEN, 2) == 0 and shard_of(ODD, 2) == 1
    half = Shards((1,), 2)
    assert half.owns(ODD) and not half.owns(EVEN) and not half.runs_global_work
    assert half.rest_budget() == 25 and Shards().rest_budget() == 50
    assert Shards((0, 1), 2).everything and Shards().owns(EVEN)


async def test_each_process_claims_only_its_servers(db):
    clock = FakeClock()
    left = ReminderRepository(db, claims((0,)))
    right = ReminderRepository(db, claims((1,)))
    await add(left, EVEN, 3, clock)
    await add(left, ODD, 2, clock)
    assert await left.next_due_at() == clock.now() - timedelta(minutes=1)
    mine = await left.claim_due(clock.now(), 10)
    theirs = await right.claim_due(clock.now(), 10)
    assert {r.guild_id for r in mine} == {EVEN} and len(mine) == 3
    assert {r.guild_id for r in theirs} == {ODD} and len(theirs) == 2
    rows = await db.fetchall("SELECT guild_id, claimed_by, claimed_until FROM reminders")
    assert {(int(r["guild_id"]), r["claimed_by"]) for r in rows} == {
        (EVEN, left.claims.token), (ODD, right.claims.token)}
    # Nothing left for either; neither waits on the other's live claims.
    assert await left.claim_due(clock.now(), 10) == []
    assert await left.next_due_at() is None


async def test_a_dead_processs_claims_come_back_only_after_their_lease(db):
    clock = FakeClock()
    dead = ReminderRepository(db, claims((0,), token="dead"))
    await add(dead, EVEN, 4, clock)
    taken = await dead.claim_due(clock.now(), 10)
    assert await dead.mark_sending(taken[0].id, clock.now(), attempts=taken[0].attempts)
    heir = ReminderRepository(db, claims((0,), token="heir"))
    assert await heir.recover(clock.now()) == (0, 0)  # the lease still holds
    assert await heir.claim_due(clock.now(), 10) == []
    assert await heir.next_due_at() == clock.now() + LEASE  # wakes when it runs out
    clock.advance(LEASE + timedelta(seconds=1))
    again = await heir.claim_due(clock.now(), 10)
    assert sorted(r.id for r in again) == sorted(r.id for r in taken)
    was_sending = next(r for r in again if r.id == taken[0].id)
    assert was_sending.maybe_sent  # looks for its message before sending again
    assert all(r.attempts == 2 for r in again)
    # The dead process's late result changes nothing: its claim is gone.
    late = [Completion(r.id, r.attempts, "sent", clock.now()) for r in taken]
    assert await dead.finish_many(late, clock.now()) == set()
    mine = [Completion(r.id, r.attempts, "sent", clock.now()) for r in again]
    assert await heir.finish_many(mine, clock.now()) == {r.id for r in again}


async def test_a_server_owned_by_nobody_alive_is_not_touched(db):
    clock = FakeClock()
    dead = ReminderRepository(db, claims((1,), token="dead"))
    await add(dead, ODD, 2, clock)
    await dead.claim_due(clock.now(), 10)
    clock.advance(LEASE * 3)
    other = ReminderRepository(db, claims((0,), token="other"))
    assert await other.recover(clock.now()) == (0, 0)
    assert await other.claim_due(clock.now(), 10) == []
    assert await other.next_due_at() is None


async def test_two_processes_claiming_at_once_never_share_a_reminder(db, target):
    clock = FakeClock()
    second = await Database.open(target)
    try:
        a = ReminderRepository(db, claims((0, 1)))  # overlapping: both own everything
        b = ReminderRepository(second, claims((0, 1)))
        await add(a, EVEN, 60, clock)
        await add(a, ODD, 60, clock)
        got_a: list[int] = []
        got_b: list[int] = []

        async def drain(repo: ReminderRepository, into: list[int]) -> None:
            while batch := await repo.claim_due(clock.now(), 7):
                into.extend(r.id for r in batch)

        await asyncio.gather(drain(a, got_a), drain(b, got_b))
        assert not set(got_a) & set(got_b)
        assert len(got_a) + len(got_b) == 120
    finally:
        await second.close()


async def test_subscribers_taken_at_once_are_each_taken_by_one(db, target):
    clock = FakeClock()
    second = await Database.open(target)
    try:
        one, two = FollowupRepository(db), FollowupRepository(second)
        followup = await one.create(guild_id=EVEN, channel_id=2, in_thread=True,
                                    question_message_id=10, op_id=3, asker_id=4, days=7,
                                    now=clock.now())
        for user in range(100, 140):
            await one.subscribe(followup.id, user, clock.now())
        await one.set_prefs(EVEN, 105, clock.now(), notify_dm=True)
        first, other = await asyncio.gather(
            one.take_subscribers(followup.id, EVEN, clock.now()),
            two.take_subscribers(followup.id, EVEN, clock.now()))
        ids = [s.user_id for s in first] + [s.user_id for s in other]
        assert sorted(ids) == list(range(100, 140))
        assert [s.notify_dm for s in first + other if s.user_id == 105] == [True]
    finally:
        await second.close()


async def test_one_repost_record_and_one_group_per_name_however_many_race(db, target):
    clock = FakeClock()
    second = await Database.open(target)
    try:
        reposts = [RepostRepository(db), RepostRepository(second)]
        results = await asyncio.gather(*(repo.begin(
            guild_id=EVEN, member_id=1, moderator_id=2, destination_id=3, mode="bot",
            source="s", key="same-request", head_len=1, tail_len=0, part_count=1,
            now=clock.now()) for repo in reposts * 2))
        assert sorted(created for _, created in results) == [False, False, False, True]
        assert len({record.id for record, _ in results}) == 1
        record = results[0][0]
        await asyncio.gather(*(repo.add_message(record.id, 0, 555) for repo in reposts))
        assert await db.fetchval("SELECT COUNT(*) FROM repost_messages") == 1
        groups = [WelcomeRepository(db), WelcomeRepository(second)]
        outcomes = await asyncio.gather(*(repo.add_group(
            EVEN, "Carers", 9, "for carers", ["carer"], None, clock.now()) for repo in groups),
            return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["DuplicateGroup", "SupportGroup"]
        assert any(isinstance(o, DuplicateGroup) for o in outcomes)
    finally:
        await second.close()


async def test_a_clean_stop_hands_back_only_its_own_unstarted_claims(db):
    clock = FakeClock()
    stopping = ReminderRepository(db, claims((0,), token="stopping"))
    other = ReminderRepository(db, claims((1,), token="other"))
    await add(stopping, EVEN, 3, clock)
    await add(other, ODD, 2, clock)
    mine = await stopping.claim_due(clock.now(), 10)
    await other.claim_due(clock.now(), 10)
    assert await stopping.mark_sending(mine[0].id, clock.now(), attempts=mine[0].attempts)
    assert await stopping.release(clock.now()) == 2  # the 'sending' one waits for recovery
    heir = ReminderRepository(db, claims((0,), token="heir"))
    assert len(await heir.claim_due(clock.now(), 10)) == 2  # no lease to wait for
    assert await db.fetchval(
        "SELECT COUNT(*) FROM reminders WHERE status = 'running' AND claimed_by = 'other'") == 2
