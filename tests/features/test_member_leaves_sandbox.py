"""A member leaves: their pending holds close and what would tag them is cancelled.

The real StewardBot against the sandbox's standard support server (`steward` fixture).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from itertools import count

import pytest

from bot.db.holds import CLOSED_LEFT
from bot.domain.audit import title_of
from bot.services.followups import FollowupService
from bot.services.linkhold import LinkHoldService
from tests.waits import eventually as _eventually
from tests.waits import scheduler_idle

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

eventually = partial(_eventually, timeout=10.0)  # this module's default wait

MESSAGES = "POST /channels/{channel_id}/messages"
_names = count()


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def linkhold(steward) -> LinkHoldService:
    return steward.bot.services.linkhold


def followups(steward) -> FollowupService:
    return steward.bot.services.followups


async def held_and_queued(steward, message):
    """The hold of `message` once its card is in #mod-queue; returns (hold, card)."""
    service = linkhold(steward)
    guild_id = steward.server.guild.id

    async def queued():
        hold = await service.holds.by_message(guild_id, message.id)
        return hold if hold is not None and hold.step == "queued" else None

    hold = await eventually(queued)
    card = await steward.sb.wait_for(lambda: next(
        (m for m in steward.sb.messages(steward.server.queue)
         if f"Hold #{hold.id} ·" in m.display_text), None))
    return hold, card


def buttons(message) -> dict[str, bool]:
    """label -> enabled."""
    return {c["label"]: not c.get("disabled", False) for c in message.buttons()}


def decision(message) -> str:
    return next((line.removeprefix("**Decision:** ") for line in
                 message.display_text.splitlines() if line.startswith("**Decision:**")), "")


def modlog_titles(steward) -> list[str]:
    return [e.get("title") or "" for m in steward.sb.messages(steward.server.modlog)
            for e in m.embeds]


async def audit_actions(steward, member_id: int) -> list:
    return await steward.bot.audit.repository.recent(steward.server.guild.id,
                                                     target_id=member_id, limit=100)


# --- link holds --------------------------------------------------------------------------------


async def test_an_uncached_member_who_leaves_has_the_hold_closed_and_nothing_to_approve(steward):
    sb, s = steward.sb, steward.server
    # Added without a gateway event, so discord.py never cached them: only the raw
    # GUILD_MEMBER_REMOVE tells Steward they left.
    newbie = sb.add_member(s.guild, fresh("leaver"), joined_at=steward.clock.now())
    msg = await sb.post(s.general, newbie, "Our fundraiser: https://gofundme.com/f/our-story")
    hold, card = await held_and_queued(steward, msg)
    assert steward.bot.get_guild(s.guild.id).get_member(newbie.id) is None
    assert buttons(card)["Approve"]
    # Two moderators had the card open: one opened "Edit & approve", one "Reject".
    editing = await sb.click(card, "Edit & approve", by=s.mod)
    await editing.responded()
    rejecting = await sb.click(card, "Reject", by=s.mod)
    await rejecting.responded()
    assert editing.modal is not None and rejecting.modal is not None

    await sb.leave(s.guild, newbie)

    async def closed():
        current = await linkhold(steward).holds.get(hold.id)
        return current if current.status == CLOSED_LEFT else None

    closed_hold = await eventually(closed)
    assert closed_hold.decided and closed_hold.decided_by is None
    updated = await sb.wait_for(lambda: (m := sb.message(card.id)) and "left the server" in
                                decision(m) and m)
    assert decision(updated) == ("Closed: the member left the server, so there is nothing "
                                 "to decide.")
    enabled = buttons(updated)
    assert not any(enabled[k] for k in ("Approve", "Edit & approve", "Reject", "Approve & trust",
                                        "Timeout", "Ban"))
    assert enabled["Full text"]
    # Their modals are submitted after the member left: told kindly, nothing is published.
    r = await sb.submit_modal(editing.modal, by=s.mod,
                              values={"The post as it will be shared": "edited text"})
    await r.done()
    assert r.ephemeral and "left the server" in r.texts[-1] and "nothing to approve" in \
        r.texts[-1]
    r = await sb.submit_modal(rejecting.modal, by=s.mod, values={})
    await r.done()
    assert r.ephemeral and "left the server" in r.texts[-1]
    assert [m for m in sb.messages(s.general) if "gofundme.com" in m.content
            or "edited text" in m.content] == []
    assert (await linkhold(steward).holds.get(hold.id)).status == CLOSED_LEFT
    # Audited, and the mod log shows it.
    entries = await audit_actions(steward, newbie.id)
    [entry] = [e for e in entries if e.action == "hold.closed_member_left"]
    assert entry.details["hold"] == hold.id and entry.details["queue"].endswith(str(card.id))
    await sb.wait_for(lambda: title_of("hold.closed_member_left") in modlog_titles(steward))
    # No longer in the queue or in moderators' reminders.
    assert hold.id not in [h.id for h in await linkhold(steward).pending(s.guild.id)]


