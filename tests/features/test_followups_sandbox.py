"""Follow-ups end to end: the real StewardBot against the Discord sandbox, with a FakeClock.

Reminders fire by advancing the clock; nothing waits in real time except discord.py's own
one-second pause before retrying a 5xx.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import StewardBot
from bot.clock import FakeClock
from bot.db.followups import FollowupRepository
from bot.db.reminders import ReminderRepository
from bot.domain.audit import title_of
from bot.domain.durations import ACCEPTED_FORMS
from bot.services.followups import FollowupService
from bot.services.scheduler import Scheduler
from sandbox import Sandbox
from sandbox.world import StewardHarness
from tests.waits import eventually

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

MESSAGES = "POST /channels/{channel_id}/messages"
_names = count()


def fresh(prefix: str = "member") -> str:
    return f"{prefix}{next(_names)}"


class Env(StewardHarness):
    """The sandbox, a support server, and Steward running on it (restartable)."""

    def __init__(self, sb: Sandbox, clock: FakeClock, database: Path) -> None:
        super().__init__(sb, clock, database, on_start=self._scheduler_running)
        self.guild = sb.add_guild("Hope Together", "owner")
        self.owner = sb.member(self.guild, "owner")
        self.general = sb.add_text_channel(self.guild, "general")
        self.mod_log = sb.add_text_channel(self.guild, "mod-log")
        self.forum = sb.add_forum_channel(self.guild, "colorectal-cancer")
        self.mod_role = sb.add_role(self.guild, "Moderators", ["manage_messages"])
        self.moderator = sb.add_member(self.guild, "mod", roles=[self.mod_role])
        self.helper = sb.add_member(self.guild, "helper")

    async def _scheduler_running(self, bot: StewardBot) -> None:
        await asyncio.wait_for(self._until_scheduler_runs(), 5)

    async def _until_scheduler_runs(self) -> None:
        while not self.scheduler.running:  # noqa: ASYNC110 - started by on_ready
            await asyncio.sleep(0.01)

    @property
    def service(self) -> FollowupService:
        return self.bot.services.followups

    @property
    def scheduler(self) -> Scheduler:
        return self.bot.services.scheduler

    @property
    def followups(self) -> FollowupRepository:
        return self.service.repository

    @property
    def reminders(self) -> ReminderRepository:
        return self.service.reminders

    async def settle(self) -> None:
        """Wait until the scheduler sleeps and the bot made no request for a moment."""
        await asyncio.wait_for(self.scheduler.wait_idle(), 10)
        await self.sb.idle()
        await asyncio.wait_for(self.scheduler.wait_idle(), 10)

    async def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)
        await self.settle()

    def member(self) -> object:
        return self.sb.add_member(self.guild, fresh())


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    clock = FakeClock()
    database = tmp_path_factory.mktemp("followups") / "steward.sqlite3"
    async with Sandbox(clock) as sb, Env(sb, clock, database) as e:
        await (await sb.slash(e.guild, e.owner, "steward settings", mod_log=e.mod_log)).done()
        yield e


@pytest.fixture(autouse=True)
def _every_message_pings_only_whom_it_means(env):
    """After each test: every message the bot sent set allowed_mentions and pinged no role."""
    env.sb.reset()
    yield
    for request in env.sb.requests:
        if request.method == "POST" and (request.route == MESSAGES
                                         or "/webhooks/" in request.path
                                         or request.route.endswith("/callback")):
            if request.json is None and not request.files:
                continue
            mentions = request.allowed_mentions
            body = request.json or {}
            has_text = bool(body.get("content") or (body.get("data") or {}).get("content")
                            or body.get("embeds"))
            if not has_text:
                continue
            assert mentions is not None, f"no allowed_mentions on {request.path}"
            assert "everyone" not in (mentions.get("parse") or [])
            assert "roles" not in (mentions.get("parse") or [])
            assert not mentions.get("roles")
    for channel in env.guild.channels.values():
        for message in env.sb.messages(channel):
            if message.author.id == env.sb.bot_user.id:
                pinged = env.sb.mentions_pinged(message)
                assert "everyone" not in pinged and "here" not in pinged
                assert not any(r in pinged for r in env.guild.roles)


async def forum_question(env, op=None, asker=None, text="How did the surgery go?"):
    op = op or env.member()
    asker = asker or env.helper
    thread, starter = await env.sb.forum_post(env.forum, op, fresh("post"), "My story")
    question = await env.sb.post(thread, asker, text)
    return op, thread, question


async def ask(env, question, by=None):
    r = await env.sb.context_menu(env.guild, by or env.moderator, "Ask original poster",
                                  target=question)
    await r.done()
    return r


async def tag_in(env, channel, op):
    return await env.sb.wait_for_message(
        channel, lambda m: f"<@{op.id}>" in m.content and "asked you something" in m.content)


def bot_messages(env, channel):
    return [m for m in env.sb.messages(channel) if m.author.id == env.sb.bot_user.id]


def checkins(env, channel, op):
    return [m for m in bot_messages(env, channel)
            if f"<@{op.id}>" in m.content and "gentle note" in m.content]


def modlog_texts(env):
    out = []
    for m in bot_messages(env, env.mod_log):
        for embed in m.embeds:
            out.append(f"{embed.get('title')} {embed.get('description')}")
    return out


# --- asking ---------------------------------------------------------------------------------


async def test_context_menu_in_a_forum_post_tags_only_the_op(env):
    op, thread, question = await forum_question(env)
    r = await ask(env, question)
    assert r.ephemeral and "I tagged" in r.content and f"<@{op.id}>" in r.content
    tag = await tag_in(env, thread, op)
    assert env.sb.mentions_pinged(tag) == {op.id}
    assert f"<@{env.helper.id}>" in tag.content  # names who asked the question
    assert "How did the surgery go?" in tag.content
    assert f"/{thread.id}/{question.id})" in tag.content  # "Jump to the question"
    assert [b["label"] for b in tag.buttons()] == ["Notify me when they reply"]
    # The moderator and the question's author are subscribed automatically.
    followup = (await env.followups.open_in_channel(thread.id))[0]
    assert await env.followups.subscriber_ids(followup.id) == [env.moderator.id, env.helper.id]
    assert any(title_of("followup.asked") in t for t in modlog_texts(env))


async def test_context_menu_in_a_reply_chain_tags_the_replied_author(env):
    op = env.member()
    original = await env.sb.post(env.general, op, "We start chemo next week.")
    question = await env.sb.post(env.general, env.helper, "How did the first round go?",
                                 reply_to=original)
    r = await ask(env, question)
    assert "I tagged" in r.content, r.content
    tag = await tag_in(env, env.general, op)
    assert env.sb.mentions_pinged(tag) == {op.id}


async def test_no_op_found_says_so_and_points_to_the_slash_command(env):
    lonely = await env.sb.post(env.general, env.helper, "Has anyone tried acupuncture?")
    r = await ask(env, lonely)
    assert r.ephemeral and "/followup ask" in r.content
    assert "original poster" in r.content
    assert [m for m in bot_messages(env, env.general) if m.id > lonely.id] == []


async def test_non_moderators_are_refused(env):
    op, thread, question = await forum_question(env)
    r = await ask(env, question, by=env.helper)
    assert r.ephemeral and "Only moderators" in r.content
    r = await env.sb.slash(env.guild, env.helper, "followup list")
    await r.done()
    assert "Only moderators" in r.content
    assert await env.followups.open_in_channel(thread.id) == []


async def test_slash_ask_with_explicit_op_and_days(env):
    op = env.member()
    question = await env.sb.post(env.general, env.helper, "Any news from the scan?")
    r = await env.sb.slash(env.guild, env.moderator, "followup ask", question=question.jump_url,
                           op=op, days=3)
    await r.done()
    assert "I tagged" in r.content, r.content
    followup = [f for f in await env.followups.open_in_channel(env.general.id)
                if f.op_id == op.id][0]
    assert followup.days == 3
    r = await env.sb.slash(env.guild, env.moderator, "followup ask", question="not a link")
    await r.done()
    assert "message link" in r.content


# --- answers and check-ins ------------------------------------------------------------------


async def test_op_answers_before_the_checkin_subscribers_pinged_once_checkin_cancelled(env):
    op, thread, question = await forum_question(env)
    await ask(env, question)
    tag = await tag_in(env, thread, op)
    reader = env.member()
    click = await env.sb.click(tag, label="Notify me when they reply", by=reader)
    await click.done()
    assert "let you know" in click.content
    again = await env.sb.click(tag, label="Notify me when they reply", by=reader)
    await again.done()
    assert "off the list" in again.content  # pressing again unsubscribes (as the guide says)
    assert reader.id not in await env.followups.subscriber_ids(
        (await env.followups.for_tag(tag.id)).id)
    back = await env.sb.click(tag, label="Notify me when they reply", by=reader)
    await back.done()
    assert "let you know" in back.content
    answer = await env.sb.post(thread, op, "Thank you, it went well!")
    notice = await env.sb.wait_for_message(thread, lambda m: "replied to the question" in m.content)
    assert env.sb.mentions_pinged(notice) == {env.moderator.id, env.helper.id, reader.id}
    assert f"/{answer.id}" in notice.content
    await env.sb.post(thread, op, "And recovery is going fine.")
    await env.advance(days=8)
    assert [m for m in bot_messages(env, thread) if "replied to the question" in m.content] == [
        notice]
    assert checkins(env, thread, op) == []
    followup = (await env.followups.for_tag(tag.id))
    assert followup.status == "answered" and followup.answer_message_id == answer.id
    assert thread.id not in env.service.watched
    assert any(title_of("followup.answered") in t for t in modlog_texts(env))


async def test_in_a_plain_channel_only_a_reply_counts_as_the_answer(env):
    op = env.member()
    original = await env.sb.post(env.general, op, "Starting radiotherapy.")
    question = await env.sb.post(env.general, env.helper, "How is it going?", reply_to=original)
    await ask(env, question)
    tag = await tag_in(env, env.general, op)
    await env.sb.post(env.general, op, "unrelated chatter about the weather")
    await env.sb.idle()
    assert (await env.followups.for_tag(tag.id)).status == "open"
    await env.sb.post(env.general, op, "It's going okay, thanks!", reply_to=tag)
    await env.sb.wait_for(lambda: any("replied to the question" in m.content
                                      for m in bot_messages(env, env.general)))
    await env.sb.idle()
    assert (await env.followups.for_tag(tag.id)).status == "answered"


async def test_op_never_answers_one_checkin_never_two(env):
    op, thread, question = await forum_question(env)
    await ask(env, question)
    await tag_in(env, thread, op)
    await env.advance(days=6, hours=23)
    assert checkins(env, thread, op) == []
    await env.advance(hours=1)
    found = checkins(env, thread, op)
    assert len(found) == 1
    assert env.sb.mentions_pinged(found[0]) == {op.id}
    assert [b["label"] for b in found[0].buttons()] == ["Please don't remind me"]
    assert "Sorry this comes late" not in found[0].content
    await env.advance(days=40)
    assert len(checkins(env, thread, op)) == 1


async def test_downtime_answer_is_found_in_history_and_the_checkin_stands_down(env):
    op, thread, question = await forum_question(env)
    await ask(env, question)
    tag = await tag_in(env, thread, op)
    await env.stop()
    # The OP answers while the bot is offline: it never sees the event.
    await env.sb.post(thread, op, "Sorry for the late reply, all clear!", silent=True)
    env.clock.advance(days=8)
    await env.start()
    await env.settle()
    assert checkins(env, thread, op) == []
    followup = await env.followups.for_tag(tag.id)
    assert followup.status == "answered"
    notice = [m for m in bot_messages(env, thread) if "replied to the question" in m.content]
    assert len(notice) == 1
    assert env.sb.mentions_pinged(notice[0]) == {env.moderator.id, env.helper.id}


async def test_thread_deleted_nothing_fires(env):
    op, thread, question = await forum_question(env)
    await ask(env, question)
    tag = await tag_in(env, thread, op)
    await env.sb.delete_channel(thread)
    posted = len(env.sb.requests_matching(MESSAGES, channel=thread))
    await env.advance(days=7)
    followup = await env.followups.for_tag(tag.id)
    assert followup.status == "closed" and followup.reason == "thread_deleted"
    assert len(env.sb.requests_matching(MESSAGES, channel=thread)) == posted


async def test_locked_thread_is_never_posted_into(env):
    op, thread, question = await forum_question(env)
    await ask(env, question)
    tag = await tag_in(env, thread, op)
    await env.sb.archive(thread, locked=True)
    posted = len(env.sb.requests_matching(MESSAGES, channel=thread))
    await env.advance(days=7)
    followup = await env.followups.for_tag(tag.id)
    assert followup.status == "closed" and followup.reason == "locked"
    assert len(env.sb.requests_matching(MESSAGES, channel=thread)) == posted
    assert thread.archived and thread.locked


async def test_archived_thread_is_reopened_for_the_one_checkin(env):
    op, thread, question = await forum_question(env)
    await ask(env, question)
    await tag_in(env, thread, op)
    await env.sb.archive(thread)
    await env.advance(days=7)
    assert len(checkins(env, thread, op)) == 1
    assert env.sb.requests_matching("PATCH /channels/{channel_id}", channel=thread)


# --- opting out -----------------------------------------------------------------------------


async def test_opted_out_member_is_never_tagged_and_the_moderator_is_told(env):
    op, thread, question = await forum_question(env)
    r = await env.sb.slash(env.guild, op, "preferences", followup_pings="off")
    await r.done()
    assert r.ephemeral and "Off" in r.content
    r = await ask(env, question)
    assert "asked not to be tagged" in r.content
    assert bot_messages(env, thread) == []
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="1h")
    await r.done()
    assert "asked not to be tagged" in r.content
    r = await env.sb.slash(env.guild, op, "preferences", followup_pings="on")
    await r.done()
    assert "On" in r.content


async def test_stop_button_opts_out_and_later_checkins_stand_down(env):
    op, thread, question = await forum_question(env)
    await ask(env, question)
    await tag_in(env, thread, op)
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="2d",
                           note="thinking of you", options={"channel": thread})
    await r.done()
    assert "Scheduled reminder" in r.content, r.content
    await env.advance(days=2)
    reminder_msg = await env.sb.wait_for_message(thread, lambda m: "thinking of you" in m.content)
    assert env.sb.mentions_pinged(reminder_msg) == {op.id}
    other = await env.sb.click(reminder_msg, label="Please don't remind me", by=env.helper)
    await other.done()
    assert "This button is for" in other.content
    mine = await env.sb.click(reminder_msg, label="Please don't remind me", by=op)
    await mine.done()
    assert "won't tag you" in mine.content
    await env.advance(days=6)
    assert checkins(env, thread, op) == []
    followups = [f for f in await env.followups.list_open(env.guild.id, 200)
                 if f.op_id == op.id]
    assert followups == []
    await env.sb.slash(env.guild, op, "preferences", followup_pings="on")


# --- scheduled reminders --------------------------------------------------------------------


async def test_remind_list_snooze_cancel(env):
    op = env.member()
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op,
                           when="soonish")
    await r.done()
    assert ACCEPTED_FORMS in r.content
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="30s")
    await r.done()
    assert ACCEPTED_FORMS in r.content
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="2h",
                           note="how are you feeling?", options={"channel": env.general})
    await r.done()
    first = int(r.content.split("#")[1].split(":")[0])
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="3h",
                           options={"channel": env.general})
    await r.done()
    second = int(r.content.split("#")[1].split(":")[0])
    r = await env.sb.slash(env.guild, env.moderator, "followup list")
    await r.done()
    assert f"**#{first}**" in r.content and f"**#{second}**" in r.content
    r = await env.sb.slash(env.guild, env.moderator, "followup cancel", id=first)
    await r.done()
    assert "Cancelled" in r.content
    r = await env.sb.slash(env.guild, env.moderator, "followup cancel", id=first)
    await r.done()
    assert "isn't pending" in r.content
    r = await env.sb.slash(env.guild, env.moderator, "followup snooze", id=second, when="1d")
    await r.done()
    assert "Moved" in r.content
    await env.advance(hours=5)
    assert [m for m in bot_messages(env, env.general) if f"<@{op.id}>" in m.content] == []
    await env.advance(hours=20)
    sent = [m for m in bot_messages(env, env.general) if f"<@{op.id}>" in m.content]
    assert len(sent) == 1 and env.sb.mentions_pinged(sent[0]) == {op.id}
    assert (await env.reminders.get(first)).status == "cancelled"
    assert (await env.reminders.get(second)).status == "sent"


async def test_absolute_dates_use_the_server_time_zone(env):
    r = await env.sb.slash(env.guild, env.owner, "followup settings", timezone="Mars/Olympus")
    await r.done()
    assert "time zone" in r.content.lower()
    r = await env.sb.slash(env.guild, env.owner, "followup settings", timezone="America/New_York")
    await r.done()
    assert "America/New_York" in r.content
    r = await env.sb.slash(env.guild, env.moderator, "followup settings", days=3)
    await r.done()
    assert "Only server admins" in r.content
    op = env.member()
    local = (env.clock.now() + timedelta(days=2)).astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York"))
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op,
                           when=local.strftime("%Y-%m-%d %H:%M"))
    await r.done()
    reminder_id = int(r.content.split("#")[1].split(":")[0])
    stored = await env.reminders.get(reminder_id)
    assert stored.due_at == (env.clock.now() + timedelta(days=2)).replace(second=0,
                                                                            microsecond=0)
    await env.service.cancel(env.guild.id, reminder_id, env.moderator.id)
    await (await env.sb.slash(env.guild, env.owner, "followup settings",
                              timezone="UTC")).done()


async def test_restart_with_reminders_due_during_downtime(env):
    a, b = env.member(), env.member()
    for who, when in ((a, "5m"), (b, "2h")):
        r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=who,
                               when=when, options={"channel": env.general})
        await r.done()
    await env.stop()
    env.clock.advance(hours=3)  # both fall due while the bot is down
    await env.start()
    await env.settle()
    sent_a = [m for m in bot_messages(env, env.general) if f"<@{a.id}>" in m.content]
    sent_b = [m for m in bot_messages(env, env.general) if f"<@{b.id}>" in m.content]
    assert len(sent_a) == 1 and len(sent_b) == 1
    assert "Sorry this comes late" in sent_a[0].content
    assert "Sorry this comes late" in sent_b[0].content


async def test_crash_between_send_and_record_does_not_resend_after_restart(env):
    op = env.member()
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="1h",
                           options={"channel": env.general})
    await r.done()
    reminder_id = int(r.content.split("#")[1].split(":")[0])
    await env.advance(hours=1)
    assert (await env.reminders.get(reminder_id)).status == "sent"
    # What a crash right after Discord accepted the message leaves behind: 'sending'.
    await env.bot.db.execute(
        "UPDATE reminders SET status = 'sending', message_id = NULL WHERE id = ?",
        (reminder_id,))
    await env.restart()
    await env.settle()
    sent = [m for m in bot_messages(env, env.general) if f"<@{op.id}>" in m.content]
    assert len(sent) == 1
    stored = await env.reminders.get(reminder_id)
    assert stored.status == "sent" and stored.message_id == sent[0].id and stored.sends == 1


async def test_429_then_success_posts_once(env):
    op = env.member()
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="10m",
                           options={"channel": env.general})
    await r.done()
    env.sb.fail(MESSAGES, status=429, times=1, channel=env.general)
    await env.advance(minutes=10)
    await env.sb.wait_for(lambda: [m for m in bot_messages(env, env.general)
                                   if f"<@{op.id}>" in m.content])
    await env.sb.idle()
    sent = [m for m in bot_messages(env, env.general) if f"<@{op.id}>" in m.content]
    assert len(sent) == 1
    assert any(req.status == 429 for req in env.sb.requests_matching(MESSAGES,
                                                                     channel=env.general))


async def test_server_error_then_success_posts_once(env):
    op = env.member()
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="10m",
                           options={"channel": env.general})
    await r.done()
    env.sb.fail(MESSAGES, status=500, times=1, channel=env.general)  # discord.py retries (1 s)
    env.clock.advance(minutes=10)
    await env.sb.wait_for(lambda: [m for m in bot_messages(env, env.general)
                                   if f"<@{op.id}>" in m.content], timeout=10)
    await env.settle()
    assert len([m for m in bot_messages(env, env.general) if f"<@{op.id}>" in m.content]) == 1


async def test_persistent_rate_limits_are_retried_by_the_scheduler_with_backoff(env):
    op = env.member()
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="10m",
                           options={"channel": env.general})
    await r.done()
    reminder_id = int(r.content.split("#")[1].split(":")[0])
    # discord.py itself retries a 429 five times; the fifth failure reaches the scheduler.
    env.sb.fail("GET /channels/{channel_id}", status=429, times=5, channel_id=env.general.id)
    await env.advance(minutes=10)
    stored = await env.reminders.get(reminder_id)
    assert stored.status == "pending" and stored.attempts == 1  # backed off, not dropped
    assert stored.due_at == env.clock.now() + timedelta(seconds=30)
    assert [m for m in bot_messages(env, env.general) if f"<@{op.id}>" in m.content] == []
    await env.advance(seconds=30)
    sent = [m for m in bot_messages(env, env.general) if f"<@{op.id}>" in m.content]
    assert len(sent) == 1
    assert (await env.reminders.get(reminder_id)).status == "sent"


async def test_missing_permission_marks_failed_and_tells_the_mod_log(env):
    op = env.member()
    quiet = env.sb.add_text_channel(env.guild, fresh("quiet"))
    await env.sb.wait_for(lambda: env.bot.get_channel(quiet.id) is not None)
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="10m",
                           options={"channel": quiet})
    await r.done()
    reminder_id = int(r.content.split("#")[1].split(":")[0])
    env.sb.deny(quiet, "send_messages")
    await env.advance(minutes=10)
    stored = await env.reminders.get(reminder_id)
    assert stored.status == "failed" and stored.reason == "no_access"
    assert stored.note is None
    assert any(title_of("reminder.failed") in t for t in modlog_texts(env))
    assert bot_messages(env, quiet) == []


async def test_subscriber_who_prefers_dm_gets_a_dm_and_closed_dms_fall_back(env):
    fan, closed = env.member(), env.member()
    await (await env.sb.slash(env.guild, fan, "preferences", reply_notices="dm")).done()
    await (await env.sb.slash(env.guild, closed, "preferences", reply_notices="dm")).done()
    env.sb.close_dms(closed)
    op, thread, question = await forum_question(env)
    await ask(env, question)
    tag = await tag_in(env, thread, op)
    for who in (fan, closed):
        await (await env.sb.click(tag, label="Notify me when they reply", by=who)).done()
    await env.sb.post(thread, op, "Update: scans are clear.")
    dm = await env.sb.wait_for_message(fan, lambda m: "replied to the question" in m.content)
    assert env.sb.mentions_pinged(dm) == set()
    notice = await env.sb.wait_for_message(thread, lambda m: "replied to the question" in m.content)
    assert env.sb.mentions_pinged(notice) == {env.moderator.id, env.helper.id, closed.id}
    assert env.sb.dms(closed) == []


async def test_autocheck_on_a_forum(env):
    r = await env.sb.slash(env.guild, env.moderator, "followup autocheck", forum=env.forum,
                           days="5")
    await r.done()
    assert "5 days" in r.content
    quiet_op, chatty_op, replied_op = env.member(), env.member(), env.member()
    t1, _ = await env.sb.forum_post(env.forum, quiet_op, fresh("post"), "No replies yet")
    t2, _ = await env.sb.forum_post(env.forum, chatty_op, fresh("post"), "Hello all")
    t3, _ = await env.sb.forum_post(env.forum, replied_op, fresh("post"), "Diagnosed today")
    await env.sb.post(t2, env.helper, "Welcome!")
    await env.sb.post(t2, chatty_op, "Thanks!")
    await env.sb.post(t3, env.helper, "Sending you strength. How are you doing?")
    for thread in (t1, t2, t3):
        await eventually(lambda t=thread: env.reminders.autochecks_for(t.id))
    await env.sb.idle()
    for thread in (t1, t2, t3):
        assert len(await env.reminders.autochecks_for(thread.id)) == 1
    await env.advance(days=5)
    assert bot_messages(env, t1) == [] and bot_messages(env, t2) == []
    sent = bot_messages(env, t3)
    assert len(sent) == 1 and env.sb.mentions_pinged(sent[0]) == {replied_op.id}
    await env.advance(days=30)
    assert len(bot_messages(env, t3)) == 1
    r = await env.sb.slash(env.guild, env.moderator, "followup autocheck", forum=env.forum,
                           days="off")
    await r.done()
    assert "off" in r.content


async def test_commands_are_registered_with_the_right_visibility(env):
    followup = env.sb.command("followup", env.guild)
    assert followup.get("default_member_permissions") not in (None, "0")
    prefs = env.sb.command("preferences", env.guild)
    assert prefs.get("default_member_permissions") is None
    menu = env.sb.command("Ask original poster", env.guild)
    assert menu.get("default_member_permissions") not in (None, "0")


# --- authority: only where the moderator may post -------------------------------------------


async def closed_to_moderator(env, *denied):
    channel = env.sb.add_text_channel(env.guild, fresh("staff-"))
    env.sb.set_overwrite(channel, env.moderator, deny=list(denied))
    await env.sb.wait_for(lambda: env.bot.get_channel(channel.id) is not None)
    await env.sb.idle()
    return channel


async def test_remind_refuses_a_channel_the_moderator_cannot_post_in(env):
    op = env.member()
    hidden = await closed_to_moderator(env, "view_channel")
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="2h",
                           options={"channel": hidden})
    await r.done()
    assert r.ephemeral and "can't post in" in r.content, r.content
    assert [x for x in await env.service.pending(env.guild.id)
            if x.channel_id == hidden.id] == []


async def test_ask_refuses_a_question_in_a_channel_the_moderator_cannot_see(env):
    op = env.member()
    hidden = await closed_to_moderator(env, "view_channel")
    question = await env.sb.post(hidden, env.helper, "Secret question?")
    r = await env.sb.slash(env.guild, env.moderator, "followup ask", question=question.jump_url,
                           op=op)
    await r.done()
    assert r.ephemeral and "can't see and post in" in r.content, r.content
    assert await env.followups.open_in_channel(hidden.id) == []
    assert bot_messages(env, hidden) == []


async def test_ask_menu_refuses_where_the_moderator_may_read_but_not_send(env):
    op = env.member()
    readonly = await closed_to_moderator(env, "send_messages")
    original = await env.sb.post(readonly, op, "We start chemo next week.")
    question = await env.sb.post(readonly, env.helper, "How did it go?", reply_to=original)
    r = await ask(env, question)
    assert r.ephemeral and "can't see and post in" in r.content, r.content
    assert await env.followups.open_in_channel(readonly.id) == []


async def test_a_second_ask_on_the_same_question_offers_notify_me_instead(env):
    sb = env.sb
    second_mod = sb.add_member(env.guild, fresh("mod"), roles=[env.mod_role])
    op, thread, question = await forum_question(env)
    first = await ask(env, question)
    assert "I tagged" in first.content, first.content
    await tag_in(env, thread, op)
    [followup] = await env.followups.open_in_channel(thread.id)
    again = await ask(env, question, by=second_mod)
    text = again.texts[-1]
    assert again.ephemeral and f"<@{env.moderator.id}> already asked <@{op.id}>" in text, text
    assert f"<t:{int(followup.asked_at.timestamp())}:f>" in text
    tags = [m for m in bot_messages(env, thread) if "asked you something" in m.content]
    assert len(tags) == 1
    assert await env.followups.open_in_channel(thread.id) == [followup]
    # "Notify me" on the refusal subscribes the second moderator to the existing follow-up.
    message = again.message
    assert [b["label"] for b in message.buttons()] == ["Notify me when they reply"]
    click = await sb.click(message, "Notify me when they reply", by=second_mod)
    await click.done()
    assert "let you know" in click.texts[-1], click.texts
    assert second_mod.id in await env.followups.subscriber_ids(followup.id)
