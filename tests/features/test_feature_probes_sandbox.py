"""The doctor's feature probes: stuck queue items and failing reminders, reported once, cleared.

The real StewardBot against the sandbox's standard support server (`steward` fixture). Reports
reach #mod-log either from the hourly re-check or from an explicit check (as `/steward doctor`
and settings changes do).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from itertools import count

import pytest

from bot.db.holds import HeldLink, NewHold
from bot.domain.doctor_titles import code_of_title
from bot.domain.holds import duplicate_key
from bot.services.linkhold import LinkHoldService
from tests.waits import eventually as _eventually
from tests.waits import scheduler_idle

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

eventually = partial(_eventually, timeout=10.0)  # this module's default wait

_names = count()


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def doctor_reports(steward) -> list[dict]:
    """Doctor embeds posted in #mod-log, oldest first."""
    return [e for m in steward.sb.messages(steward.server.modlog) for e in m.embeds
            if (e.get("title") or "").startswith("Steward doctor")]


def reports_of(steward, code: str) -> list[dict]:
    """Doctor reports listing `code`, as {field value} per report."""
    found = []
    for embed in doctor_reports(steward):
        for field in embed.get("fields", []):
            if code_of_title(field["name"].split(" ", 1)[1]) == code:
                found.append(field)
    return found


def latest_lacks(steward, *codes: str) -> bool:
    reports = doctor_reports(steward)
    if not reports:
        return False
    names = [f["name"] for f in reports[-1].get("fields", [])]
    return not any(code_of_title(n.split(" ", 1)[1]) in codes for n in names)


async def check(steward) -> None:
    doctor = steward.bot.services.doctor
    await doctor.check_and_report(steward.server.guild.id)
    await steward.sb.idle()


def linkhold(steward) -> LinkHoldService:
    return steward.bot.services.linkhold


async def queued_hold(steward, message):
    service = linkhold(steward)

    async def queued():
        hold = await service.holds.by_message(steward.server.guild.id, message.id)
        return hold if hold is not None and hold.step == "queued" else None

    return await eventually(queued)


async def new_channel(steward):
    channel = steward.sb.add_text_channel(steward.server.guild, fresh("room"))
    await steward.sb.wait_for(lambda: steward.bot.get_channel(channel.id) is not None)
    return channel


# --- link holds --------------------------------------------------------------------------------


async def test_a_hold_waiting_twice_the_reminder_time_is_reported_once_then_clears(steward):
    sb, s = steward.sb, steward.server
    newbie = await sb.join(s.guild, fresh("newbie"))
    hold = await queued_hold(steward, await sb.post(s.general, newbie, "https://vimeo.com/1"))
    steward.clock.advance(hours=47)
    await check(steward)
    assert reports_of(steward, "linkhold.waiting") == []  # 24 h reminders * 2 not reached
    steward.clock.advance(hours=2)
    # The hourly re-check finds it without anyone asking.
    await sb.wait_for(lambda: reports_of(steward, "linkhold.waiting"), timeout=15)
    [field] = reports_of(steward, "linkhold.waiting")
    assert f"hold #{hold.id}" in field["value"] and "more than 48 hours" in field["value"]
    assert f"**Fix:** Open <#{s.queue.id}> and press Approve or Reject" in field["value"]
    assert "`/linkhold queue`" in field["value"]
    await check(steward)
    steward.clock.advance(hours=1, minutes=1)  # another hourly re-check
    await sb.idle()
    await check(steward)
    assert len(reports_of(steward, "linkhold.waiting")) == 1
    await linkhold(steward).reject(s.guild.id, hold.id, s.mod.id)
    await check(steward)
    assert latest_lacks(steward, "linkhold.waiting")
    assert len(reports_of(steward, "linkhold.waiting")) == 1


async def test_a_post_that_could_not_be_removed_is_reported_with_the_permission_fix(steward):
    sb, s = steward.sb, steward.server
    room = await new_channel(steward)
    sb.deny(room, "manage_messages")
    newbie = await sb.join(s.guild, fresh("newbie"))
    msg = await sb.post(room, newbie, "Buy now https://pills-direct.net")
    hold = await queued_hold(steward, msg)
    assert hold.removal == "failed" and not msg.deleted
    await check(steward)
    [field] = reports_of(steward, "linkhold.not_removed")
    assert f"#{hold.id}" in field["value"] and f"<#{room.id}>" in field["value"]
    assert "Give Steward the Manage Messages permission in" in field["value"]
    await check(steward)
    assert len(reports_of(steward, "linkhold.not_removed")) == 1
    await linkhold(steward).reject(s.guild.id, hold.id, s.mod.id)
    await check(steward)
    assert latest_lacks(steward, "linkhold.not_removed")


