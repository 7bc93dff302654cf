"""The link-hold service without Discord: a real SQLite database, a FakeClock, and fake ports
standing in for the Discord adapter (`HoldActions`) and the repost service (`Publisher`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.hold_members import HighWaterRepository, PostCountRepository, TrustRepository
from bot.db.holds import CLOSED_LEFT, HeldLink, HoldRepository, NewHold
from bot.domain.authority import Standing
from bot.domain.holds import MemberFacts, duplicate_key, snowflake_at
from bot.errors import AlreadyDecided, BotMissingPermissions, NotFound, NotModerator
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import (
    CatchupPlan,
    CatchupReport,
    FileFacts,
    LinkHoldService,
    PostFacts,
    PublishRequest,
    QueueCard,
    Repositories,
    Someone,
)
from bot.tasks import BackgroundTasks

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
GUILD = 100
OTHER_GUILD = 200
GENERAL, RESOURCES, QUEUE, MOD_LOG, FORUM = 11, 12, 13, 14, 15
CATEGORY = 19
NEWBIE, REGULAR, MOD = 1_001, 1_002, 1_003
_ids = iter(range(50_000, 90_000))


@dataclass
class FakeActions:
    """Records every Discord action; members and DMs are configured per test."""

    members: dict[int, Someone] = field(default_factory=dict)
    dms_closed: set[int] = field(default_factory=set)
    files: dict[str, bytes | None] = field(default_factory=dict)
    removal: str = "removed"
    departed: set[int] = field(default_factory=set)
    channels: dict[int, tuple[int, ...]] = field(default_factory=dict)
    punish_outcome: object = "done"
    ping_fails: bool = False
    calls: list[tuple] = field(default_factory=list)
    catchup_plans: list[CatchupPlan] = field(default_factory=list)
    languages: dict[int, str] = field(default_factory=dict)

    def guild_ids(self) -> list[int]:
        return [GUILD, OTHER_GUILD]

    def guild_name(self, guild_id: int) -> str | None:
        return "Hope Together" if guild_id in (GUILD, OTHER_GUILD) else None

    async def member(self, guild_id, member_id, channel_id=None):
        if guild_id not in (GUILD, OTHER_GUILD):
            return None
        return self.members.get(member_id) or Someone(
            MemberFacts(member_id, None, snowflake_time_of(member_id)), None)

    def channel_ids(self, guild_id, channel_id):
        return self.channels.get(channel_id, (channel_id,))

    async def fetch_file(self, url):
        self.calls.append(("fetch", url))
        data = self.files.get(url)
        if data == b"slow":
            await asyncio.sleep(1)
        return data

    async def remove_post(self, guild_id, channel_id, message_id, *, forum):
        self.calls.append(("remove", channel_id, message_id, forum))
        return self.removal

    async def rename_thread(self, guild_id, thread_id, name):
        self.calls.append(("rename", thread_id, name))
        return self.removal

    def member_language(self, guild_id, member_id):
        return self.languages.get(member_id, "en")

    async def send_dm(self, member_id, text):
        self.calls.append(("dm", member_id, text))
        return member_id not in self.dms_closed

    async def post_notice(self, guild_id, channel_id, member_id, text, *, or_system_channel):
        posted = (channel_id or 99, next(_ids))
        self.calls.append(("notice", channel_id, member_id, text, posted))
        return posted

    async def delete_message(self, channel_id, message_id):
        self.calls.append(("delete", channel_id, message_id))

    async def post_card(self, channel_id, card: QueueCard):
        self.calls.append(("card", channel_id, card.hold.id, card.active))
        return next(_ids)

    async def edit_card(self, card: QueueCard):
        self.calls.append(("edit_card", card.hold.id, card.hold.status, card.active))

    async def blank_card(self, hold):
        self.calls.append(("blank_card", hold.id))

    async def post_text(self, channel_ids, text):
        self.calls.append(("text", tuple(channel_ids), text))
        return "sent" if channel_ids else "nowhere"

    async def ping_reviewers(self, guild_id, channel_id, card_message_id, role_id, text):
        self.calls.append(("ping", channel_id, card_message_id, role_id, text))
        return None if self.ping_fails else next(_ids)

    async def punish(self, guild_id, member_id, action, until, reason):
        self.calls.append(("punish", member_id, action, until))
        return self.punish_outcome

    async def still_member(self, guild_id, member_id):
        return member_id not in self.departed

    async def catch_up(self, plan):
        self.catchup_plans.append(plan)
        return CatchupReport(0, 0, 0, 0, False)

    def named(self, kind: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == kind]


async def settle() -> None:
    """Let woken background tasks run."""
    for _ in range(10):
        await asyncio.sleep(0)


def snowflake_time_of(member_id: int) -> datetime:
    return NOW - timedelta(days=400)


@dataclass
class Published:
    jump_url: str
    member_notified: str = "dm"


@dataclass
class FakePublisher:
    """The repost service's publish(): records requests; fails while `down`."""

    requests: list[PublishRequest] = field(default_factory=list)
    down: bool = False

    async def __call__(self, request: PublishRequest) -> Published:
        if self.down:
            raise RuntimeError("Discord is down")
        self.requests.append(request)
        return Published(f"https://discord.com/channels/{GUILD}/{request.destination_id}/"
                         f"{next(_ids)}")


