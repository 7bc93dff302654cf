"""Follow-ups on posts Steward published for a member: the OP comes from the repost records.

A repost (webhook) or an approved link hold is authored by Steward's webhook (or owned by it,
for a forum post), so "Ask original poster" must tag the member whose words they are, and
that member's answer must stand the follow-up down. Real flows only, on the shared server.
"""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import aiohttp
import pytest

from bot.db.followups import Followup
from bot.services.followups import FollowupService
from sandbox.models import Channel, Member, Message
from tests.conftest import Steward
from tests.waits import eventually, scheduler_idle

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

JUMP = re.compile(r"https://discord\.com/channels/\d+/\d+/(\d+)")
_names = count()


async def member(steward: Steward, prefix: str = "member") -> Member:
    """A fresh, established member (no link hold applies to them)."""
    sb, server = steward.sb, steward.server
    return await sb.join(server.guild, f"{prefix}{next(_names)}",
                         joined_at=steward.clock.now() - timedelta(days=200))


async def repost_via_menu(steward: Steward, message: Message, to: Channel) -> Message:
    """A moderator uses "Repost for member" on `message`; returns the published copy."""
    sb, server = steward.sb, steward.server
    opened = await sb.context_menu(server.guild, server.mod, "Repost for member",
                                   target=message)
    await opened.responded()
    assert opened.modal is not None, opened.content
    submitted = await sb.submit_modal(
        opened.modal, by=server.mod, values={},
        selects={"Post it in": [str(to.id)], "Ping the member in the post?": ["no"]},
    )
    await submitted.done()
    await sb.wait_for(lambda: submitted.content, timeout=10)
    await sb.idle()
    assert "Shared in their name" in submitted.content, submitted.content
    found = JUMP.search(submitted.content)
    assert found is not None, submitted.content
    posted = sb.world.messages.get(int(found.group(1)))
    assert posted is not None
    return posted


async def ask(steward: Steward, question: Message) -> str:
    """A moderator uses "Ask original poster" on `question`; returns the ephemeral reply."""
    sb, server = steward.sb, steward.server
    r = await sb.context_menu(server.guild, server.mod, "Ask original poster", target=question)
    await r.done()
    assert r.ephemeral
    return r.content or ""


async def tag_in(steward: Steward, channel: Channel, op: Member) -> Message:
    """The tag message the ask posted."""
    return await steward.sb.wait_for_message(
        channel, lambda m: m.author.id == steward.sb.bot_user.id
        and f"<@{op.id}>" in m.content and "asked you something" in m.content)


def service(steward: Steward) -> FollowupService:
    return steward.bot.services.followups


async def followup_for(steward: Steward, tag: Message) -> Followup:
    found = await service(steward).repository.for_tag(tag.id)
    assert found is not None
    return found


def notices(steward: Steward, channel: Channel) -> list[Message]:
    """The bot's "they replied" notices to subscribers in `channel`."""
    return [m for m in steward.sb.messages(channel)
            if m.author.id == steward.sb.bot_user.id and "replied to the question" in m.content]


def checkins(steward: Steward, channel: Channel, op: Member) -> list[Message]:
    return [m for m in steward.sb.messages(channel)
            if m.author.id == steward.sb.bot_user.id and f"<@{op.id}>" in m.content
            and "gentle note" in m.content]


async def test_forum_repost_asks_the_member_and_their_answer_stands_it_down(steward):
    sb, server = steward.sb, steward.server
    op, reader = await member(steward, "author"), await member(steward, "reader")
    original = await sb.post(server.general, op,
                             "Tom was accepted into the trial. We start in May. Thank you all.")
    posted = await repost_via_menu(steward, original, to=server.forum)
    thread = sb.world.channel(posted.channel.id)
    # The forum post is the webhook's: its thread owner and its author are not the member.
    assert thread.parent_id == server.forum.id and posted.id == thread.id
    assert posted.webhook_id is not None and thread.owner_id == posted.webhook_id
    assert posted.author.id != op.id and thread.owner_id not in (op.id, sb.bot_user.id)
    record = await steward.bot.services.repost.find_by_message(thread.id)
    assert record is not None and record.member_id == op.id

    question = await sb.post(thread, reader, "Was your husband accepted into the trial?")
    reply = await ask(steward, question)
    assert "I tagged" in reply and f"<@{op.id}>" in reply, reply
    tag = await tag_in(steward, thread, op)
    assert sb.mentions_pinged(tag) == {op.id}
    assert f"<@{reader.id}>" in tag.content  # names who asked, without pinging them
    followup = await followup_for(steward, tag)
    assert followup.op_id == op.id and followup.in_thread

    # The member answers in the webhook-owned thread: answered, subscribers pinged once.
    answer = await sb.post(thread, op, "Yes! He started last week, thank you for asking.")
    notice = await sb.wait_for_message(thread, lambda m: "replied to the question" in m.content)
    assert sb.mentions_pinged(notice) == {server.mod.id, reader.id}
    assert f"/{answer.id}" in notice.content
    await eventually(lambda: _status(steward, tag, "answered"))
    assert (await followup_for(steward, tag)).answer_message_id == answer.id
    await sb.post(thread, op, "And the side effects are mild so far.")
    steward.clock.advance(days=8)
    await scheduler_idle(steward)
    assert notices(steward, thread) == [notice]
    assert checkins(steward, thread, op) == []
    assert thread.id not in service(steward).watched


