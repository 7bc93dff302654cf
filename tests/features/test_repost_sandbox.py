"""Repost on behalf, end to end: the real StewardBot against the Discord sandbox."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from bot.clock import FakeClock
from bot.db.audit import AuditEntry
from bot.domain.audit import title_of
from bot.services.repost import RepostRequest, RepostService
from sandbox import Sandbox
from sandbox.world import StewardHarness

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

EXECUTE = "POST /webhooks/{webhook_id}/{webhook_token}"
CREATE_HOOK = "POST /channels/{channel_id}/webhooks"
BOT_SEND = "POST /channels/{channel_id}/messages"
ATTRIBUTION = "— shared for <@{id}> by the moderators"
_names = count()


class Env(StewardHarness):
    """The sandbox, a support server, and Steward running on it (restartable)."""

    def __init__(self, sb: Sandbox, clock: FakeClock, database: Path) -> None:
        super().__init__(sb, clock, database)
        g = self.guild = sb.add_guild("Hope Together", "owner")
        self.owner = sb.member(g, "owner")
        self.general = sb.add_text_channel(g, "general")
        self.stories = sb.add_text_channel(g, "stories")
        self.mod_log = sb.add_text_channel(g, "mod-log")
        self.forum = sb.add_forum_channel(g, "colorectal-cancer", tags=["Story", "Question"])
        self.mod_role = sb.add_role(g, "Moderators", ["manage_messages"])
        self.moderator = sb.add_member(g, "morgan", roles=[self.mod_role])
        self.anna = sb.add_member(g, "anna", nick="Anna (caregiver)")
        self.other = sb.add_member(g, "olive")
        self.newbie = sb.add_member(g, "nina", joined_at=clock.now() - timedelta(hours=5))

    @property
    def service(self) -> RepostService:
        return self.bot.services.repost

    async def set_mode(self, mode: str) -> None:
        r = await self.sb.slash(self.guild, self.owner, "repost settings", mode=mode)
        await r.done()
        assert "Saved" in r.content, r.content

    async def audit(self, action: str) -> list[AuditEntry]:
        return await self.bot.audit.repository.recent(self.guild.id, action_prefix=action)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    clock = FakeClock()
    database = tmp_path_factory.mktemp("repost") / "steward.sqlite3"
    async with Sandbox(clock) as sb, Env(sb, clock, database) as e:
        r = await sb.slash(e.guild, e.owner, "steward settings", mod_log=e.mod_log)
        await r.done()
        yield e


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def _fresh(env):
    env.sb.reset()
    env.sb.open_dms(env.anna)
    env.dm_baseline = len(env.sb.dms(env.anna))


def new_dms(env):
    """DMs Anna got during this test."""
    return env.sb.dms(env.anna)[env.dm_baseline:]


async def repost_via_menu(env, message, *, by=None, intro=None, to=None, ping=False,
                          title=None):
    """A moderator uses "Repost for member" on `message` and submits the modal."""
    sb = env.sb
    r = await sb.context_menu(env.guild, by or env.moderator, "Repost for member",
                              target=message)
    await r.responded()
    assert r.modal is not None, r.content
    values = {"Your note as moderators (optional)": intro} if intro else {}
    if title:
        values["Forum post title (forums only)"] = title
    submitted = await sb.submit_modal(
        r.modal, by=by or env.moderator, values=values,
        selects={"Post it in": [str((to or message.channel).id)],
                 "Ping the member in the post?": ["yes" if ping else "no"]},
    )
    await submitted.done()
    # discord.py sleeps before retrying a 5xx: wait for the answer, not just for quiet.
    await sb.wait_for(lambda: submitted.content, timeout=10)
    await sb.idle()
    return submitted


async def warm_up(env, text):
    """Make sure #stories has the bot's webhook, then start counting afresh."""
    warm = await env.sb.post(env.general, env.anna, text)
    await repost_via_menu(env, warm, to=env.stories)
    env.sb.reset()
    env.dm_baseline = len(env.sb.dms(env.anna))


def executed(env):
    """Successful webhook executions (not interaction follow-ups)."""
    return [q for q in env.sb.requests_matching(EXECUTE)
            if q.ok and q.params.get("webhook_id") != env.sb.application_id]