@dataclass
class Env:
    service: LinkHoldService
    actions: FakeActions
    clock: FakeClock
    settings: GuildSettingsService
    audit: AuditService
    publisher: FakePublisher
    db: Database

    @property
    def published(self) -> list[PublishRequest]:
        return self.publisher.requests

    def someone(self, member_id: int, *, days: float = 0.5, moderator: bool = False,
                roles: frozenset[int] = frozenset()) -> Someone:
        """A member who joined `days` ago (registered with the fake adapter)."""
        someone = Someone(MemberFacts(
            member_id, self.clock.now() - timedelta(days=days), NOW - timedelta(days=400),
            can_manage_messages=moderator, role_ids=roles), f"member{member_id}")
        self.actions.members[member_id] = someone
        return someone

    async def actions_of(self, audit_action: str) -> list:
        entries = await self.audit.repository.recent(GUILD)
        return [e for e in entries if e.action == audit_action]


def post(author: int, content: str, *, channel: int = GENERAL, kind: str = "message",
         files: tuple[FileFacts, ...] = (), **kw) -> PostFacts:
    return PostFacts(guild_id=kw.pop("guild_id", GUILD), channel_id=channel,
                     channel_ids=(channel, CATEGORY), message_id=next(_ids), author_id=author,
                     kind=kind, content=content, files=files, **kw)


@pytest.fixture
async def env(tmp_path):
    db = await Database.open(tmp_path / "steward.sqlite3")
    await migrate(db)
    clock = FakeClock(NOW)
    settings = GuildSettingsService(GuildSettingsRepository(db), clock)
    await settings.load_all()

    def configure(c):
        c.linkhold.queue_channel = QUEUE
        c.core.mod_log_channel = MOD_LOG

    await settings.update(GUILD, configure)
    audit = AuditService(AuditRepository(db), clock)
    background = BackgroundTasks()
    actions = FakeActions()
    publisher = FakePublisher()
    service = LinkHoldService(
        Repositories(HoldRepository(db), TrustRepository(db), PostCountRepository(db),
                     HighWaterRepository(db)),
        settings, clock, actions, publisher, audit=audit, background=background,
        checkpoint=db.checkpoint, download_timeout=0.05)
    await service.load()
    yield Env(service, actions, clock, settings, audit, publisher, db)
    await background.drain(0.1)
    await db.close()


async def hold_of(env: Env, p: PostFacts):
    return await env.service.holds.by_message(p.guild_id, p.message_id)


# --- deciding and holding ---------------------------------------------------------------------


async def test_a_new_members_link_is_stored_removed_told_and_queued_in_that_order(env):
    newbie = env.someone(NEWBIE)
    p = post(NEWBIE, "Our story: https://youtu.be/abc123 please watch",
             files=(FileFacts("scan.png", 10, "image/png", "cdn://scan"),))
    env.actions.files["cdn://scan"] = b"\x89PNG-bytes"
    assert await env.service.consider(p, newbie)
    hold = await hold_of(env, p)
    assert hold.step == "queued" and hold.removal == "removed" and hold.member_told == "dm"
    assert [x.domain for x in hold.links] == ["youtu.be"]
    assert hold.queue_channel_id == QUEUE and hold.queue_message_id is not None
    kinds = [c[0] for c in env.actions.calls]
    assert kinds == ["fetch", "remove", "dm", "card"]
    (dm,) = env.actions.named("dm")
    assert "in 3 days" in dm[2] and "Hope Together" in dm[2] and "member1001" in dm[2]
    files = await env.service.holds.attachments(hold.id)
    assert [(f.filename, f.data) for f in files] == [("scan.png", b"\x89PNG-bytes")]
    assert len(await env.actions_of("hold.held")) == 1


