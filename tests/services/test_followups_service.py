"""The follow-up service without Discord: a temporary SQLite database, a FakeClock, a fake port.

Asks, answers, the one check-in, what happens when the member or the place is gone, opt-outs,
scheduled reminders and departures. Reminders fire by advancing the clock; the real scheduler
delivers them through the service's handlers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.followups import FollowupRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.reminders import ReminderRepository
from bot.domain.followups import QuestionFacts, SeenMessage
from bot.errors import InvalidInput, NotFound
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.followups import AlreadyAsked, FollowupService, ForumPost
from bot.services.followups_ports import NoAccess, Place, PlaceGone, Question
from bot.services.guild_settings import GuildSettingsService
from bot.services.privacy import FOLLOWUP_PINGS, PrivacyService
from bot.services.scheduler import Scheduler
from bot.tasks import BackgroundTasks

GUILD, THREAD, GENERAL = 1, 50, 60
OP, HELPER, MOD, READER, BOT = 100, 200, 300, 400, 999
QUESTION_ID = 5_000


@dataclass
class Post:
    """A message Steward posted through the port."""

    message_id: int
    channel_id: int
    text: str
    pings: list[int]
    kind: str  # "ask", "tag" (check-in or reminder), "notice"
    key: int | None = None  # follow-up id of an ask, reminder id of a tag


@dataclass
class FakeDiscord:
    """The FollowupDiscord port over a little in-memory world."""

    members: set[int] = field(default_factory=lambda: {OP, HELPER, MOD, READER})
    places: dict[int, Place] = field(default_factory=lambda: {
        THREAD: Place(THREAD, is_thread=True), GENERAL: Place(GENERAL)})
    hidden: set[int] = field(default_factory=set)
    history: dict[int, list[SeenMessage]] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)
    dms: list[tuple[int, str]] = field(default_factory=list)
    closed_dms: set[int] = field(default_factory=set)
    reopened: list[int] = field(default_factory=list)
    fail_next_post: Exception | None = None
    next_id: int = 10_000

    @property
    def bot_user_id(self) -> int | None:
        return BOT

    def message(self, channel_id: int, author_id: int, reply_to: int | None = None,
                ) -> SeenMessage:
        """A member's message (snowflakes grow with time)."""
        self.next_id += 1
        seen = SeenMessage(self.next_id, channel_id, author_id, reply_to)
        self.history.setdefault(channel_id, []).append(seen)
        return seen

    def _post(self, channel_id: int, text: str, pings: list[int], kind: str,
              key: int | None) -> int:
        if self.fail_next_post is not None:
            error, self.fail_next_post = self.fail_next_post, None
            raise error
        if channel_id in self.hidden:
            raise NoAccess
        if channel_id not in self.places:
            raise PlaceGone
        posted = self.message(channel_id, BOT)
        self.posts.append(Post(posted.message_id, channel_id, text, pings, kind, key))
        return posted.message_id

    def tags(self, member_id: int = OP) -> list[Post]:
        return [p for p in self.posts if p.kind == "tag" and p.pings == [member_id]]

    def notices(self) -> list[Post]:
        return [p for p in self.posts if p.kind == "notice"]

    async def member_present(self, guild_id: int, user_id: int) -> bool:
        return user_id in self.members

    async def place(self, channel_id: int) -> Place | None:
        if channel_id in self.hidden:
            raise NoAccess
        return self.places.get(channel_id)

    async def history_after(self, channel_id: int, after_id: int) -> AsyncIterator[SeenMessage]:
        for seen in list(self.history.get(channel_id, [])):
            if seen.message_id > after_id:
                yield seen

    async def reply_authors(self, channel_id: int) -> list[int]:
        return [m.author_id for m in self.history.get(channel_id, [])
                if m.author_id != BOT and m.message_id != channel_id]

    async def find_reminder_message(self, channel_id: int, reminder_id: int) -> int | None:
        return next((p.message_id for p in self.posts
                     if p.kind == "tag" and p.key == reminder_id), None)

    async def reopen(self, channel_id: int) -> None:
        self.reopened.append(channel_id)
        self.places[channel_id] = replace(self.places[channel_id], archived=False)

    async def post_ask(self, channel_id: int, text: str, op_id: int, followup_id: int) -> int:
        return self._post(channel_id, text, [op_id], "ask", followup_id)

    async def post_tag(self, channel_id: int, text: str, member_id: int,
                       reminder_id: int) -> int:
        return self._post(channel_id, text, [member_id], "tag", reminder_id)

    async def dm(self, user_id: int, text: str) -> bool:
        if user_id in self.closed_dms:
            return False
        self.dms.append((user_id, text))
        return True

    async def post_notice(self, channel_id: int, text: str, ping_ids: list[int]) -> None:
        self._post(channel_id, text, list(ping_ids), "notice", None)


