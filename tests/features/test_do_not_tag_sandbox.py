"""In memoriam / do-not-tag, end to end on the sandbox: a moderator marks a member, their open
follow-up closes without a check-in, nobody can tag or remind them, the mark survives a
restart, is audited, listed and reversible; non-moderators are refused.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from bot.clock import FakeClock
from sandbox import Sandbox
from tests.features.test_followups_sandbox import (
    Env,
    ask,
    bot_messages,
    checkins,
    forum_question,
    modlog_texts,
    tag_in,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    clock = FakeClock()
    database = tmp_path_factory.mktemp("do_not_tag") / "steward.sqlite3"
    async with Sandbox(clock) as sb, Env(sb, clock, database) as e:
        await (await sb.slash(e.guild, e.owner, "steward settings", mod_log=e.mod_log)).done()
        yield e


@pytest.fixture(autouse=True)
def _clean(env):
    env.sb.reset()


async def quiet(env, verb: str, by=None, **options):
    r = await env.sb.slash(env.guild, by or env.owner, f"care quiet {verb}", **options)
    await r.done()
    return r


async def test_in_memoriam_closes_the_open_followup_quietly_and_nobody_is_tagged(env):
    op, thread, question = await forum_question(env)
    await ask(env, question)
    await tag_in(env, thread, op)
    before = len(bot_messages(env, thread))

    r = await quiet(env, "add", member=op, reason="in_memoriam")
    assert r.ephemeral
    assert "won't tag, remind, welcome or suggest groups" in r.content, r.content
    assert "in memoriam" in r.content and "closed 1 follow-up item" in r.content

    # A week on: no check-in into the family's thread, nothing posted there at all.
    await env.advance(days=8)
    assert checkins(env, thread, op) == []
    assert len(bot_messages(env, thread)) == before
    # The mod log has the one decision; the follow-up's closure stays in the audit table.
    texts = modlog_texts(env)
    assert sum("in memoriam" in t for t in texts) == 1, texts
    assert not any("Follow-up closed" in t or "Reminder cancelled" in t for t in texts), texts
    assert sum(t.startswith("Member marked do-not-tag") for t in texts) == 1, texts
    entries = await env.bot.audit.repository.recent(env.guild.id, target_id=op.id, limit=20)
    actions = [e.action for e in entries]
    assert "care.quiet_added" in actions and "followup.closed" in actions

    # Nobody can ask them or schedule a reminder for them now.
    _, thread2, question2 = await forum_question(env, op=op)
    r = await ask(env, question2)
    assert "asked me never to tag" in r.content, r.content
    assert bot_messages(env, thread2) == []
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=op, when="1h")
    await r.done()
    assert "asked me never to tag" in r.content, r.content


async def test_the_mark_is_listed_survives_a_restart_and_can_be_removed(env):
    member = env.member()
    r = await quiet(env, "add", by=env.moderator, member=member, reason="asked")
    assert "they asked for quiet" in r.content, r.content
    r = await quiet(env, "add", by=env.moderator, member=member, reason="asked")
    assert "already marked" in r.content, r.content

    await env.restart()
    r = await quiet(env, "list", by=env.moderator)
    assert f"<@{member.id}>: they asked for quiet" in r.content, r.content
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=member,
                           when="1h")
    await r.done()
    assert "asked me never to tag" in r.content

    r = await quiet(env, "remove", by=env.moderator, member=member)
    assert "may tag" in r.content, r.content
    r = await quiet(env, "remove", by=env.moderator, member=member)
    assert "isn't marked" in r.content, r.content
    r = await env.sb.slash(env.guild, env.moderator, "followup remind", member=member,
                           when="1h")
    await r.done()
    assert "asked me never to tag" not in r.content, r.content
    entries = await env.bot.audit.repository.recent(env.guild.id, target_id=member.id)
    assert [e.action for e in entries if e.action.startswith("care.quiet")] == [
        "care.quiet_removed", "care.quiet_changed", "care.quiet_added"]


async def test_members_cannot_mark_anyone_and_bots_are_refused(env):
    member = env.member()
    r = await quiet(env, "add", by=env.helper, member=member, reason="asked")
    assert r.ephemeral and "moderator" in r.content.lower(), r.content
    r = await quiet(env, "list", by=env.helper)
    assert "moderator" in r.content.lower(), r.content
    r = await quiet(env, "add", member=env.sb.bot_user, reason="asked")
    assert "bot" in r.content, r.content
    r = await quiet(env, "list")
    assert f"<@{member.id}>" not in r.content