async def test_the_hold_dm_speaks_the_members_language_and_the_public_notice_the_servers(env):
    newbie = env.someone(NEWBIE)
    env.actions.languages[NEWBIE] = "es"  # their Discord was seen in Spanish
    p = post(NEWBIE, "Nuestra historia: https://youtu.be/abc123")
    assert await env.service.consider(p, newbie)
    (dm,) = env.actions.named("dm")
    assert dm[2].startswith("Hola, member1001. Gracias por publicar en **Hope Together**.")
    assert "en 3 días" in dm[2] and "mensaje" in dm[2]
    env.actions.dms_closed.add(NEWBIE)  # the channel notice is public: the server's language
    assert await env.service.consider(post(NEWBIE, "otra vez https://bit.ly/y"), newbie)
    (notice,) = [c for c in env.actions.calls if c[0] == "notice"]
    assert "so I've held it for a moderator to review" in notice[3]


async def test_established_members_plain_posts_allowlist_and_exemptions_pass(env):
    regular = env.someone(REGULAR, days=60)
    newbie = env.someone(NEWBIE)
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "allowlist", ["cancer.gov"]))
    assert not await env.service.consider(post(REGULAR, "Great article: https://bit.ly/x"),
                                          regular)
    assert not await env.service.consider(post(NEWBIE, "I had my scan.Today was hard."), newbie)
    assert not await env.service.consider(post(NEWBIE, "see https://www.cancer.gov/x"), newbie)
    moderator = env.someone(MOD, moderator=True)
    assert not await env.service.consider(post(MOD, "https://bit.ly/mod"), moderator)
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "ignored_channels",
                                                       [CATEGORY]))
    assert not await env.service.consider(post(NEWBIE, "https://bit.ly/in-ignored"), newbie)
    assert env.actions.calls == []
    assert await env.service.holds.pending(GUILD) == []


async def test_a_forum_title_link_is_held_as_a_forum_post(env):
    newbie = env.someone(NEWBIE)
    p = post(NEWBIE, "How the first year went.", channel=77, kind="forum_post",
             parent_id=FORUM, forum_title="Our journey youtu.be/ourstory", forum_tag_ids=(5,))
    assert await env.service.consider(p, newbie)
    hold = await hold_of(env, p)
    assert hold.is_forum_post and hold.parent_id == FORUM and hold.forum_tag_ids == (5,)
    assert env.actions.named("remove") == [("remove", 77, p.message_id, True)]


async def test_repeats_while_pending_make_one_hold_with_a_count_and_one_dm(env):
    newbie = env.someone(NEWBIE)
    first = post(NEWBIE, "Buy cheap meds at pills4u.shop")
    await env.service.consider(first, newbie)
    hold = await hold_of(env, first)
    for text, channel in (("buy  cheap meds at pills4u.shop", GENERAL),
                          ("Buy cheap meds at PILLS4U.shop", RESOURCES)):
        again = post(NEWBIE, text, channel=channel)
        assert await env.service.consider(again, newbie)
        assert ("remove", channel, again.message_id, False) in env.actions.calls
        assert await hold_of(env, again) is None
    hold = await env.service.holds.get(hold.id)
    assert hold.repeat_count == 3
    assert len(env.actions.named("dm")) == 1 and len(env.actions.named("card")) == 1
    assert len(env.actions.named("edit_card")) == 2


async def test_closed_dms_give_a_channel_notice_that_is_deleted_after_2_minutes(env):
    newbie = env.someone(NEWBIE)
    env.actions.dms_closed.add(NEWBIE)
    p = post(NEWBIE, "please read www.example.org")
    await env.service.consider(p, newbie)
    hold = await hold_of(env, p)
    assert hold.member_told == "channel"
    (notice,) = env.actions.named("notice")
    assert notice[1] == GENERAL and f"<@{NEWBIE}>" in notice[3] and "in 3 days" in notice[3]
    assert "disappears in 2 minutes" in notice[3]
    env.clock.advance(seconds=119)
    await settle()
    assert env.actions.named("delete") == []
    env.clock.advance(seconds=2)
    await settle()
    assert env.actions.named("delete") == [("delete", *notice[4])]