@dataclass
class World:
    service: FollowupService
    discord: FakeDiscord
    clock: FakeClock
    scheduler: Scheduler
    audit: AuditService
    privacy: PrivacyService
    db: Database

    @property
    def followups(self) -> FollowupRepository:
        return self.service.repository

    @property
    def reminders(self) -> ReminderRepository:
        return self.service.reminders

    async def settle(self) -> None:
        await asyncio.wait_for(self.scheduler.wait_idle(), 5)

    async def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)
        await self.settle()

    async def actions(self, target_id: int) -> list[str]:
        entries = await self.audit.repository.recent(GUILD, target_id=target_id, limit=100)
        return [e.action for e in entries]


@pytest.fixture
async def world(tmp_path):
    db = await Database.open(tmp_path / "followups.db")
    await migrate(db)
    clock = FakeClock()
    tasks = BackgroundTasks()
    settings = GuildSettingsService(GuildSettingsRepository(db), clock)
    await settings.load_all()
    audit = AuditService(AuditRepository(db), clock)
    privacy = PrivacyService(db, clock, b"k" * 32)
    scheduler = Scheduler(ReminderRepository(db), clock, tasks)
    discord = FakeDiscord()
    service = FollowupService(FollowupRepository(db), scheduler, clock, discord=discord,
                              settings=settings, audit=audit, opt_outs=privacy,
                              metrics=Metrics(enabled=False), tasks=tasks)
    await service.load()
    await service.start()
    w = World(service, discord, clock, scheduler, audit, privacy, db)
    await w.settle()
    yield w
    await scheduler.stop()
    await tasks.drain(grace=1)
    await db.close()


def question(channel_id: int = THREAD, author_id: int = HELPER, **kw) -> Question:
    place = Place(channel_id, is_thread=channel_id == THREAD)
    return Question(guild_id=GUILD, message_id=kw.pop("message_id", QUESTION_ID), place=place,
                    author_id=author_id, by_member=kw.pop("by_member", True),
                    content=kw.pop("content", "How did the surgery go?"),
                    jump_url=f"https://discord.com/channels/{GUILD}/{channel_id}/{QUESTION_ID}")


def owned_by(op_id: int = OP, asker: int = HELPER) -> QuestionFacts:
    return QuestionFacts(in_thread=True, thread_owner_id=op_id, replied_author_id=None,
                         candidate_is_app=False, reposted_member_id=None,
                         question_author_id=asker)


async def ask(w: World, **kw):
    return await w.service.ask(asker_id=MOD, question=question(), op_facts=owned_by(), **kw)


async def checkin_of(w: World, followup_id: int):
    return next(r for r in await w.reminders.for_followup(followup_id) if r.kind == "checkin")


# --- asking ---------------------------------------------------------------------------------


async def test_ask_tags_only_the_op_once_subscribes_and_schedules_one_checkin(world):
    w = world
    result = await ask(w)
    [tag] = w.discord.posts
    assert tag.kind == "ask" and tag.pings == [OP] and tag.key == result.followup.id
    assert f"<@{OP}>" in tag.text and f"<@{HELPER}>" in tag.text  # names who asked
    assert "How did the surgery go?" in tag.text
    assert result.tag_jump.endswith(f"/{THREAD}/{tag.message_id}")
    followup = result.followup
    assert followup.status == "open" and followup.tag_message_id == tag.message_id
    assert set(await w.followups.subscriber_ids(followup.id)) == {MOD, HELPER}
    kinds = sorted(r.kind for r in await w.reminders.for_followup(followup.id))
    assert kinds == ["checkin", "expire"]
    assert (await checkin_of(w, followup.id)).due_at == w.clock.now() + timedelta(days=7)
    assert result.checkin_due == w.clock.now() + timedelta(days=7)
    assert w.service.is_watched(THREAD) and THREAD in w.service.watched
    assert "followup.asked" in await w.actions(OP)