async def test_a_closed_holds_content_is_purged_after_retention_days(steward):
    sb, s = steward.sb, steward.server
    newbie = await sb.join(s.guild, fresh("leaver"))
    msg = await sb.post(s.general, newbie, "Read my blog https://myjourney.blogspot.com/diary",
                        attachments=[("scan.png", b"\x89PNG", "image/png")])
    hold, card = await held_and_queued(steward, msg)
    await sb.leave(s.guild, newbie)
    await eventually(lambda: _status_is(steward, hold.id, CLOSED_LEFT))
    service = linkhold(steward)
    assert (await service.holds.get(hold.id)).content is not None  # kept until retention
    steward.clock.advance(days=29)
    await sb.idle()
    assert (await service.holds.get(hold.id)).purged_at is None
    steward.clock.advance(days=2)
    await eventually(lambda: _purged(steward, hold.id), timeout=15)
    purged = await service.holds.get(hold.id)
    assert purged.content is None and purged.links == () and purged.status == CLOSED_LEFT
    assert await service.holds.attachments(hold.id) == []
    await sb.wait_for(lambda: "Content removed" in sb.message(card.id).display_text)
    assert "blogspot.com" not in str(sb.message(card.id).components)


async def test_a_member_who_left_while_steward_was_down_has_the_hold_closed_at_startup(steward):
    sb, s = steward.sb, steward.server
    newbie = await sb.join(s.guild, fresh("leaver"))
    msg = await sb.post(s.general, newbie, "Cheap meds at pharma-deals.net")
    hold, card = await held_and_queued(steward, msg)
    await steward.harness.stop()
    await sb.leave(s.guild, newbie)
    await steward.harness.start()
    await eventually(lambda: _status_is(steward, hold.id, CLOSED_LEFT))
    await sb.wait_for(lambda: "left the server" in decision(sb.message(card.id)))
    assert not buttons(sb.message(card.id))["Approve"]
    entries = await audit_actions(steward, newbie.id)
    assert [e.action for e in entries].count("hold.closed_member_left") == 1


async def test_a_member_who_stays_keeps_their_pending_hold(steward):
    sb, s = steward.sb, steward.server
    stays = await sb.join(s.guild, fresh("stays"))
    other = await sb.join(s.guild, fresh("goes"))
    msg = await sb.post(s.general, stays, "See https://vimeo.com/12345")
    hold, _ = await held_and_queued(steward, msg)
    await sb.leave(s.guild, other)
    await sb.idle()
    assert (await linkhold(steward).holds.get(hold.id)).status == "pending"
    await linkhold(steward).reject(s.guild.id, hold.id, s.mod.id)  # tidy for later tests


async def _status_is(steward, hold_id: int, status: str) -> bool:
    return (await linkhold(steward).holds.get(hold_id)).status == status


async def _purged(steward, hold_id: int) -> bool:
    return (await linkhold(steward).holds.get(hold_id)).purged_at is not None


# --- follow-ups --------------------------------------------------------------------------------