async def test_a_server_can_keep_the_channel_notice_longer(env):
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "notice_seconds", 600))
    env.actions.dms_closed.add(NEWBIE)
    p = post(NEWBIE, "please read www.example.org")
    await env.service.consider(p, env.someone(NEWBIE))
    (notice,) = env.actions.named("notice")
    assert "disappears in 10 minutes" in notice[3]
    env.clock.advance(minutes=9)
    await settle()
    assert env.actions.named("delete") == []
    env.clock.advance(minutes=2)
    await settle()
    assert env.actions.named("delete") == [("delete", *notice[4])]


async def test_a_post_that_could_not_be_removed_is_queued_but_the_member_is_not_told(env):
    newbie = env.someone(NEWBIE)
    env.actions.removal = "failed"
    p = post(NEWBIE, "visit bit.ly/needsperm")
    await env.service.consider(p, newbie)
    hold = await hold_of(env, p)
    assert hold.removal == "failed" and hold.member_told == "none" and hold.step == "queued"
    assert env.actions.named("dm") == []
    assert len(await env.actions_of("hold.remove_failed")) == 1


async def test_attachments_over_the_cap_failed_or_slow_are_listed_not_kept(env):
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "attachment_max_bytes", 100))
    newbie = env.someone(NEWBIE)
    env.actions.files.update({"cdn://ok": b"x" * 10, "cdn://slow": b"slow",
                              "cdn://lie": b"y" * 500})
    p = post(NEWBIE, "scans at dropbox.com/s/abc", files=(
        FileFacts("small.png", 10, None, "cdn://ok"),
        FileFacts("huge.mov", 5000, None, "cdn://huge"),
        FileFacts("gone.png", 10, None, "cdn://missing"),
        FileFacts("slow.png", 10, None, "cdn://slow"),
        FileFacts("lied.png", 10, None, "cdn://lie"),
    ))
    await env.service.consider(p, newbie)
    files = {f.filename: f for f in await env.service.holds.attachments((await hold_of(env, p)).id)}
    assert files["small.png"].data == b"x" * 10
    assert {n: files[n].not_kept_reason for n in ("huge.mov", "gone.png", "slow.png",
                                                  "lied.png")} == {
        "huge.mov": "too large", "gone.png": "download failed", "slow.png": "timed out",
        "lied.png": "too large"}
    assert ("fetch", "cdn://huge") not in env.actions.calls  # never downloaded


async def test_min_posts_keeps_members_new_until_enough_accepted_posts(env):
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "min_posts", 2))
    veteran = env.someone(REGULAR, days=100)
    early = post(REGULAR, "first: bit.ly/early")
    assert await env.service.consider(early, veteran)
    for text in ("hello all", "thank you for the welcome"):
        assert not await env.service.consider(post(REGULAR, text), veteran)
    assert not await env.service.consider(post(REGULAR, "now: bit.ly/late"), veteran)
    assert (await PostCountRepository(env.db).all())[(GUILD, REGULAR)] == 2


async def test_edits_and_the_catch_up_scan_do_not_count_as_accepted_posts(env):
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "min_posts", 2))
    veteran = env.someone(REGULAR, days=100)
    await env.service.consider(post(REGULAR, "hello", kind="edit"), veteran)
    await env.service.consider(post(REGULAR, "hello again"), veteran, count_post=False)
    assert await PostCountRepository(env.db).all() == {}


async def test_would_hold_judges_a_members_words_by_ids(env):
    env.someone(NEWBIE)
    env.someone(REGULAR, days=60)
    assert await env.service.would_hold(GUILD, NEWBIE, "edited in bit.ly/sneaky")
    assert not await env.service.would_hold(GUILD, NEWBIE, "no links here")
    assert not await env.service.would_hold(GUILD, REGULAR, "bit.ly/fine")
    assert not await env.service.would_hold(999, NEWBIE, "bit.ly/unknown-guild")


async def test_would_hold_counts_ignored_channels_and_their_parents(env):
    env.someone(NEWBIE)
    env.actions.channels[RESOURCES] = (RESOURCES, CATEGORY)
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "ignored_channels",
                                                       [CATEGORY]))
    assert not await env.service.would_hold(GUILD, NEWBIE, "bit.ly/x", RESOURCES)
    assert await env.service.would_hold(GUILD, NEWBIE, "bit.ly/x", GENERAL)
    await env.settings.update(GUILD, lambda c: setattr(c.linkhold, "ignored_channels", []))
    assert await env.service.would_hold(GUILD, NEWBIE, "bit.ly/x", RESOURCES)


# --- decisions ----------------------------------------------------------------------------------