# -------------------------------------------------------------------------------- webhook


async def test_moderator_reposts_in_the_members_name(env):
    sb = env.sb
    original = await sb.post(env.general, env.anna,
                             "Our journey so far, my husband and me. Thank you all.")
    r = await repost_via_menu(env, original, intro="Anna asked us to share this for her.",
                              to=env.stories)
    assert r.ephemeral and "Shared in their name" in r.content, r.content
    assert "I told them by DM" in r.content
    # One bot-owned webhook in #stories posted it with Anna's display name.
    (hook,) = sb.webhooks_in(env.stories)
    assert hook.creator.id == sb.bot_user.id
    (call,) = executed(env)
    assert call.json["username"] == "Anna (caregiver)"
    assert call.allowed_mentions == {"parse": [], "replied_user": False} or \
        call.allowed_mentions.get("parse") == []
    (posted,) = sb.messages(env.stories)
    assert posted.webhook_id == hook.id
    assert posted.content.startswith(
        f"-# 🛡️ The moderators, about this post by <@{env.anna.id}>: Anna asked us to share "
        "this for her.\n\nOur journey so far")
    assert posted.content.endswith(ATTRIBUTION.format(id=env.anna.id))
    assert sb.mentions_pinged(posted) == set()
    # The one notice: a DM with the link; nothing else sent to Anna.
    (dm,) = new_dms(env)
    assert posted.jump_url in dm.content and f"<#{env.stories.id}>" in dm.content
    # The original stays; the audit log and mod log have the repost.
    assert not original.deleted
    (entry,) = await env.audit("repost.published")
    assert entry.actor_id == env.moderator.id and entry.target_id == env.anna.id
    assert entry.details["result"] == posted.jump_url and entry.details["mode"] == "webhook"
    log_post = await sb.wait_for_message(env.mod_log)
    assert log_post.embeds[0]["title"] == title_of("repost.published")
    # "About this repost" and the lookup the follow-up feature uses.
    record = await env.service.find_by_message(posted.id)
    assert record is not None and record.member_id == env.anna.id
    about = await sb.context_menu(env.guild, env.other, "About this repost", target=posted)
    await about.done()
    assert about.ephemeral and f"<@{env.anna.id}>" in about.content
    assert f"<@{env.moderator.id}>" in about.content


async def test_webhook_is_reused_and_found_again_after_restart(env):
    sb = env.sb
    first = await sb.post(env.general, env.anna, "first note for the stories channel")
    await repost_via_menu(env, first, to=env.stories)
    await env.restart()
    sb.reset()
    second = await sb.post(env.general, env.anna, "second note after a restart")
    await repost_via_menu(env, second, to=env.stories)
    assert sb.requests_matching(CREATE_HOOK) == []  # found by listing, not re-created
    assert len(sb.webhooks_in(env.stories)) == 1
    assert sb.messages(env.stories)[-1].content.startswith("second note")


async def test_webhook_deleted_by_an_admin_is_recreated(env):
    sb = env.sb
    warm = await sb.post(env.general, env.anna, "warming up the webhook")
    await repost_via_menu(env, warm, to=env.stories)
    (old,) = sb.webhooks_in(env.stories)
    await sb.delete_webhook(old)
    sb.reset()
    again = await sb.post(env.general, env.anna, "after the admin cleaned up webhooks")
    r = await repost_via_menu(env, again, to=env.stories)
    assert "Shared in their name" in r.content, r.content
    failed = [q for q in sb.requests_matching(EXECUTE) if q.error_code == 10015]
    assert len(failed) == 1
    (new,) = sb.webhooks_in(env.stories)
    assert new.id != old.id
    assert sb.messages(env.stories)[-1].webhook_id == new.id
    assert sb.messages(env.stories)[-1].content.startswith("after the admin")


# ------------------------------------------------------------------------------ bot mode


