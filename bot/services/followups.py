"""Follow-ups: tag the original poster, check in once, stand down when they answer.

`FollowupService` is what the cog and the buttons call: asks, scheduled tags (remind, list,
cancel, snooze), members' preferences and subscriptions, answers seen in watched channels, and
departures. It holds no Discord: the Discord actions go through the `FollowupDiscord` port
(bot.services.followups_ports), delivery of due items is in `followups_delivery`, endings in
`followups_lifecycle`, and the gauge, doctor probe and audit of deliveries in
`followups_health`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.db.followups import CLOSED, Followup, FollowupRepository, MemberPrefs
from bot.db.reminders import NewReminder, Reminder
from bot.domain import followups as rules
from bot.domain.doctor import Finding
from bot.domain.followups import CloseReason, SeenMessage
from bot.domain.templates import FALLBACK_ACTION
from bot.errors import AlreadyDecided, BotMissingPermissions, InvalidInput, NotFound
from bot.i18n import tr
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.followups_delivery import FollowupDelivery
from bot.services.followups_health import FollowupHealth
from bot.services.followups_lifecycle import FollowupLifecycle
from bot.services.followups_ports import (
    KIND_AUTOCHECK,
    KIND_CHECKIN,
    KIND_EXPIRE,
    KIND_REMIND,
    VISIBLE_KINDS,
    DoNotTag,
    FollowupDiscord,
    NoAccess,
    OptOutRecords,
    Place,
    Question,
    QuietUntil,
)
from bot.services.guild_settings import GuildSettingsService
from bot.services.privacy import FOLLOWUP_PINGS
from bot.services.scheduler import Scheduler
from bot.tasks import BackgroundTasks

__all__ = ["KIND_AUTOCHECK", "KIND_CHECKIN", "KIND_EXPIRE", "KIND_REMIND", "VISIBLE_KINDS",
           "AskResult", "FollowupService", "ForumPost"]

log = logging.getLogger(__name__)

# How long after its check-in an unanswered follow-up keeps watching for the answer.
WATCH_AFTER_CHECKIN = timedelta(days=30)


class AlreadyAsked(AlreadyDecided):
    """Someone already asked under this question; the follow-up is still open."""

    def __init__(self, followup: Followup) -> None:
        super().__init__(tr("Someone already asked about this (follow-up #{id}).", id=followup.id))
        self.followup = followup


@dataclass(frozen=True, slots=True)
class AskResult:
    """What an ask did."""

    followup: Followup
    tag_jump: str
    checkin_due: datetime


@dataclass(frozen=True, slots=True)
class ForumPost:
    """A new post (its starter message) in a forum."""

    guild_id: int
    thread_id: int
    forum_id: int
    author_id: int


class FollowupService:
    """Asks, check-ins, scheduled tags, answers and subscriptions."""

    def __init__(self, repository: FollowupRepository, scheduler: Scheduler, clock: Clock, *,
                 discord: FollowupDiscord, settings: GuildSettingsService,
                 audit: AuditService, opt_outs: OptOutRecords, metrics: Metrics,
                 tasks: BackgroundTasks, quiet_until: QuietUntil | None = None,
                 do_not_tag: DoNotTag | None = None) -> None:
        self.repository = repository
        self._asking = asyncio.Lock()
        self.scheduler = scheduler
        self.reminders = scheduler.repository
        self.clock = clock
        self.discord = discord
        self.settings = settings
        self.audit = audit
        self.opt_outs = opt_outs
        self.lifecycle = FollowupLifecycle(repository, self.reminders, clock, discord, audit,
                                           opt_outs, metrics, do_not_tag=do_not_tag)
        self.health = FollowupHealth(self.reminders, scheduler, clock, audit, metrics, tasks)
        delivery = FollowupDelivery(repository, self.lifecycle, discord, settings,
                                    quiet_until=quiet_until)
        scheduler.register(KIND_CHECKIN, delivery.checkin)
        scheduler.register(KIND_REMIND, delivery.reminder)
        scheduler.register(KIND_AUTOCHECK, delivery.autocheck)
        scheduler.register(KIND_EXPIRE, delivery.expiry)

    # ------------------------------------------------------------------ state

    async def load(self) -> None:
        """Load the ids of threads/channels with open follow-ups (once, at startup)."""
        await self.lifecycle.load()

    async def start(self) -> None:
        """Once connected: start the scheduler and the pending-reminders gauge."""
        await self.scheduler.start()
        self.health.start()

    @property
    def started_at(self) -> datetime | None:
        """When the service first started (None before)."""
        return self.health.started_at

    @property
    def watched(self) -> frozenset[int]:
        """Threads/channels where an answer is awaited."""
        return self.lifecycle.watched

    def is_watched(self, channel_id: int) -> bool:
        """Whether an answer is awaited in this thread/channel (one set lookup)."""
        return self.lifecycle.is_watched(channel_id)

    async def pings_off(self, guild_id: int, user_id: int) -> bool:
        """Whether the member turned follow-up pings off (kept after `/privacy forget`)."""
        return await self.lifecycle.pings_off(guild_id, user_id)

    async def probe(self, guild_id: int) -> list[Finding]:
        """Doctor probe: reminders that failed recently, and reminders stuck overdue."""
        return await self.health.probe(guild_id)

    async def refresh_pending_gauge(self) -> None:
        """Count pending reminders for the gauge (metrics on only)."""
        await self.health.refresh_pending_gauge()

    async def _require_member(self, guild_id: int, user_id: int) -> None:
        if await self.lifecycle.do_not_tag(guild_id, user_id):
            raise InvalidInput(
                tr("Moderators asked me never to tag <@{user_id}> (see `/care quiet list`), so I "
                   "won't.", user_id=user_id))
        if not await self.discord.member_present(guild_id, user_id):
            raise InvalidInput(tr("<@{user_id}> isn't in this server any more.", user_id=user_id))

    # ------------------------------------------------------------------ asking

    async def ask(self, *, asker_id: int, question: Question,
                  op_facts: rules.QuestionFacts | None = None, op_id: int | None = None,
                  days: int | None = None) -> AskResult:
        """Tag the OP under a question, subscribe the asker, schedule the one check-in.

        The OP is `op_id` when a moderator names them, otherwise found from `op_facts`.
        """
        guild_id = question.guild_id
        config = self.settings.get(guild_id).followup
        days = days or config.default_days
        if not 1 <= days <= 365:
            raise InvalidInput(tr("`days` must be between 1 and 365."))
        if op_id is None:
            finding = rules.find_op(op_facts) if op_facts is not None else rules.OpFinding(
                None, rules.NoOpReason.NO_OWNER)
            if finding.op_id is None:
                reason = tr(rules.NO_OP_TEXT[finding.reason or rules.NoOpReason.NO_OWNER])
                raise NotFound(
                    tr("{reason} You can name them yourself: `/followup ask question:<message "
                       "link> op:@member`.", reason=reason)
                )
            op_id = finding.op_id
        if op_id == self.discord.bot_user_id:
            raise InvalidInput(tr("I can't tag myself. Name the member with `op:`."))
        await self._require_member(guild_id, op_id)
        if await self.pings_off(guild_id, op_id):
            raise InvalidInput(
                tr("<@{op_id}> has asked not to be tagged by follow-ups, so I won't tag them. "
                   "Please respect that; you could reach out another way if it's important.",
                   op_id=op_id)
            )
        place = question.place
        if not place.postable:
            raise InvalidInput(tr("Follow-ups work in text channels, threads and forum posts."))
        if place.is_thread:
            await self._refuse_locked(place.channel_id)
        now = self.clock.now()
        # One follow-up per question: a second ask would tag and check in twice. The lock
        # makes "look, then create" one step against a second moderator at the same moment.
        async with self._asking:
            existing = await self.repository.open_for_question(guild_id, question.message_id)
            if existing is not None:
                raise AlreadyAsked(existing)
            followup = await self.repository.create(
                guild_id=guild_id, channel_id=place.channel_id, in_thread=place.is_thread,
                question_message_id=question.message_id, op_id=op_id, asker_id=asker_id,
                days=days, now=now,
            )
        # "Who asked" is the question's author (a moderator only passes it on).
        asked_by = question.author_id if question.by_member else asker_id
        text, ask_failed = rules.render_ask(
            config.ask_template, op_id=op_id, asker_id=asked_by,
            question=question.content, jump=question.jump_url,
        )
        try:
            tag_id = await self.discord.post_ask(place.channel_id, text, op_id, followup.id)
        except Exception:
            await self.repository.delete(followup.id)
            raise
        await self.repository.set_tag(followup.id, tag_id)
        tag_jump = rules.jump_link(guild_id, place.channel_id, tag_id)
        # The moderator who asked and the member whose question it is hear about the answer.
        for subscriber in dict.fromkeys((asker_id, asked_by)):
            if subscriber != op_id:
                await self.repository.subscribe(followup.id, subscriber, now)
        due = rules.checkin_due(now, days)
        await self.scheduler.schedule(NewReminder(
            guild_id=guild_id, kind=KIND_CHECKIN, channel_id=place.channel_id, due_at=due,
            member_id=op_id, created_by=asker_id, followup_id=followup.id,
        ))
        await self.scheduler.schedule(NewReminder(
            guild_id=guild_id, kind=KIND_EXPIRE, channel_id=place.channel_id,
            due_at=due + WATCH_AFTER_CHECKIN, member_id=op_id, followup_id=followup.id,
        ))
        self.lifecycle.watch(place.channel_id)
        stored = await self.repository.get(followup.id)
        assert stored is not None
        await self.audit.record(guild_id, asker_id, "followup.asked", op_id, {
            "followup": followup.id, "question": question.jump_url, "tag": tag_jump,
            "check_in_due": due.isoformat(timespec="minutes"),
        })
        if ask_failed:
            await self.audit.record(guild_id, None, FALLBACK_ACTION, op_id, {
                "setting": "followup.ask_template", "tag": tag_jump})
        return AskResult(stored, tag_jump, due)

    async def _refuse_locked(self, channel_id: int) -> None:
        """Ask Discord (the cache may be stale) whether the thread is locked."""
        try:
            fresh = await self.discord.place(channel_id)
        except NoAccess:
            raise BotMissingPermissions(tr("I can't read that channel.")) from None
        if fresh is None:
            raise NotFound(tr("I couldn't find that thread any more."))
        if fresh.locked:
            raise InvalidInput(tr("That thread is locked, so I won't post in it."))

    # ------------------------------------------------------------- scheduled tags

    async def remind(self, *, guild_id: int, moderator_id: int, member_id: int, place: Place,
                     due: datetime, note: str | None) -> Reminder:
        """Schedule one tag of `member_id` in `place` with a note."""
        if not place.postable:
            raise InvalidInput(tr("Pick a text channel, thread or forum post for the reminder."))
        if place.locked:
            raise InvalidInput(tr("That thread is locked, so I won't post in it."))
        await self._require_member(guild_id, member_id)
        if await self.pings_off(guild_id, member_id):
            raise InvalidInput(
                tr("<@{member_id}> has asked not to be tagged by follow-ups, so I won't schedule "
                   "this.", member_id=member_id)
            )
        if note is not None and len(note) > 1500:
            raise InvalidInput(tr("Please keep the note under 1500 characters."))
        reminder = await self.scheduler.schedule(NewReminder(
            guild_id=guild_id, kind=KIND_REMIND, channel_id=place.channel_id, due_at=due,
            member_id=member_id, created_by=moderator_id, note=note or None,
        ))
        await self.audit.record(guild_id, moderator_id, "reminder.scheduled", member_id, {
            "reminder": reminder.id, "channel": f"<#{place.channel_id}>",
            "due": due.isoformat(timespec="minutes"),
        })
        return reminder

    async def pending(self, guild_id: int, limit: int = 25) -> list[Reminder]:
        """Pending check-ins and reminders in a guild, soonest first."""
        found = await self.reminders.list_pending(guild_id, limit * 2)
        return [r for r in found if r.kind in VISIBLE_KINDS][:limit]

    async def _visible(self, guild_id: int, reminder_id: int) -> Reminder:
        reminder = await self.reminders.get(reminder_id)
        if reminder is None or reminder.guild_id != guild_id or reminder.kind not in VISIBLE_KINDS:
            raise NotFound(tr("There's no reminder #{reminder_id} in this server.",
                              reminder_id=reminder_id))
        return reminder

    async def cancel(self, guild_id: int, reminder_id: int, moderator_id: int) -> Reminder:
        """Cancel a pending reminder of this guild."""
        reminder = await self._visible(guild_id, reminder_id)
        if not await self.reminders.cancel(reminder_id, self.clock.now(), guild_id=guild_id):
            raise NotFound(tr("Reminder #{reminder_id} isn't pending any more ({status}).",
                              reminder_id=reminder_id, status=reminder.status))
        await self.audit.record(guild_id, moderator_id, "reminder.cancelled",
                                reminder.member_id, {"reminder": reminder_id,
                                                     "kind": reminder.kind})
        return reminder

    async def snooze(self, guild_id: int, reminder_id: int, due: datetime,
                     moderator_id: int) -> Reminder:
        """Move a pending reminder of this guild to `due`."""
        reminder = await self._visible(guild_id, reminder_id)
        if not await self.reminders.snooze(reminder_id, due, self.clock.now(),
                                           guild_id=guild_id):
            raise NotFound(tr("Reminder #{reminder_id} isn't pending any more ({status}).",
                              reminder_id=reminder_id, status=reminder.status))
        self.scheduler.notify_due(due)
        await self.audit.record(guild_id, moderator_id, "reminder.snoozed",
                                reminder.member_id, {"reminder": reminder_id,
                                                     "due": due.isoformat(timespec="minutes")})
        updated = await self.reminders.get(reminder_id)
        assert updated is not None
        return updated

    def autocheck_days(self, post: ForumPost) -> int | None:
        """Days until the automatic check-in of a new forum post (None: off in that forum)."""
        return self.settings.get(post.guild_id).followup.autocheck_forums.get(post.forum_id)

    async def schedule_autocheck(self, post: ForumPost, days: int) -> None:
        """Schedule the one automatic check-in of a new forum post (once per post)."""
        if await self.reminders.autochecks_for(post.thread_id):
            return
        if await self.lifecycle.do_not_tag(post.guild_id, post.author_id):
            return
        await self.scheduler.schedule(NewReminder(
            guild_id=post.guild_id, kind=KIND_AUTOCHECK, channel_id=post.thread_id,
            due_at=self.clock.now() + timedelta(days=days), member_id=post.author_id,
        ))

    # ------------------------------------------------------------ preferences

    async def set_prefs(self, guild_id: int, user_id: int, *, pings: bool | None = None,
                        notify_dm: bool | None = None) -> MemberPrefs:
        """Change a member's follow-up wishes (opting out is recorded in the audit log)."""
        before = await self.repository.prefs(guild_id, user_id)
        after = await self.repository.set_prefs(guild_id, user_id, self.clock.now(),
                                                pings=pings, notify_dm=notify_dm)
        if pings and await self.opt_outs.withdraw_opt_out(guild_id, user_id, FOLLOWUP_PINGS):
            before = MemberPrefs(pings=False, notify_dm=before.notify_dm)  # kept after a forget
        if before.pings != after.pings:
            action = "followup.opted_in" if after.pings else "followup.opted_out"
            await self.audit.record(guild_id, user_id, action, user_id)
        return after

    async def stop_button(self, guild_id: int, reminder_id: int,
                          user_id: int) -> tuple[bool, int | None]:
        """"Please don't remind me": opts the clicker out if they are the one tagged.

        Returns (opted_out, tagged_member_id).
        """
        reminder = await self.reminders.get(reminder_id)
        if reminder is None or reminder.guild_id != guild_id:
            raise NotFound(tr("I couldn't find that reminder any more."))
        if reminder.member_id != user_id:
            return False, reminder.member_id
        await self.set_prefs(guild_id, user_id, pings=False)
        return True, user_id

    async def subscribe(self, followup_id: int, user_id: int,
                        guild_id: int) -> tuple[bool, Followup]:
        """"Notify me when they reply": subscribe; returns (newly subscribed, follow-up)."""
        followup = await self._followup_here(followup_id, guild_id)
        if followup.status != "open":
            return False, followup
        return await self.repository.subscribe(followup_id, user_id, self.clock.now()), followup

    async def unsubscribe(self, followup_id: int, user_id: int, guild_id: int) -> bool:
        """"Notify me when they reply" pressed again: off the list; False if not on it."""
        await self._followup_here(followup_id, guild_id)
        return await self.repository.unsubscribe(followup_id, user_id)

    async def _followup_here(self, followup_id: int, guild_id: int) -> Followup:
        """The follow-up, only if it belongs to this server (a button can't reach another's)."""
        followup = await self.repository.get(followup_id)
        if followup is None or followup.guild_id != guild_id:
            raise NotFound(tr("I couldn't find that follow-up any more."))
        return followup

    # ------------------------------------------------------------ answers, departures

    async def check_answer(self, seen: SeenMessage) -> None:
        """A message in a watched channel: stand down every follow-up it answers."""
        await self.lifecycle.check_answer(seen)

    async def member_marked(self, guild_id: int, user_id: int) -> int:
        """Moderators marked the member do-not-tag: close what would tag them, quietly (no
        check-in, no mod-log post per item: the mark has its own); returns how many."""
        return await self.member_left(guild_id, user_id, reason=CloseReason.DO_NOT_TAG)

    async def member_left(self, guild_id: int, user_id: int, *,
                          reason: CloseReason = CloseReason.OP_LEFT) -> int:
        """A member left: close the follow-ups that tag them, cancel their reminders, and
        remove their "Notify me when they reply" subscriptions in that guild.

        Each closed follow-up and each cancelled reminder is audited, the subscriptions once
        with a count; returns how many follow-ups and reminders were closed.
        """
        now = self.clock.now()
        text = rules.REASON_TEXT[reason]
        post = reason is not CloseReason.DO_NOT_TAG
        handled = 0
        for followup in await self.repository.open_for_op(guild_id, user_id):
            if not await self.repository.close(followup.id, CLOSED, reason, now):
                continue
            cancelled = await self.reminders.cancel_for_followup(followup.id, now, reason)
            await self.lifecycle.refresh_watch(followup.channel_id)
            handled += 1
            await self.audit.record(guild_id, None, "followup.closed", user_id, {
                "followup": followup.id, "reason": text,
                "cancelled": [r.id for r in cancelled if r.kind in VISIBLE_KINDS],
            }, post=post)
        for reminder in await self.reminders.pending_for_member(guild_id, user_id):
            if not await self.reminders.cancel(reminder.id, now, guild_id=guild_id,
                                               reason=reason):
                continue
            handled += 1
            if reminder.kind in VISIBLE_KINDS:
                await self.audit.record(guild_id, None, "reminder.cancelled", user_id, {
                    "reminder": reminder.id, "kind": reminder.kind,
                    "channel": f"<#{reminder.channel_id}>", "reason": text,
                }, post=post)
        unsubscribed = await self.repository.unsubscribe_member(guild_id, user_id)
        if unsubscribed:
            log.info("member %s left guild %s: removed %d follow-up subscription(s)", user_id,
                     guild_id, unsubscribed)
            await self.audit.record(guild_id, None, "followup.unsubscribed_left", user_id,
                                    {"subscriptions": unsubscribed}, post=post)
        if handled:
            log.info("member %s left guild %s: closed %d follow-up item(s)", user_id, guild_id,
                     handled)
            await self.refresh_pending_gauge()
        return handled