async def held(env: Env, text: str = "see tinyurl.com/abcd", member: int = NEWBIE, **kw):
    someone = env.someone(member)
    p = post(member, text, **kw)
    assert await env.service.consider(p, someone)
    return await hold_of(env, p)


async def test_approve_publishes_once_and_a_second_approval_is_refused(env):
    env.actions.files["cdn://photo"] = b"jpeg"
    hold = await held(env, "Our video https://youtu.be/journey",
                      files=(FileFacts("photo.jpg", 4, "image/jpeg", "cdn://photo"),))
    decision = await env.service.approve(GUILD, hold.id, MOD)
    assert decision.hold.status == "approved" and decision.hold.repost_url
    (request,) = env.published
    assert request.content == hold.content and request.destination_id == GENERAL
    assert [(f.filename, f.data) for f in request.attachments] == [("photo.jpg", b"jpeg")]
    assert request.source == f"hold:{hold.id}" and request.moderator_id == MOD
    with pytest.raises(AlreadyDecided, match="already approved"):
        await env.service.approve(GUILD, hold.id, MOD)
    with pytest.raises(AlreadyDecided):
        await env.service.reject(GUILD, hold.id, MOD)
    assert len(env.published) == 1
    assert env.actions.named("edit_card")[-1] == ("edit_card", hold.id, "approved", False)
    assert len(await env.actions_of("hold.approved")) == 1


async def test_two_approvals_at_once_publish_exactly_once(env):
    hold = await held(env)
    results = await asyncio.gather(env.service.approve(GUILD, hold.id, MOD),
                                   env.service.approve(GUILD, hold.id, MOD + 1),
                                   return_exceptions=True)
    assert sum(isinstance(r, AlreadyDecided) for r in results) == 1
    assert len(env.published) == 1


async def test_a_failed_publish_puts_the_hold_back_in_the_queue(env):
    hold = await held(env)
    env.publisher.down = True
    with pytest.raises(RuntimeError):
        await env.service.approve(GUILD, hold.id, MOD)
    assert (await env.service.holds.get(hold.id)).status == "pending"
    env.publisher.down = False
    assert (await env.service.approve(GUILD, hold.id, MOD)).hold.status == "approved"


async def test_edit_and_approve_publishes_the_edited_words_of_a_forum_post(env):
    hold = await held(env, "How it went.", channel=77, kind="forum_post", parent_id=FORUM,
                      forum_title="Our journey youtu.be/x", forum_tag_ids=(5,))
    await env.service.approve(GUILD, hold.id, MOD, content="How it went (edited).")
    (request,) = env.published
    assert request.content == "How it went (edited)." and request.destination_id == FORUM
    assert request.forum_title == "Our journey youtu.be/x" and request.forum_tag_ids == (5,)
    assert (await env.service.holds.get(hold.id)).decision == "edit"


async def test_reject_tells_the_member_unless_the_moderator_unticks_it(env):
    quiet = await held(env, "cheap pills: pills.shop")
    told = await held(env, "fundraiser: scam-help.org/give", member=NEWBIE + 1)
    env.actions.calls.clear()
    decision = await env.service.reject(GUILD, quiet.id, MOD, reason="spam", tell_member=False)
    assert decision.member_told is None and env.actions.named("dm") == []
    decision = await env.service.reject(GUILD, told.id, MOD,
                                        reason="We can't verify this fundraiser.")
    assert decision.member_told is True
    (dm,) = env.actions.named("dm")
    assert "decided not to share it" in dm[2] and "We can't verify this fundraiser." in dm[2]
    assert "fundraiser: scam-help.org/give" in dm[2]  # their own words come back
    env.actions.dms_closed.add(NEWBIE + 2)
    closed = await held(env, "x.com/y", member=NEWBIE + 2)
    assert (await env.service.reject(GUILD, closed.id, MOD, tell_member=True)).member_told \
        is False
    assert len(await env.actions_of("hold.rejected")) == 3


async def test_a_hold_of_another_server_is_not_found(env):
    hold = await held(env)
    with pytest.raises(NotFound):
        await env.service.approve(OTHER_GUILD, hold.id, MOD)