async def test_bot_mode_posts_as_steward_with_a_nonce(env):
    sb = env.sb
    await env.set_mode("bot")
    try:
        original = await sb.post(env.general, env.anna, "Posting as the bot this time.")
        r = await repost_via_menu(env, original, to=env.stories)
        assert "Shared as Steward" in r.content, r.content
        (call,) = [q for q in sb.requests_matching(BOT_SEND, channel=env.stories)]
        assert call.json["nonce"] and call.json["enforce_nonce"] is True
        posted = sb.messages(env.stories)[-1]
        assert posted.author.id == sb.bot_user.id and posted.webhook_id is None
        assert posted.content.startswith(f"**Shared on behalf of <@{env.anna.id}>:**")
        assert "Posting as the bot this time." in posted.content
        assert sb.mentions_pinged(posted) == set()
        assert executed(env) == []
    finally:
        await env.set_mode("webhook")


async def test_without_manage_webhooks_falls_back_to_bot_mode_and_says_so(env):
    sb = env.sb
    sb.deny(env.general, "manage_webhooks")
    try:
        await sb.wait_for(lambda: env.bot.get_channel(env.general.id).permissions_for(
            env.bot.get_guild(env.guild.id).me).manage_webhooks is False)
        original = await sb.post(env.general, env.anna, "A moderator may share this for me.")
        r = await repost_via_menu(env, original)
        assert "Shared as Steward" in r.content, r.content
        assert sb.requests_matching(CREATE_HOOK) == [] and executed(env) == []
        posted = sb.messages(env.general)[-1]
        assert posted.author.id == sb.bot_user.id
        (entry,) = (await env.audit("repost.published"))[:1]
        assert entry.details["mode"] == "bot"
        assert "Manage Webhooks" in entry.details["notes"]
    finally:
        sb.set_overwrite(env.general, sb.bot_user, allow=0, deny=0)


# ------------------------------------------------------------------------------- content


async def test_forum_post_created_in_the_members_name(env):
    sb = env.sb
    story_tag = next(t for t in env.forum.available_tags if t["name"] == "Story")
    result = await env.service.publish(RepostRequest(
        guild_id=env.guild.id, member_id=env.anna.id, content="Diagnosed last spring.\n\nHi all",
        destination_id=env.forum.id, moderator_id=env.moderator.id, reason="hold approved",
        source="hold:41", forum_title="Our story", forum_tag_ids=(int(story_tag["id"]),),
        notice="Your post was approved: {link}",
    ))
    (call,) = executed(env)
    assert call.json["thread_name"] == "Our story"
    assert [int(t) for t in call.json["applied_tags"]] == [int(story_tag["id"])]
    thread = sb.world.channel(result.channel_id)
    assert thread.parent_id == env.forum.id and thread.name == "Our story"
    starter = sb.message(result.message_ids[0])
    assert starter.id == thread.id and starter.webhook_id is not None
    assert starter.content.endswith(ATTRIBUTION.format(id=env.anna.id))
    # Webhook posts don't add the member to the thread: the bot does, and tells them once.
    assert sb.requests_matching("PUT /channels/{channel_id}/thread-members/{user_id}",
                                channel_id=thread.id, user_id=env.anna.id)
    (dm,) = new_dms(env)
    assert dm.content == f"Your post was approved: {result.jump_url}"
    # The follow-up feature learns the thread's real "OP".
    record = await env.service.find_by_message(thread.id)
    assert record is not None and record.member_id == env.anna.id and record.created_thread


async def test_menu_repost_into_a_forum_with_a_title(env):
    sb = env.sb
    original = await sb.post(env.general, env.anna, "Could someone explain what CEA means?")
    r = await repost_via_menu(env, original, to=env.forum, title="What does CEA mean?")
    assert "Shared in their name" in r.content, r.content
    (call,) = executed(env)
    assert call.json["thread_name"] == "What does CEA mean?"
    thread_id = int(r.content.split("/")[-1].split()[0])
    assert sb.world.channels[thread_id].name == "What does CEA mean?"


