"""Link holds end to end: the real StewardBot against the Discord sandbox, asserting on the wire."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import StewardBot
from bot.clock import FakeClock
from bot.db.holds import HoldRepository
from bot.domain.audit import title_of
from bot.services.linkhold import LinkHoldService
from sandbox import Sandbox
from sandbox.world import StewardHarness
from tests.waits import eventually

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

_names = count()

DELETE_MESSAGE = "DELETE /channels/{channel_id}/messages/{message_id}"
POST_MESSAGE = "POST /channels/{channel_id}/messages"
DELETE_CHANNEL = "DELETE /channels/{channel_id}"
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
WEBHOOK_EXECUTE = "POST /webhooks/{webhook_id}/{webhook_token}"


def fresh(prefix: str = "newcomer") -> str:
    """A user name never used before in this module."""
    return f"{prefix}{next(_names)}"


class Env(StewardHarness):
    """The sandbox, a support server, and Steward running on it (restartable)."""

    def __init__(self, sb: Sandbox, clock: FakeClock, database: Path) -> None:
        super().__init__(sb, clock, database, on_start=self._link_holds_started)
        g = self.guild = sb.add_guild("Hope Together", "owner")
        self.owner = sb.member(g, "owner")
        self.general = sb.add_text_channel(g, "general")
        self.resources = sb.add_text_channel(g, "resources")
        self.forum = sb.add_forum_channel(g, "colorectal-cancer",
                                          tags=["Newly diagnosed", "Caregivers"])
        self.queue = sb.add_text_channel(g, "mod-queue")
        self.mod_log = sb.add_text_channel(g, "mod-log")
        self.notices = sb.add_text_channel(g, "lobby")
        self.mod_role = sb.add_role(g, "Moderators", ["manage_messages"])
        self.admin_role = sb.add_role(g, "Admins", ["manage_guild"])
        self.volunteer_role = sb.add_role(g, "Volunteers")
        self.moderator = sb.add_member(g, "mod", roles=[self.mod_role])
        self.moderator2 = sb.add_member(g, "mod2", roles=[self.mod_role])
        self.admin = sb.add_member(g, "admin", roles=[self.admin_role])
        self.regular = sb.add_member(g, "regular", joined_at=clock.now() - timedelta(days=60))
        # A second server that never configured a queue channel.
        self.bare = sb.add_guild("Quiet Corner", "bareowner")
        self.bare_owner = sb.member(self.bare, "bareowner")
        self.bare_general = sb.add_text_channel(self.bare, "chat")
        self.bare_mod = sb.add_member(self.bare, "baremod",
                                      roles=[sb.add_role(self.bare, "Mods", ["manage_messages"])])

    async def _link_holds_started(self, bot: StewardBot) -> None:
        await self.sb.wait_for(lambda: self.service.started, message="link holds never started")
        await self.sb.idle()

    @property
    def service(self) -> LinkHoldService:
        return self.bot.services.linkhold

    @property
    def repo(self) -> HoldRepository:
        return self.service.holds

    async def newcomer(self, guild=None, **kw):
        return await self.sb.join(guild or self.guild, fresh(), **kw)

    async def card(self, hold_id: int):
        """The queue message of a hold (once posted)."""

        def find():
            for msg in self.sb.messages(self.queue):
                if is_card_of(msg, hold_id):
                    return msg
            return None

        return await self.sb.wait_for(find, message=f"no queue card for hold {hold_id}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    clock = FakeClock()
    database = tmp_path_factory.mktemp("linkhold") / "steward.sqlite3"
    async with Sandbox(clock) as sb, Env(sb, clock, database) as e:
        r = await sb.slash(e.guild, e.owner, "steward settings", mod_log=e.mod_log)
        await r.done()
        r = await sb.slash(e.guild, e.owner, "linkhold settings", queue_channel=e.queue)
        await r.done()
        assert "Saved" in r.content, r.content
        yield e


@pytest.fixture(autouse=True)
def _clean(env):
    env.sb.reset()


def is_card_of(msg, hold_id: int) -> bool:
    """Whether `msg` is the queue card of hold `hold_id` (Components V2)."""
    return f"Hold #{hold_id} ·" in msg.display_text


async def held(env: Env, message):
    """Wait until `message` is held and its card is queued; returns (hold, card message)."""
    hold = await eventually(lambda: env.repo.by_message(message.guild_id if hasattr(
        message, "guild_id") else env.guild.id, message.id))
    await eventually(lambda: _queued(env, hold.id))
    hold = await env.repo.get(hold.id)
    card = await env.card(hold.id)
    return hold, card


async def _queued(env: Env, hold_id: int):
    hold = await env.repo.get(hold_id)
    return hold is not None and hold.step == "queued"


def requests_index(env: Env, route: str, **params) -> int:
    for i, r in enumerate(env.sb.requests):
        if r.matches(route, **params):
            return i
    raise AssertionError(f"no {route} {params}")


# --- holding ---------------------------------------------------------------------------------


async def test_a_new_members_link_is_stored_removed_explained_and_queued_in_that_order(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Our story: https://youtu.be/abc123 please watch",
                        attachments=[("scan.png", b"\x89PNG-bytes", "image/png")])
    hold, card = await held(env, msg)
    assert msg.deleted
    assert hold.content == "Our story: https://youtu.be/abc123 please watch"
    assert [x.domain for x in hold.links] == ["youtu.be"]
    files = await env.repo.attachments(hold.id)
    assert [(f.filename, f.data) for f in files] == [("scan.png", b"\x89PNG-bytes")]
    # Order on the wire: the attachment was fetched before the DELETE, the DM after it, then
    # the queue card.
    delete = requests_index(env, DELETE_MESSAGE, channel_id=env.general.id, message_id=msg.id)
    dm_channel = sb.dm_channel(newbie)
    dm = requests_index(env, POST_MESSAGE, channel_id=dm_channel.id)
    queued = requests_index(env, POST_MESSAGE, channel_id=env.queue.id)
    assert delete < dm < queued
    (dm_message,) = sb.dms(newbie)
    assert "in 3 days" in dm_message.content and "keep the community safe" in dm_message.content
    assert "moderator" in dm_message.content and "Hope Together" in dm_message.content
    # The card: member, where, the words in a code block, links non-clickable, buttons.
    # A Components V2 card: no content or embeds beside it.
    assert card.flags & (1 << 15) and not card.content and not card.embeds
    text = card.display_text
    assert f"<@{newbie.id}>" in text and f"<#{env.general.id}>" in text
    assert "**Post**\n```\n" in text and "youtu.be/abc123" in text
    assert "`https://youtu.be/abc123` — `youtu.be`" in text
    assert "scan.png" in text and "behind a spoiler" in text
    # The held image is previewed behind a spoiler, uploaded with the card.
    (item,) = card.gallery
    assert item["spoiler"] is True and item["media"]["url"].startswith("attachment://SPOILER_")
    assert [a.filename for a in card.attachments] == [item["media"]["url"][13:]]
    labels = [c["label"] for c in card.buttons()]
    assert labels == ["Approve", "Edit & approve", "Reject", "Approve & trust", "Full text",
                      "Timeout", "Ban"]
    assert sb.mentions_pinged(card) == set()
    # The mod log got the audit entry.
    await sb.wait_for(lambda: any(e.get("title") == title_of("hold.held")
                                  for m in sb.messages(env.mod_log) for e in m.embeds))


async def test_established_members_and_plain_posts_pass(env):
    sb = env.sb
    a = await sb.post(env.general, env.regular, "Great article: https://bit.ly/xyz")
    newbie = await env.newcomer()
    b = await sb.post(env.general, newbie, "Hello everyone, I had my scan.Today was hard.")
    await sb.idle()
    assert not a.deleted and not b.deleted
    assert not sb.requests_matching(DELETE_MESSAGE)
    assert await env.repo.by_message(env.guild.id, a.id) is None


async def test_allowlisted_subdomains_pass_and_look_alikes_are_held(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.moderator, "linkhold allow", domain="https://www.MayoClinic.org/")
    await r.done()
    assert r.ephemeral and "`mayoclinic.org`" in r.content
    newbie = await env.newcomer()
    ok = await sb.post(env.general, newbie, "This helped me: https://news.mayoclinic.org/colon")
    bad = await sb.post(env.general, newbie, "and https://mayoclinic.org.evil.net/colon")
    await held(env, bad)
    assert bad.deleted and not ok.deleted
    r = await sb.slash(env.guild, env.moderator, "linkhold allowlist")
    await r.done()
    assert "`mayoclinic.org`" in r.content
    r = await sb.slash(env.guild, env.moderator, "linkhold disallow", domain="mayoclinic.org")
    await r.done()
    assert "off the allowlist" in r.content
    again = await sb.post(env.general, newbie, "https://news.mayoclinic.org/colon again")
    await held(env, again)


async def test_invalid_input_is_refused_and_changes_nothing(env):
    sb = env.sb
    before = env.bot.guild_settings.get(env.guild.id).linkhold
    r = await sb.slash(env.guild, env.moderator, "linkhold allow", domain="not a website")
    await r.done()
    assert r.ephemeral and "isn't a website address" in r.content
    r = await sb.slash(env.guild, env.owner, "linkhold settings", hold_days=400)
    await r.done()
    assert r.ephemeral and "hold_days" in r.content and "Saved" not in r.content
    sb.deny(env.resources, "send_messages")
    r = await sb.slash(env.guild, env.owner, "linkhold settings", queue_channel=env.resources)
    await r.done()
    assert "I can't post in" in r.content and "Nothing was changed" in r.content
    assert env.bot.guild_settings.get(env.guild.id).linkhold == before
    sb.allow(env.resources, "send_messages")


async def test_non_moderators_and_non_admins_are_refused(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.regular, "linkhold trust", member=env.regular)
    await r.done()
    assert r.ephemeral and "Only moderators" in r.content
    assert not env.service.is_trusted(env.guild.id, env.regular.id)
    r = await sb.slash(env.guild, env.moderator, "linkhold settings", hold_days=1)
    await r.done()
    assert r.ephemeral and "Only server admins" in r.content
    assert env.bot.guild_settings.get(env.guild.id).linkhold.hold_days == 3
    r = await sb.slash(env.guild, env.moderator, "linkhold exempt", role=env.volunteer_role)
    await r.done()
    assert "Only server admins" in r.content
    # The group is visible to Manage Messages by default.
    assert sb.command("linkhold", env.guild)["default_member_permissions"] in (str(1 << 13),
                                                                                1 << 13)


async def test_trusted_members_exempt_roles_and_ignored_channels_pass(env):
    sb = env.sb
    trusted = await env.newcomer()
    r = await sb.slash(env.guild, env.moderator, "linkhold trust", member=trusted)
    await r.done()
    assert "is trusted" in r.content
    volunteer = await env.newcomer(roles=[env.volunteer_role])
    r = await sb.slash(env.guild, env.admin, "linkhold exempt", role=env.volunteer_role)
    await r.done()
    assert "never held" in r.content
    r = await sb.slash(env.guild, env.admin, "linkhold ignore", options={"channel": env.resources})
    await r.done()
    assert "pass without review" in r.content
    newbie = await env.newcomer()
    posts = [
        await sb.post(env.general, trusted, "https://bit.ly/trusted"),
        await sb.post(env.general, volunteer, "https://bit.ly/volunteer"),
        await sb.post(env.resources, newbie, "https://cancer.gov/resources"),
        await sb.post(env.general, env.moderator, "https://bit.ly/moderator"),
        await sb.post(env.general, env.owner, "https://bit.ly/owner"),
    ]
    await sb.idle()
    assert not any(p.deleted for p in posts)
    r = await sb.slash(env.guild, env.moderator, "linkhold status", member=trusted)
    await r.done()
    assert "never held (trusted)" in r.content
    # Untrusting applies the rules again.
    r = await sb.slash(env.guild, env.moderator, "linkhold untrust", member=trusted)
    await r.done()
    later = await sb.post(env.general, trusted, "https://bit.ly/after-untrust")
    await held(env, later)
    for cmd, opts in (("linkhold unexempt", {"role": env.volunteer_role}),
                      ("linkhold unignore", {"options": {"channel": env.resources}})):
        r = await sb.slash(env.guild, env.admin, cmd, **opts)
        await r.done()
        assert "no longer exempt" in r.content or "checked again" in r.content


async def test_status_explains_who_is_held_until_when_and_why(env):
    sb = env.sb
    newbie = await env.newcomer()
    r = await sb.slash(env.guild, env.moderator, "linkhold status", member=newbie)
    await r.done()
    assert "held for review: joined less than 3 days ago" in r.content
    assert "in 3 days" in r.content
    r = await sb.slash(env.guild, env.moderator, "linkhold status", member=env.regular)
    await r.done()
    assert "not held" in r.content


async def test_a_link_edited_in_is_held_like_a_post(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Hi all, first time here.")
    await sb.idle()
    assert not msg.deleted
    await sb.edit(msg, "Hi all, first time here. Join my group discord.gg/freecure")
    hold, card = await held(env, msg)
    assert msg.deleted and hold.kind == "edit"
    assert hold.content.endswith("discord.gg/freecure")
    assert "### Held edit from a new member" in card.display_text


async def test_a_link_in_a_forum_title_holds_the_post_and_approval_recreates_it(env):
    sb = env.sb
    newbie = await env.newcomer()
    thread, starter = await sb.forum_post(
        env.forum, newbie, "Our journey, video at youtu.be/ourstory",
        "My husband and I wanted to share how the first year went.", tags=["Caregivers"])
    hold, card = await held(env, starter)
    assert hold.kind == "forum_post" and hold.forum_title.startswith("Our journey")
    assert hold.parent_id == env.forum.id and len(hold.forum_tag_ids) == 1
    await sb.wait_for_request(DELETE_CHANNEL, channel_id=thread.id)
    assert "**Forum post title:**" in card.display_text
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.done()
    assert "Approved hold" in r.texts[-1], r.texts
    posts = [c for c in sb.world.channels.values() if c.parent_id == env.forum.id
             and c.name.startswith("Our journey") and c.id != thread.id and not c.deleted]
    assert len(posts) == 1
    assert set(posts[0].applied_tags) == set(hold.forum_tag_ids)


async def test_a_forwarded_link_is_held(env):
    sb = env.sb
    spam = await sb.post(env.resources, env.regular, "Miracle cure at cure-cancer-now.biz")
    newbie = await env.newcomer()
    fwd = await sb.post(env.general, newbie, "", forward_of=spam)
    hold, _ = await held(env, fwd)
    assert hold.kind == "forward" and "cure-cancer-now.biz" in hold.content
    assert not spam.deleted


async def test_dms_closed_gives_a_channel_notice_pinging_only_them_that_deletes_itself(env):
    sb = env.sb
    newbie = await env.newcomer()
    sb.close_dms(newbie)
    msg = await sb.post(env.general, newbie, "please read www.example.org @everyone")
    hold, _ = await held(env, msg)
    assert hold.member_told == "channel"
    notice = await sb.wait_for_message(env.general, lambda m: str(newbie.id) in m.content)
    assert sb.mentions_pinged(notice) == {newbie.id}
    assert "held it for a moderator" in notice.content and "in 3 days" in notice.content
    assert not notice.deleted
    assert "disappears in 2 minutes" in notice.content
    env.clock.advance(seconds=31)
    await sb.idle()
    assert not notice.deleted  # no longer gone before they can read it
    env.clock.advance(seconds=90)
    await sb.wait_for(lambda: notice.deleted, message="the notice was not deleted after 2 min")


async def test_missing_manage_messages_keeps_the_hold_and_alerts_moderators(env):
    sb = env.sb
    sb.deny(env.general, "manage_messages")
    try:
        newbie = await env.newcomer()
        msg = await sb.post(env.general, newbie, "visit bit.ly/needsperm")
        hold, card = await held(env, msg)
        assert hold.removal == "failed" and not msg.deleted
        assert hold.member_told == "none" and sb.dms(newbie) == []
        assert "could not remove" in card.display_text
        await sb.wait_for(lambda: any(e.get("title") == title_of("hold.remove_failed")
                                      for m in sb.messages(env.mod_log) for e in m.embeds))
    finally:
        sb.allow(env.general, "manage_messages")


async def test_repeats_while_pending_make_one_card_with_a_count_and_one_dm(env):
    sb = env.sb
    newbie = await env.newcomer()
    first = await sb.post(env.general, newbie, "Buy cheap meds at pills4u.shop")
    hold, card = await held(env, first)
    second = await sb.post(env.general, newbie, "buy  cheap meds at pills4u.shop")
    third = await sb.post(env.resources, newbie, "Buy cheap meds at PILLS4U.shop")
    await sb.wait_for(lambda: second.deleted and third.deleted)
    await eventually(lambda: _count_is(env, hold.id, 3))
    await sb.wait_for(lambda: "Posted 3 times" in sb.message(card.id).display_text)
    assert len(sb.dms(newbie)) == 1
    assert len([m for m in sb.messages(env.queue) if is_card_of(m, hold.id)]) == 1


async def _count_is(env, hold_id, n):
    hold = await env.repo.get(hold_id)
    return hold.repeat_count == n


# --- decisions --------------------------------------------------------------------------------


async def test_approve_publishes_once_tells_the_member_once_and_updates_the_card(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Our family's video: https://youtu.be/journey",
                        attachments=[("photo.jpg", b"jpeg-bytes", "image/jpeg")])
    hold, card = await held(env, msg)
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.done()
    assert "Approved hold" in r.texts[-1]
    copies = [m for m in sb.messages(env.general) if "youtu.be/journey" in m.content]
    assert len(copies) == 1
    copy = copies[0]
    assert [a.filename for a in copy.attachments] == ["photo.jpg"]
    dms = sb.dms(newbie)
    assert len(dms) == 2 and "Good news" in dms[1].content  # the hold notice, then approval
    updated = sb.message(card.id)
    decision = next(line for line in updated.display_text.splitlines()
                    if line.startswith("**Decision:**"))
    assert f"<@{env.moderator.id}>" in decision and "see the post" in decision
    buttons = {c["label"]: c.get("disabled", False) for c in updated.buttons()}
    assert buttons["Approve"] and buttons["Reject"] and not buttons["Full text"]
    await sb.wait_for(lambda: any(e.get("title") == title_of("hold.approved")
                                  for m in sb.messages(env.mod_log) for e in m.embeds))


async def test_approve_is_deferred_before_its_slow_work_so_it_never_expires(env):
    """Publishing can outlast Discord's 3 s to answer (here a 429 on the webhook, and the
    clock moved past the window meanwhile): the click is answered with a defer first, so the
    moderator never sees 10062 Unknown interaction."""
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Slow day: https://youtu.be/slow-approval")
    hold, card = await held(env, msg)
    sb.fail(WEBHOOK_EXECUTE, 429, times=1, retry_after=0.5)
    r = await sb.click(card, "Approve", by=env.moderator)
    await sb.wait_for(lambda: sb.requests_matching(WEBHOOK_EXECUTE))  # the work is under way
    env.clock.advance(seconds=4)
    await r.done(timeout=10)
    assert r.response_type == 5 and r.error is None and not r.rejected
    assert "Approved hold" in r.texts[-1], r.texts
    assert requests_index(env, CALLBACK) < requests_index(env, WEBHOOK_EXECUTE)
    assert len([m for m in sb.messages(env.general) if "slow-approval" in m.content]) == 1


async def test_two_moderators_approving_at_once_publish_exactly_once(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Fundraiser: gofundme.com/f/our-fight")
    hold, card = await held(env, msg)
    r1, r2 = await asyncio.gather(sb.click(card, "Approve", by=env.moderator),
                                  sb.click(card, "Approve", by=env.moderator2))
    await r1.done()
    await r2.done()
    answers = r1.texts + r2.texts
    assert sum("Approved hold" in t for t in answers) == 1, answers
    loser = next(t for t in answers if "Approved hold" not in t and t)
    assert "already approved" in loser or "is approving" in loser
    copies = [m for m in sb.messages(env.general) if "gofundme.com/f/our-fight" in m.content]
    assert len(copies) == 1


async def test_a_non_moderator_click_is_refused_and_nothing_is_posted(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "see tinyurl.com/abcd")
    hold, card = await held(env, msg)
    r = await sb.click(card, "Approve", by=env.regular)
    await r.done()
    assert r.ephemeral and "Only moderators" in r.content
    assert (await env.repo.get(hold.id)).status == "pending"
    assert not [m for m in sb.messages(env.general) if "tinyurl.com/abcd" in m.content]


async def test_edit_and_approve_publishes_the_edited_words(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "My blog mysite.blog/blog (buy my book!!)")
    hold, card = await held(env, msg)
    r = await sb.click(card, "Edit & approve", by=env.moderator)
    await r.responded()
    assert r.modal is not None
    (text_input,) = r.modal.inputs()
    assert text_input["value"] == hold.content
    s = await sb.submit_modal(r.modal, by=env.moderator,
                              values={text_input["custom_id"]: "My blog: mysite.blog/blog"})
    await s.done()
    assert "Approved hold" in s.texts[-1], s.texts
    copies = [m for m in sb.messages(env.general) if "mysite.blog/blog" in m.content]
    assert len(copies) == 1 and "buy my book" not in copies[0].content
    assert (await env.repo.get(hold.id)).decision == "edit"


@pytest.mark.parametrize("button", ["Edit & approve", "Reject"])
async def test_a_moderator_demoted_while_the_form_is_open_is_refused_on_submit(env, button):
    sb = env.sb
    temp = sb.add_member(env.guild, f"temp-mod-{button[:4]}", roles=[env.mod_role])
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "look at quick-cure.shop/now")
    hold, card = await held(env, msg)
    r = await sb.click(card, button, by=temp)
    await r.responded()
    assert r.modal is not None
    await sb.update_member(env.guild, temp, roles=[])  # demoted while the form is open
    values = {f["custom_id"]: "example" for f in r.modal.inputs() if f.get("required", True)}
    s = await sb.submit_modal(r.modal, by=temp, values=values)
    await s.done()
    assert any("Only moderators" in t for t in s.texts), s.texts
    assert (await env.repo.get(hold.id)).status == "pending"
    assert not [m for m in sb.messages(env.general) if "quick-cure.shop" in m.content]


async def test_reject_tells_the_member_kindly_by_default_unless_unticked(env):
    sb = env.sb
    quiet, told = await env.newcomer(), await env.newcomer()
    m1 = await sb.post(env.general, quiet, "cheap pills: pills.shop")
    m2 = await sb.post(env.general, told, "my fundraiser: scam-help.org/give\nPlease help us")
    (_, c1), (_, c2) = await held(env, m1), await held(env, m2)
    # The moderator unticks "tell them": nothing more reaches the member.
    r = await sb.click(c1, "Reject", by=env.moderator)
    await r.responded()
    s = await sb.submit_modal(r.modal, by=env.moderator, values={"Reason (optional)": "spam"},
                              selects={"Tell the member?": ["no"]})
    await s.done()
    assert "Rejected hold" in s.texts[-1] and "told the member" not in s.texts[-1]
    assert len(sb.dms(quiet)) == 1  # only the hold notice
    # The default: told kindly, with where to ask, and their own words come back.
    r = await sb.click(c2, "Reject", by=env.moderator)
    await r.responded()
    s = await sb.submit_modal(r.modal, by=env.moderator,
                              values={"Reason (optional)": "We can't verify this fundraiser."})
    await s.done()
    assert "told the member" in s.texts[-1] and "their words" in s.texts[-1]
    last = sb.dms(told)[-1]
    assert "decided not to share it" in last.content
    assert "We can't verify this fundraiser." in last.content
    assert "welcome to message one of the moderators" in last.content
    assert "```\nmy fundraiser: scam-help.org/give\nPlease help us\n```" in last.content
    assert sb.mentions_pinged(last) == set()
    card = sb.message(c2.id)
    assert "**Decision:** Rejected by" in card.display_text
    # A decided hold can't be approved afterwards.
    r = await sb.click(card, "Full text", by=env.moderator)
    await r.done()
    assert "scam-help.org/give" in r.embeds[0]["description"]


async def test_rejection_names_the_contact_channel_and_closed_dms_are_reported(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.admin, "linkhold settings", contact_channel=env.notices)
    await r.done()
    assert "Saved" in r.content and f"<#{env.notices.id}>" in r.content
    try:
        open_dms, closed = await env.newcomer(), await env.newcomer()
        (_, c1) = await held(env, await sb.post(env.general, open_dms, "see pills.shop/a"))
        sb.close_dms(closed)
        (_, c2) = await held(env, await sb.post(env.general, closed, "see pills.shop/b"))
        r = await sb.click(c1, "Reject", by=env.moderator)
        await r.responded()
        s = await sb.submit_modal(r.modal, by=env.moderator, values={})
        await s.done()
        assert f"<#{env.notices.id}>" in sb.dms(open_dms)[-1].content
        r = await sb.click(c2, "Reject", by=env.moderator)
        await r.responded()
        s = await sb.submit_modal(r.modal, by=env.moderator, values={})
        await s.done()
        assert s.ephemeral and "DMs are closed" in s.texts[-1]
        assert sb.dms(closed) == []
        assert "**Decision:** Rejected by" in sb.message(c2.id).display_text
    finally:
        await env.bot.guild_settings.update(
            env.guild.id, lambda c: setattr(c.linkhold, "contact_channel", None))


async def test_trust_member_approves_and_lifts_future_holds(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Support group notes: docs-share.net/notes")
    hold, card = await held(env, msg)
    r = await sb.click(card, "Approve & trust", by=env.moderator)
    await r.done()
    assert "now trusted" in r.texts[-1]
    assert env.service.is_trusted(env.guild.id, newbie.id)
    later = await sb.post(env.general, newbie, "and docs-share.net/more")
    await sb.idle()
    assert not later.deleted


async def test_timeout_and_ban_need_confirmation_and_permission(env):
    sb = env.sb
    scammer = await env.newcomer()
    msg = await sb.post(env.general, scammer,
                        "Dr Ade cured my cancer, email drade@cure-clinic.info")
    hold, card = await held(env, msg)
    # A moderator without Timeout Members is refused at confirmation.
    r = await sb.click(card, "Timeout", by=env.moderator)
    await r.done()
    assert "Only do this for obvious scams" in r.content
    c = await sb.click(r.message, "Yes, time them out", by=env.moderator)
    await c.done()
    assert "Timeout Members permission" in c.texts[-1]
    assert (await env.repo.get(hold.id)).status == "pending"
    # The owner may; the member gets timed out and the hold rejected.
    r = await sb.click(card, "Timeout", by=env.owner)
    await r.done()
    c = await sb.click(r.message, "Yes, time them out", by=env.owner)
    await c.done()
    assert "timed out" in c.texts[-1], c.texts
    assert sb.world.guilds[env.guild.id].members[scammer.id].communication_disabled_until
    assert (await env.repo.get(hold.id)).decision == "timeout"
    # Ban, on another post.
    other = await env.newcomer()
    msg = await sb.post(env.general, other, "WhatsApp me for cures: wa.me/123456")
    hold2, card2 = await held(env, msg)
    r = await sb.click(card2, "Ban", by=env.owner)
    await r.done()
    c = await sb.click(r.message, "Yes, ban them", by=env.owner)
    await c.done()
    assert "banned" in c.texts[-1]
    await sb.wait_for_request("PUT /guilds/{guild_id}/bans/{user_id}", user_id=other.id)


# --- restarts and downtime -----------------------------------------------------------------


async def test_restart_between_hold_and_approval_loses_nothing(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Our story in pictures: imgur.com/a/ourstory",
                        attachments=[("chemo-day.png", b"png-data-1"), ("family.png", b"png-2")])
    hold, card = await held(env, msg)
    await env.restart()
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.done()
    assert "Approved hold" in r.texts[-1], r.texts
    (copy,) = [m for m in sb.messages(env.general) if "imgur.com/a/ourstory" in m.content]
    assert sorted((a.filename, a.data) for a in copy.attachments) == [
        ("chemo-day.png", b"png-data-1"), ("family.png", b"png-2")]


async def test_a_crash_after_storing_and_before_removing_is_finished_at_startup(env):
    """The process stopped right after step 1: the hold row exists, the post is still up."""
    from bot.db import Database
    from bot.db.holds import HeldLink, NewHold
    from bot.domain.holds import duplicate_key

    sb = env.sb
    newbie = await env.newcomer()
    await env.stop()
    msg = await sb.post(env.general, newbie, "Free consult: clinic-abroad.com/offer", silent=True)
    db = await Database.open(env.database)
    try:
        stored = await HoldRepository(db).create(NewHold(
            guild_id=env.guild.id, channel_id=env.general.id, message_id=msg.id,
            member_id=newbie.id, kind="message", content=msg.content,
            links=(HeldLink("clinic-abroad.com/offer", "http://clinic-abroad.com/offer",
                            "clinic-abroad.com"),),
            dup_key=duplicate_key(newbie.id, "\n" + msg.content)), env.clock.now())
    finally:
        await db.close()
    assert stored is not None and stored.step == "stored"
    await env.start()
    hold, card = await held(env, msg)
    assert hold.id == stored.id and hold.removal == "removed" and msg.deleted
    assert len(sb.dms(newbie)) == 1
    assert len(sb.requests_matching(DELETE_MESSAGE, message_id=msg.id)) == 1


async def test_links_posted_while_steward_was_down_are_held_at_startup(env):
    sb = env.sb
    await sb.post(env.general, env.regular, "marking the place before the downtime")
    await sb.idle()
    await env.stop()
    newbie = sb.add_member(env.guild, fresh(), joined_at=env.clock.now())
    env.clock.advance(minutes=10)
    ok = await sb.post(env.general, env.regular, "established: bit.ly/fine", silent=True)
    bad = await sb.post(env.general, newbie, "while you slept: bit.ly/missed", silent=True)
    thread, starter = await sb.forum_post(env.forum, newbie, "New here", "see bit.ly/forum")
    # forum_post always dispatches; the bot is down, so it is only seen by the scan.
    await env.start()
    await held(env, bad)
    await held(env, starter)
    assert bad.deleted and not ok.deleted
    history_calls = sb.requests_matching("GET /channels/{channel_id}/messages")
    assert 0 < len(history_calls) <= env.service.catchup_limits.request_budget
    # Channels with nothing new since the high-water mark were not read at all.
    assert not sb.requests_matching("GET /channels/{channel_id}/messages", channel=env.queue)


async def _threads_made_while_down(env, *owners):
    """Stop Steward, let each owner start a thread named with a link, then start it again."""
    sb = env.sb
    await sb.post(env.general, env.regular, "marking the place before the downtime")
    await sb.idle()
    await env.stop()
    env.clock.advance(minutes=10)
    threads = [await sb.create_thread(env.general, owner, f"Free help at cure-cancer-now.biz {i}")
               for i, owner in enumerate(owners)]
    await env.start()
    return threads


async def test_a_thread_named_with_a_link_while_steward_was_down_is_held_at_startup(env):
    sb = env.sb
    newbie = sb.add_member(env.guild, fresh(), joined_at=env.clock.now())
    (thread,) = await _threads_made_while_down(env, newbie)
    hold = await eventually(lambda: env.repo.by_message(env.guild.id, thread.id))
    assert hold.kind == "thread_name" and hold.member_id == newbie.id
    assert hold.content == "Free help at cure-cancer-now.biz 0"
    await eventually(lambda: _queued(env, hold.id))
    await sb.wait_for_request(PATCH_CHANNEL, channel_id=thread.id)
    assert thread.name == "Free help at (link held) 0" and not thread.deleted
    assert "new thread's name" in sb.dms(newbie)[-1].content


async def test_a_downtime_thread_rename_that_meets_a_429_is_retried_once(env):
    sb = env.sb
    newbie = sb.add_member(env.guild, fresh(), joined_at=env.clock.now())
    sb.fail(PATCH_CHANNEL, status=429, times=1)
    (thread,) = await _threads_made_while_down(env, newbie)
    hold = await eventually(lambda: env.repo.by_message(env.guild.id, thread.id))
    await eventually(lambda: _queued(env, hold.id))
    await sb.wait_for(lambda: thread.name == "Free help at (link held) 0",
                      message="the thread was never renamed")
    await sb.idle()
    assert len(sb.requests_matching(PATCH_CHANNEL, channel_id=thread.id)) == 2  # 429, then ok
    assert len(sb.dms(newbie)) == 1


async def test_an_established_members_thread_from_the_downtime_keeps_its_name(env):
    sb = env.sb
    newbie = sb.add_member(env.guild, fresh(), joined_at=env.clock.now())
    theirs, newbies = await _threads_made_while_down(env, env.regular, newbie)
    await eventually(lambda: env.repo.by_message(env.guild.id, newbies.id))
    await sb.wait_for_request(PATCH_CHANNEL, channel_id=newbies.id)
    await sb.idle()
    assert theirs.name == "Free help at cure-cancer-now.biz 0"
    assert await env.repo.by_message(env.guild.id, theirs.id) is None
    assert not sb.requests_matching(PATCH_CHANNEL, channel_id=theirs.id)


# --- Discord failures, upkeep, odds and ends -------------------------------------------------


async def test_a_429_then_a_500_on_delete_still_removes_the_post_once(env):
    sb = env.sb
    sb.fail(DELETE_MESSAGE, status=429, times=1, channel=env.general)
    sb.fail(DELETE_MESSAGE, status=500, times=1, channel=env.general)
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "look: linktr.ee/newbie")
    hold, _ = await held(env, msg)
    assert msg.deleted and hold.removal == "removed"
    statuses = [r.status for r in sb.requests_matching(DELETE_MESSAGE, message_id=msg.id)]
    assert statuses == [429, 500, 204]
    assert len(sb.dms(newbie)) == 1


async def test_a_429_on_the_queue_post_still_queues_one_card(env):
    sb = env.sb
    sb.fail(POST_MESSAGE, status=429, times=1, channel=env.queue)
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "my page: about.me/newbie")
    hold, card = await held(env, msg)
    cards = [m for m in sb.messages(env.queue) if is_card_of(m, hold.id)]
    assert cards == [card]


async def test_big_attachments_are_listed_not_kept_and_never_above_the_upload_limit(env):
    sb = env.sb
    await env.bot.guild_settings.update(
        env.guild.id, lambda c: setattr(c.linkhold, "attachment_max_bytes", 1000))
    try:
        newbie = await env.newcomer()
        msg = await sb.post(env.general, newbie, "scans at dropbox.com/s/abc",
                            attachments=[("small.png", b"x" * 10), ("huge.mov", b"y" * 5000)])
        hold, card = await held(env, msg)
        files = {f.filename: f for f in await env.repo.attachments(hold.id)}
        assert files["small.png"].data == b"x" * 10
        assert files["huge.mov"].data is None and files["huge.mov"].not_kept_reason == "too large"
        fields = {"Attachments": card.display_text}
        assert "huge.mov" in fields["Attachments"] and "not kept: too large" in fields[
            "Attachments"]
    finally:
        await env.bot.guild_settings.update(
            env.guild.id, lambda c: setattr(c.linkhold, "attachment_max_bytes", 8 * 1024 * 1024))


async def test_old_pending_holds_are_surfaced_again_and_decided_content_is_purged(env):
    sb = env.sb
    for earlier in await env.repo.pending(env.guild.id):  # from earlier tests
        await env.service.reject(env.guild.id, earlier.id, env.moderator.id)
    newbie = await env.newcomer()
    waiting = await sb.post(env.general, newbie, "please see patreon.com/newbie")
    decided = await sb.post(env.general, newbie, "and my shop etsy.com/shop/newbie",
                            attachments=[("flyer.png", b"flyer")])
    (h_wait, _), (h_dec, c_dec) = await held(env, waiting), await held(env, decided)
    r = await sb.click(c_dec, "Reject", by=env.moderator)
    await r.responded()
    await (await sb.submit_modal(r.modal, by=env.moderator, values={})).done()
    env.clock.advance(hours=25)
    # Other features wake on the same clock jump, so allow for a busy bot.
    reminder = await sb.wait_for_message(
        env.queue, lambda m: "still waiting for review" in m.content and f"Hold #{h_wait.id}"
        in m.content, timeout=15)
    assert sb.mentions_pinged(reminder) == set()
    # The reminder is posted, then recorded: wait for the record rather than race it.
    await eventually(lambda: _reminded(env, h_wait.id), timeout=15)
    # Decided holds lose their words and files after retention_days (30); the record stays.
    env.clock.advance(days=30)
    await eventually(lambda: _purged(env, h_dec.id), timeout=15)
    purged = await env.repo.get(h_dec.id)
    assert purged.content is None and purged.links == () and purged.status == "rejected"
    assert await env.repo.attachments(h_dec.id) == []
    await sb.wait_for(lambda: "Content removed" in sb.message(c_dec.id).display_text)
    assert "etsy.com" not in str(sb.message(c_dec.id).components)
    still = await env.repo.get(h_wait.id)
    assert still.content is not None  # pending holds are never purged
    audit = await env.bot.audit.repository.recent(env.guild.id, target_id=newbie.id)
    assert any(e.action == "hold.rejected" for e in audit)
    # Tidy up: decide the waiting hold so later reminders stay quiet.
    await env.service.reject(env.guild.id, h_wait.id, env.moderator.id)


async def _reminded(env, hold_id):
    hold = await env.repo.get(hold_id)
    return hold.reminded_at is not None


async def _purged(env, hold_id):
    hold = await env.repo.get(hold_id)
    return hold.purged_at is not None


async def test_without_a_queue_channel_holds_still_happen_and_moderators_are_told_how(env):
    sb = env.sb
    newbie = await env.newcomer(env.bare)
    msg = await sb.post(env.bare_general, newbie, "hey check bit.ly/quiet")
    hold = await eventually(lambda: env.repo.by_message(env.bare.id, msg.id))
    await eventually(lambda: _queued(env, hold.id))
    assert msg.deleted and len(sb.dms(newbie)) == 1
    r = await sb.slash(env.bare, env.bare_mod, "linkhold queue")
    await r.done()
    assert f"Hold #{hold.id}" in r.content and "no queue channel is set" in r.content
    assert "/linkhold settings queue_channel" in r.content
    r = await sb.slash(env.bare, env.bare_mod, "linkhold queue")
    await r.done()
    assert "no queue channel is set" not in r.content  # said once


async def test_queue_lists_pending_holds_with_jump_links(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "my video vimeo.com/12345")
    hold, card = await held(env, msg)
    r = await sb.slash(env.guild, env.moderator, "linkhold queue")
    await r.done()
    assert (f"[Hold #{hold.id}](https://discord.com/channels/{env.guild.id}/{env.queue.id}/"
            f"{card.id})") in r.content


async def test_a_held_forum_post_with_dms_closed_is_explained_in_the_notice_channel(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.owner, "linkhold settings", notice_channel=env.notices)
    await r.done()
    newbie = await env.newcomer()
    sb.close_dms(newbie)
    thread, starter = await sb.forum_post(env.forum, newbie, "Hello", "my blog: medium.com/@me")
    hold, _ = await held(env, starter)
    notice = await sb.wait_for_message(env.notices, lambda m: str(newbie.id) in m.content)
    assert sb.mentions_pinged(notice) == {newbie.id} and hold.member_told == "channel"


async def test_min_posts_keeps_members_new_until_enough_accepted_posts(env):
    sb = env.sb
    await env.bot.guild_settings.update(env.guild.id,
                                        lambda c: setattr(c.linkhold, "min_posts", 2))
    try:
        veteran = sb.add_member(env.guild, fresh("veteran"),
                                joined_at=env.clock.now() - timedelta(days=100))
        early = await sb.post(env.general, veteran, "first: bit.ly/early", force=True)
        await held(env, early)
        for text in ("hello all", "thank you for the welcome"):
            await sb.post(env.general, veteran, text, force=True)
        await sb.idle()
        late = await sb.post(env.general, veteran, "now: bit.ly/late", force=True)
        await sb.idle()
        assert early.deleted and not late.deleted
    finally:
        await env.bot.guild_settings.update(env.guild.id,
                                            lambda c: setattr(c.linkhold, "min_posts", 0))


async def test_would_hold_counts_ignored_channels_for_repost_edits(env):
    """The repost service passes the copy's channel: an edit in an ignored channel passes."""
    sb = env.sb
    newbie = await env.newcomer()
    r = await sb.slash(env.guild, env.admin, "linkhold ignore", options={"channel": env.resources})
    await r.done()
    try:
        assert not await env.service.would_hold(env.guild.id, newbie.id, "bit.ly/x",
                                                env.resources.id)
        assert await env.service.would_hold(env.guild.id, newbie.id, "bit.ly/x",
                                            env.general.id)
    finally:
        r = await sb.slash(env.guild, env.admin, "linkhold unignore",
                           options={"channel": env.resources})
        await r.done()
    assert await env.service.would_hold(env.guild.id, newbie.id, "bit.ly/x", env.resources.id)