async def test_trust_approves_and_lifts_future_holds(env):
    hold = await held(env, "Support group notes: docs-share.net/notes")
    decision = await env.service.approve(GUILD, hold.id, MOD, trust=True)
    assert decision.hold.decision == "trust"
    assert env.service.is_trusted(GUILD, NEWBIE)
    assert not await env.service.consider(post(NEWBIE, "docs-share.net/more"),
                                          env.someone(NEWBIE))
    status = await env.service.status(GUILD, env.someone(NEWBIE))
    assert status.exempt == "trusted" and not status.held
    assert await env.service.untrust(GUILD, NEWBIE, MOD)
    assert not await env.service.untrust(GUILD, NEWBIE, MOD)
    status = await env.service.status(GUILD, env.someone(NEWBIE))
    assert status.held and status.reasons == ("joined less than 3 days ago",)
    assert status.history == {"approved": 1}


async def test_punish_checks_both_sides_then_rejects_and_acts(env):
    hold = await held(env, "Dr Ade cured me, email drade@cure-clinic.info")
    with pytest.raises(NotModerator, match="Timeout Members"):
        await env.service.punish(GUILD, hold.id, MOD, "timeout", moderator_may=False,
                                 steward_may=True)
    with pytest.raises(BotMissingPermissions, match="Ban Members"):
        await env.service.punish(GUILD, hold.id, MOD, "ban", moderator_may=True,
                                 steward_may=False)
    assert (await env.service.holds.get(hold.id)).status == "pending"
    decision = await env.service.punish(GUILD, hold.id, MOD, "timeout", moderator_may=True,
                                        steward_may=True)
    assert decision.note is None and decision.hold.decision == "timeout"
    (call,) = env.actions.named("punish")
    assert call[1:3] == (NEWBIE, "timeout") and call[3] == NOW + timedelta(days=7)
    assert len(await env.actions_of("member.timeout")) == 1
    other = await held(env, "wa.me/123", member=NEWBIE + 1)
    env.actions.punish_outcome = "forbidden"
    decision = await env.service.punish(GUILD, other.id, MOD, "ban", moderator_may=True,
                                        steward_may=True)
    assert "didn't let me ban" in decision.note and decision.hold.status == "rejected"
    assert await env.actions_of("member.ban") == []


async def test_punish_follows_the_role_hierarchy_before_touching_anything(env):
    hold = await held(env, "Dr Ade cured me, email drade@cure-clinic.info")
    above_mod = Standing(moderator_top=3, moderator_is_owner=False, target_top=3,
                         target_is_owner=False, steward_top=9)
    with pytest.raises(NotModerator, match="above yours"):
        await env.service.punish(GUILD, hold.id, MOD, "timeout", moderator_may=True,
                                 steward_may=True, standing=above_mod)
    above_steward = Standing(moderator_top=9, moderator_is_owner=True, target_top=5,
                             target_is_owner=False, steward_top=4)
    with pytest.raises(BotMissingPermissions, match="above mine"):
        await env.service.punish(GUILD, hold.id, MOD, "ban", moderator_may=True,
                                 steward_may=True, standing=above_steward)
    assert (await env.service.holds.get(hold.id)).status == "pending"
    assert env.actions.named("punish") == []


# --- members who leave or are forgotten -----------------------------------------------------------


async def test_a_member_who_leaves_has_their_pending_holds_closed(env):
    hold = await held(env)
    closed = await env.service.member_left(GUILD, NEWBIE)
    assert [h.id for h in closed] == [hold.id]
    assert (await env.service.holds.get(hold.id)).status == CLOSED_LEFT
    assert env.actions.named("edit_card")[-1] == ("edit_card", hold.id, CLOSED_LEFT, False)
    assert len(await env.actions_of("hold.closed_member_left")) == 1
    with pytest.raises(AlreadyDecided, match="left the server"):
        await env.service.approve(GUILD, hold.id, MOD)
    assert await env.service.member_left(GUILD, NEWBIE) == []


async def test_members_who_left_while_away_are_closed_at_start(env):
    gone = await held(env, "bit.ly/gone", member=NEWBIE)
    stays = await held(env, "bit.ly/stays", member=NEWBIE + 1)
    env.actions.departed.add(NEWBIE)
    assert await env.service.close_departed() == 1
    assert (await env.service.holds.get(gone.id)).status == CLOSED_LEFT
    assert (await env.service.holds.get(stays.id)).status == "pending"


async def test_forget_drops_trust_and_counts_from_memory_and_blanks_cards(env):
    hold = await held(env)
    await env.service.trust(GUILD, NEWBIE, MOD)
    await env.service.forget_member(GUILD, NEWBIE)
    assert not env.service.is_trusted(GUILD, NEWBIE)
    assert env.actions.named("blank_card") == [("blank_card", hold.id)]


# --- upkeep ---------------------------------------------------------------------------------------


