"""Distress comes first, end to end: the real StewardBot on the sandbox, asserted on the wire.

A member writes that they don't know how to keep going, in a channel where a support group's
keyword would otherwise bring an automated suggestion: Steward sends nothing automated at all,
the moderators get one alert (pinging nobody), one of them claims it, and the support message
goes by DM once after review. Closed DMs, non-moderators, restarts and dark humour too.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from bot.ui.care import TITLE
from tests.steward_env import running_env
from tests.waits import eventually

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

DISTRESS = ("Since Dad's stroke I'm also looking after him. "
            "Some days I don't know how to keep going.")
POST_MESSAGE = "POST /channels/{channel_id}/messages"


def _prepare(env) -> None:
    sb, server = env.sb, env.main
    env.queue = sb.add_text_channel(server.guild, "mod-queue")
    env.carers = sb.add_text_channel(server.guild, "carers-and-family")
    env.carers_role = sb.add_role(server.guild, "Carers group")
    env.moderator2 = sb.add_member(server.guild, "mod2", roles=[server.mod_role])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    async with running_env(tmp_path_factory.mktemp("care"), before_start=_prepare) as steward:
        sb, server = steward.sb, steward.main
        r = await sb.slash(server.guild, server.owner, "linkhold settings",
                           queue_channel=steward.queue)
        await r.done()
        assert "Saved" in r.content, r.content
        r = await sb.slash(server.guild, server.owner, "welcome group add",
                           name="Carers and Family", options={"channel": steward.carers},
                           keywords="carer, caregiver, looking after", role=steward.carers_role)
        await r.done()
        assert "Added" in r.content, r.content
        yield steward


@pytest.fixture(autouse=True)
def _clean(env):
    env.sb.reset()


def cards(env, member_id: int | None = None) -> list:
    return [m for m in env.sb.messages(env.queue)
            if any(e.get("title") == TITLE for e in m.embeds)
            and (member_id is None or f"<@{member_id}>" in m.embeds[0]["description"])]


async def card_for(env, member) -> object:
    return await env.sb.wait_for(lambda: next(iter(cards(env, member.id)), None),
                                 message=f"no care alert for {member.id}")


async def test_distress_gets_no_automated_reply_one_alert_one_claim_one_support_message(env):
    sb, server = env.sb, env.main
    # The group's keyword does bring a suggestion to an ordinary post.
    carol = await sb.join(server.guild, "carol")
    await sb.post(server.general, carol, "My wife is looking after me since the surgery.")
    await sb.wait_for_message(server.general, lambda m: "Interested in more" in m.content)
    sb.reset()

    sam = await sb.join(server.guild, "sam")
    await sb.idle()
    sb.reset()
    post = await sb.post(server.general, sam, DISTRESS)
    card = await card_for(env, sam)
    await sb.idle(quiet=0.2)
    # Nothing automated answers the post: the only message Steward sent is the alert.
    posted = [r for r in sb.requests if r.route == POST_MESSAGE]
    assert [int(r.params["channel_id"]) for r in posted] == [env.queue.id], posted
    assert sb.dms(sam) == []
    assert [m for m in sb.messages(server.general) if m.author.id == sb.bot_user.id
            and m.id > post.id] == []
    # One alert, pinging nobody: who, a jump link, the phrases that decided it, when.
    assert len(cards(env, sam.id)) == 1
    assert sb.mentions_pinged(card) == set()
    text = card.embeds[0]["description"]
    assert f"/{server.general.id}/{post.id}" in text
    assert "don't know how to keep going" in text and "<t:" in text
    assert "Some days" not in text  # the post's words stay in the post
    assert [b["label"] for b in card.buttons()] == ["I'll reach out", "Send support message"]

    # A member can't use the buttons.
    r = await sb.click(card, "I'll reach out", by=server.member)
    await r.done()
    assert r.ephemeral and "Only moderators" in r.texts[-1], r.texts

    # One claim; the second moderator is told who has it.
    r = await sb.click(card, "I'll reach out", by=server.moderator)
    await r.done()
    assert "Thank you" in r.texts[-1], r.texts
    await sb.wait_for(lambda: "**Reaching out:** <@" + str(server.moderator.id) + ">"
                      in sb.message(card.id).embeds[0]["description"])
    r = await sb.click(card, "I'll reach out", by=env.moderator2)
    await r.done()
    assert f"<@{server.moderator.id}> is already reaching out" in r.texts[-1], r.texts

    # The support message: reviewed in a modal, sent by DM once, signed.
    r = await sb.click(sb.message(card.id), "Send support message", by=server.moderator)
    await r.responded()
    assert r.modal is not None
    (field,) = r.modal.inputs()
    assert f"<@{sam.id}>" in field["value"] and "findahelpline.com" in field["value"]
    s = await sb.submit_modal(r.modal, by=server.moderator,
                              values={field["custom_id"]: field["value"] + "\nI'm around."})
    await s.done()
    assert "Sent to" in s.texts[-1], s.texts
    [dm] = sb.dms(sam)
    assert "I'm around." in dm.content and "a moderator of" in dm.content
    assert sb.mentions_pinged(dm) == set()
    await sb.wait_for(lambda: sb.message(card.id).buttons()[1].get("disabled"))
    assert "sent by DM" in sb.message(card.id).embeds[0]["description"]
    # The other moderator can't send a second one.
    r = await sb.click(card, "I'll reach out", by=env.moderator2)
    await r.done()
    assert len(sb.dms(sam)) == 1
    # The audit trail holds ids and links only.
    entries = await env.bot.audit.repository.recent(server.id, target_id=sam.id, limit=20)
    actions = {e.action for e in entries}
    assert {"care.alert", "care.claimed", "care.support_sent"} <= actions
    assert not any("keep going" in str(e.details) for e in entries)


async def test_closed_dms_tell_the_moderator_to_reach_out_another_way(env):
    sb, server = env.sb, env.main
    quiet = await sb.join(server.guild, "quietone")
    sb.close_dms(quiet)
    await sb.post(server.general, quiet, "Honestly I want to die.")
    card = await card_for(env, quiet)
    r = await sb.click(card, "Send support message", by=env.moderator2)
    await r.responded()
    s = await sb.submit_modal(r.modal, by=env.moderator2, values={})
    await s.done()
    assert "DMs are closed" in s.texts[-1] and "another way" in s.texts[-1], s.texts
    assert sb.dms(quiet) == []
    await sb.wait_for(lambda: "not delivered" in sb.message(card.id).embeds[0]["description"])


async def test_the_buttons_work_after_a_restart(env):
    sb, server = env.sb, env.main
    member = await sb.join(server.guild, "restarted")
    _, starter = await sb.forum_post(server.forum, member, "I can't go on anymore",
                                     "Sorry for the long post.")
    card = await card_for(env, member)
    assert f"/{starter.id}/{starter.id}" in card.embeds[0]["description"]  # a forum title
    await env.restart()
    r = await sb.click(card, "I'll reach out", by=env.moderator2)
    await r.done()
    assert "Thank you" in r.texts[-1], r.texts


async def test_dark_humour_and_medical_talk_raise_no_alert(env):
    sb, server = env.sb, env.main
    member = await sb.join(server.guild, "joker")
    await sb.post(server.general, member, "this chemo is killing me lol")
    await sb.post(server.general, member, "Scan day: the tumour is dead!")
    await sb.idle(quiet=0.2)
    assert cards(env, member.id) == []


async def test_admins_set_the_support_message_and_phrases(env):
    sb, server = env.sb, env.main
    r = await sb.slash(server.guild, server.admin, "care settings",
                       support_message="Hi {member}, {moderator} from {server} here. 💙")
    await r.done()
    assert "Saved" in r.content and "your own" in r.content, r.content
    r = await sb.slash(server.guild, server.admin, "care settings",
                       support_message="Hi {name}")
    await r.done()
    assert "unknown placeholder" in r.texts[-1], r.texts
    r = await sb.slash(server.guild, server.admin, "care phrases add", phrase="ready to give up")
    await r.done()
    member = await sb.join(server.guild, "tired")
    await sb.post(server.general, member, "I think I'm ready to give up on all of it")
    await card_for(env, member)
    r = await sb.slash(server.guild, server.admin, "care phrases remove",
                       phrase="ready to give up")
    await r.done()
    assert "no longer" in r.texts[-1], r.texts
    r = await sb.slash(server.guild, server.moderator, "care settings")
    await r.done()
    assert "Only server admins" in r.texts[-1], r.texts


# --- issue 15 follow-through: the link gate, templates, edits, Spanish ---------------------------


async def queued_hold(env, message_id: int):
    repo = env.bot.services.linkhold.holds

    async def queued():
        hold = await repo.by_message(env.main.id, message_id)
        return hold if hold is not None and hold.step == "queued" else None

    return await eventually(queued)


def queue_card(env, hold) -> object:
    return env.sb.message(hold.queue_message_id)


async def test_a_new_members_distress_post_with_a_link_is_held_and_alerts_once_no_notice(env):
    sb, server = env.sb, env.main
    newbie = await sb.join(server.guild, "newbie-in-pain")
    await sb.idle()
    sb.reset()
    msg = await sb.post(server.general, newbie,
                        "I can't go on anymore. This is the letter: https://letters.example/me")
    hold = await queued_hold(env, msg.id)
    card = await card_for(env, newbie)
    await sb.idle(quiet=0.2)
    assert msg.deleted  # the link gate still held it
    # No automated reply of any kind: no held-post DM, no notice in the channel.
    assert hold.member_told == "care"
    assert sb.dms(newbie) == []
    assert [m for m in sb.messages(server.general, include_deleted=True)
            if m.author.id == sb.bot_user.id and m.id > msg.id] == []
    # The queue card says a care alert exists and that the member was told nothing.
    text = queue_card(env, hold).display_text
    assert "reads as distress" in text and "Care alert" in text
    # Exactly one care alert, linking to the queue card (the post left the channel).
    assert len(cards(env, newbie.id)) == 1
    alert_text = card.embeds[0]["description"]
    assert f"/{env.queue.id}/{hold.queue_message_id})" in alert_text
    assert "held for review" in alert_text and f"/{msg.id})" not in alert_text
    assert sb.mentions_pinged(card) == set()
    # The claim reply links there too.
    r = await sb.click(card, "I'll reach out", by=server.moderator)
    await r.done()
    assert f"/{env.queue.id}/{hold.queue_message_id}" in r.texts[-1], r.texts
    # A moderator approves it: the member is told (a person decided), plainly, without cheer.
    r = await sb.click(queue_card(env, hold), "Approve", by=server.moderator)
    await r.done()
    [dm] = await sb.wait_for(lambda: sb.dms(newbie) or None, message="no approval notice")
    assert dm.content.startswith("A moderator shared your post in")
    assert "Good news" not in dm.content


async def test_a_quiet_member_gets_no_held_post_notice_and_no_second_alert(env):
    sb, server = env.sb, env.main
    newbie = await sb.join(server.guild, "quiet-newbie")
    await sb.idle()
    await sb.post(server.general, newbie, "Honestly there's no point anymore.")
    await card_for(env, newbie)
    sb.reset()
    # Later the same day: an ordinary link post. Held as usual, but not answered by Steward.
    msg = await sb.post(server.general, newbie, "Found this clinic: https://clinic.example/a")
    hold = await queued_hold(env, msg.id)
    await sb.idle(quiet=0.2)
    assert msg.deleted and hold.member_told == "quiet"
    assert sb.dms(newbie) == []
    assert [m for m in sb.messages(server.general, include_deleted=True)
            if m.author.id == sb.bot_user.id and m.id > msg.id] == []
    assert "care quiet window" in queue_card(env, hold).display_text
    assert len(cards(env, newbie.id)) == 1


async def test_a_broken_support_template_never_blocks_the_support_message(env):
    sb, server = env.sb, env.main
    member = await sb.join(server.guild, "needs-support")
    await sb.post(server.general, member, "I want to die, honestly.")
    card = await card_for(env, member)
    config = env.bot.guild_settings.get(server.id)
    saved = config.care
    # A template that slipped past validation (an older version, a hand-edited database).
    config.care = saved.model_copy(update={"support_template": "Hi {name}, we {care"})
    try:
        r = await sb.click(card, "Send support message", by=server.moderator)
        await r.responded()
        assert r.modal is not None, r.texts
        (field,) = r.modal.inputs()
        assert field["value"].startswith(f"Hi <@{member.id}>, I'm one of the moderators")
        # The moderator is told before they review it, and again once it is sent.
        [note] = [c for c in r.modal.components if c.get("type") == 10]
        assert "Steward's default" in note["content"]
        s = await sb.submit_modal(r.modal, by=server.moderator, values={})
        await s.done()
    finally:
        config.care = saved
    assert "Sent to" in s.texts[-1] and "Steward's default" in s.texts[-1], s.texts
    [dm] = sb.dms(member)
    assert "findahelpline.com" in dm.content
    entries = await env.bot.audit.repository.recent(server.id, target_id=member.id, limit=20)
    assert "template.fallback" in {e.action for e in entries}


async def test_an_edit_that_adds_distress_alerts_once(env):
    sb, server = env.sb, env.main
    member = await sb.join(server.guild, "editor")
    msg = await sb.post(server.general, member, "Long day at the clinic again.")
    await sb.idle(quiet=0.2)
    assert cards(env, member.id) == []
    await sb.edit(msg, "Long day at the clinic again. I can't go on like this.")
    card = await card_for(env, member)
    assert f"/{server.general.id}/{msg.id})" in card.embeds[0]["description"]
    # Editing again (a typo fixed) raises no second alert.
    await sb.edit(msg, "Long day at the clinic again. I can't go on like this anymore.")
    await sb.idle(quiet=0.2)
    assert len(cards(env, member.id)) == 1
    assert [m for m in sb.messages(server.general) if m.author.id == sb.bot_user.id
            and m.id > msg.id] == []


async def test_a_spanish_crisis_post_alerts_where_the_servers_language_is_unknown(env):
    sb, server = env.sb, env.main
    assert server.guild.preferred_locale == "en-US"  # Discord's default: says nothing
    member = await sb.join(server.guild, "lucia")
    await sb.post(server.general, member, "Ya no puedo más. Quiero morirme, de verdad.")
    card = await card_for(env, member)
    assert "Why:" in card.embeds[0]["description"]
    assert sb.dms(member) == []


async def test_a_new_member_editing_in_a_link_and_distress_gets_one_alert_at_the_queue_card(env):
    sb, server = env.sb, env.main
    newbie = await sb.join(server.guild, "late-editor")
    await sb.idle()
    msg = await sb.post(server.general, newbie, "Results day tomorrow.")
    await sb.idle(quiet=0.2)
    sb.reset()
    # One edit that both the link gate and care care about: the gate holds it first, then
    # care alerts once, linking to the queue card.
    await sb.edit(msg, "Results day. I want to end it all. https://forum.example/thread")
    hold = await queued_hold(env, msg.id)
    card = await card_for(env, newbie)
    await sb.idle(quiet=0.2)
    assert msg.deleted and hold.kind == "edit" and hold.member_told == "care"
    assert sb.dms(newbie) == []
    assert len(cards(env, newbie.id)) == 1
    assert f"/{env.queue.id}/{hold.queue_message_id})" in card.embeds[0]["description"]


async def test_a_new_members_forum_post_with_a_distress_title_and_a_link_alerts_once(env):
    sb, server = env.sb, env.main
    newbie = await sb.join(server.guild, "forum-newbie")
    await sb.idle()
    sb.reset()
    thread, starter = await sb.forum_post(server.forum, newbie, "Saying goodbye to everyone",
                                          "My blog: https://blog.example/last")
    hold = await queued_hold(env, starter.id)
    card = await card_for(env, newbie)
    await sb.idle(quiet=0.2)
    assert hold.member_told == "care" and sb.dms(newbie) == []
    assert len(cards(env, newbie.id)) == 1
    assert f"/{env.queue.id}/{hold.queue_message_id})" in card.embeds[0]["description"]


async def test_a_forum_post_renamed_to_distress_alerts_once(env):
    sb, server = env.sb, env.main
    member = await sb.join(server.guild, "renamer")
    thread, starter = await sb.forum_post(server.forum, member, "Week 3 of chemo",
                                          "An update for everyone.")
    await sb.idle(quiet=0.2)
    assert cards(env, member.id) == []
    await sb.rename(thread, "Week 3. I can't go on")
    card = await card_for(env, member)
    assert f"/{thread.id}/{starter.id})" in card.embeds[0]["description"]
    await sb.rename(thread, "Week 3. I can't go on any more")
    await sb.idle(quiet=0.2)
    assert len(cards(env, member.id)) == 1
    assert sb.dms(member) == []


async def test_a_new_members_rename_with_a_link_and_distress_is_held_quietly_and_alerts_once(env):
    sb, server = env.sb, env.main
    newbie = await sb.join(server.guild, "renaming-newbie")
    thread, _ = await sb.forum_post(server.forum, newbie, "Scan results", "Waiting.")
    await sb.idle(quiet=0.2)
    sb.reset()
    await sb.rename(thread, "I can't go on https://blog.example/last")
    await card_for(env, newbie)
    repo = env.bot.services.linkhold.holds

    async def rename_hold():
        held = [h for h in await repo.pending(server.id) if h.member_id == newbie.id]
        return held[0] if held and held[0].step == "queued" else None

    hold = await eventually(rename_hold)
    await sb.idle(quiet=0.2)
    assert hold.kind == "thread_rename" and hold.member_told == "care"
    assert sb.dms(newbie) == []
    assert len(cards(env, newbie.id)) == 1
