"""Follow-up storage on every backend: once-only transitions, subscribers, preferences."""

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.db.followups import FollowupRepository
from bot.db.reminders import NewReminder, ReminderRepository

GUILD, CHANNEL, OP, ASKER = 1, 2, 3, 4


@pytest.fixture
async def repos(db):
    return db, FollowupRepository(db), ReminderRepository(db), FakeClock()


async def make(repo, clock, channel=CHANNEL):
    followup = await repo.create(guild_id=GUILD, channel_id=channel, in_thread=True,
                                 question_message_id=10, op_id=OP, asker_id=ASKER, days=7,
                                 now=clock.now())
    await repo.set_tag(followup.id, 100 + followup.id)
    return await repo.get(followup.id)


async def test_answered_only_once_and_watch_set_follows(repos):
    _, repo, _, clock = repos
    a = await make(repo, clock)
    b = await make(repo, clock, channel=9)
    assert await repo.open_channel_ids() == {CHANNEL, 9}
    assert await repo.close(a.id, "answered", "answered", clock.now(), answer_message_id=55)
    assert not await repo.close(a.id, "closed", "op_left", clock.now())
    stored = await repo.get(a.id)
    assert stored.status == "answered" and stored.reason == "answered"
    assert await repo.open_channel_ids() == {9}
    assert (await repo.for_tag(b.tag_message_id)).id == b.id


async def test_subscribers_are_taken_once_with_their_dm_preference(repos):
    _, repo, _, clock = repos
    f = await make(repo, clock)
    assert await repo.subscribe(f.id, ASKER, clock.now())
    assert not await repo.subscribe(f.id, ASKER, clock.now())
    assert await repo.subscribe(f.id, 77, clock.now())
    await repo.set_prefs(GUILD, 77, clock.now(), notify_dm=True)
    taken = await repo.take_subscribers(f.id, GUILD, clock.now())
    assert [(s.user_id, s.notify_dm) for s in taken] == [(ASKER, False), (77, True)]
    assert await repo.take_subscribers(f.id, GUILD, clock.now()) == []
    assert await repo.unsubscribe(f.id, 77)


async def test_a_departed_member_is_unsubscribed_in_that_guild_only(repos):
    _, repo, _, clock = repos
    here_a, here_b = await make(repo, clock), await make(repo, clock, channel=9)
    elsewhere = await repo.create(guild_id=GUILD + 1, channel_id=20, in_thread=True,
                                  question_message_id=11, op_id=OP, asker_id=ASKER, days=7,
                                  now=clock.now())
    for followup in (here_a, here_b, elsewhere):
        assert await repo.subscribe(followup.id, 77, clock.now())
        assert await repo.subscribe(followup.id, ASKER, clock.now())
    assert await repo.unsubscribe_member(GUILD, 77) == 2
    assert await repo.unsubscribe_member(GUILD, 77) == 0
    assert await repo.subscriber_ids(here_a.id) == [ASKER]
    assert await repo.subscriber_ids(here_b.id) == [ASKER]
    assert sorted(await repo.subscriber_ids(elsewhere.id)) == sorted([77, ASKER])


async def test_unsubscribing_a_member_reads_only_their_rows(sqlite_db):
    plan = " ".join(str(tuple(r)) for r in await sqlite_db.fetchall(
        "EXPLAIN QUERY PLAN DELETE FROM followup_subscribers WHERE user_id = ? AND EXISTS ("
        "SELECT 1 FROM followups f WHERE f.id = followup_subscribers.followup_id "
        "AND f.guild_id = ?)", (77, GUILD)))
    assert "USING INDEX followup_subscribers_user" in plan and "SCAN" not in plan


async def test_preferences_default_on_and_are_per_guild(repos):
    _, repo, _, clock = repos
    assert (await repo.prefs(GUILD, OP)).pings
    await repo.set_prefs(GUILD, OP, clock.now(), pings=False)
    assert not (await repo.prefs(GUILD, OP)).pings
    assert (await repo.prefs(GUILD + 1, OP)).pings
    after = await repo.set_prefs(GUILD, OP, clock.now(), notify_dm=True)
    assert not after.pings and after.notify_dm
    assert await repo.opted_out(GUILD) == {OP}


async def test_reminder_notes_are_purged_when_finished_and_followup_reminders_cancel(repos):
    _, repo, reminders, clock = repos
    f = await make(repo, clock)
    due = clock.now() + timedelta(days=7)
    checkin = await reminders.add(NewReminder(GUILD, "checkin", CHANNEL, due, member_id=OP,
                                              followup_id=f.id), clock.now())
    note = await reminders.add(NewReminder(GUILD, "remind", CHANNEL, due, member_id=OP,
                                           note="private health detail"), clock.now())
    assert (await reminders.get(note.id)).note == "private health detail"
    cancelled = await reminders.cancel_for_followup(f.id, clock.now(), "answered")
    assert [r.id for r in cancelled] == [checkin.id]
    assert (await reminders.get(checkin.id)).status == "cancelled"
    claimed = await reminders.claim_due(due, 10)
    assert [r.id for r in claimed] == [note.id] and claimed[0].status == "running"
    assert await reminders.mark_sending(note.id, clock.now())
    assert await reminders.finish(note.id, "sent", clock.now(), message_id=5)
    stored = await reminders.get(note.id)
    assert stored.note is None and stored.status == "sent" and stored.sends == 1
    with pytest.raises(ValueError):
        await reminders.finish(note.id, "pending", clock.now())


async def test_recover_puts_claimed_back_and_flags_possible_sends(repos):
    _, _, reminders, clock = repos
    a = await reminders.add(NewReminder(GUILD, "remind", CHANNEL, clock.now()), clock.now())
    b = await reminders.add(NewReminder(GUILD, "remind", CHANNEL, clock.now()), clock.now())
    await reminders.claim_due(clock.now(), 10)
    await reminders.mark_sending(b.id, clock.now())
    assert await reminders.recover(clock.now()) == (1, 1)
    assert not (await reminders.get(a.id)).maybe_sent
    assert (await reminders.get(b.id)).maybe_sent
    assert await reminders.count_pending(GUILD) == 2


async def test_the_open_followup_of_a_question_in_that_guild_only(repos):
    _, repo, _, clock = repos
    assert await repo.open_for_question(GUILD, 10) is None
    first = await make(repo, clock)
    assert await repo.open_for_question(GUILD, 10) == first
    assert await repo.open_for_question(GUILD + 1, 10) is None
    assert await repo.open_for_question(GUILD, 11) is None
    await repo.close(first.id, "answered", "replied", clock.now())
    assert await repo.open_for_question(GUILD, 10) is None