async def test_one_router_handler_and_no_message_listener(env):
    names = env.bot.router.names
    assert names.count("linkhold") == 1
    later = [n for n in names if n.startswith(("followup", "welcome"))]
    assert all(names.index("linkhold") < names.index(n) for n in later)
    assert not [f for f in env.bot.extra_events.get("on_message", [])
                if "linkhold" in getattr(f, "__module__", "")]


async def test_a_held_reply_keeps_a_link_to_what_it_answered(env):
    sb = env.sb
    question = await sb.post(env.general, env.regular, "Does anyone have a good guide on ports?")
    newbie = await env.newcomer()
    answer = await sb.post(env.general, newbie, "This one: macmillan.org.uk/ports",
                           reply_to=question)
    hold, _ = await held(env, answer)
    assert hold.reply_to_url == (f"https://discord.com/channels/{env.guild.id}/"
                                 f"{env.general.id}/{question.id}")
    assert not question.deleted


# --- every surface a new member can post a link through ---------------------------------------

PATCH_CHANNEL = "PATCH /channels/{channel_id}"


async def test_a_link_in_a_forwarded_embed_is_held_and_approval_posts_its_words(env):
    sb = env.sb
    article = await sb.post(env.resources, env.regular, "", embeds=[{
        "title": "Miracle cure found", "url": "https://cure-cancer-now.biz/x",
        "description": "Doctors hate it", "fields": [{"name": "Order", "value": "today"}],
        "footer": {"text": "sponsored"}}])
    newbie = await env.newcomer()
    fwd = await sb.post(env.general, newbie, "", forward_of=article)
    hold, card = await held(env, fwd)
    assert fwd.deleted and not article.deleted
    assert hold.kind == "forward" and "cure-cancer-now.biz" in hold.content
    assert "Miracle cure found" in hold.content and "Doctors hate it" in hold.content
    assert "forwarded message" in sb.dms(newbie)[-1].content
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.done()
    copies = [m for m in sb.messages(env.general) if "cure-cancer-now.biz/x" in m.content
              and m.id != fwd.id]
    assert len(copies) == 1 and "Miracle cure found" in copies[0].content
    # An established member forwarding the same is not held.
    again = await sb.post(env.general, env.regular, "", forward_of=article)
    await sb.idle()
    assert not again.deleted and await env.repo.by_message(env.guild.id, again.id) is None