async def test_a_hold_stuck_part_way_is_reported_and_clears_after_a_restart(steward):
    sb, s = steward.sb, steward.server
    newbie = await sb.join(s.guild, fresh("newbie"))
    # Stored, then the process stopped: the post is still up (no gateway event for it).
    msg = await sb.post(s.general, newbie, "Free consult: clinic-abroad.com/offer", silent=True)
    stored = await linkhold(steward).holds.create(NewHold(
        guild_id=s.guild.id, channel_id=s.general.id, message_id=msg.id, member_id=newbie.id,
        kind="message", content=msg.content,
        links=(HeldLink("clinic-abroad.com/offer", "http://clinic-abroad.com/offer",
                        "clinic-abroad.com"),),
        dup_key=duplicate_key(newbie.id, "\n" + msg.content)), steward.clock.now())
    assert stored is not None and stored.step == "stored"
    await check(steward)
    assert reports_of(steward, "linkhold.unfinished") == []  # give it ten minutes
    steward.clock.advance(minutes=11)
    await check(steward)
    [field] = reports_of(steward, "linkhold.unfinished")
    assert f"#{stored.id}" in field["value"] and "**Fix:** Restart Steward" in field["value"]
    await check(steward)
    assert len(reports_of(steward, "linkhold.unfinished")) == 1
    await steward.restart()
    hold = await queued_hold(steward, msg)
    assert msg.deleted and hold.removal == "removed"
    await check(steward)
    assert latest_lacks(steward, "linkhold.unfinished")
    assert len(reports_of(steward, "linkhold.unfinished")) == 1
    await linkhold(steward).reject(s.guild.id, hold.id, s.mod.id)


# --- follow-ups --------------------------------------------------------------------------------


async def test_a_failed_reminder_is_reported_once_and_clears_after_seven_days(steward):
    sb, s = steward.sb, steward.server
    await scheduler_idle(steward)
    quiet = await new_channel(steward)
    r = await sb.slash(s.guild, s.mod, "followup remind", member=s.member, when="10m",
                       options={"channel": quiet})
    await r.done()
    reminder_id = int(r.texts[-1].split("#")[1].split(":")[0])
    sb.deny(quiet, "send_messages")
    steward.clock.advance(minutes=10)
    await scheduler_idle(steward)
    service = steward.bot.services.followups
    assert (await service.reminders.get(reminder_id)).status == "failed"
    await check(steward)
    [field] = reports_of(steward, "followups.failed")
    assert f"#{reminder_id}" in field["value"] and f"<#{quiet.id}>" in field["value"]
    assert ("**Fix:** Give Steward View Channel, Send Messages and Send Messages in Threads "
            f"in <#{quiet.id}>") in field["value"]
    await check(steward)
    assert len(reports_of(steward, "followups.failed")) == 1
    steward.clock.advance(days=6)
    await check(steward)
    assert len(reports_of(steward, "followups.failed")) == 1
    steward.clock.advance(days=1, hours=1)
    await sb.wait_for(lambda: latest_lacks(steward, "followups.failed"), timeout=15)
    assert len(reports_of(steward, "followups.failed")) == 1


async def test_overdue_reminders_while_running_are_reported_and_clear_once_sent(steward):
    sb, s = steward.sb, steward.server
    service = steward.bot.services.followups
    scheduler = steward.bot.services.scheduler
    await scheduler_idle(steward)
    steward.clock.advance(hours=2)  # Steward has been up for over an hour
    await sb.idle()
    await scheduler.stop()  # as if its loop had died
    r = await sb.slash(s.guild, s.mod, "followup remind", member=s.member, when="10m",
                       options={"channel": s.general})
    await r.done()
    reminder_id = int(r.texts[-1].split("#")[1].split(":")[0])
    steward.clock.advance(minutes=40)
    await check(steward)
    assert reports_of(steward, "followups.overdue") == []  # 30 minutes late: not yet
    assert len(reports_of(steward, "followups.scheduler_stopped")) == 1
    steward.clock.advance(minutes=40)
    await check(steward)
    [field] = reports_of(steward, "followups.overdue")
    assert f"#{reminder_id}" in field["value"] and "more than an hour overdue" in field["value"]
    assert "**Fix:** Restart Steward" in field["value"]
    await check(steward)
    assert len(reports_of(steward, "followups.overdue")) == 1
    await service.start()  # what a restart does
    await scheduler_idle(steward)
    assert (await service.reminders.get(reminder_id)).status == "sent"
    await check(steward)
    assert latest_lacks(steward, "followups.overdue", "followups.scheduler_stopped")
    assert len(reports_of(steward, "followups.overdue")) == 1


async def test_a_healthy_server_has_no_feature_findings(steward):
    steward.clock.advance(timedelta(days=8))  # past the earlier failure's 7-day window
    await steward.sb.idle()
    guild_id = steward.server.guild.id
    assert await linkhold(steward).probe(guild_id) == []
    assert await steward.bot.services.followups.probe(guild_id) == []