async def test_one_followup_per_question_even_when_two_moderators_ask_at_once(world):
    w = world
    results = await asyncio.gather(
        ask(w), w.service.ask(asker_id=MOD + 1, question=question(), op_facts=owned_by()),
        return_exceptions=True)
    done = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AlreadyAsked)]
    assert len(done) == 1 and len(refused) == 1, results
    assert refused[0].followup.id == done[0].followup.id
    assert refused[0].followup.asked_at == w.clock.now()
    assert len(w.discord.posts) == 1  # one tag
    assert len([r for r in await w.reminders.for_followup(done[0].followup.id)
                if r.kind == "checkin"]) == 1
    # Once it is closed, the question may be asked again.
    await w.followups.close(done[0].followup.id, "cancelled", "test", w.clock.now())
    assert (await ask(w)).followup.id != done[0].followup.id


async def test_a_question_by_a_bot_or_webhook_names_the_moderator_as_asker(world):
    w = world
    await w.service.ask(asker_id=MOD, question=question(by_member=False),
                        op_facts=owned_by(), days=3)
    [tag] = w.discord.posts
    assert f"<@{MOD}>" in tag.text and f"<@{HELPER}>" not in tag.text


@pytest.mark.parametrize(("facts", "words"), [
    (QuestionFacts(in_thread=False, thread_owner_id=None, replied_author_id=None,
                   candidate_is_app=False, reposted_member_id=None, question_author_id=HELPER),
     "doesn't reply to anyone"),
    (owned_by(asker=OP), "written by the original poster"),
    (QuestionFacts(in_thread=True, thread_owner_id=777, replied_author_id=None,
                   candidate_is_app=True, reposted_member_id=None, question_author_id=HELPER),
     "no record of whose it is"),
])
async def test_no_op_found_says_why_and_points_to_naming_them(world, facts, words):
    w = world
    with pytest.raises(NotFound) as refused:
        await w.service.ask(asker_id=MOD, question=question(), op_facts=facts)
    assert words in str(refused.value) and "/followup ask" in str(refused.value)
    assert w.discord.posts == [] and await w.followups.list_open(GUILD) == []


async def test_the_member_of_a_repost_is_the_op(world):
    w = world
    facts = QuestionFacts(in_thread=True, thread_owner_id=777, replied_author_id=None,
                          candidate_is_app=True, reposted_member_id=OP,
                          question_author_id=HELPER)
    result = await w.service.ask(asker_id=MOD, question=question(), op_facts=facts)
    assert result.followup.op_id == OP and w.discord.posts[0].pings == [OP]


async def test_refusals_tag_nobody(world):
    w = world
    with pytest.raises(InvalidInput, match="tag myself"):
        await w.service.ask(asker_id=MOD, question=question(), op_id=BOT)
    w.discord.members.discard(READER)
    with pytest.raises(InvalidInput, match="isn't in this server"):
        await w.service.ask(asker_id=MOD, question=question(), op_id=READER)
    w.discord.places[THREAD] = Place(THREAD, is_thread=True, locked=True)  # fresh: locked
    with pytest.raises(InvalidInput, match="locked"):
        await ask(w)
    with pytest.raises(InvalidInput, match="text channels"):
        await w.service.ask(asker_id=MOD, question=replace(
            question(), place=Place(70, postable=False)), op_id=OP)
    with pytest.raises(InvalidInput, match="between 1 and 365"):
        await w.service.ask(asker_id=MOD, question=question(), op_id=OP, days=400)
    assert w.discord.posts == [] and await w.followups.list_open(GUILD) == []


async def test_a_tag_that_could_not_be_posted_leaves_no_followup(world):
    w = world
    w.discord.fail_next_post = RuntimeError("Discord said no")
    with pytest.raises(RuntimeError):
        await ask(w)
    assert await w.followups.list_open(GUILD) == []
    assert await w.reminders.count_pending() == 0 and not w.service.is_watched(THREAD)