async def test_a_new_members_thread_named_with_a_link_is_renamed_and_held(env):
    sb = env.sb
    newbie = await env.newcomer()
    thread = await sb.create_thread(env.general, newbie, "Free help at cure-cancer-now.biz")
    hold = await eventually(lambda: env.repo.by_message(env.guild.id, thread.id))
    await eventually(lambda: _queued(env, hold.id))
    hold = await env.repo.get(hold.id)
    card = await env.card(hold.id)
    assert hold.kind == "thread_name" and hold.member_id == newbie.id
    assert hold.content == "Free help at cure-cancer-now.biz"  # the member's words are kept
    await sb.wait_for_request(PATCH_CHANNEL, channel_id=thread.id)
    assert not thread.deleted and thread.name == "Free help at (link held)"
    assert "### Held thread name from a new member" in card.display_text
    dm = sb.dms(newbie)[-1].content
    assert "new thread's name" in dm and f"<#{env.general.id}>" in dm
    # Steward's own rename is not held again.
    await sb.idle()
    assert len(await env.repo.pending(env.guild.id, limit=100)) >= 1
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.done()
    posted = [m for m in sb.messages(thread) if "cure-cancer-now.biz" in m.content]
    assert len(posted) == 1
    # An established member's thread keeps its name.
    sb.reset()
    theirs = await sb.create_thread(env.general, env.regular, "Resources: bit.ly/guide")
    await sb.idle()
    assert theirs.name == "Resources: bit.ly/guide"
    assert not sb.requests_matching(PATCH_CHANNEL)
    assert await env.repo.by_message(env.guild.id, theirs.id) is None


