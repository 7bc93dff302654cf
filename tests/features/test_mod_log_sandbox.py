"""A mod log people read, on the wire: human titles, who did it (a mention that pings nobody),
Discord timestamps, no raw values, one entry per decision, and per-event routing.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from bot.clock import FakeClock
from sandbox import Sandbox
from tests.features.test_linkhold_sandbox import Env, held

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

POST_MESSAGE = "POST /channels/{channel_id}/messages"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    clock = FakeClock()
    database = tmp_path_factory.mktemp("modlog") / "steward.sqlite3"
    async with Sandbox(clock) as sb, Env(sb, clock, database) as e:
        await (await sb.slash(e.guild, e.owner, "steward settings", mod_log=e.mod_log)).done()
        r = await sb.slash(e.guild, e.owner, "linkhold settings", queue_channel=e.queue)
        await r.done()
        await sb.idle(quiet=0.3)  # the settings entries and the doctor's first report
        yield e


@pytest.fixture(autouse=True)
def _clean(env):
    env.sb.reset()
    env.seen = len(env.sb.messages(env.mod_log))


def log_embeds(env) -> list[dict]:
    """What the mod log got since the test (or the last `forget_log`) began."""
    return [e for m in env.sb.messages(env.mod_log)[env.seen:] for e in m.embeds]


def forget_log(env) -> None:
    env.sb.reset()
    env.seen = len(env.sb.messages(env.mod_log))


async def settled_log(env, count: int) -> list[dict]:
    await env.sb.wait_for(lambda: len(log_embeds(env)) >= count)
    await env.sb.idle(quiet=0.2)
    return log_embeds(env)


RAW = ("hold.", "repost.", "Removed: removed", "Edited: False", ": True", ": False")


async def test_a_held_link_and_its_approval_read_as_two_plain_entries(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Our family's video: https://youtu.be/journey")
    hold, card = await held(env, msg)
    entries = await settled_log(env, 1)
    assert [e["title"] for e in entries] == ["Link held"], entries
    held_entry = entries[0]
    assert held_entry["title"] == "Link held"
    text = held_entry["description"]
    assert "**Post removed:** yes" in text and "<t:" in text and ":f>" in text
    assert f"**Member:** <@{newbie.id}>" in text and "[Open the card](" in text
    assert not any(raw in text for raw in RAW), text
    forget_log(env)

    r = await sb.click(card, custom_id=f"steward:hold:{hold.id}:approve", by=env.moderator)
    await r.done()
    # One entry for the decision (not the repost, not a trust entry beside it).
    entries = await settled_log(env, 1)
    assert [e["title"] for e in entries] == ["Post approved"], entries
    text = entries[0]["description"]
    assert text.startswith(f"Approved by <@{env.moderator.id}> · <t:"), text
    assert "**Member told:** by DM" in text and "[Open the post](" in text
    assert "Edited" not in text and not any(raw in text for raw in RAW), text
    assert entries[0]["footer"]["text"].startswith("Audit entry ")
    # The mention names the moderator without pinging anyone.
    [log_post] = sb.requests_matching(POST_MESSAGE, channel_id=env.mod_log.id)
    assert log_post.allowed_mentions == {"parse": []} or not any(
        log_post.allowed_mentions.get(k) for k in ("parse", "users", "roles"))
    # The audit table keeps all three records for tools and /steward audit.
    actions = [e.action for e in await env.bot.audit.repository.recent(
        env.guild.id, target_id=newbie.id)]
    assert {"hold.approved", "repost.published", "hold.held"} <= set(actions)


async def test_approve_and_trust_is_one_entry_too(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Look: https://youtu.be/trusted")
    hold, card = await held(env, msg)
    await settled_log(env, 1)
    forget_log(env)
    r = await sb.click(card, custom_id=f"steward:hold:{hold.id}:trust", by=env.moderator)
    await r.done()
    entries = await settled_log(env, 1)
    assert [e["title"] for e in entries] == ["Post approved, member trusted"], entries


async def test_routing_welcomes_are_off_by_default_and_admins_choose(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.owner, "steward modlog")
    await r.done()
    assert "⬜ **welcome**" in r.content and "✅ **linkhold**" in r.content, r.content
    await env.bot.audit.record(env.guild.id, env.moderator.id, "welcome.resent", env.regular.id)
    await env.bot.audit.record(env.guild.id, None, "welcome.failed", env.regular.id,
                               {"problem": "missing Send Messages"})
    entries = await settled_log(env, 1)
    # The routine welcome stays in the audit table; the problem always reaches the mod log.
    assert [e["title"] for e in entries] == ["Welcome failed"]

    r = await sb.slash(env.guild, env.moderator, "steward modlog", event="welcome", show=True)
    await r.done()
    assert r.ephemeral and "Saved" not in r.content  # moderators can't change it
    r = await sb.slash(env.guild, env.owner, "steward modlog", event="welcome", show=True)
    await r.done()
    assert "Saved" in r.content and "✅ **welcome**" in r.content, r.content
    forget_log(env)
    await env.bot.audit.record(env.guild.id, env.moderator.id, "welcome.resent", env.regular.id)
    entries = await settled_log(env, 1)
    assert entries[0]["title"] == "Welcome sent again"
    assert entries[0]["description"].startswith(f"Sent by <@{env.moderator.id}>")

    r = await sb.slash(env.guild, env.owner, "steward modlog", event="linkhold", show=False)
    await r.done()
    assert "⬜ **linkhold**" in r.content
    forget_log(env)
    await env.bot.audit.record(env.guild.id, env.moderator.id, "member.trusted",
                               env.regular.id)
    await env.bot.audit.record(env.guild.id, None, "hold.remove_failed", env.regular.id)
    entries = await settled_log(env, 1)
    assert [e["title"] for e in entries] == ["Held link could not be removed"]
    r = await sb.slash(env.guild, env.owner, "steward modlog", event="linkhold", show=True)
    await r.done()