# --- answers and the one check-in ------------------------------------------------------------


async def test_the_answer_stands_down_and_subscribers_hear_once(world):
    w = world
    await w.service.set_prefs(GUILD, READER, notify_dm=True)
    result = await ask(w)
    followup = result.followup
    assert (await w.service.subscribe(followup.id, READER, GUILD))[0]
    assert not (await w.service.subscribe(followup.id, READER, GUILD))[0]  # once
    assert await w.service.unsubscribe(followup.id, READER, GUILD)  # pressed again: off
    assert not await w.service.unsubscribe(followup.id, READER, GUILD)
    with pytest.raises(NotFound):
        await w.service.unsubscribe(followup.id, READER, GUILD + 1)
    assert (await w.service.subscribe(followup.id, READER, GUILD))[0]  # and on again
    await w.service.check_answer(w.discord.message(THREAD, HELPER))  # not the OP
    assert (await w.followups.get(followup.id)).status == "open"
    answer = w.discord.message(THREAD, OP)
    await w.service.check_answer(answer)
    stored = await w.followups.get(followup.id)
    assert stored.status == "answered" and stored.answer_message_id == answer.message_id
    [notice] = w.discord.notices()
    assert set(notice.pings) == {MOD, HELPER} and f"/{answer.message_id}" in notice.text
    assert [uid for uid, _ in w.discord.dms] == [READER]
    assert (await checkin_of(w, followup.id)).status == "cancelled"
    assert not w.service.is_watched(THREAD)
    await w.service.check_answer(w.discord.message(THREAD, OP))  # a second message
    await w.advance(days=8)
    assert len(w.discord.notices()) == 1 and len(w.discord.dms) == 1
    assert w.discord.tags() == []
    assert "followup.answered" in await w.actions(OP)


async def test_a_subscriber_with_closed_dms_is_mentioned_in_the_thread_instead(world):
    w = world
    await w.service.set_prefs(GUILD, READER, notify_dm=True)
    w.discord.closed_dms.add(READER)
    followup = (await ask(w)).followup
    await w.service.subscribe(followup.id, READER, GUILD)
    await w.service.check_answer(w.discord.message(THREAD, OP))
    assert w.discord.dms == []
    assert set(w.discord.notices()[0].pings) == {MOD, HELPER, READER}


async def test_in_a_plain_channel_only_a_reply_to_the_tag_or_question_counts(world):
    w = world
    facts = QuestionFacts(in_thread=False, thread_owner_id=None, replied_author_id=OP,
                          candidate_is_app=False, reposted_member_id=None,
                          question_author_id=HELPER)
    result = await w.service.ask(asker_id=MOD, question=question(GENERAL), op_facts=facts)
    await w.service.check_answer(w.discord.message(GENERAL, OP))  # chatter, not a reply
    assert (await w.followups.get(result.followup.id)).status == "open"
    tag_id = result.followup.tag_message_id
    await w.service.check_answer(w.discord.message(GENERAL, OP, reply_to=tag_id))
    assert (await w.followups.get(result.followup.id)).status == "answered"


async def test_no_answer_means_one_checkin_never_two_then_the_watch_expires(world):
    w = world
    followup = (await ask(w)).followup
    await w.advance(days=6, hours=23)
    assert w.discord.tags() == []
    await w.advance(hours=1)
    [checkin] = w.discord.tags()
    reminder = await checkin_of(w, followup.id)
    assert checkin.key == reminder.id and "gentle note" in checkin.text
    assert "Sorry this comes late" not in checkin.text
    stored = await w.reminders.get(reminder.id)
    assert stored.status == "sent" and stored.message_id == checkin.message_id
    await w.advance(days=40)
    assert len(w.discord.tags()) == 1
    closed = await w.followups.get(followup.id)
    assert closed.status == "closed" and closed.reason == "expired"


async def test_an_answer_given_while_offline_is_found_in_history_at_the_checkin(world):
    w = world
    followup = (await ask(w)).followup
    w.discord.message(THREAD, OP)  # never seen live
    await w.advance(days=7)
    assert w.discord.tags() == []
    assert (await w.followups.get(followup.id)).status == "answered"
    assert len(w.discord.notices()) == 1
    assert (await checkin_of(w, followup.id)).status == "stood_down"


