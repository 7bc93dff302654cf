"""`/privacy forget` and the features' own state: opt-outs still respected, memory cleared.

The real StewardBot against the sandbox's standard support server (`steward` fixture).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from itertools import count

import pytest

from bot.db.hold_members import PostCountRepository
from bot.services.privacy import FOLLOWUP_PINGS
from tests.waits import eventually as _eventually
from tests.waits import scheduler_idle

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

eventually = partial(_eventually, timeout=10.0)  # this module's default wait

_names = count()


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


async def forget(steward, user) -> str:
    sb, s = steward.sb, steward.server
    r = await sb.slash(s.guild, s.owner, "privacy forget", member=user)  # admins only
    await r.done()
    click = await sb.click(r.message, "Forget everything", by=s.owner)
    await click.done()
    assert r.message.content.startswith("Done."), r.message.content
    return r.message.content


async def remind(steward, member, when="1h") -> str:
    sb, s = steward.sb, steward.server
    r = await sb.slash(s.guild, s.mod, "followup remind", member=member, when=when,
                       options={"channel": s.general})
    await r.done()
    return r.texts[-1]


# --- follow-ups ----------------------------------------------------------------------------------


async def test_a_forgotten_members_opt_out_still_holds_until_they_opt_back_in(steward):
    sb, s = steward.sb, steward.server
    service = steward.bot.services.followups
    privacy = steward.bot.services.privacy
    await scheduler_idle(steward)
    op = await sb.join(s.guild, fresh("op"), joined_at=steward.clock.now() - timedelta(days=60))
    r = await sb.slash(s.guild, op, "preferences", followup_pings="off")
    await r.done()
    await forget(steward, op)
    # The plain preference row is gone; only the keyed hash remains.
    assert (await service.repository.prefs(s.guild.id, op.id)).pings is True
    assert await privacy.has_opted_out(s.guild.id, op.id, FOLLOWUP_PINGS)
    assert await service.pings_off(s.guild.id, op.id)

    # Moderators can't schedule a tag of them...
    assert "asked not to be tagged" in await remind(steward, op)
    # ...nor ask them under a question on their forum post.
    thread, _ = await sb.forum_post(s.forum, op, fresh("Our story "), "Where we are now")
    question = await sb.post(thread, s.member, "How are things now?")
    r = await sb.context_menu(s.guild, s.mod, "Ask original poster", target=question)
    await r.done()
    assert r.ephemeral and "asked not to be tagged" in r.texts[-1]
    # ...and automatic check-ins stand down at delivery time.
    forum_id = s.forum.id
    await steward.bot.guild_settings.update(
        s.guild.id, lambda c: c.followup.autocheck_forums.update({forum_id: 1}))
    try:
        post, _ = await sb.forum_post(s.forum, op, fresh("Update "), "Scan results came back")
        await sb.post(post, s.member, "Thinking of you!")

        async def scheduled():
            return await service.reminders.autochecks_for(post.id)

        [auto] = await eventually(scheduled)
        steward.clock.advance(days=1, minutes=5)
        await scheduler_idle(steward)
        stored = await service.reminders.get(auto.id)
        assert stored.status == "stood_down" and stored.reason == "opted_out"
        bot_posts = [m for ch in (thread, post) for m in sb.messages(ch)
                     if m.author.id == sb.bot_user.id]
        assert bot_posts == []
    finally:
        await steward.bot.guild_settings.update(
            s.guild.id, lambda c: c.followup.autocheck_forums.pop(forum_id, None))

    # Opting back in withdraws the hashed opt-out, so tags work again.
    r = await sb.slash(s.guild, op, "preferences", followup_pings="on")
    await r.done()
    assert not await privacy.has_opted_out(s.guild.id, op.id, FOLLOWUP_PINGS)
    entries = await steward.bot.audit.repository.recent(s.guild.id, target_id=op.id)
    assert "followup.opted_in" in [e.action for e in entries]
    assert (await remind(steward, op, "30m")).startswith("Scheduled reminder #")


async def test_a_member_who_was_never_opted_out_is_tagged_after_a_forget(steward):
    sb, s = steward.sb, steward.server
    await scheduler_idle(steward)
    member = await sb.join(s.guild, fresh("member"))
    await forget(steward, member)
    assert (await remind(steward, member, "10m")).startswith("Scheduled reminder #")
    steward.clock.advance(minutes=11)
    await scheduler_idle(steward)
    sent = [m for m in sb.messages(s.general) if m.author.id == sb.bot_user.id
            and f"<@{member.id}>" in m.content]
    assert len(sent) == 1 and sb.mentions_pinged(sent[0]) == {member.id}


# --- link holds ----------------------------------------------------------------------------------


async def test_forget_clears_accepted_post_counts_and_trust_held_in_memory(steward):
    sb, s = steward.sb, steward.server
    service = steward.bot.services.linkhold
    await steward.bot.guild_settings.update(s.guild.id,
                                            lambda c: setattr(c.linkhold, "min_posts", 2))
    try:
        # Joined long ago; only the two-posts rule applies to them.
        regular = await sb.join(s.guild, fresh("regular"),
                                joined_at=steward.clock.now() - timedelta(days=60))
        for text in ("Hello everyone", "Thank you for the warm welcome"):
            await sb.post(s.general, regular, text)
        counts = PostCountRepository(steward.bot.db)

        async def counted_twice():
            return (await counts.all()).get((s.guild.id, regular.id)) == 2

        await eventually(counted_twice)
        passed = await sb.post(s.general, regular, "A helpful page: https://www.cancer.gov/x")
        await sb.idle()
        assert not passed.deleted
        assert await service.holds.by_message(s.guild.id, passed.id) is None

        await forget(steward, regular)
        again = await sb.post(s.general, regular, "Another page: https://www.nhs.uk/y")

        async def held():
            return await service.holds.by_message(s.guild.id, again.id)

        hold = await eventually(held)
        assert hold.member_id == regular.id
        assert (await counts.all()).get((s.guild.id, regular.id)) is None
        await sb.wait_for(lambda: again.deleted)
        await service.reject(s.guild.id, hold.id, s.mod.id)

        # A trusted member is trusted no more after a forget (memory and database).
        trusted = await sb.join(s.guild, fresh("trusted"))
        r = await sb.slash(s.guild, s.mod, "linkhold trust", member=trusted)
        await r.done()
        assert service.is_trusted(s.guild.id, trusted.id)
        await forget(steward, trusted)
        assert not service.is_trusted(s.guild.id, trusted.id)
        post = await sb.post(s.general, trusted, "see https://vimeo.com/999")
        await sb.wait_for(lambda: post.deleted)
    finally:
        await steward.bot.guild_settings.update(s.guild.id,
                                                lambda c: setattr(c.linkhold, "min_posts", 0))


async def test_forget_blanks_the_queue_card_that_showed_their_words(steward):
    sb, s = steward.sb, steward.server
    service = steward.bot.services.linkhold
    newbie = await sb.join(s.guild, fresh("newbie"))
    msg = await sb.post(s.general, newbie, "My diagnosis story https://myjourney.blogspot.com/a")

    async def queued():
        hold = await service.holds.by_message(s.guild.id, msg.id)
        return hold if hold is not None and hold.queue_message_id else None

    hold = await eventually(queued)
    card = await sb.wait_for(lambda: sb.message(hold.queue_message_id))
    assert "diagnosis story" in card.display_text
    await forget(steward, newbie)
    blanked = await sb.wait_for(lambda: "asked to be forgotten" in
                                sb.message(card.id).display_text and sb.message(card.id))
    assert "diagnosis story" not in str(blanked.components)
    assert "blogspot" not in str(blanked.components) and str(newbie.id) not in str(
        blanked.components)
    assert blanked.buttons() == [] and blanked.attachments == [] and not blanked.embeds
    assert await service.holds.get(hold.id) is None


# --- posts published under the member's name ------------------------------------------------


async def repost_for(steward, message) -> None:
    sb, s = steward.sb, steward.server
    r = await sb.context_menu(s.guild, s.mod, "Repost for member", target=message)
    await r.responded()
    submitted = await sb.submit_modal(
        r.modal, by=s.mod, values={},
        selects={"Post it in": [str(s.general.id)], "Ping the member in the post?": ["no"]})
    await submitted.done()
    await sb.wait_for(lambda: submitted.content, timeout=10)
    await sb.idle()


async def test_forget_offers_to_delete_the_posts_published_under_their_name(steward):
    sb, s = steward.sb, steward.server
    member = await sb.join(s.guild, fresh("anna"),
                           joined_at=steward.clock.now() - timedelta(days=60))
    for words in ("Our journey so far.", "An update from hospital."):
        await repost_for(steward, await sb.post(s.general, member, words))
    reposts = steward.bot.services.repost
    shared = await reposts.published_for(s.guild.id, member.id)
    assert len(shared) == 2
    copies = {r.message_ids[0] for r in shared}

    r = await sb.slash(s.guild, s.owner, "privacy forget", member=member)
    await r.done()
    text = r.message.content
    assert "published 2 posts under their name" in text, text
    for record in shared:
        assert f"/{record.message_ids[0]}" in text  # each one listed with its link
    labels = [b["label"] for b in r.message.buttons()]
    assert "Delete their shared posts, then forget" in labels and "Forget everything" in labels
    # Someone else can't press it.
    other = await sb.click(r.message, "Delete their shared posts, then forget", by=s.mod)
    await other.done()
    assert all(sb.message(mid) is not None and not sb.message(mid).deleted for mid in copies)

    click = await sb.click(r.message, "Delete their shared posts, then forget", by=s.owner)
    await click.done()
    await sb.wait_for(lambda: r.message.content.startswith("Done."), timeout=10)
    assert "Posts shared under their name: 2 deleted" in r.message.content, r.message.content
    assert all(sb.message(mid).deleted for mid in copies)
    assert await reposts.published_for(s.guild.id, member.id) == []


async def test_forget_without_shared_posts_asks_as_before(steward):
    sb, s = steward.sb, steward.server
    member = await sb.join(s.guild, fresh("quiet"))
    r = await sb.slash(s.guild, s.owner, "privacy forget", member=member)
    await r.done()
    assert "under their name" not in r.message.content
    assert [b["label"] for b in r.message.buttons()] == ["Forget everything", "Cancel"]
    click = await sb.click(r.message, "Cancel", by=s.owner)
    await click.done()