async def test_a_forum_title_renamed_to_carry_a_link_is_held(env):
    sb = env.sb
    newbie = await env.newcomer()
    thread, starter = await sb.forum_post(env.forum, newbie, "Hello from a caregiver",
                                          "Glad to be here.")
    await sb.idle()
    assert not starter.deleted and not sb.requests_matching(PATCH_CHANNEL)
    before = {h.id for h in await env.repo.pending(env.guild.id, limit=500)}
    await sb.rename(thread, "Hello from a caregiver, fundraiser at gofund.me/abc")
    await sb.wait_for_request(PATCH_CHANNEL, channel_id=thread.id)

    async def new_hold():
        fresh_holds = [h for h in await env.repo.pending(env.guild.id, limit=500)
                       if h.id not in before]
        return fresh_holds[0] if fresh_holds else None

    hold = await eventually(new_hold)
    assert hold.kind == "thread_rename" and hold.member_id == newbie.id
    assert "gofund.me/abc" in hold.content and hold.channel_id == thread.id
    assert thread.name == "Hello from a caregiver, fundraiser at (link held)"
    assert not thread.deleted and not starter.deleted
    await eventually(lambda: _queued(env, hold.id))
    assert "thread's new title" in sb.dms(newbie)[-1].content
    # The owner of an established member's post may rename it freely.
    sb.reset()
    theirs, _ = await sb.forum_post(env.forum, env.regular, "Our story", "Hi all")
    await sb.rename(theirs, "Our story: youtu.be/ours")
    await sb.idle()
    assert theirs.name == "Our story: youtu.be/ours"
    assert not sb.requests_matching(PATCH_CHANNEL)