@pytest.mark.parametrize(("change", "reason"), [
    ("op_left", "op_left"), ("deleted", "thread_deleted"), ("locked", "locked")])
async def test_op_gone_or_place_gone_or_locked_closes_without_posting(world, change, reason):
    w = world
    followup = (await ask(w)).followup
    if change == "op_left":
        w.discord.members.discard(OP)
    elif change == "deleted":
        del w.discord.places[THREAD]
    else:
        w.discord.places[THREAD] = Place(THREAD, is_thread=True, locked=True, archived=True)
    await w.advance(days=7)
    assert w.discord.tags() == [] and w.discord.reopened == []
    stored = await w.followups.get(followup.id)
    assert stored.status == "closed" and stored.reason == reason
    checkin = await checkin_of(w, followup.id)
    assert checkin.status == "cancelled" and checkin.reason == reason
    assert "followup.closed" in await w.actions(OP)


async def test_an_archived_thread_is_reopened_for_the_one_checkin(world):
    w = world
    await ask(w)
    w.discord.places[THREAD] = Place(THREAD, is_thread=True, archived=True)
    await w.advance(days=7)
    assert w.discord.reopened == [THREAD] and len(w.discord.tags()) == 1


async def test_no_access_fails_the_checkin_for_moderators_to_fix(world):
    w = world
    followup = (await ask(w)).followup
    w.discord.hidden.add(THREAD)
    await w.advance(days=7)
    stored = await checkin_of(w, followup.id)
    assert stored.status == "failed" and stored.reason == "no_access"
    assert "reminder.failed" in await w.actions(OP)
    [finding] = await w.service.probe(GUILD)
    assert finding.code == "followups.failed" and f"<#{THREAD}>" in finding.message


# --- opting out -----------------------------------------------------------------------------


async def test_an_opted_out_member_is_never_tagged(world):
    w = world
    await w.service.set_prefs(GUILD, OP, pings=False)
    with pytest.raises(InvalidInput, match="asked not to be tagged"):
        await ask(w)
    with pytest.raises(InvalidInput, match="asked not to be tagged"):
        await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                               place=Place(GENERAL), due=w.clock.now(), note=None)
    assert w.discord.posts == []
    assert "followup.opted_out" in await w.actions(OP)


async def test_opting_out_after_the_ask_stands_the_checkin_down(world):
    w = world
    followup = (await ask(w)).followup
    reminder = await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                                      place=Place(GENERAL), due=w.clock.now()
                                      + timedelta(days=2), note="thinking of you")
    assert await w.service.stop_button(GUILD, reminder.id, HELPER) == (False, OP)
    assert await w.service.stop_button(GUILD, reminder.id, OP) == (True, OP)
    await w.advance(days=8)
    assert w.discord.tags() == []
    assert (await w.reminders.get(reminder.id)).reason == "opted_out"
    stored = await w.followups.get(followup.id)
    assert stored.status == "closed" and stored.reason == "opted_out"


async def test_a_hashed_opt_out_kept_after_a_forget_still_holds_until_opted_back_in(world):
    w = world
    await w.privacy.remember_opt_out(GUILD, OP, FOLLOWUP_PINGS)
    assert await w.service.pings_off(GUILD, OP)
    with pytest.raises(InvalidInput, match="asked not to be tagged"):
        await ask(w)
    await w.service.set_prefs(GUILD, OP, pings=True)
    assert not await w.service.pings_off(GUILD, OP)
    assert "followup.opted_in" in await w.actions(OP)
    await ask(w)
    assert len(w.discord.posts) == 1


# --- scheduled reminders --------------------------------------------------------------------


