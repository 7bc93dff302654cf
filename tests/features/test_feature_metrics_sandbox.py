"""The features feed the Prometheus metrics: holds, decisions, reposts, reminders.

The real StewardBot with STEWARD_METRICS_PORT set, against the sandbox; the served text is
read over HTTP like Prometheus would.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from functools import partial

import aiohttp
import pytest
import pytest_asyncio

from tests.steward_env import running_env
from tests.waits import eventually as _eventually

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

eventually = partial(_eventually, timeout=10.0)  # this module's default wait


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    def add_queue(steward) -> None:
        steward.queue = steward.sb.add_text_channel(steward.main.guild, "mod-queue")

    async with running_env(tmp_path_factory.mktemp("metrics"), metrics_port=0,
                           before_start=add_queue) as steward:
        queue_id = steward.queue.id
        await steward.bot.guild_settings.update(
            steward.main.id, lambda c: setattr(c.linkhold, "queue_channel", queue_id))
        yield steward


async def scrape(env) -> str:
    metrics = env.bot.services.metrics
    assert metrics.enabled and metrics.port
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{metrics.port}/metrics") as response:
        return await response.text()


def value(body: str, sample: str) -> float | None:
    """The value of one exact sample line (name plus labels), if served."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", body, re.MULTILINE)
    return None if match is None else float(match.group(1))


async def test_a_hold_its_approval_and_a_fired_reminder_show_up_in_the_metrics(env):
    sb, server = env.sb, env.main
    service = env.bot.services.linkhold
    scheduler = env.bot.services.scheduler
    await sb.wait_for(lambda: scheduler.running)
    before = await scrape(env)
    assert value(before, "steward_holds_pending") in (None, 0.0)

    newbie = await sb.join(server.guild, "metrics-newbie")
    msg = await sb.post(server.general, newbie, "Our story https://vimeo.com/424242")

    async def queued():
        hold = await service.holds.by_message(server.id, msg.id)
        return hold if hold is not None and hold.step == "queued" else None

    hold = await eventually(queued)
    assert value(await scrape(env), "steward_holds_pending") == 1.0

    env.clock.advance(minutes=90)  # the moderator takes an hour and a half
    card = sb.message(hold.queue_message_id)
    r = await sb.click(card, "Approve", by=server.moderator)
    await r.done()
    assert "Approved hold" in r.texts[-1]

    r = await sb.slash(server.guild, server.moderator, "followup remind", member=server.member,
                       when="30m", options={"channel": server.general})
    await r.done()
    assert r.texts[-1].startswith("Scheduled reminder #")
    env.clock.advance(minutes=31)
    await sb.wait_for_message(server.general, lambda m: f"<@{server.member.id}>" in m.content)
    await asyncio.wait_for(scheduler.wait_idle(), 10)

    body = await scrape(env)
    assert value(body, "steward_holds_pending") == 0.0
    assert value(body, 'steward_holds_decided_total{outcome="approved"}') == 1.0
    assert value(body, "steward_hold_decision_seconds_count") == 1.0
    # 90 minutes: above the 1-hour bucket, within the 4-hour one.
    assert value(body, 'steward_hold_decision_seconds_bucket{le="3600.0"}') == 0.0
    assert value(body, 'steward_hold_decision_seconds_bucket{le="14400.0"}') == 1.0
    reposts = sum(value(body, f'steward_reposts_total{{mode="{m}"}}') or 0.0
                  for m in ("webhook", "bot"))
    assert reposts == 1.0
    assert value(body, 'steward_reminders_total{outcome="fired"}') == 1.0
    assert value(body, 'steward_reminders_total{outcome="late"}') is None


async def test_departures_rejections_and_the_pending_reminder_gauge(env):
    sb, server = env.sb, env.main
    service = env.bot.services.linkhold
    leaver = await sb.join(server.guild, "metrics-leaver")
    msg = await sb.post(server.general, leaver, "Look: https://vimeo.com/777")

    async def queued():
        hold = await service.holds.by_message(server.id, msg.id)
        return hold if hold is not None and hold.step == "queued" else None

    await eventually(queued)
    await sb.leave(server.guild, leaver)

    async def counted():
        body = await scrape(env)
        return value(body, 'steward_holds_decided_total{outcome="member_left"}') == 1.0

    await eventually(counted)
    assert value(await scrape(env), "steward_holds_pending") == 0.0

    # The pending-reminders gauge is counted on a slow loop (never per event).
    for when in ("2d", "3d"):
        r = await sb.slash(server.guild, server.moderator, "followup remind",
                           member=server.member, when=when, options={"channel": server.general})
        await r.done()
    env.clock.advance(minutes=6)

    async def gauge_counted():
        return value(await scrape(env), "steward_reminders_pending") == 2.0

    await eventually(gauge_counted)
    env.clock.advance(timedelta(days=4))
    await sb.wait_for(lambda: len([m for m in sb.messages(server.general)
                                   if f"<@{server.member.id}>" in m.content]) >= 3)
    await asyncio.wait_for(env.bot.services.scheduler.wait_idle(), 10)
    env.clock.advance(minutes=6)

    async def gauge_emptied():
        return value(await scrape(env), "steward_reminders_pending") == 0.0

    await eventually(gauge_emptied)
    body = await scrape(env)
    assert value(body, 'steward_reminders_total{outcome="fired"}') == 3.0


async def test_welcomes_are_counted_by_outcome(env):
    sb, server = env.sb, env.main
    general_id = server.general.id
    await env.bot.guild_settings.update(
        server.id, lambda c: setattr(c.welcome, "channel", general_id))
    newcomer = await sb.join(server.guild, "metrics-welcomed")
    await sb.wait_for_message(server.general, lambda m: f"<@{newcomer.id}>" in m.content)

    async def sent_counted():
        return value(await scrape(env), 'steward_welcomes_total{outcome="sent"}') == 1.0

    await eventually(sent_counted)

    sb.deny(server.general, "send_messages")
    try:
        refused = await sb.join(server.guild, "metrics-unwelcomed")

        async def failed_counted():
            body = await scrape(env)
            return value(body, 'steward_welcomes_total{outcome="failed"}') == 1.0

        await eventually(failed_counted)
        assert not any(f"<@{refused.id}>" in m.content for m in sb.messages(server.general))
    finally:
        sb.allow(server.general, "send_messages")