async def test_a_link_in_a_poll_is_held_and_approval_posts_the_poll_words(env):
    sb = env.sb
    newbie = await env.newcomer()
    poll = await sb.post(env.general, newbie, "",
                         poll=("Which treatment works?", ["cure-cancer-now.biz", "chemo"]))
    hold, card = await held(env, poll)
    assert poll.deleted and hold.kind == "poll"
    assert "Which treatment works?" in hold.content and "cure-cancer-now.biz" in hold.content
    assert "### Held poll from a new member" in card.display_text
    assert "Your poll" in sb.dms(newbie)[-1].content
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.done()
    copies = [m for m in sb.messages(env.general) if "Which treatment works?" in m.content]
    assert len(copies) == 1 and "cure-cancer-now.biz" in copies[0].content
    theirs = await sb.post(env.general, env.regular, "",
                           poll=("Best guide?", ["bit.ly/guide", "none"]))
    await sb.idle()
    assert not theirs.deleted


async def test_a_user_installed_apps_post_is_held_under_the_member_who_sent_it(env):
    sb = env.sb
    app = sb.add_user(fresh("QuickSay"), bot=True)
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "Buy now at cure-cancer-now.biz", via_app=app)
    hold, card = await held(env, msg)
    assert msg.deleted and hold.kind == "app_post"
    assert hold.member_id == newbie.id  # the member, not the app's bot user
    assert f"<@{newbie.id}>" in card.display_text
    assert "message sent through an app" in sb.dms(newbie)[-1].content
    # The same app used by an established member, and a bot posting on its own: not held.
    theirs = await sb.post(env.general, env.regular, "see bit.ly/guide", via_app=app)
    own = await sb.post(env.general, app, "Daily tip: bit.ly/tips", force=True)
    await sb.idle()
    assert not theirs.deleted and not own.deleted
    assert await env.repo.by_message(env.guild.id, theirs.id) is None