async def test_remind_cancel_and_snooze(world):
    w = world
    now = w.clock.now()
    first = await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                                   place=Place(GENERAL), due=now + timedelta(hours=2),
                                   note="how are you feeling?")
    second = await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                                    place=Place(GENERAL), due=now + timedelta(hours=3),
                                    note=None)
    assert [r.id for r in await w.service.pending(GUILD)] == [first.id, second.id]
    await w.service.cancel(GUILD, first.id, MOD)
    with pytest.raises(NotFound, match="isn't pending"):
        await w.service.cancel(GUILD, first.id, MOD)
    with pytest.raises(NotFound, match="no reminder"):
        await w.service.cancel(GUILD + 1, second.id, MOD)
    moved = await w.service.snooze(GUILD, second.id, now + timedelta(days=1), MOD)
    assert moved.due_at == now + timedelta(days=1)
    await w.advance(hours=5)
    assert w.discord.tags() == []
    await w.advance(hours=20)
    [sent] = w.discord.tags()
    assert sent.channel_id == GENERAL and f"<@{MOD}> asked me" in sent.text
    assert (await w.reminders.get(first.id)).status == "cancelled"
    assert (await w.reminders.get(second.id)).status == "sent"
    assert {"reminder.scheduled", "reminder.cancelled", "reminder.snoozed",
            "reminder.fired"} <= set(await w.actions(OP))


async def test_remind_refuses_a_locked_thread_a_long_note_and_an_absent_member(world):
    w = world
    due = w.clock.now() + timedelta(hours=1)
    with pytest.raises(InvalidInput, match="locked"):
        await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP, due=due,
                               place=Place(THREAD, is_thread=True, locked=True), note=None)
    with pytest.raises(InvalidInput, match="1500"):
        await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP, due=due,
                               place=Place(GENERAL), note="x" * 1501)
    w.discord.members.discard(READER)
    with pytest.raises(InvalidInput, match="isn't in this server"):
        await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=READER, due=due,
                               place=Place(GENERAL), note=None)
    assert await w.reminders.count_pending() == 0


async def test_two_reminders_due_at_the_same_second_both_arrive(world):
    w = world
    due = w.clock.now() + timedelta(minutes=45)
    for member in (OP, READER):
        await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=member,
                               place=Place(GENERAL), due=due, note=None)
    await w.advance(minutes=45)
    assert len(w.discord.tags(OP)) == 1 and len(w.discord.tags(READER)) == 1


async def test_reminders_due_while_offline_say_they_are_late(world):
    w = world
    await w.scheduler.stop()
    await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                           place=Place(GENERAL), due=w.clock.now() + timedelta(minutes=5),
                           note=None)
    w.clock.advance(hours=3)
    await w.service.start()
    await w.settle()
    [sent] = w.discord.tags()
    assert "Sorry this comes late" in sent.text


async def test_a_send_that_may_have_happened_is_not_repeated(world):
    w = world
    reminder = await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                                      place=Place(GENERAL),
                                      due=w.clock.now() + timedelta(hours=1), note=None)
    await w.advance(hours=1)
    [sent] = w.discord.tags()
    # What a crash right after Discord accepted the message leaves behind: 'sending'.
    await w.scheduler.stop()
    await w.db.execute("UPDATE reminders SET status = 'sending', message_id = NULL WHERE id = ?",
                       (reminder.id,))
    await w.service.start()
    await w.settle()
    assert w.discord.tags() == [sent]
    stored = await w.reminders.get(reminder.id)
    assert stored.status == "sent" and stored.message_id == sent.message_id
    assert stored.maybe_sent and stored.sends == 1  # looked first, did not send again


async def test_an_automatic_checkin_only_when_others_replied_and_the_op_did_not(world):
    w = world
    posts = {}
    for name, thread_id in (("quiet", 81), ("chatty", 82), ("replied", 83)):
        w.discord.places[thread_id] = Place(thread_id, is_thread=True)
        posts[name] = ForumPost(GUILD, thread_id, forum_id=90, author_id=OP)
        assert w.service.autocheck_days(posts[name]) is None  # off until configured
        await w.service.schedule_autocheck(posts[name], 5)
        await w.service.schedule_autocheck(posts[name], 5)  # once per post
        assert len(await w.reminders.autochecks_for(thread_id)) == 1
    w.discord.message(82, HELPER)
    w.discord.message(82, OP)
    w.discord.message(83, HELPER)
    await w.advance(days=5)
    [sent] = w.discord.tags()
    assert sent.channel_id == 83 and "people replied to your post" in sent.text
    reasons = {t: (await w.reminders.autochecks_for(t))[0].reason for t in (81, 82)}
    assert reasons == {81: "no_replies", 82: "op_posted"}


# --- departures -----------------------------------------------------------------------------