async def test_a_forum_post_for_a_member_gets_a_neutral_title_not_their_first_sentence(env):
    sb = env.sb
    original = await sb.post(env.general, env.anna,
                             "My cancer has spread to my liver. I don't know what to ask.")
    r = await sb.context_menu(env.guild, env.moderator, "Repost for member", target=original)
    await r.responded()
    title_field = next(i for i in r.modal.inputs() if i.get("max_length") == 100)
    assert title_field["value"] == "Shared for Anna (caregiver)"  # offered, editable
    submitted = await sb.submit_modal(
        r.modal, by=env.moderator, values={},
        selects={"Post it in": [str(env.forum.id)], "Ping the member in the post?": ["no"]})
    await submitted.done()
    await sb.wait_for(lambda: submitted.content, timeout=10)
    await sb.idle()
    (call,) = executed(env)
    assert call.json["thread_name"] == "Shared for Anna (caregiver)"
    # Her DM names the post by that short title and the forum, not "#My cancer has spread…".
    (dm,) = new_dms(env)
    assert f"“Shared for Anna (caregiver)” in <#{env.forum.id}>" in dm.content, dm.content
    assert "liver" not in dm.content


async def test_mass_role_and_user_mentions_ping_nobody(env):
    sb = env.sb
    text = (f"@everyone @here please read. <@&{env.mod_role.id}> thanks, and "
            f"<@{env.other.id}> you helped so much.")
    original = await sb.post(env.general, env.anna, text)
    await repost_via_menu(env, original, to=env.stories)
    posted = sb.messages(env.stories)[-1]
    assert "@everyone" in posted.content  # the words are kept...
    assert sb.mentions_pinged(posted) == set()  # ...but nobody is pinged
    (call,) = executed(env)
    assert call.allowed_mentions["parse"] == []
    assert not call.allowed_mentions.get("users") and not call.allowed_mentions.get("roles")


async def test_ping_the_member_pings_exactly_them(env):
    sb = env.sb
    original = await sb.post(env.general, env.anna, f"@everyone hello <@{env.other.id}>")
    await repost_via_menu(env, original, to=env.stories, ping=True)
    posted = sb.messages(env.stories)[-1]
    assert sb.mentions_pinged(posted) == {env.anna.id}


async def test_attachments_reuploaded_and_reply_linked(env):
    sb = env.sb
    question = await sb.post(env.general, env.other, "How did the first scan go?")
    original = await sb.post(env.general, env.anna, "Here is the scan report.",
                             attachments=[("scan.png", b"\x89PNG fake image bytes")],
                             reply_to=question)
    await repost_via_menu(env, original, to=env.stories)
    (call,) = executed(env)
    assert [f.filename for f in call.files] == ["scan.png"]
    posted = sb.messages(env.stories)[-1]
    assert [a.filename for a in posted.attachments] == ["scan.png"]
    assert f"In reply to {question.jump_url}" in posted.content


# ------------------------------------------------------------------------------ failures


async def test_non_moderator_is_refused_and_nothing_is_posted(env):
    sb = env.sb
    original = await sb.post(env.general, env.anna, "please share")
    before = len(sb.messages(env.stories))
    r = await sb.context_menu(env.guild, env.other, "Repost for member", target=original)
    await r.done()
    assert r.modal is None and r.ephemeral and "Only moderators" in r.content
    await sb.idle()
    assert len(sb.messages(env.stories)) == before and executed(env) == []
    assert sb.requests_matching(BOT_SEND) == []


async def test_closed_dms_tell_the_member_in_the_channel_once(env):
    sb = env.sb
    sb.close_dms(env.anna)
    original = await sb.post(env.general, env.anna, "DMs closed, still grateful")
    r = await repost_via_menu(env, original, to=env.stories)
    assert "DMs are closed" in r.content
    posted, notice = sb.messages(env.stories)[-2:]
    assert posted.webhook_id is not None
    assert notice.author.id == sb.bot_user.id and posted.jump_url in notice.content
    assert sb.mentions_pinged(notice) == {env.anna.id}
    assert new_dms(env) == []
    (entry,) = (await env.audit("repost.published"))[:1]
    assert "DMs are closed" in entry.details["notes"]
    assert entry.details["member_told"] == "in the channel (DMs closed)"