async def test_system_messages_are_never_held_as_a_members_post(env):
    sb = env.sb
    newbie = await env.newcomer()
    system = [
        await sb.post(env.general, newbie, "Help at bit.ly/thread", message_type=18),
        await sb.post(env.general, newbie, "bit.ly/pinned", message_type=6),
        await sb.post(env.general, newbie, "bit.ly/joined", message_type=7),
        await sb.post(env.general, newbie, "bit.ly/boost", message_type=8),
    ]
    await sb.idle()
    assert not any(m.deleted for m in system)
    assert not sb.requests_matching(DELETE_MESSAGE)
    for m in system:
        assert await env.repo.by_message(env.guild.id, m.id) is None


async def test_app_posts_and_system_messages_from_the_downtime_are_judged_like_live_ones(env):
    sb = env.sb
    app = sb.add_user(fresh("QuickSay"), bot=True)
    await sb.post(env.general, env.regular, "marking the place before the downtime")
    await sb.idle()
    await env.stop()
    newbie = sb.add_member(env.guild, fresh(), joined_at=env.clock.now())
    env.clock.advance(minutes=10)
    via_app = await sb.post(env.general, newbie, "offline: cure-cancer-now.biz", via_app=app,
                            silent=True)
    pin = await sb.post(env.general, newbie, "bit.ly/pinned", message_type=6, silent=True)
    own = await sb.post(env.general, app, "bot on its own: bit.ly/tips", silent=True,
                        force=True)
    await env.start()
    hold, _ = await held(env, via_app)
    assert via_app.deleted and hold.member_id == newbie.id and hold.kind == "app_post"
    assert not pin.deleted and not own.deleted