async def test_reply_to_a_webhook_repost_in_a_channel_asks_the_member(steward):
    sb, server = steward.sb, steward.server
    op, reader = await member(steward, "writer"), await member(steward, "friend")
    original = await sb.post(server.welcome, op, "Starting radiotherapy on Monday.")
    posted = await repost_via_menu(steward, original, to=server.general)
    assert posted.channel.id == server.general.id
    assert posted.webhook_id is not None and posted.author.id != op.id
    question = await sb.post(server.general, reader, "How did the radiotherapy go?",
                             reply_to=posted)
    reply = await ask(steward, question)
    assert "I tagged" in reply and f"<@{op.id}>" in reply, reply
    tag = await tag_in(steward, server.general, op)
    assert sb.mentions_pinged(tag) == {op.id}
    followup = await followup_for(steward, tag)
    assert followup.op_id == op.id and not followup.in_thread
    # In a plain channel the member's reply to the tag is the answer.
    await sb.post(server.general, op, "It went fine, thank you!", reply_to=tag)
    notice = await sb.wait_for_message(server.general,
                                       lambda m: "replied to the question" in m.content)
    assert sb.mentions_pinged(notice) == {server.mod.id, reader.id}
    await eventually(lambda: _status(steward, tag, "answered"))


async def test_reply_to_an_approved_link_hold_asks_the_new_member(steward):
    sb, server = steward.sb, steward.server
    newbie = await sb.join(server.guild, f"newcomer{next(_names)}")
    reader = await member(steward, "helper")
    held = await sb.post(server.general, newbie,
                         "Our family's story so far: https://youtu.be/ourjourney")
    await sb.wait_for(lambda: sb.message(held.id).deleted, message="the link was not held")

    def card() -> Message | None:
        for m in sb.messages(server.queue):
            if f"<@{newbie.id}>" in m.display_text:  # the Components V2 card
                return m
        return None

    queued = await sb.wait_for(card, message="no queue card for the hold")
    approved = await sb.click(queued, "Approve", by=server.mod)
    await approved.done()
    assert "Approved hold" in approved.texts[-1], approved.texts
    await sb.idle()
    (copy,) = [m for m in sb.messages(server.general) if "youtu.be/ourjourney" in m.content
               and not m.deleted]
    assert copy.author.id != newbie.id  # published by Steward (its webhook) for them
    assert copy.webhook_id is not None  # the repost webhook, in their name
    question = await sb.post(server.general, reader, "Lovely video. How is everyone now?",
                             reply_to=copy)
    reply = await ask(steward, question)
    assert "I tagged" in reply and f"<@{newbie.id}>" in reply, reply
    tag = await tag_in(steward, server.general, newbie)
    assert sb.mentions_pinged(tag) == {newbie.id}
    assert (await followup_for(steward, tag)).op_id == newbie.id


async def _status(steward: Steward, tag: Message, status: str) -> bool:
    return (await followup_for(steward, tag)).status == status


async def test_a_forum_post_by_another_integrations_webhook_has_no_op_to_find(steward):
    """No repost record: say so (the webhook is not a member who "left"), tag nobody."""
    sb, server = steward.sb, steward.server
    reader = await member(steward, "curious")
    hook = sb.add_webhook(server.forum, "News Feed")
    async with aiohttp.ClientSession() as http, http.post(
            f"{sb.api_base}/webhooks/{hook.id}/{hook.token}?wait=true",
            json={"content": "New study on colorectal screening", "thread_name": "Study news",
                  "allowed_mentions": {"parse": []}}) as response:
        assert response.status == 200, await response.text()
        thread = sb.world.channel(int((await response.json())["channel_id"]))
    assert thread.owner_id == hook.id
    question = await sb.post(thread, reader, "Does anyone know who posted this?")
    reply = await ask(steward, question)
    assert "no record of whose it is" in reply and "/followup ask" in reply, reply
    assert f"<@{hook.id}>" not in reply
    await sb.idle()
    assert [m for m in sb.messages(thread) if m.author.id == sb.bot_user.id] == []