async def test_a_member_who_leaves_is_never_tagged_and_everything_is_audited(world):
    w = world
    followup = (await ask(w)).followup
    reminder = await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                                      place=Place(GENERAL), due=w.clock.now()
                                      + timedelta(days=2), note="thinking of you")
    other = await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=READER,
                                   place=Place(GENERAL), due=w.clock.now()
                                   + timedelta(days=2), note=None)
    w.discord.members.discard(OP)
    assert await w.service.member_left(GUILD, OP) == 2
    stored = await w.followups.get(followup.id)
    assert stored.status == "closed" and stored.reason == "op_left"
    cancelled = await w.reminders.get(reminder.id)
    assert cancelled.status == "cancelled" and cancelled.note is None
    assert (await checkin_of(w, followup.id)).reason == "op_left"
    assert (await w.reminders.get(other.id)).status == "pending"  # only theirs
    assert not w.service.is_watched(THREAD)
    entries = await w.audit.repository.recent(GUILD, target_id=OP, limit=100)
    [closed] = [e for e in entries if e.action == "followup.closed"]
    assert closed.details["reason"] == "the member has left the server"
    assert (await checkin_of(w, followup.id)).id in closed.details["cancelled"]
    assert "reminder.cancelled" in [e.action for e in entries]
    await w.advance(days=8)
    assert w.discord.tags(OP) == [] and len(w.discord.tags(READER)) == 1
    assert await w.service.member_left(GUILD, OP) == 0  # nothing left to close


async def test_a_subscriber_who_leaves_is_unsubscribed_and_not_pinged(world):
    w = world
    followup = (await ask(w)).followup
    await w.service.subscribe(followup.id, READER, GUILD)
    assert await w.service.member_left(GUILD, READER) == 0
    assert READER not in await w.followups.subscriber_ids(followup.id)
    assert "followup.unsubscribed_left" in await w.actions(READER)
    assert (await w.followups.get(followup.id)).status == "open"  # the OP is still here
    await w.service.check_answer(w.discord.message(THREAD, OP))
    assert set(w.discord.notices()[0].pings) == {MOD, HELPER}


# --- guild scoping: an id from another server finds nothing --------------------------------


async def test_ids_from_another_server_find_nothing(world):
    w = world
    other = GUILD + 1
    reminder = await w.service.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                                      place=Place(GENERAL),
                                      due=w.clock.now() + timedelta(hours=2), note=None)
    followup = (await ask(w)).followup
    with pytest.raises(NotFound):
        await w.service.cancel(other, reminder.id, MOD)
    with pytest.raises(NotFound):
        await w.service.stop_button(other, reminder.id, OP)
    with pytest.raises(NotFound):
        await w.service.subscribe(followup.id, READER, other)
    # The storage refuses too, whoever asks it.
    assert not await w.reminders.cancel(reminder.id, w.clock.now(), guild_id=other)
    assert (await w.reminders.get(reminder.id)).status == "pending"
    assert (await w.followups.prefs(GUILD, OP)).pings  # the stop button opted nobody out
    assert READER not in await w.followups.subscriber_ids(followup.id)


async def test_templates_that_fail_at_send_time_tag_with_the_defaults_and_say_so(world):
    """Templates that slipped past validation (an older version, a hand-edited database)."""
    w = world
    config = w.service.settings.get(GUILD)
    config.followup = config.followup.model_copy(update={
        "ask_template": "Hi {x}", "checkin_template": "Still {oops}?"})
    result = await ask(w)
    [tag] = w.discord.posts
    assert tag.pings == [OP] and tag.text.startswith(f"Hi <@{OP}>")
    assert f"<@{HELPER}>" in tag.text and "How did the surgery go?" in tag.text
    await w.advance(days=7)
    [checkin] = w.discord.tags()
    assert "gentle note" in checkin.text and "Still" not in checkin.text
    entries = await w.audit.repository.recent(GUILD, action_prefix="template.", limit=10)
    assert sorted((e.actor_id, e.target_id, e.details["setting"]) for e in entries) == [
        (None, OP, "followup.ask_template"), (None, OP, "followup.checkin_template")]
    assert {e.details.get("tag") for e in entries} >= {result.tag_jump}