# --- authority: where the approving moderator may post, and Discord's hierarchy ------------


async def hidden_from_moderator(env, name):
    """A channel members post in that `env.moderator` can't see (Steward and mod2 can)."""
    sb = env.sb
    channel = sb.add_text_channel(env.guild, name)
    sb.set_overwrite(channel, env.moderator, deny=["view_channel"])
    await sb.wait_for(lambda: env.bot.get_channel(channel.id) is not None)
    await sb.idle()
    return channel


async def test_a_moderator_cannot_approve_into_a_channel_hidden_from_them(env):
    sb = env.sb
    hidden = await hidden_from_moderator(env, fresh("private-"))
    newbie = await env.newcomer()
    msg = await sb.post(hidden, newbie, "Look: https://youtu.be/hidden-one")
    hold, card = await held(env, msg)
    for label in ("Approve", "Approve & trust"):
        r = await sb.click(card, label, by=env.moderator)
        await r.done()
        assert r.ephemeral and "can't view or post in" in r.texts[-1], r.texts
    r = await sb.click(card, "Edit & approve", by=env.moderator)
    await r.done()
    assert r.modal is None and "can't view or post in" in r.texts[-1], r.texts
    assert (await env.repo.get(hold.id)).status == "pending"
    assert not [m for m in sb.messages(hidden) if "youtu.be/hidden-one" in m.content]
    # A moderator who can see the channel decides it as usual.
    r = await sb.click(card, "Approve", by=env.moderator2)
    await r.done()
    assert "Approved hold" in r.texts[-1], r.texts


async def test_edit_and_approve_rechecks_the_channel_on_submit(env):
    sb = env.sb
    channel = sb.add_text_channel(env.guild, fresh("room-"))
    await sb.wait_for(lambda: env.bot.get_channel(channel.id) is not None)
    newbie = await env.newcomer()
    msg = await sb.post(channel, newbie, "My blog lateblog.net/post")
    hold, card = await held(env, msg)
    r = await sb.click(card, "Edit & approve", by=env.moderator)
    await r.responded()
    assert r.modal is not None
    # Their access to the channel is taken away while the form is open.
    sb.set_overwrite(channel, env.moderator, deny=["view_channel"])
    await sb.idle()
    (text_input,) = r.modal.inputs()
    s = await sb.submit_modal(r.modal, by=env.moderator,
                              values={text_input["custom_id"]: "My blog lateblog.net"})
    await s.done()
    assert "can't view or post in" in s.texts[-1], s.texts
    assert (await env.repo.get(hold.id)).status == "pending"
    assert not [m for m in sb.messages(channel) if "lateblog" in m.content]


async def test_timeout_and_ban_follow_discords_hierarchy(env):
    sb = env.sb
    senior = sb.add_role(env.guild, fresh("Senior mods "),
                         ["manage_messages", "moderate_members", "ban_members"])
    senior_mod = sb.add_member(env.guild, fresh("senior"), roles=[senior])
    veterans = sb.add_role(env.guild, fresh("Veterans "))  # placed above Senior mods
    founders = sb.add_role(env.guild, fresh("Founders "), above_bot=True)
    await sb.idle()
    # The target's top role is above the moderator's: refused, nothing done.
    veteran = await env.newcomer(roles=[veterans])
    msg = await sb.post(env.general, veteran, "cures here: cure-shop.info/buy")
    hold, card = await held(env, msg)
    r = await sb.click(card, "Timeout", by=senior_mod)
    await r.done()
    c = await sb.click(r.message, "Yes, time them out", by=senior_mod)
    await c.done()
    assert "above yours" in c.texts[-1], c.texts
    assert (await env.repo.get(hold.id)).status == "pending"
    assert not sb.world.guilds[env.guild.id].members[veteran.id].communication_disabled_until
    # Above Steward's own role: even the owner is told why, and nothing is done.
    founder = await env.newcomer(roles=[founders])
    msg = await sb.post(env.general, founder, "WhatsApp me: wa.me/999")
    hold2, card2 = await held(env, msg)
    r = await sb.click(card2, "Ban", by=env.owner)
    await r.done()
    c = await sb.click(r.message, "Yes, ban them", by=env.owner)
    await c.done()
    assert "above mine" in c.texts[-1], c.texts
    assert (await env.repo.get(hold2.id)).status == "pending"
    assert not sb.requests_matching("PUT /guilds/{guild_id}/bans/{user_id}")