async def test_reminders_surface_old_pending_holds_once_per_period(env):
    hold = await held(env)
    assert await env.service.send_reminders(env.clock.now()) == 0
    later = env.clock.advance(hours=25)
    assert await env.service.send_reminders(later) == 1
    (text,) = env.actions.named("text")
    assert text[1] == (QUEUE, MOD_LOG) and f"Hold #{hold.id}" in text[2]
    assert "still waiting for review" in text[2]
    assert (await env.service.holds.get(hold.id)).reminded_at == later
    assert await env.service.send_reminders(env.clock.advance(hours=1)) == 0
    assert await env.service.send_reminders(env.clock.advance(hours=24)) == 1


async def test_decided_content_is_purged_after_retention_and_pending_content_kept(env):
    decided = await held(env, "my shop etsy.com/shop/newbie")
    waiting = await held(env, "patreon.com/newbie", member=NEWBIE + 1)
    await env.service.reject(GUILD, decided.id, MOD)
    assert await env.service.purge_expired(env.clock.advance(days=29)) == 0
    assert await env.service.purge_expired(env.clock.advance(days=2)) == 1
    purged = await env.service.holds.get(decided.id)
    assert purged.content is None and purged.links == () and purged.status == "rejected"
    assert (await env.service.holds.get(waiting.id)).content is not None
    assert env.actions.named("edit_card")[-1][1] == decided.id


async def test_catch_up_plan_reads_from_the_saved_mark_at_most_max_age_back(env):
    service = env.service
    # Never seen: no reading; the mark starts now.
    plan = service.plan_catchup([GUILD])
    assert plan.after == {} and service.high_water(GUILD) == snowflake_at(NOW)
    service.saw(GUILD, snowflake_at(NOW) + 5)
    service.saw(GUILD, snowflake_at(NOW))  # older ids never move the mark back
    assert service.high_water(GUILD) == snowflake_at(NOW) + 5
    await service.save_marks()
    assert await HighWaterRepository(env.db).all() == {GUILD: snowflake_at(NOW) + 5}
    await service.load()
    env.clock.advance(hours=2)
    assert service.plan_catchup([GUILD]).after == {GUILD: snowflake_at(NOW) + 5}
    env.clock.advance(days=3)  # away longer than max_age: read the last 24 hours only
    floor = snowflake_at(env.clock.now() - service.catchup_limits.max_age)
    assert service.plan_catchup([GUILD]).after == {GUILD: floor}


async def test_start_finishes_interrupted_holds_once_and_hands_the_plan_to_the_adapter(env):
    message_id = next(_ids)
    stored = await env.service.holds.create(NewHold(
        guild_id=GUILD, channel_id=GENERAL, message_id=message_id, member_id=NEWBIE,
        kind="message", content="Free consult: clinic-abroad.com/offer",
        links=(HeldLink("clinic-abroad.com/offer", "http://clinic-abroad.com/offer",
                        "clinic-abroad.com"),),
        dup_key=duplicate_key(NEWBIE, "\nFree consult: clinic-abroad.com/offer")), NOW)
    assert stored.step == "stored"
    env.someone(NEWBIE)
    report = await env.service.start()
    assert report == CatchupReport(0, 0, 0, 0, False) and env.service.started
    hold = await env.service.holds.get(stored.id)
    assert hold.step == "queued" and hold.removal == "removed" and hold.member_told == "dm"
    assert [c[0] for c in env.actions.calls] == ["remove", "dm", "card"]
    assert len(env.actions.catchup_plans) == 1
    assert await env.service.start() is None  # once per process


async def test_probe_reports_long_waits_and_posts_that_could_not_be_removed(env):
    env.actions.removal = "failed"
    stuck = await held(env, "bit.ly/stuck")
    env.clock.advance(hours=49)
    findings = {f.code: f for f in await env.service.probe(GUILD)}
    assert set(findings) == {"linkhold.waiting", "linkhold.not_removed"}
    assert f"hold #{stuck.id}" in findings["linkhold.waiting"].message
    assert f"<#{GENERAL}>" in findings["linkhold.not_removed"].message
    await env.service.reject(GUILD, stuck.id, MOD)
    assert await env.service.probe(GUILD) == []


# --- surfaces: thread names, polls, apps' posts -------------------------------------------------

THREAD = 16