async def test_rate_limited_then_success_posts_once(env):
    sb = env.sb
    await warm_up(env, "warm the hook for the 429 test")
    sb.fail(EXECUTE, status=429, times=1, webhook_id=sb.webhooks_in(env.stories)[0].id)
    original = await sb.post(env.general, env.anna, "rate limited but posted once")
    r = await repost_via_menu(env, original, to=env.stories)
    assert "Shared in their name" in r.content
    calls = [q for q in sb.requests_matching(EXECUTE)
             if q.params.get("webhook_id") != sb.application_id]
    assert [q.status for q in calls] == [429, 200]
    assert [m.content for m in sb.messages(env.stories)].count(
        sb.messages(env.stories)[-1].content) == 1


async def test_server_error_after_discord_posted_leaves_one_copy(env):
    sb = env.sb
    await warm_up(env, "warm the hook for the 500 test")
    # Discord creates the message, then answers 500; discord.py retries and posts again.
    sb.fail(EXECUTE, status=500, times=1, after_effect=True,
            webhook_id=sb.webhooks_in(env.stories)[0].id)
    original = await sb.post(env.general, env.anna, "a 500 must not make two copies")
    r = await repost_via_menu(env, original, to=env.stories)
    assert "Shared in their name" in r.content, r.content
    copies = [m for m in sb.messages(env.stories) if m.content.startswith("a 500 must")]
    assert len(copies) == 1
    # Discord did make two; the one the failed answer hid was found and removed.
    made = [m for m in sb.messages(env.stories, include_deleted=True)
            if m.content.startswith("a 500 must")]
    assert len(made) == 2 and made[0].deleted
    assert len(sb.requests_matching(
        "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")) == 1
    record = await env.service.find_by_message(copies[0].id)
    assert record is not None and record.message_ids == (copies[0].id,)
    assert len(new_dms(env)) == 1


async def test_bot_mode_server_error_after_posting_leaves_one_copy(env):
    sb = env.sb
    await env.set_mode("bot")
    try:
        sb.fail(BOT_SEND, status=500, times=1, after_effect=True, channel=env.stories)
        original = await sb.post(env.general, env.anna, "bot mode 500 must not duplicate")
        r = await repost_via_menu(env, original, to=env.stories)
        assert "Shared as Steward" in r.content, r.content
        copies = [m for m in sb.messages(env.stories)
                  if "bot mode 500 must not duplicate" in m.content]
        assert len(copies) == 1  # the retry carried the same nonce
    finally:
        await env.set_mode("webhook")


async def test_restart_in_the_middle_resumes_without_reposting(env):
    sb = env.sb
    long_text = "\n\n".join(f"Paragraph {i}. " + "We keep going, day by day. " * 20
                            for i in range(6))
    request = RepostRequest(
        guild_id=env.guild.id, member_id=env.anna.id, content=long_text,
        destination_id=env.stories.id, moderator_id=env.moderator.id, reason="hold approved",
        source="hold:900",
    )
    await warm_up(env, "warm the hook for the restart test")
    # Part one goes out, then Discord refuses part two: publish fails half way.
    sb.fail(EXECUTE, status=400, times=1, skip=1, webhook_id=sb.webhooks_in(env.stories)[0].id)
    with pytest.raises(discord.HTTPException):
        await env.service.publish(request)
    first_part = sb.messages(env.stories)[-1]
    assert first_part.content.startswith("Paragraph 0.")
    assert new_dms(env) == []  # not told about a half-published post
    (pending,) = await env.service.repository.pending(env.guild.id)
    assert pending.source == "hold:900" and pending.message_ids == (first_part.id,)
    # After a restart the same approval resumes: part one is not posted again.
    await env.restart()
    sb.reset()
    result = await env.service.publish(request)
    assert result.message_ids[0] == first_part.id and len(result.message_ids) >= 2
    posted = [m for m in sb.messages(env.stories) if m.content.startswith("Paragraph 0.")]
    assert posted == [first_part]
    assert len(executed(env)) == len(result.message_ids) - 1
    assert len(new_dms(env)) == 1
    assert await env.service.repository.pending(env.guild.id) == []