async def test_timeout_permission_is_read_server_wide_not_from_a_channel_overwrite(env):
    sb = env.sb
    sb.set_overwrite(env.queue, env.moderator2, allow=["moderate_members"])
    await sb.idle()
    try:
        scammer = await env.newcomer()
        msg = await sb.post(env.general, scammer, "miracle pills: pills-now.info/x")
        hold, card = await held(env, msg)
        r = await sb.click(card, "Timeout", by=env.moderator2)
        await r.done()
        c = await sb.click(r.message, "Yes, time them out", by=env.moderator2)
        await c.done()
        assert "Timeout Members permission" in c.texts[-1], c.texts
        assert (await env.repo.get(hold.id)).status == "pending"
    finally:
        sb.set_overwrite(env.queue, env.moderator2)


# --- the held-post loop closes (issue 15 §2) -------------------------------------------------


def _pings(env: Env, hold_id: int):
    return [m for m in env.sb.messages(env.queue)
            if f"(hold #{hold_id})" in m.content and f"<@&{env.volunteer_role.id}>" in m.content]


@pytest_asyncio.fixture(loop_scope="session")
async def reviewers(env):
    env.sb.allow_role_pings(env.volunteer_role)  # this role only, named in allowed_mentions
    r = await env.sb.slash(env.guild, env.admin, "linkhold settings",
                           reviewer_role=env.volunteer_role)
    await r.done()
    assert "Saved" in r.content and f"<@&{env.volunteer_role.id}> after 60 minutes" in r.content
    yield env.volunteer_role
    await env.bot.guild_settings.update(
        env.guild.id, lambda c: setattr(c.linkhold, "reviewer_role", None))


async def test_a_waiting_hold_pings_the_reviewer_role_once_across_a_restart(env, reviewers):
    sb = env.sb
    newbie = await env.newcomer()
    hold, card = await held(env, await sb.post(env.general, newbie, "see pills4less.shop"))
    env.clock.advance(minutes=30)
    await sb.idle()
    assert _pings(env, hold.id) == []
    await env.restart()  # the timer is in the database, not in memory
    env.clock.advance(minutes=31)
    (ping,) = await sb.wait_for(lambda: _pings(env, hold.id) or None,
                                message="the reviewers were never pinged")
    # Exactly that role is pinged: not @everyone, not the member, not the card's author.
    assert sb.mentions_pinged(ping) == {reviewers.id}
    assert ping.allowed_mentions.get("parse") in ([], None)
    assert ping.reference and ping.reference["message_id"] == str(card.id)
    await env.restart()
    env.clock.advance(hours=3)
    await sb.idle()
    assert len(_pings(env, hold.id)) == 1


async def test_no_ping_for_a_decided_hold_or_when_turned_off(env, reviewers):
    sb = env.sb
    decided = await env.newcomer()
    hold, card = await held(env, await sb.post(env.general, decided, "see pills4less.shop/a"))
    r = await sb.click(card, "Approve", by=env.moderator)
    await r.done()
    r = await sb.slash(env.guild, env.admin, "linkhold settings", queue_ping_minutes=0)
    await r.done()
    assert "**Reviewer ping:** off" in r.content, r.content
    try:
        later = await env.newcomer()
        off, _ = await held(env, await sb.post(env.general, later, "see pills4less.shop/b"))
        env.clock.advance(hours=2)
        await sb.idle()
        assert _pings(env, hold.id) == [] and _pings(env, off.id) == []
    finally:
        await env.bot.guild_settings.update(
            env.guild.id, lambda c: setattr(c.linkhold, "queue_ping_minutes", 60))


async def test_everyone_is_refused_as_the_reviewer_role(env):
    everyone = env.guild.everyone
    r = await env.sb.slash(env.guild, env.admin, "linkhold settings", reviewer_role=everyone)
    await r.done()
    assert "never ping @everyone" in r.content


async def test_the_notice_says_when_to_expect_a_decision_once_there_is_history(env):
    sb = env.sb
    for i in range(3):
        member = await env.newcomer()
        hold, card = await held(env, await sb.post(env.general, member, f"see t{i}.shop/x"))
        env.clock.advance(minutes=100)
        r = await sb.click(card, "Approve", by=env.moderator)
        await r.done()
    newbie = await env.newcomer()
    await held(env, await sb.post(env.general, newbie, "see later.shop/x"))
    # The exact figure depends on every decision this module made; the wording is the point.
    text = sb.dms(newbie)[-1].content
    assert "a moderator will review your post (usually within " in text
    assert " here) and may post it for you" in text


async def test_the_v2_card_keeps_its_buttons_and_images_after_a_restart_and_a_decision(env):
    sb = env.sb
    newbie = await env.newcomer()
    msg = await sb.post(env.general, newbie, "scan results imgur.com/a/x",
                        attachments=[("scan.jpg", b"jpeg-bytes", "image/jpeg"),
                                     ("notes.pdf", b"%PDF", "application/pdf")])
    hold, card = await held(env, msg)
    assert len(card.gallery) == 1 and card.gallery[0]["spoiler"] is True
    assert "notes.pdf" in card.display_text and "scan.jpg" in card.display_text
    assert [a.data for a in card.attachments] == [b"jpeg-bytes"]  # only the image is shown
    await env.restart()
    r = await sb.click(card, "Approve & trust", by=env.moderator)
    await r.done()
    assert "now trusted" in r.texts[-1]
    updated = sb.message(card.id)
    assert "**Decision:** Approved and trusted by" in updated.display_text
    assert updated.flags & (1 << 15) and not updated.content and not updated.embeds
    assert len(updated.gallery) == 1 and len(updated.attachments) == 1  # still previewed
    assert {c["label"]: c.get("disabled", False) for c in updated.buttons()}["Approve"]


@pytest.mark.parametrize("discord_converts", [True, False], ids=["converted", "kept_embed"])
async def test_a_card_posted_before_components_v2_is_still_updated(env, discord_converts):
    """A card from an older Steward is an embed message: a decision turns it into the new
    card, or, where Discord refuses to convert it (400), updates it as an embed."""
    import discord

    from bot.ui.linkhold import card_embed, hold_controls

    sb = env.sb
    newbie = await env.newcomer()
    hold, new_card = await held(env, await sb.post(env.general, newbie, "see legacy.shop/x"))
    old = await env.bot.get_channel(env.queue.id).send(
        embed=card_embed(await env.service.card(hold)), view=hold_controls(hold, True),
        allowed_mentions=discord.AllowedMentions.none())
    await env.repo.mark_queued(hold.id, env.queue.id, old.id)
    if not discord_converts:
        # Both Components V2 edits (with previews, then without) are refused.
        sb.fail("PATCH /channels/{channel_id}/messages/{message_id}", status=400, times=2,
                channel=env.queue)
    r = await sb.click(sb.message(old.id), "Approve", by=env.moderator)
    await r.done()
    assert "Approved hold" in r.texts[-1]
    legacy = await sb.wait_for(lambda: sb.message(old.id).edited_at and sb.message(old.id))
    if discord_converts:
        assert legacy.flags & (1 << 15) and not legacy.embeds
        assert "**Decision:** Approved by" in legacy.display_text
    else:
        assert not legacy.flags & (1 << 15)
        fields = {f["name"]: f["value"] for f in legacy.embeds[0]["fields"]}
        assert fields["Decision"].startswith("Approved by")
    assert {c["label"]: c.get("disabled", False) for c in legacy.buttons()}["Approve"]


async def test_without_attach_files_the_card_names_images_and_still_updates(env):
    sb = env.sb
    sb.deny(env.queue, "attach_files")
    try:
        newbie = await env.newcomer()
        msg = await sb.post(env.general, newbie, "our photos imgur.com/a/y",
                            attachments=[("ward.png", b"png-bytes", "image/png")])
        hold, card = await held(env, msg)
        assert card.gallery == [] and card.attachments == []
        assert "ward.png" in card.display_text and "behind a spoiler" not in card.display_text
        r = await sb.click(card, "Approve", by=env.moderator)
        await r.done()
        await sb.wait_for(lambda: "**Decision:** Approved by" in sb.message(card.id).display_text,
                          message="the card was not updated")
    finally:
        sb.allow(env.queue, "attach_files")