def thread_post(author: int, name: str, *, kind: str = "thread_name", key: int | None = None
                ) -> PostFacts:
    return PostFacts(guild_id=GUILD, channel_id=THREAD, channel_ids=(THREAD, GENERAL, CATEGORY),
                     message_id=key or next(_ids), author_id=author, kind=kind, content=name,
                     parent_id=GENERAL)


async def test_a_held_thread_name_renames_the_thread_without_its_link_and_keeps_the_words(env):
    newbie = env.someone(NEWBIE)
    p = thread_post(NEWBIE, "Free help at cure-cancer-now.biz today")
    assert await env.service.consider(p, newbie)
    hold = await hold_of(env, p)
    assert hold.kind == "thread_name" and hold.content == "Free help at cure-cancer-now.biz today"
    assert hold.removal == "removed" and not env.actions.named("remove")
    assert env.actions.named("rename") == [("rename", THREAD, "Free help at (link held) today")]
    (dm,) = env.actions.named("dm")
    assert "Your new thread's name in <#11>" in dm[2]
    # The same name on a second thread: one hold, that thread renamed too.
    again = thread_post(NEWBIE, "free help at  cure-cancer-now.biz today")
    assert await env.service.consider(again, newbie)
    assert len(env.actions.named("rename")) == 2 and len(env.actions.named("dm")) == 1
    # Approval publishes the member's words, with the link, in the thread.
    decision = await env.service.approve(GUILD, hold.id, MOD)
    assert decision.hold.status == "approved"
    (request,) = env.published
    assert request.destination_id == THREAD and "cure-cancer-now.biz" in request.content


async def test_an_established_members_thread_name_and_rename_are_left_alone(env):
    regular = env.someone(REGULAR, days=60)
    for kind in ("thread_name", "thread_rename"):
        assert not await env.service.consider(thread_post(REGULAR, "see bit.ly/x", kind=kind),
                                              regular)
    assert env.actions.calls == []


async def test_a_renamed_title_is_held_each_time_it_carries_a_new_link(env):
    newbie = env.someone(NEWBIE)
    first = thread_post(NEWBIE, "Hello, fundraiser at gofund.me/abc", kind="thread_rename")
    second = thread_post(NEWBIE, "Hello, now at bit.ly/other", kind="thread_rename")
    assert await env.service.consider(first, newbie)
    assert await env.service.consider(second, newbie)
    assert [c[2] for c in env.actions.named("rename")] == [
        "Hello, fundraiser at (link held)", "Hello, now at (link held)"]
    dms = [c[2] for c in env.actions.named("dm")]
    assert len(dms) == 2 and all("Your thread's new title in <#11>" in d for d in dms)


@pytest.mark.parametrize(("kind", "what"), [
    ("poll", "Your poll in <#11>"),
    ("app_post", "Your message sent through an app in <#11>"),
    ("forward", "Your forwarded message in <#11>"),
    ("message", "Your post in <#11>"),
])
async def test_the_member_is_told_what_was_held(env, kind, what):
    newbie = env.someone(NEWBIE)
    p = post(NEWBIE, "Poll: Which clinic?\n- cure-cancer-now.biz", kind=kind)
    assert await env.service.consider(p, newbie)
    assert env.actions.named("remove") and not env.actions.named("rename")
    (dm,) = env.actions.named("dm")
    assert what in dm[2]


# --- a saved template that fails at send time -------------------------------------------------


async def test_templates_that_fail_at_send_time_tell_the_member_with_the_default(env):
    """Templates that slipped past validation (an older version, a hand-edited database)."""
    config = env.settings.get(GUILD)
    config.linkhold = config.linkhold.model_copy(update={
        "held_template": "Held {x}", "rejected_template": "No {oops}"})
    hold = await held(env, "see tinyurl.com/abcd")
    assert hold.member_told == "dm"
    (dm,) = env.actions.named("dm")
    assert "in 3 days" in dm[2] and "Hope Together" in dm[2] and "Held" not in dm[2]
    [fallback] = await env.actions_of("template.fallback")
    assert fallback.target_id == NEWBIE and fallback.actor_id is None
    assert fallback.details == {"setting": "linkhold.held_template", "hold": hold.id}
    env.actions.calls.clear()
    decision = await env.service.reject(GUILD, hold.id, MOD, tell_member=True)
    assert decision.member_told is True
    (dm,) = env.actions.named("dm")
    assert "decided not to share it" in dm[2] and not dm[2].startswith("No ")
    settings_named = [e.details["setting"] for e in await env.actions_of("template.fallback")]
    assert sorted(settings_named) == ["linkhold.held_template", "linkhold.rejected_template"]
