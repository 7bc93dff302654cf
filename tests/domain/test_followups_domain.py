"""Pure follow-up rules: finding the OP, recognising the answer, planning the check-in."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import followups as fu
from bot.domain.followups import (
    CheckinAction,
    CheckinFacts,
    CloseReason,
    NoOpReason,
    QuestionFacts,
    SeenMessage,
    Watch,
)

OP, ASKER, OTHER, BOT = 100, 200, 300, 999


def q(**kw):
    base = dict(in_thread=True, thread_owner_id=OP, replied_author_id=None,
                candidate_is_app=False, reposted_member_id=None, question_author_id=OTHER)
    base.update(kw)
    return QuestionFacts(**base)


def test_op_is_the_thread_owner_in_a_forum_post():
    assert fu.find_op(q()).op_id == OP


def test_op_in_a_plain_channel_is_the_replied_to_author():
    facts = q(in_thread=False, thread_owner_id=None, replied_author_id=OP)
    assert fu.find_op(facts).op_id == OP


def test_no_reply_in_a_plain_channel_means_no_op():
    finding = fu.find_op(q(in_thread=False, thread_owner_id=None))
    assert finding.op_id is None and finding.reason is NoOpReason.NO_REPLY
    assert finding.reason in fu.NO_OP_TEXT


def test_a_post_published_by_steward_belongs_to_the_member_in_the_repost_records():
    facts = q(thread_owner_id=BOT, candidate_is_app=True, reposted_member_id=OP)
    assert fu.find_op(facts).op_id == OP
    unknown = fu.find_op(q(thread_owner_id=BOT, candidate_is_app=True))
    assert unknown.op_id is None and unknown.reason is NoOpReason.UNKNOWN_REPOST


def test_a_question_by_the_op_themselves_has_no_one_to_ask():
    assert fu.find_op(q(question_author_id=OP)).reason is NoOpReason.SAME_PERSON
    assert fu.find_op(q(thread_owner_id=None)).reason is NoOpReason.NO_OWNER


THREAD_WATCH = Watch(op_id=OP, channel_id=5, in_thread=True, tag_message_id=1000,
                     question_message_id=900)
CHANNEL_WATCH = Watch(op_id=OP, channel_id=5, in_thread=False, tag_message_id=1000,
                      question_message_id=900)


def test_any_op_message_in_the_thread_after_the_tag_is_an_answer():
    assert fu.is_answer(THREAD_WATCH, SeenMessage(1001, 5, OP))
    assert not fu.is_answer(THREAD_WATCH, SeenMessage(999, 5, OP))  # before the ask
    assert not fu.is_answer(THREAD_WATCH, SeenMessage(1001, 5, OTHER))
    assert not fu.is_answer(THREAD_WATCH, SeenMessage(1001, 6, OP))  # another channel


def test_in_a_plain_channel_only_a_reply_to_the_tag_or_question_counts():
    assert fu.is_answer(CHANNEL_WATCH, SeenMessage(1001, 5, OP, reply_to_id=1000))
    assert fu.is_answer(CHANNEL_WATCH, SeenMessage(1001, 5, OP, reply_to_id=900))
    assert not fu.is_answer(CHANNEL_WATCH, SeenMessage(1001, 5, OP))  # chatter
    assert not fu.is_answer(CHANNEL_WATCH, SeenMessage(1001, 5, OP, reply_to_id=42))


def test_first_answer_is_the_earliest():
    messages = [SeenMessage(1005, 5, OP), SeenMessage(1002, 5, OTHER), SeenMessage(1003, 5, OP)]
    assert fu.first_answer(THREAD_WATCH, messages) == SeenMessage(1003, 5, OP)
    assert fu.first_answer(THREAD_WATCH, []) is None


@given(st.lists(st.tuples(st.integers(1, 3000), st.sampled_from([OP, OTHER, ASKER]),
                          st.sampled_from([None, 900, 1000, 7]))))
def test_an_answer_always_comes_from_the_op_after_the_tag(rows):
    messages = [SeenMessage(mid, 5, author, reply) for mid, author, reply in rows]
    for watch in (THREAD_WATCH, CHANNEL_WATCH):
        found = fu.first_answer(watch, messages)
        if found is not None:
            assert found.author_id == OP and found.message_id > watch.tag_message_id


def test_checkin_due_and_lateness():
    asked = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert fu.checkin_due(asked, 7) == asked + timedelta(days=7)
    with pytest.raises(ValueError):
        fu.checkin_due(asked, 0)
    assert not fu.is_late(asked, asked + timedelta(minutes=10))
    assert fu.is_late(asked, asked + timedelta(minutes=10, seconds=1))
    assert fu.lateness(asked, asked - timedelta(minutes=1)) == timedelta()


def test_retry_delay_backs_off_and_is_capped():
    delays = [fu.retry_delay(n) for n in range(1, 12)]
    assert delays[0] == timedelta(seconds=30)
    assert all(a <= b for a, b in zip(delays, delays[1:], strict=False))
    assert delays[-1] == timedelta(minutes=30)


OPEN = CheckinFacts(still_open=True, opted_out=False, op_in_server=True, channel_exists=True,
                    locked=False, archived=False, answered=False)


def plan(**kw):
    return fu.plan_checkin(CheckinFacts(**{f: kw.get(f, getattr(OPEN, f))
                                           for f in CheckinFacts.__slots__}))


def test_checkin_plan():
    assert plan().action is CheckinAction.SEND and not plan().reopen_archived
    assert plan(archived=True).reopen_archived
    assert plan(answered=True) == fu.CheckinPlan(CheckinAction.STAND_DOWN, CloseReason.ANSWERED)
    assert plan(op_in_server=False).reason is CloseReason.OP_LEFT
    assert plan(channel_exists=False).reason is CloseReason.THREAD_DELETED
    assert plan(locked=True, archived=True).reason is CloseReason.LOCKED
    assert plan(opted_out=True).reason is CloseReason.OPTED_OUT
    assert plan(still_open=False).action is CheckinAction.STAND_DOWN


@given(st.lists(st.booleans(), min_size=7, max_size=7))
def test_never_send_into_a_locked_thread_or_to_someone_gone_or_opted_out(flags):
    facts = CheckinFacts(*flags)
    result = fu.plan_checkin(facts)
    if result.action is CheckinAction.SEND:
        assert facts.still_open and facts.channel_exists and facts.op_in_server
        assert not (facts.locked or facts.opted_out or facts.answered)


def test_autocheck_needed():
    assert not fu.autocheck_needed(OP, [])
    assert not fu.autocheck_needed(OP, [OP, OP])
    assert fu.autocheck_needed(OP, [OTHER])
    assert fu.autocheck_needed(OP, [OP, OTHER])
    assert not fu.autocheck_needed(OP, [OTHER, OP])
    assert not fu.autocheck_needed(OP, [OTHER, OP, OTHER])


def test_wording_tags_only_by_id_and_defuses_mass_mentions():
    text, failed = fu.render_ask(None, op_id=OP, asker_id=ASKER,
                                 question="how did it go @everyone?",
                                 jump="https://discord.com/channels/1/2/3")
    assert text.startswith(f"Hi <@{OP}>") and f"<@{ASKER}>" in text and not failed
    assert "@everyone" not in text and "Jump to the question" in text
    long, _ = fu.render_ask(None, op_id=OP, asker_id=ASKER, question="x " * 500, jump="j")
    assert len(long) < 600
    checkin, _ = fu.render_checkin(None, op_id=OP, jump="j", days=7, late=True)
    assert "7 days" in checkin and fu.LATE_NOTE in checkin
    custom = fu.render_checkin("Hey {op}: {jump}", op_id=OP, jump="j", days=7)
    assert custom == (f"Hey <@{OP}>: j", False)
    broken, failed = fu.render_checkin("Hey {x}", op_id=OP, jump="j", days=7)
    assert failed and "7 days" in broken and "Hey" not in broken
    broken, failed = fu.render_ask("Hi {nope}", op_id=OP, asker_id=ASKER, question="q",
                                   jump="j")
    assert failed and broken.startswith(f"Hi <@{OP}>")
    assert fu.render_answered(subscriber_ids=[1, 2], op_id=OP, jump="j").startswith("<@1> <@2>")
    assert "note" not in fu.render_reminder(member_id=OP, by_id=ASKER, note=None)
    assert "> take care" in fu.render_reminder(member_id=OP, by_id=ASKER, note="take care")


# --- reminders and automatic check-ins -------------------------------------------------------


def test_a_reminder_is_sent_and_reopens_an_archived_thread():
    plan = fu.plan_reminder(fu.ReminderFacts(opted_out=False, archived=True))
    assert plan.action is CheckinAction.SEND and plan.reopen_archived
    assert not fu.plan_reminder(fu.ReminderFacts(opted_out=False)).reopen_archived


@pytest.mark.parametrize(("facts", "action", "reason"), [
    (fu.ReminderFacts(opted_out=True, channel_exists=False), CheckinAction.STAND_DOWN,
     CloseReason.OPTED_OUT),  # the wish comes first, whatever else is true
    (fu.ReminderFacts(opted_out=False, channel_exists=False), CheckinAction.CLOSE,
     CloseReason.THREAD_DELETED),
    (fu.ReminderFacts(opted_out=False, locked=True, member_in_server=False),
     CheckinAction.CLOSE, CloseReason.LOCKED),
    (fu.ReminderFacts(opted_out=False, member_in_server=False), CheckinAction.CLOSE,
     CloseReason.OP_LEFT),
])
def test_a_reminder_stands_down_or_closes_with_the_reason(facts, action, reason):
    plan = fu.plan_reminder(facts)
    assert (plan.action, plan.reason) == (action, reason)


def test_an_autocheck_is_sent_when_others_replied_and_the_op_did_not():
    plan = fu.plan_autocheck(fu.AutocheckFacts(op_id=OP, reply_authors=(OTHER, ASKER),
                                               archived=True))
    assert plan.action is CheckinAction.SEND and plan.reopen_archived


@pytest.mark.parametrize(("facts", "action", "reason"), [
    (fu.AutocheckFacts(op_id=OP, channel_exists=False), CheckinAction.CLOSE,
     CloseReason.THREAD_DELETED),
    (fu.AutocheckFacts(op_id=OP, locked=True, reply_authors=(OTHER,)), CheckinAction.CLOSE,
     CloseReason.LOCKED),
    (fu.AutocheckFacts(op_id=OP), CheckinAction.STAND_DOWN, fu.NO_REPLIES),
    (fu.AutocheckFacts(op_id=OP, reply_authors=(OTHER, OP)), CheckinAction.STAND_DOWN,
     fu.OP_POSTED),
    (fu.AutocheckFacts(op_id=OP, reply_authors=(OTHER,), opted_out=True,
                       op_in_server=False), CheckinAction.STAND_DOWN, CloseReason.OPTED_OUT),
    (fu.AutocheckFacts(op_id=OP, reply_authors=(OTHER,), op_in_server=False),
     CheckinAction.CLOSE, CloseReason.OP_LEFT),
])
def test_an_autocheck_stands_down_or_closes_with_the_reason(facts, action, reason):
    plan = fu.plan_autocheck(facts)
    assert (plan.action, plan.reason) == (action, reason)