async def test_a_member_who_leaves_is_never_tagged_even_across_a_restart(steward):
    sb, s = steward.sb, steward.server
    await scheduler_idle(steward)
    op = await sb.join(s.guild, fresh("op"), joined_at=steward.clock.now() - timedelta(days=90))
    thread, _ = await sb.forum_post(s.forum, op, fresh("After surgery "), "How it went for us")
    question = await sb.post(thread, s.member, "How did it turn out in the end?")
    r = await sb.context_menu(s.guild, s.mod, "Ask original poster", target=question)
    await r.done()
    tag = await sb.wait_for_message(thread, lambda m: f"<@{op.id}>" in m.content)
    r = await sb.slash(s.guild, s.mod, "followup remind", member=op, when="2d",
                       note="thinking of you", options={"channel": s.general})
    await r.done()
    reminder_id = int(r.content.split("#")[1].split(":")[0])
    service = followups(steward)
    followup = await service.repository.for_tag(tag.id)
    [checkin] = [x for x in await service.reminders.for_followup(followup.id)
                 if x.kind == "checkin"]

    await sb.leave(s.guild, op)

    async def all_closed():
        f = await service.repository.get(followup.id)
        c = await service.reminders.get(checkin.id)
        m = await service.reminders.get(reminder_id)
        return f.status == "closed" and c.status == m.status == "cancelled" and (f, c, m)

    f, c, m = await eventually(all_closed)
    assert f.reason == c.reason == m.reason == "op_left"
    assert m.note is None  # the moderator's note is not kept
    # Each is audited with the reason, and the mod log says so.
    entries = await audit_actions(steward, op.id)
    closed = [e for e in entries if e.action == "followup.closed"]
    cancelled = [e for e in entries if e.action == "reminder.cancelled"]
    assert len(closed) == 1 and closed[0].details["followup"] == followup.id
    assert closed[0].details["reason"] == "the member has left the server"
    assert checkin.id in closed[0].details["cancelled"]
    assert len(cancelled) == 1 and cancelled[0].details["reminder"] == reminder_id
    assert cancelled[0].details["reason"] == "the member has left the server"
    await sb.wait_for(lambda: {title_of("followup.closed"), title_of("reminder.cancelled")}
                      <= set(modlog_titles(steward)))
    assert thread.id not in service.watched

    # Steward restarts between the leave and the due times; nothing fires afterwards.
    await steward.restart()
    await scheduler_idle(steward)
    sb.reset()
    steward.clock.advance(days=8)
    await scheduler_idle(steward)
    tagged = [msg for ch in (thread, s.general) for msg in sb.messages(ch)
              if msg.author.id == sb.bot_user.id and f"<@{op.id}>" in msg.content
              and msg.id != tag.id]
    assert tagged == []
    assert sb.requests_matching(MESSAGES, channel=thread) == []
    for rid in (checkin.id, reminder_id):
        assert (await followups(steward).reminders.get(rid)).status == "cancelled"


async def test_a_subscriber_who_leaves_is_not_pinged_when_the_op_answers(steward):
    sb, s = steward.sb, steward.server
    await scheduler_idle(steward)
    op = await sb.join(s.guild, fresh("op"), joined_at=steward.clock.now() - timedelta(days=90))
    reader = await sb.join(s.guild, fresh("reader"))  # stays
    goes = await sb.join(s.guild, fresh("goes"))      # subscribes to two follow-ups, then leaves
    tags = []
    for title in ("Chemo week ", "Scan results "):
        thread, _ = await sb.forum_post(s.forum, op, fresh(title), "How it went for us")
        question = await sb.post(thread, s.member, "How did it turn out?")
        r = await sb.context_menu(s.guild, s.mod, "Ask original poster", target=question)
        await r.done()
        tag = await sb.wait_for_message(thread, lambda m: f"<@{op.id}>" in m.content)
        for who in (reader, goes):
            click = await sb.click(tag, label="Notify me when they reply", by=who)
            await click.done()
        tags.append((thread, tag))
    service = followups(steward)
    [(thread, tag), _] = tags
    followup = await service.repository.for_tag(tag.id)
    assert goes.id in await service.repository.subscriber_ids(followup.id)

    await sb.leave(s.guild, goes)

    async def unsubscribed():
        entries = await audit_actions(steward, goes.id)
        return [e for e in entries if e.action == "followup.unsubscribed_left"]

    [entry] = await eventually(unsubscribed)
    assert entry.details == {"subscriptions": 2} and entry.actor_id is None
    for _, other_tag in tags:
        other = await service.repository.for_tag(other_tag.id)
        assert goes.id not in await service.repository.subscriber_ids(other.id)
        assert other.status == "open"  # the OP is still here: their follow-ups stay open
    await sb.wait_for(lambda: title_of("followup.unsubscribed_left") in modlog_titles(steward))

    # A restart between the leave and the answer changes nothing.
    await steward.restart()
    await scheduler_idle(steward)
    answer = await sb.post(thread, op, "Thank you all, it went well!")
    notice = await sb.wait_for_message(thread, lambda m: "replied to the question" in m.content)
    assert sb.mentions_pinged(notice) == {s.mod.id, s.member.id, reader.id}
    assert f"<@{goes.id}>" not in notice.content and f"/{answer.id}" in notice.content
    assert [m for ch in (thread, tags[1][0]) for m in sb.messages(ch)
            if f"<@{goes.id}>" in m.content] == []
    assert sb.dms(goes) == []
    # Leaving again (or any later leave of someone with no subscriptions) audits nothing new.
    assert len(await unsubscribed()) == 1