async def test_webhook_refused_mid_way_falls_back_to_bot_mode(env):
    sb = env.sb
    await warm_up(env, "warm the hook for the 403 test")
    sb.fail(EXECUTE, status=403, times=1, webhook_id=sb.webhooks_in(env.stories)[0].id)
    original = await sb.post(env.general, env.anna, "webhook refused, still shared")
    r = await repost_via_menu(env, original, to=env.stories)
    assert "Shared as Steward" in r.content, r.content
    posted = sb.messages(env.stories)[-1]
    assert posted.author.id == sb.bot_user.id and "webhook refused" in posted.content
    (entry,) = (await env.audit("repost.published"))[:1]
    assert entry.details["mode"] == "bot" and "refused the webhook" in entry.details["notes"]


# ------------------------------------------------------------------------ slash commands


async def test_repost_new_takes_text_from_the_modal_and_an_attachment(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.moderator, "repost new", member=env.anna,
                       options={"channel": env.stories},
                       attachment=("letter.png", b"\x89PNG scanned letter"))
    await r.responded()
    assert r.modal is not None
    text = "Sent to the moderators by e-mail.\n\nSecond paragraph, with care."
    submitted = await sb.submit_modal(
        r.modal, by=env.moderator, values={"Their words (edit if needed)": text},
        selects={"Post it in": [str(env.stories.id)], "Ping the member in the post?": ["no"]},
    )
    await submitted.done()
    await sb.wait_for(lambda: submitted.content, timeout=10)
    assert "Shared in their name" in submitted.content
    posted = sb.messages(env.stories)[-1]
    assert posted.content.startswith(text)
    assert [a.filename for a in posted.attachments] == ["letter.png"]
    record = await env.service.find_by_message(posted.id)
    assert record is not None and record.source == "manual"


async def test_repost_new_refused_for_non_moderators(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.other, "repost new", member=env.anna)
    await r.done()
    assert r.modal is None and r.ephemeral and "Only moderators" in r.content


async def test_settings_are_admin_only_and_validated(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.moderator, "repost settings", mode="bot")
    await r.done()
    assert r.ephemeral and "Only server admins" in r.content
    r = await sb.slash(env.guild, env.owner, "repost settings", attribution="by {moderator}")
    await r.done()
    assert "doesn't work" in r.content and "{member}" in r.content
    assert env.bot.guild_settings.get(env.guild.id).repost.mode == "webhook"
    r = await sb.slash(env.guild, env.owner, "repost settings",
                       attribution="— geteilt für {member} vom Moderationsteam")
    await r.done()
    assert "Saved" in r.content
    try:
        original = await sb.post(env.general, env.anna, "Danke euch allen")
        await repost_via_menu(env, original, to=env.stories)
        assert sb.messages(env.stories)[-1].content.endswith(
            f"— geteilt für <@{env.anna.id}> vom Moderationsteam")
    finally:
        r = await sb.slash(env.guild, env.owner, "repost settings",
                           attribution="— shared for {member} by the moderators")
        await r.done()


# ------------------------------------------------------------------ the copy stays theirs


async def open_manage(env, message, by):
    r = await env.sb.context_menu(env.guild, by, "Manage my reposted post", target=message)
    await r.done()
    return r


