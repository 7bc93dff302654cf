"""Care without Discord: a temporary SQLite database, a FakeClock and fake ports.

One alert per post, one claim, one support message; the quiet window postpones follow-up
check-ins and reminders to that member (not to others) until it ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.care import Alert, CareRepository, DoNotTagRepository
from bot.db.followups import FollowupRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.holds import Hold
from bot.db.reminders import ReminderRepository
from bot.domain.care import DEFAULT_SUPPORT_TEMPLATE, clean_phrases, language_for
from bot.errors import AlreadyDecided, InvalidInput, NotFound
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.care import CarePost, CareService
from bot.services.followups import FollowupService, ForumPost
from bot.services.followups_ports import Place
from bot.services.guild_settings import GuildSettingsService
from bot.services.privacy import PrivacyService
from bot.services.scheduler import Scheduler
from bot.tasks import BackgroundTasks
from tests.services.test_followups_service import (
    GENERAL,
    GUILD,
    HELPER,
    MOD,
    OP,
    READER,
    FakeDiscord,
    owned_by,
    question,
)

QUEUE, CARE = 70, 80
MOD2 = 301
DISTRESS = "Some days I don't know how to keep going"


@dataclass
class FakeCare:
    """The CareActions port: cards and DMs in memory."""

    cards: dict[int, Alert] = field(default_factory=dict)  # message id -> last rendering
    card_channels: dict[int, int] = field(default_factory=dict)
    blanked: list[int] = field(default_factory=list)
    dms: list[tuple[int, str]] = field(default_factory=list)
    closed_dms: set[int] = field(default_factory=set)
    next_id: int = 50_000

    async def post_alert(self, channel_id: int, alert: Alert) -> int | None:
        self.next_id += 1
        self.cards[self.next_id] = alert
        self.card_channels[self.next_id] = channel_id
        return self.next_id

    async def edit_alert(self, alert: Alert) -> None:
        assert alert.card_message_id in self.cards
        self.cards[alert.card_message_id] = alert

    async def blank_alert(self, alert: Alert) -> None:
        assert alert.card_message_id is not None
        self.blanked.append(alert.card_message_id)

    async def send_dm(self, member_id: int, text: str) -> bool:
        if member_id in self.closed_dms:
            return False
        self.dms.append((member_id, text))
        return True

    def guild_name(self, guild_id: int) -> str | None:
        return "Hope Together"


@dataclass
class World:
    care: CareService
    actions: FakeCare
    followups: FollowupService
    discord: FakeDiscord
    clock: FakeClock
    scheduler: Scheduler
    settings: GuildSettingsService
    audit: AuditService
    privacy: PrivacyService

    async def settle(self) -> None:
        await asyncio.wait_for(self.scheduler.wait_idle(), 5)

    async def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)
        await self.settle()

    async def actions_logged(self) -> list[str]:
        return [e.action for e in await self.audit.repository.recent(GUILD, limit=100)]


@pytest.fixture
async def world(tmp_path):
    db = await Database.open(tmp_path / "care.db")
    await migrate(db)
    clock = FakeClock()
    tasks = BackgroundTasks()
    settings = GuildSettingsService(GuildSettingsRepository(db), clock)
    await settings.load_all()

    def queue(config):
        config.linkhold.queue_channel = QUEUE

    await settings.update(GUILD, queue)
    audit = AuditService(AuditRepository(db), clock)
    privacy = PrivacyService(db, clock, b"k" * 32)
    actions = FakeCare()
    care = CareService(CareRepository(db), settings, clock, actions, audit=audit,
                       marks=DoNotTagRepository(db), opt_outs=privacy)
    privacy.register_tables("care", purge=care.purge_expired, before=care.forget_member)
    scheduler = Scheduler(ReminderRepository(db), clock, tasks)
    discord = FakeDiscord()
    followups = FollowupService(FollowupRepository(db), scheduler, clock, discord=discord,
                                settings=settings, audit=audit, opt_outs=privacy,
                                metrics=Metrics(enabled=False), tasks=tasks,
                                quiet_until=care.quiet_until, do_not_tag=care.do_not_tag)
    care.on_mark(followups.member_marked)
    await followups.load()
    await followups.start()
    w = World(care, actions, followups, discord, clock, scheduler, settings, audit, privacy)
    await w.settle()
    yield w
    await scheduler.stop()
    await tasks.drain(grace=1)
    await db.close()


def post(text: str = DISTRESS, *, author: int = OP, message_id: int = 9_001,
         title: str | None = None) -> CarePost:
    return CarePost(guild_id=GUILD, channel_id=GENERAL, message_id=message_id,
                    author_id=author, text=text, title=title)


async def alerted(w: World, message_id: int = 9_001) -> Alert:
    alert = await w.care.repository.by_message(GUILD, message_id)
    assert alert is not None
    return alert


# --- detection and the one alert -------------------------------------------------------------


async def test_a_distress_post_is_consumed_alerts_once_and_opens_a_quiet_window(world):
    w = world
    assert await w.care.consider(post()) is True
    assert await w.care.consider(post()) is True  # seen again (catch-up): still consumed
    [(card_id, card)] = w.actions.cards.items()
    assert w.actions.card_channels[card_id] == QUEUE  # default: the link-hold queue
    assert card.member_id == OP and "don't know how to keep going" in card.matched
    alert = await alerted(w)
    assert alert.card_message_id == card_id and alert.card_channel_id == QUEUE
    assert await w.care.quiet_until(GUILD, OP) == w.clock.now() + timedelta(hours=24)
    assert await w.care.quiet_until(GUILD, READER) is None
    assert (await w.actions_logged()).count("care.alert") == 1
    w.clock.advance(hours=24, seconds=1)
    assert await w.care.quiet_until(GUILD, OP) is None


async def test_ordinary_and_darkly_funny_posts_are_not_alerts(world):
    w = world
    for n, text in enumerate(("this chemo is killing me lol", "I'm dying to know the results",
                              "the tumour is dead, scans are clear!")):
        assert await w.care.consider(post(text, message_id=100 + n)) is False
    assert w.actions.cards == {}
    assert await w.care.quiet_until(GUILD, OP) is None


async def test_forum_titles_extra_phrases_channel_and_switch_come_from_settings(world):
    w = world
    assert await w.care.consider(post("see title", title="I want to die", message_id=1))

    def configure(config):
        config.care.care_channel = CARE
        config.care.extra_phrases = ["ready to give up"]
        config.care.quiet_hours = 48

    await w.settings.update(GUILD, configure)
    assert await w.care.consider(post("honestly I'm ready to give up", message_id=2))
    assert w.actions.card_channels[max(w.actions.cards)] == CARE
    assert await w.care.quiet_until(GUILD, OP) == w.clock.now() + timedelta(hours=48)

    def off(config):
        config.care.enabled = False

    await w.settings.update(GUILD, off)
    assert await w.care.consider(post(message_id=3)) is False
    assert len(w.actions.cards) == 2


def test_phrases_and_languages_are_checked():
    assert clean_phrases(["  ready  to give up", "Ready to give up", "no way out"]) == [
        "ready to give up", "no way out"]
    with pytest.raises(ValueError, match="3 to 100"):
        clean_phrases(["ok"])
    assert language_for("es-ES") == "es" and language_for("es-419") == "es"
    # Unknown (no locale, Discord's default en-US, no lexicon for it): both lexicons.
    assert language_for(None) == "es" and language_for("en-US") == "es"
    assert language_for("fr") == "es"
    assert language_for("en-GB") == "en"
    assert "findahelpline.com" in DEFAULT_SUPPORT_TEMPLATE
    assert not any(ch.isdigit() for ch in DEFAULT_SUPPORT_TEMPLATE)  # no phone numbers


# --- moderators: claim once, support message once ---------------------------------------------


async def test_the_first_moderator_claims_and_the_second_is_told_who(world):
    w = world
    await w.care.consider(post())
    alert = await alerted(w)
    first = await w.care.claim(GUILD, alert.id, MOD)
    assert first.claimed and first.alert.claimed_by == MOD
    assert w.actions.cards[alert.card_message_id].claimed_by == MOD  # the card shows who
    again = await w.care.claim(GUILD, alert.id, MOD2)
    assert not again.claimed and again.alert.claimed_by == MOD
    assert (await w.care.claim(GUILD, alert.id, MOD)).claimed  # pressing again is harmless
    assert (await w.actions_logged()).count("care.claimed") == 1
    with pytest.raises(NotFound):
        await w.care.claim(GUILD + 1, alert.id, MOD)


async def test_the_support_message_is_reviewed_then_sent_once_signed(world):
    w = world
    await w.care.consider(post())
    alert = await alerted(w)
    draft = await w.care.support_draft(GUILD, alert.id, MOD, "Maria")
    assert f"<@{OP}>" in draft.text and "Hope Together" in draft.text and not draft.fallback
    result = await w.care.send_support(GUILD, alert.id, MOD, "Maria", draft.text + " Edited.")
    assert result.delivered
    [(member, text)] = w.actions.dms
    assert member == OP and "Edited." in text and "sent by Maria" in text
    assert result.alert.claimed_by == MOD  # sending is reaching out
    assert w.actions.cards[alert.card_message_id].support_sent
    with pytest.raises(AlreadyDecided, match="already sent"):
        await w.care.send_support(GUILD, alert.id, MOD, "Maria", "again")
    with pytest.raises(AlreadyDecided, match="already sent"):
        await w.care.support_draft(GUILD, alert.id, MOD2, "Sam")
    assert len(w.actions.dms) == 1
    assert "care.support_sent" in await w.actions_logged()


async def test_a_broken_saved_support_message_falls_back_to_the_default_and_says_so(world):
    """A template that slipped past validation (an older version, a hand-edited database)."""
    w = world
    config = w.settings.get(GUILD)
    config.care = config.care.model_copy(update={"support_template": "Hi {name}, {oops"})
    await w.care.consider(post())
    alert = await alerted(w)
    draft = await w.care.support_draft(GUILD, alert.id, MOD, "Maria")
    assert draft.fallback
    assert draft.text.startswith(f"Hi <@{OP}>, I'm one of the moderators of Hope Together")
    entries = await w.audit.repository.recent(GUILD, limit=10)
    [fallback] = [e for e in entries if e.action == "template.fallback"]
    assert fallback.details == {"setting": "care.support_template", "alert": alert.id}
    result = await w.care.send_support(GUILD, alert.id, MOD, "Maria", draft.text)
    assert result.delivered and len(w.actions.dms) == 1


async def test_someone_elses_claim_or_closed_dms_stop_the_support_message(world):
    w = world
    await w.care.consider(post())
    alert = await alerted(w)
    await w.care.claim(GUILD, alert.id, MOD2)
    with pytest.raises(AlreadyDecided, match=f"<@{MOD2}> is reaching out"):
        await w.care.support_draft(GUILD, alert.id, MOD, "Maria")
    with pytest.raises(InvalidInput, match="empty"):
        await w.care.send_support(GUILD, alert.id, MOD2, "Jo", "   ")
    w.actions.closed_dms.add(OP)
    result = await w.care.send_support(GUILD, alert.id, MOD2, "Jo", "Thinking of you.")
    assert not result.delivered and w.actions.dms == []
    assert result.alert.support_status == "dm_closed"
    w.actions.closed_dms.clear()  # they opened their DMs: one more try is allowed
    assert (await w.care.send_support(GUILD, alert.id, MOD2, "Jo", "Thinking of you.")
            ).delivered
    assert len(w.actions.dms) == 1


# --- the quiet window and follow-ups -------------------------------------------------------------


async def test_a_quiet_member_gets_no_checkin_or_reminder_until_the_window_ends(world):
    w = world
    followup = (await w.followups.ask(asker_id=MOD, question=question(),
                                      op_facts=owned_by())).followup
    now = w.clock.now()
    to_op = await w.followups.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                                     place=Place(GENERAL), due=now + timedelta(days=7),
                                     note=None)
    to_other = await w.followups.remind(guild_id=GUILD, moderator_id=MOD, member_id=HELPER,
                                        place=Place(GENERAL), due=now + timedelta(days=7),
                                        note=None)
    await w.advance(days=6, hours=20)
    assert await w.care.consider(post())  # four hours before the check-in is due
    await w.advance(hours=4, minutes=1)
    assert w.discord.tags(OP) == []  # postponed, not sent
    assert len(w.discord.tags(HELPER)) == 1  # others are not affected
    postponed = await w.followups.reminders.get(to_op.id)
    assert postponed.status == "pending"
    assert postponed.due_at == (await alerted(w)).quiet_until
    assert (await w.followups.repository.get(followup.id)).status == "open"
    await w.advance(hours=20)  # the window ends: both are delivered, late but kept
    assert len(w.discord.tags(OP)) == 2
    assert (await w.followups.reminders.get(to_op.id)).status == "sent"
    assert (await w.followups.reminders.get(to_other.id)).status == "sent"


async def test_an_automatic_checkin_waits_for_the_quiet_window_too(world):
    w = world
    w.discord.places[83] = Place(83, is_thread=True)
    await w.followups.schedule_autocheck(ForumPost(GUILD, 83, forum_id=90, author_id=OP), 5)
    w.discord.message(83, HELPER)
    await w.advance(days=4, hours=23)
    assert await w.care.consider(post(title="I can't go on", message_id=83))
    await w.advance(hours=2)
    assert w.discord.tags(OP) == []
    [pending] = await w.followups.reminders.autochecks_for(83)
    assert pending.status == "pending"
    await w.advance(hours=23)
    [sent] = w.discord.tags(OP)
    assert "people replied to your post" in sent.text


# --- privacy -------------------------------------------------------------------------------------


async def test_forget_deletes_a_members_alerts_and_purge_keeps_open_windows(world):
    w = world
    await w.care.consider(post())
    alert = await alerted(w)
    await w.care.claim(GUILD, alert.id, MOD)
    await w.care.consider(post(author=READER, message_id=9_002))
    other = await alerted(w, 9_002)
    await w.care.claim(GUILD, other.id, OP)  # OP is also a moderator elsewhere
    report = await w.privacy.forget(GUILD, OP)
    assert report.removed["care"] >= 2
    assert await w.care.repository.by_message(GUILD, 9_001) is None
    assert w.actions.blanked == [alert.card_message_id]
    # Their claim as a moderator stays accountable, under their pseudonym (never their id).
    assert (await alerted(w, 9_002)).claimed_by == w.privacy.pseudonym(GUILD, OP)
    assert await w.care.purge_expired(w.clock.now()) == 0  # quiet window still open
    removed = await w.care.purge_expired(w.clock.now() + timedelta(days=31))
    assert removed == 1 and await w.care.repository.by_message(GUILD, 9_002) is None


async def test_a_support_dm_that_fails_unexpectedly_can_be_tried_again(world):
    w = world
    await w.care.consider(post())
    alert = await alerted(w)
    working = w.actions.send_dm

    async def fail(member_id: int, text: str) -> bool:
        raise RuntimeError("network went away")

    w.actions.send_dm = fail  # the fake port, not our code
    with pytest.raises(RuntimeError):
        await w.care.send_support(GUILD, alert.id, MOD, "Maria", "Thinking of you.")
    assert (await alerted(w)).support_status is None
    w.actions.send_dm = working
    assert (await w.care.send_support(GUILD, alert.id, MOD, "Maria", "Thinking of you.")
            ).delivered
    assert len(w.actions.dms) == 1


# --- do-not-tag (in memoriam, or they asked for quiet) ------------------------------------------


async def test_marking_a_member_closes_their_followups_quietly_and_is_audited(world):
    w = world
    posted: list[str] = []

    async def mod_log(entry):
        posted.append(entry.action)

    w.audit.set_mod_log_sink(mod_log)
    followup = (await w.followups.ask(asker_id=MOD, question=question(),
                                      op_facts=owned_by())).followup
    now = w.clock.now()
    await w.followups.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                             place=Place(GENERAL), due=now + timedelta(days=2), note=None)
    await w.followups.remind(guild_id=GUILD, moderator_id=MOD, member_id=HELPER,
                             place=Place(GENERAL), due=now + timedelta(days=2), note=None)
    posted.clear()
    new, closed = await w.care.mark_quiet(GUILD, OP, "in_memoriam", MOD)
    assert new and closed == 2  # the follow-up and the reminder
    assert (await w.followups.repository.get(followup.id)).status == "closed"
    # One mod-log entry: the mark; the closures are in the audit table only.
    assert posted == ["care.quiet_added"]
    actions = await w.actions_logged()
    assert "followup.closed" in actions and "reminder.cancelled" in actions
    await w.advance(days=10)
    assert w.discord.tags(OP) == [] and len(w.discord.tags(HELPER)) == 1
    with pytest.raises(InvalidInput, match="never to tag"):
        await w.followups.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                                 place=Place(GENERAL), due=w.clock.now() + timedelta(hours=1),
                                 note=None)
    with pytest.raises(InvalidInput, match="Pick a reason"):
        await w.care.mark_quiet(GUILD, READER, "bored", MOD)
    assert not await w.care.do_not_tag(GUILD, READER)


async def test_a_mark_made_behind_the_listeners_back_still_stops_every_delivery(world):
    """Items scheduled before the mark (or by another process) stand down when due."""
    w = world
    followup = (await w.followups.ask(asker_id=MOD, question=question(),
                                      op_facts=owned_by())).followup
    w.discord.places[83] = Place(83, is_thread=True)
    await w.followups.schedule_autocheck(ForumPost(GUILD, 83, forum_id=90, author_id=OP), 5)
    w.discord.message(83, HELPER)
    await w.followups.remind(guild_id=GUILD, moderator_id=MOD, member_id=OP,
                             place=Place(GENERAL), due=w.clock.now() + timedelta(days=1),
                             note=None)
    assert await w.care.marks.mark(GUILD, OP, "asked", MOD, w.clock.now())
    await w.advance(days=8)
    assert w.discord.tags(OP) == []
    stored = await w.followups.repository.get(followup.id)
    assert stored.status == "closed" and stored.reason == "do_not_tag"
    # A new forum post of theirs gets no automatic check-in scheduled at all.
    await w.followups.schedule_autocheck(ForumPost(GUILD, 84, forum_id=90, author_id=OP), 5)
    assert await w.followups.reminders.autochecks_for(84) == []


async def test_unmark_list_and_forget_keep_the_wish_without_the_row(world):
    w = world
    with pytest.raises(NotFound, match="isn't marked"):
        await w.care.unmark_quiet(GUILD, OP, MOD)
    await w.care.mark_quiet(GUILD, OP, "asked", MOD)
    w.clock.advance(minutes=1)
    await w.care.mark_quiet(GUILD, READER, "in_memoriam", MOD2)
    assert [m.member_id for m in await w.care.quiet_marks(GUILD)] == [READER, OP]
    new, _ = await w.care.mark_quiet(GUILD, OP, "in_memoriam", MOD)
    assert not new and (await w.care.marks.get(GUILD, OP)).reason == "in_memoriam"
    # Forgotten: the row goes (with who marked them), a hashed opt-out keeps the quiet.
    await w.privacy.forget(GUILD, OP)
    assert await w.care.marks.get(GUILD, OP) is None
    assert await w.care.do_not_tag(GUILD, OP)
    await w.care.unmark_quiet(GUILD, OP, MOD)
    assert not await w.care.do_not_tag(GUILD, OP)
    # A forgotten moderator's marks stay, under their pseudonym.
    await w.privacy.forget(GUILD, MOD2)
    assert (await w.care.marks.get(GUILD, READER)).marked_by == w.privacy.pseudonym(GUILD, MOD2)
    assert (await w.actions_logged()).count("care.quiet_removed") == 1


# --- the link gate asks care (bot.services.linkhold_core.HoldCore.care) --------------------------


def a_hold(text: str, *, member: int = OP, message_id: int = 9_500,
           title: str | None = None) -> Hold:
    return Hold(id=1, guild_id=GUILD, channel_id=GENERAL, parent_id=None, message_id=message_id,
                member_id=member, kind="message", content=text, forum_title=title,
                forum_tag_ids=(), reply_to_url=None, links=(), dup_key="k", repeat_count=1,
                step="removed", removal="deleted", member_told=None, status="pending",
                queue_channel_id=None, queue_message_id=None, decided_by=None,
                decided_at=None, decision=None, reason=None, repost_url=None,
                reminded_at=None, created_at=datetime.now(UTC), purged_at=None)


async def test_the_link_gate_holds_back_its_notice_for_distress_and_for_quiet_members(world):
    w = world
    assert await w.care.hold_back(a_hold("See https://clinic.example")) is None
    assert await w.care.hold_back(a_hold("I can't go on. https://x.example")) == "care"
    assert await w.care.hold_back(a_hold("https://x.example", title="no point anymore")) == (
        "care")
    assert await w.care.hold_back(a_hold("Ya no puedo más https://x.example")) == "care"
    assert w.actions.cards == {}  # asking raises nothing
    # The alert for a held post links to its queue card, once.
    card = "https://discord.com/channels/1/70/123"
    await w.care.alert_held(a_hold("I can't go on. https://x.example"), card)
    await w.care.alert_held(a_hold("I can't go on. https://x.example"), card)
    [shown] = w.actions.cards.values()
    assert shown.held_url == card and shown.link == card
    # Its author is now quiet: their next held post gets no notice either, others' do.
    assert await w.care.hold_back(a_hold("https://clinic.example", message_id=2)) == "quiet"
    assert await w.care.hold_back(a_hold("https://clinic.example", member=READER)) is None
    await w.advance(hours=25)
    assert await w.care.hold_back(a_hold("https://clinic.example", message_id=3)) is None

    def off(config):
        config.care.enabled = False

    await w.settings.update(GUILD, off)
    assert await w.care.hold_back(a_hold("I can't go on. https://x.example")) is None