async def test_member_edits_their_copy_and_the_frame_stays(env):
    sb = env.sb
    original = await sb.post(env.general, env.anna, "First version of my words.")
    await repost_via_menu(env, original, to=env.stories)
    posted = sb.messages(env.stories)[-1]
    r = await open_manage(env, posted, env.anna)
    assert r.ephemeral and "your reposted post" in r.content
    e = await sb.click(r.message, label="Edit", by=env.anna)
    await e.responded()
    assert e.modal is not None
    (words,) = e.modal.inputs()
    assert e.modal.components[0]["label"] == "The words in this message"
    assert words["value"] == "First version of my words."  # prefilled, frame left out
    s = await sb.submit_modal(e.modal, by=env.anna,
                              values={"The words in this message": "Second, kinder version."})
    await s.done()
    assert "Saved" in s.content, s.content
    assert posted.content == ("Second, kinder version.\n\n"
                              + ATTRIBUTION.format(id=env.anna.id))
    (call,) = sb.requests_matching(
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    assert call.allowed_mentions["parse"] == []
    (entry,) = (await env.audit("repost.edited"))[:1]
    assert entry.actor_id == env.anna.id


async def test_others_cannot_manage_and_about_needs_a_repost(env):
    sb = env.sb
    original = await sb.post(env.general, env.anna, "Only Anna and the mods may change this.")
    await repost_via_menu(env, original, to=env.stories)
    posted = sb.messages(env.stories)[-1]
    r = await open_manage(env, posted, env.other)
    assert r.ephemeral and "Only the member this was shared for" in r.content
    assert r.message is None or not r.message.buttons()
    plain = await sb.post(env.general, env.other, "just a message")
    r = await sb.context_menu(env.guild, env.other, "About this repost", target=plain)
    await r.done()
    assert r.ephemeral and "isn't a repost" in r.content


async def test_new_member_cannot_edit_a_link_in(env):
    sb = env.sb
    original = await sb.post(env.general, env.newbie, "Hello, I am new here.")
    await repost_via_menu(env, original, to=env.stories)
    posted = sb.messages(env.stories)[-1]
    before = posted.content
    r = await open_manage(env, posted, env.newbie)
    e = await sb.click(r.message, label="Edit", by=env.newbie)
    await e.responded()
    s = await sb.submit_modal(e.modal, by=env.newbie, values={
        "The words in this message": "Hello, please buy at https://cheap-pills.com/now"})
    await s.done()
    assert "New members can't add links yet" in s.content, s.content
    assert posted.content == before
    assert sb.requests_matching(
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}") == []
    # A moderator may add it for them.
    r = await open_manage(env, posted, env.moderator)
    e = await sb.click(r.message, label="Edit", by=env.moderator)
    await e.responded()
    s = await sb.submit_modal(e.modal, by=env.moderator, values={
        "The words in this message": "Hello, our hospital's page: https://hospital.org/"})
    await s.done()
    assert "Saved" in s.content and "https://hospital.org/" in posted.content


async def test_member_deletes_a_multi_part_copy(env):
    sb = env.sb
    text = "\n\n".join(f"Part of a long letter, paragraph {i}. " + "With love. " * 60
                       for i in range(5))
    result = await env.service.publish(RepostRequest(
        guild_id=env.guild.id, member_id=env.anna.id, content=text,
        destination_id=env.stories.id, moderator_id=env.moderator.id,
        reason="moderator repost", source="manual",
    ))
    assert len(result.message_ids) >= 2
    last = sb.message(result.message_ids[-1])
    r = await open_manage(env, last, env.anna)
    d = await sb.click(r.message, label="Delete", by=env.anna)
    await d.done()
    assert "Delete all" in d.content and "can't be undone" in d.content
    y = await sb.click(d.message, label="Yes, delete it", by=env.anna)
    await y.done()
    assert all(sb.message(i).deleted for i in result.message_ids)
    assert await env.service.find_by_message(result.message_ids[0]) is None
    (entry,) = (await env.audit("repost.deleted"))[:1]
    assert entry.actor_id == env.anna.id and entry.target_id == env.anna.id


async def test_deleting_a_forum_repost_removes_the_post(env):
    sb = env.sb
    result = await env.service.publish(RepostRequest(
        guild_id=env.guild.id, member_id=env.anna.id, content="A forum post to remove",
        destination_id=env.forum.id, moderator_id=env.moderator.id, reason="hold approved",
        source="hold:61", forum_title="To be removed",
    ))
    starter = sb.message(result.message_ids[0])
    r = await open_manage(env, starter, env.moderator)
    d = await sb.click(r.message, label="Delete", by=env.moderator)
    await d.done()
    assert "the whole forum post" in d.content
    y = await sb.click(d.message, label="Yes, delete it", by=env.moderator)
    await y.done()
    assert sb.world.channels[result.channel_id].deleted


async def test_new_member_may_fix_a_typo_around_an_approved_link(env):
    sb = env.sb
    result = await env.service.publish(RepostRequest(
        guild_id=env.guild.id, member_id=env.newbie.id,
        content="Our fundraiser: https://gofundme.com/f/our-journey thank yuo",
        destination_id=env.stories.id, moderator_id=env.moderator.id,
        reason="approved held post #5", source="hold:5",
    ))
    posted = sb.message(result.message_ids[0])
    r = await open_manage(env, posted, env.newbie)
    e = await sb.click(r.message, label="Edit", by=env.newbie)
    await e.responded()
    s = await sb.submit_modal(e.modal, by=env.newbie, values={
        "The words in this message": "Our fundraiser: https://gofundme.com/f/our-journey "
                                     "thank you"})
    await s.done()
    assert "Saved" in s.content, s.content
    assert posted.content.startswith("Our fundraiser: https://gofundme.com/f/our-journey thank you")


async def test_forum_post_made_twice_by_a_retry_is_removed(env):
    sb = env.sb
    await env.service.publish(RepostRequest(
        guild_id=env.guild.id, member_id=env.anna.id, content="warm the forum hook",
        destination_id=env.forum.id, moderator_id=env.moderator.id, reason="moderator repost",
        source="manual", forum_title="Warm-up",
    ))
    sb.reset()
    (hook,) = sb.webhooks_in(env.forum)
    sb.fail(EXECUTE, status=500, times=1, after_effect=True, webhook_id=hook.id)
    result = await env.service.publish(RepostRequest(
        guild_id=env.guild.id, member_id=env.anna.id, content="Only one forum post, please",
        destination_id=env.forum.id, moderator_id=env.moderator.id, reason="hold approved",
        source="hold:808", forum_title="One post only",
    ))
    posts = [c for c in sb.world.channels.values()
             if c.parent_id == env.forum.id and c.name == "One post only"]
    assert len(posts) == 2  # Discord made two...
    live = [c for c in posts if not c.deleted]
    assert [c.id for c in live] == [result.channel_id]  # ...and the extra one is gone


# -------------------------------------------------------------------------------- authority


async def closed_channel(env, name):
    """A channel @everyone can't see (Steward can): like #admins-only."""
    sb = env.sb
    channel = sb.add_text_channel(env.guild, name)
    sb.set_overwrite(channel, env.guild, deny=["view_channel"])
    sb.allow(channel, "view_channel", "send_messages", "manage_webhooks", "attach_files",
             "embed_links", "read_message_history")
    await sb.wait_for(lambda: env.bot.get_channel(channel.id) is not None)
    await sb.idle()
    return channel


async def test_a_moderator_cannot_repost_into_a_channel_they_cannot_post_in(env):
    sb = env.sb
    admins = await closed_channel(env, f"admins-only-{next(_names)}")
    original = await sb.post(env.general, env.anna, "Please share this for me.")
    r = await repost_via_menu(env, original, to=admins)
    assert r.ephemeral and "can't post in" in r.content, r.content
    assert sb.messages(admins) == []
    assert executed(env) == []
    assert new_dms(env) == []


async def test_repost_new_refuses_a_hidden_channel_before_the_form(env):
    sb = env.sb
    admins = await closed_channel(env, f"admins-only-{next(_names)}")
    r = await sb.slash(env.guild, env.moderator, "repost new", member=env.anna, channel=admins)
    await r.done()
    assert r.modal is None
    assert r.ephemeral and "can't post in" in r.content, r.content
    # Someone who can post there is not refused.
    sb.set_overwrite(admins, env.moderator, allow=["view_channel", "send_messages"])
    await sb.idle()
    r = await sb.slash(env.guild, env.moderator, "repost new", member=env.anna, channel=admins)
    await r.responded()
    assert r.modal is not None, r.content


async def test_repost_menu_refuses_where_the_moderator_may_read_but_not_send(env):
    sb = env.sb
    readonly = sb.add_text_channel(env.guild, f"announcements-{next(_names)}")
    sb.set_overwrite(readonly, env.moderator, deny=["send_messages"])
    await sb.wait_for(lambda: env.bot.get_channel(readonly.id) is not None)
    await sb.idle()
    original = await sb.post(readonly, env.anna, "Please share this for me.")
    r = await sb.context_menu(env.guild, env.moderator, "Repost for member", target=original)
    await r.done()
    assert r.modal is None and r.ephemeral and "can't post in" in r.content, r.content
