"""Follow-ups: tag the original poster, check in once, stand down when they answer.

The service owns the in-memory set of threads/channels with an open follow-up (so the message
handler costs one set lookup for everything else), the reminder handlers the scheduler calls,
and every Discord call of the feature. "Gone" is decided only from Discord's answers to
`fetch_member` (10007 Unknown Member) and `fetch_channel` (10003 Unknown Channel), never from
discord.py's cache, which misses uncached members and archived threads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import discord

from bot import messaging
from bot.clock import Clock
from bot.db.followups import (
    ANSWERED,
    CLOSED,
    FAILED,
    SENT,
    Followup,
    FollowupRepository,
    MemberPrefs,
    NewReminder,
    Reminder,
)
from bot.domain import followups as rules
from bot.domain.doctor import Finding, Severity
from bot.domain.durations import describe
from bot.domain.followups import CheckinAction, CheckinFacts, CloseReason, OpFinding
from bot.errors import BotMissingPermissions, InvalidInput, NotFound
from bot.metrics import Metrics
from bot.services.privacy import FOLLOWUP_PINGS
from bot.services.scheduler import Delivery, DeliveryFailed, Done, Finished, Scheduler

if TYPE_CHECKING:
    from bot.app import StewardBot

log = logging.getLogger(__name__)

KIND_CHECKIN = "checkin"
KIND_REMIND = "remind"
KIND_AUTOCHECK = "autocheck"
KIND_EXPIRE = "expire"
VISIBLE_KINDS = (KIND_CHECKIN, KIND_REMIND, KIND_AUTOCHECK)

UNKNOWN_MEMBER = 10007
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008

# How long after its check-in an unanswered follow-up keeps watching for the answer.
WATCH_AFTER_CHECKIN = timedelta(days=30)
HISTORY_SCAN_LIMIT = 500
OWN_MESSAGE_SCAN_LIMIT = 100

GAUGE_INTERVAL = timedelta(minutes=5)  # how often the pending-reminders gauge is counted
FAILED_WINDOW = timedelta(days=7)  # the doctor reports reminders that failed this recently
OVERDUE_AFTER = timedelta(hours=1)  # ...and pending ones this late while the scheduler runs
# Failures that are not problems to fix (a moderator cancelled it while it was starting).
QUIET_FAILURES = ("state_changed",)


def notify_custom_id(followup_id: int) -> str:
    """The "Notify me when they reply" button of a tag message."""
    return f"steward:followup:{followup_id}:notify"


def stop_custom_id(reminder_id: int) -> str:
    """The "Please don't remind me" button of a check-in or reminder (also its marker)."""
    return f"steward:reminder:{reminder_id}:stop"


class FollowupViews(Protocol):
    """Builds the buttons of tag and check-in messages (the cog supplies DynamicItem ones)."""

    def notify_view(self, followup_id: int) -> discord.ui.View:
        """A view with the "Notify me when they reply" button."""
        ...

    def stop_view(self, reminder_id: int) -> discord.ui.View:
        """A view with the "Please don't remind me" button."""
        ...


class PlainButtons:
    """Buttons without callbacks (clicks are handled by the cog's DynamicItems)."""

    def notify_view(self, followup_id: int) -> discord.ui.View:
        """A view with the "Notify me when they reply" button."""
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Notify me when they reply",
                                        custom_id=notify_custom_id(followup_id)))
        return view

    def stop_view(self, reminder_id: int) -> discord.ui.View:
        """A view with the "Please don't remind me" button."""
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Please don't remind me",
                                        custom_id=stop_custom_id(reminder_id)))
        return view


@dataclass(frozen=True, slots=True)
class AskResult:
    """What an ask did."""

    followup: Followup
    tag_message: discord.Message
    checkin_due: datetime


class FollowupService:
    """Asks, check-ins, scheduled tags, answers and subscriptions."""

    def __init__(self, bot: StewardBot, repository: FollowupRepository, scheduler: Scheduler,
                 clock: Clock) -> None:
        self.bot = bot
        self.repository = repository
        self.scheduler = scheduler
        self.reminders = scheduler.repository
        self.clock = clock
        self._watched: set[int] = set()
        self.started_at: datetime | None = None
        self.views: FollowupViews = PlainButtons()
        scheduler.register(KIND_CHECKIN, self._deliver_checkin)
        scheduler.register(KIND_REMIND, self._deliver_reminder)
        scheduler.register(KIND_AUTOCHECK, self._deliver_autocheck)
        scheduler.register(KIND_EXPIRE, self._deliver_expiry)
        scheduler.on_finished(self._record_finished)

    # ------------------------------------------------------------------ state

    async def load(self) -> None:
        """Load the ids of threads/channels with open follow-ups (once, at startup)."""
        self._watched = await self.repository.open_channel_ids()
        log.info("follow-ups watching %d channel(s)", len(self._watched))

    async def start(self) -> None:
        """Once connected: start the scheduler and the pending-reminders gauge."""
        await self.scheduler.start()
        if self.started_at is None:
            self.started_at = self.clock.now()
            self.bot.background.spawn(self._gauge_loop(), name="followups-gauge", daemon=True)

    @property
    def watched(self) -> frozenset[int]:
        """Threads/channels where an answer is awaited."""
        return frozenset(self._watched)

    async def _refresh_watch(self, channel_id: int) -> None:
        if not await self.repository.open_in_channel(channel_id):
            self._watched.discard(channel_id)

    async def _reposted_member(self, message_id: int) -> int | None:
        repost = self.bot.services.repost
        if repost is None:
            return None
        record = await repost.find_by_message(message_id)
        return None if record is None else record.member_id

    # ------------------------------------------------------------------ asking

    async def find_op(self, question: discord.Message) -> OpFinding:
        """The original poster for a question (thread owner, or the author it replies to)."""
        channel = question.channel
        bot_id = self.bot.user.id if self.bot.user else 0
        if isinstance(channel, discord.Thread):
            reposted = await self._reposted_member(channel.id)
            owner = channel.owner_id
            is_app = (owner == bot_id or reposted is not None
                      or await self._posted_by_webhook(channel))
            facts = rules.QuestionFacts(
                in_thread=True, thread_owner_id=owner, replied_author_id=None,
                candidate_is_app=is_app,
                reposted_member_id=reposted, question_author_id=question.author.id,
            )
            return rules.find_op(facts)
        replied = await self._replied_message(question)
        reposted = await self._reposted_member(replied.id) if replied is not None else None
        is_app = replied is not None and (
            replied.webhook_id is not None or replied.author.id == bot_id
            or reposted is not None
        )
        facts = rules.QuestionFacts(
            in_thread=False, thread_owner_id=None,
            replied_author_id=replied.author.id if replied is not None else None,
            candidate_is_app=is_app, reposted_member_id=reposted,
            question_author_id=question.author.id,
        )
        return rules.find_op(facts)

    async def _posted_by_webhook(self, thread: discord.Thread) -> bool:
        """A forum post a webhook started (its owner is then the webhook, not a member)."""
        if not isinstance(thread.parent, discord.ForumChannel) or thread.owner is not None:
            return False  # webhooks start threads only in forums; a cached owner is a member
        starter = thread.starter_message
        if starter is None:
            try:
                starter = await thread.fetch_message(thread.id)
            except discord.HTTPException:
                return False
        return starter.webhook_id is not None

    async def _replied_message(self, question: discord.Message) -> discord.Message | None:
        reference = question.reference
        if reference is None or reference.message_id is None:
            return None
        if isinstance(reference.resolved, discord.Message):
            return reference.resolved
        try:
            return await question.channel.fetch_message(reference.message_id)
        except discord.NotFound:
            return None

    async def fetch_question(self, guild: discord.Guild, link: str) -> discord.Message:
        """The message a link points at, in this guild."""
        parsed = rules.parse_message_link(link)
        if parsed is None:
            raise InvalidInput("Please paste a message link (right-click the message → "
                               "Copy Message Link).")
        if parsed.guild_id != guild.id:
            raise InvalidInput("That message link is from another server.")
        try:
            channel = await self.bot.fetch_channel(parsed.channel_id)
            if not isinstance(channel, discord.TextChannel | discord.Thread):
                raise InvalidInput("That link isn't to a message in a text channel or thread.")
            return await channel.fetch_message(parsed.message_id)
        except discord.NotFound:
            raise NotFound("I couldn't find that message. It may have been deleted.") from None
        except discord.Forbidden:
            raise BotMissingPermissions("I can't read that channel.") from None

    async def ask(self, *, guild: discord.Guild, asker: discord.Member,
                  question: discord.Message, op_id: int | None = None,
                  days: int | None = None) -> AskResult:
        """Tag the OP under a question, subscribe the asker, schedule the one check-in."""
        config = self.bot.guild_settings.get(guild.id).followup
        days = days or config.default_days
        if not 1 <= days <= 365:
            raise InvalidInput("`days` must be between 1 and 365.")
        if op_id is None:
            finding = await self.find_op(question)
            if finding.op_id is None:
                reason = rules.NO_OP_TEXT[finding.reason or rules.NoOpReason.NO_OWNER]
                raise NotFound(
                    f"{reason} You can name them yourself: `/followup ask "
                    f"question:<message link> op:@member`."
                )
            op_id = finding.op_id
        if self.bot.user is not None and op_id == self.bot.user.id:
            raise InvalidInput("I can't tag myself. Name the member with `op:`.")
        await self._require_member(guild, op_id)
        if await self.pings_off(guild.id, op_id):
            raise InvalidInput(
                f"<@{op_id}> has asked not to be tagged by follow-ups, so I won't tag them. "
                "Please respect that; you could reach out another way if it's important."
            )
        channel = question.channel
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise InvalidInput("Follow-ups work in text channels, threads and forum posts.")
        if isinstance(channel, discord.Thread):
            fresh = await self.bot.fetch_channel(channel.id)
            if isinstance(fresh, discord.Thread) and fresh.locked:
                raise InvalidInput("That thread is locked, so I won't post in it.")
        now = self.clock.now()
        followup = await self.repository.create(
            guild_id=guild.id, channel_id=channel.id,
            in_thread=isinstance(channel, discord.Thread),
            question_message_id=question.id, op_id=op_id, asker_id=asker.id, days=days,
            now=now,
        )
        # "Who asked" is the question's author (a moderator only passes it on).
        author = question.author
        asked_by = author.id if not author.bot and question.webhook_id is None else asker.id
        text = rules.render_ask(
            config.ask_template, op_id=op_id, asker_id=asked_by,
            question=question.content or "", jump=question.jump_url,
        )
        try:
            tag = await messaging.send(channel, text, allowed_mentions=messaging.ping_only(op_id),
                                       view=self.views.notify_view(followup.id))
        except discord.HTTPException:
            await self.repository.delete(followup.id)
            raise
        await self.repository.set_tag(followup.id, tag.id)
        # The moderator who asked and the member whose question it is hear about the answer.
        for subscriber in dict.fromkeys((asker.id, asked_by)):
            if subscriber != op_id:
                await self.repository.subscribe(followup.id, subscriber, now)
        due = rules.checkin_due(now, days)
        await self.scheduler.schedule(NewReminder(
            guild_id=guild.id, kind=KIND_CHECKIN, channel_id=channel.id, due_at=due,
            member_id=op_id, created_by=asker.id, followup_id=followup.id,
        ))
        await self.scheduler.schedule(NewReminder(
            guild_id=guild.id, kind=KIND_EXPIRE, channel_id=channel.id,
            due_at=due + WATCH_AFTER_CHECKIN, member_id=op_id, followup_id=followup.id,
        ))
        self._watched.add(channel.id)
        stored = await self.repository.get(followup.id)
        assert stored is not None
        await self.bot.audit.record(guild.id, asker.id, "followup.asked", op_id, {
            "followup": followup.id, "question": question.jump_url, "tag": tag.jump_url,
            "check_in_due": due.isoformat(timespec="minutes"),
        })
        return AskResult(stored, tag, due)

    async def _require_member(self, guild: discord.Guild, user_id: int) -> None:
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound:
            raise InvalidInput(f"<@{user_id}> isn't in this server any more.") from None

    # ------------------------------------------------------------- scheduled tags

    async def remind(self, *, guild: discord.Guild, moderator: discord.Member, member_id: int,
                     channel: discord.abc.GuildChannel | discord.Thread, due: datetime,
                     note: str | None) -> Reminder:
        """Schedule one tag of `member_id` in `channel` with a note."""
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise InvalidInput("Pick a text channel, thread or forum post for the reminder.")
        if isinstance(channel, discord.Thread) and channel.locked:
            raise InvalidInput("That thread is locked, so I won't post in it.")
        await self._require_member(guild, member_id)
        if await self.pings_off(guild.id, member_id):
            raise InvalidInput(
                f"<@{member_id}> has asked not to be tagged by follow-ups, so I won't "
                "schedule this."
            )
        if note is not None and len(note) > 1500:
            raise InvalidInput("Please keep the note under 1500 characters.")
        reminder = await self.scheduler.schedule(NewReminder(
            guild_id=guild.id, kind=KIND_REMIND, channel_id=channel.id, due_at=due,
            member_id=member_id, created_by=moderator.id, note=note or None,
        ))
        await self.bot.audit.record(guild.id, moderator.id, "reminder.scheduled", member_id, {
            "reminder": reminder.id, "channel": f"<#{channel.id}>",
            "due": due.isoformat(timespec="minutes"),
        })
        return reminder

    async def pending(self, guild_id: int, limit: int = 25) -> list[Reminder]:
        """Pending check-ins and reminders in a guild, soonest first."""
        found = await self.reminders.list_pending(guild_id, limit * 2)
        return [r for r in found if r.kind in VISIBLE_KINDS][:limit]

    async def cancel(self, guild_id: int, reminder_id: int, moderator_id: int) -> Reminder:
        """Cancel a pending reminder of this guild."""
        reminder = await self.reminders.get(reminder_id)
        if reminder is None or reminder.guild_id != guild_id or reminder.kind not in VISIBLE_KINDS:
            raise NotFound(f"There's no reminder #{reminder_id} in this server.")
        if not await self.reminders.cancel(reminder_id, self.clock.now(), guild_id=guild_id):
            raise NotFound(f"Reminder #{reminder_id} isn't pending any more ({reminder.status}).")
        await self.bot.audit.record(guild_id, moderator_id, "reminder.cancelled",
                                    reminder.member_id, {"reminder": reminder_id,
                                                         "kind": reminder.kind})
        return reminder

    async def snooze(self, guild_id: int, reminder_id: int, due: datetime,
                     moderator_id: int) -> Reminder:
        """Move a pending reminder of this guild to `due`."""
        reminder = await self.reminders.get(reminder_id)
        if reminder is None or reminder.guild_id != guild_id or reminder.kind not in VISIBLE_KINDS:
            raise NotFound(f"There's no reminder #{reminder_id} in this server.")
        if not await self.reminders.snooze(reminder_id, due, self.clock.now(),
                                           guild_id=guild_id):
            raise NotFound(f"Reminder #{reminder_id} isn't pending any more ({reminder.status}).")
        self.scheduler.notify_due(due)
        await self.bot.audit.record(guild_id, moderator_id, "reminder.snoozed",
                                    reminder.member_id, {"reminder": reminder_id,
                                                         "due": due.isoformat(timespec="minutes")})
        updated = await self.reminders.get(reminder_id)
        assert updated is not None
        return updated

    # ------------------------------------------------------------ preferences

    async def set_prefs(self, guild_id: int, user_id: int, *, pings: bool | None = None,
                        notify_dm: bool | None = None) -> MemberPrefs:
        """Change a member's follow-up wishes (opting out is recorded in the audit log)."""
        before = await self.repository.prefs(guild_id, user_id)
        after = await self.repository.set_prefs(guild_id, user_id, self.clock.now(),
                                                pings=pings, notify_dm=notify_dm)
        privacy = self.bot.services.privacy
        if pings and privacy is not None and await privacy.withdraw_opt_out(
                guild_id, user_id, FOLLOWUP_PINGS):
            before = MemberPrefs(pings=False, notify_dm=before.notify_dm)  # kept after a forget
        if before.pings != after.pings:
            action = "followup.opted_in" if after.pings else "followup.opted_out"
            await self.bot.audit.record(guild_id, user_id, action, user_id)
        return after

    async def stop_button(self, guild_id: int, reminder_id: int,
                          user_id: int) -> tuple[bool, int | None]:
        """"Please don't remind me": opts the clicker out if they are the one tagged.

        Returns (opted_out, tagged_member_id).
        """
        reminder = await self.reminders.get(reminder_id)
        if reminder is None or reminder.guild_id != guild_id:
            raise NotFound("I couldn't find that reminder any more.")
        if reminder.member_id != user_id:
            return False, reminder.member_id
        await self.set_prefs(guild_id, user_id, pings=False)
        return True, user_id

    async def subscribe(self, followup_id: int, user_id: int,
                                  guild_id: int) -> tuple[bool, Followup]:
        """"Notify me when they reply": subscribe; returns (newly subscribed, follow-up)."""
        followup = await self.repository.get(followup_id)
        if followup is None or followup.guild_id != guild_id:
            raise NotFound("I couldn't find that follow-up any more.")
        if followup.status != "open":
            return False, followup
        return await self.repository.subscribe(followup_id, user_id, self.clock.now()), followup

    # ------------------------------------------------------------ answers

    async def on_message(self, message: discord.Message) -> bool:
        """Router handler: an answer in a watched channel, or a new post in an autocheck forum.

        Costs one set lookup for every other message. Never consumes the message.
        """
        channel = message.channel
        if channel.id in self._watched:
            self.bot.background.spawn(self._check_answer(message), name="followup-answer")
        elif (isinstance(channel, discord.Thread) and message.id == channel.id
              and message.guild is not None):
            forums = self.bot.guild_settings.get(message.guild.id).followup.autocheck_forums
            if channel.parent_id in forums:
                self.bot.background.spawn(
                    self._schedule_autocheck(message, forums[channel.parent_id]),
                    name="followup-autocheck")
        return False

    async def _check_answer(self, message: discord.Message) -> None:
        seen = _seen(message)
        for followup in await self.repository.open_in_channel(message.channel.id):
            if followup.tag_message_id is None:
                continue
            if rules.is_answer(_watch(followup), seen):
                await self._answered(followup, message.id)

    async def _answered(self, followup: Followup, answer_id: int) -> bool:
        """Mark answered (once), cancel the check-in, tell subscribers; False if already."""
        now = self.clock.now()
        if not await self.repository.close(followup.id, ANSWERED, CloseReason.ANSWERED, now,
                                           answer_message_id=answer_id):
            return False
        await self.reminders.cancel_for_followup(followup.id, now, CloseReason.ANSWERED)
        await self._refresh_watch(followup.channel_id)
        metrics = self._metrics()
        if metrics is not None:
            metrics.inc("reminders", outcome="answered")
        jump = rules.jump_link(followup.guild_id, followup.channel_id, answer_id)
        await self.bot.audit.record(followup.guild_id, None, "followup.answered",
                                    followup.op_id, {"followup": followup.id, "answer": jump})
        await self._notify_subscribers(followup, jump)
        return True

    async def _notify_subscribers(self, followup: Followup, jump: str) -> None:
        subscribers = [s for s in await self.repository.take_subscribers(
            followup.id, followup.guild_id, self.clock.now()) if s.user_id != followup.op_id]
        in_thread = [s.user_id for s in subscribers if not s.notify_dm]
        for sub in (s for s in subscribers if s.notify_dm):
            try:
                user = await self.bot.fetch_user(sub.user_id)
                await messaging.send(user, rules.render_answered_dm(op_id=followup.op_id,
                                                                    jump=jump))
            except discord.HTTPException as exc:
                log.info("could not DM subscriber %s (%s); pinging in the thread instead",
                         sub.user_id, exc.code)
                in_thread.append(sub.user_id)
        if not in_thread:
            return
        channel = self.bot.get_channel(followup.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            try:
                fetched = await self.bot.fetch_channel(followup.channel_id)
            except discord.HTTPException:
                return
            if not isinstance(fetched, discord.TextChannel | discord.Thread):
                return
            channel = fetched
        try:
            await messaging.send(
                channel, rules.render_answered(subscriber_ids=in_thread, op_id=followup.op_id,
                                               jump=jump),
                allowed_mentions=messaging.ping_only(*in_thread),
            )
        except discord.HTTPException as exc:
            log.warning("could not tell subscribers of follow-up %s (%s)", followup.id, exc.code)

    # ------------------------------------------------------------ reminder handlers

    async def _fetch_place(self, channel_id: int) -> discord.TextChannel | discord.Thread | None:
        """The channel as Discord sees it now; None when Discord says it is gone."""
        try:
            channel = await self.bot.fetch_channel(channel_id)
        except discord.NotFound as exc:
            if exc.code in (UNKNOWN_CHANNEL, 0):
                return None
            raise
        except discord.Forbidden:
            raise DeliveryFailed(CloseReason.NO_ACCESS) from None
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise DeliveryFailed("not_a_text_channel")
        return channel

    async def _member_present(self, guild_id: int, user_id: int) -> bool:
        """Asks Discord (not the cache): False only on 10007 Unknown Member."""
        try:
            await self.bot.http.get_member(guild_id, user_id)
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MEMBER:
                return False
            raise
        return True

    async def _history_answer(self, followup: Followup,
                              channel: discord.TextChannel | discord.Thread) -> int | None:
        if followup.tag_message_id is None:
            return None
        watch = _watch(followup)
        async for message in channel.history(limit=HISTORY_SCAN_LIMIT, oldest_first=True,
                                             after=discord.Object(followup.tag_message_id)):
            if rules.is_answer(watch, _seen(message)):
                return message.id
        return None

    async def _already_posted(self, channel: discord.TextChannel | discord.Thread,
                              reminder: Reminder) -> int | None:
        """Our message for `reminder` among the channel's recent messages (crash recovery)."""
        marker = stop_custom_id(reminder.id)
        me = self.bot.user.id if self.bot.user else 0
        try:
            async for message in channel.history(limit=OWN_MESSAGE_SCAN_LIMIT):
                if message.author.id == me and _has_component(message, marker):
                    return message.id
        except discord.Forbidden:
            log.warning("reminder %s: can't read history to check for an earlier send",
                        reminder.id)
        return None

    async def _post_tag(self, delivery: Delivery,
                        channel: discord.TextChannel | discord.Thread, text: str,
                        member_id: int, *, reopen: bool) -> Done:
        reminder = delivery.reminder
        if delivery.maybe_sent:
            existing = await self._already_posted(channel, reminder)
            if existing is not None:
                return Done.sent(existing, recovered=True)
        if reopen and isinstance(channel, discord.Thread) and channel.archived:
            # Posting reopens an archived thread; done for this one message only.
            await channel.edit(archived=False)
        await delivery.sending()
        try:
            # Same nonce on every attempt: Discord returns the first message instead of
            # posting again when a retry follows a send whose answer was lost (minutes only).
            message = await messaging.send(channel, text,
                                           view=self.views.stop_view(reminder.id),
                                           allowed_mentions=messaging.ping_only(member_id),
                                           nonce=f"steward-r{reminder.id}")
        except discord.Forbidden:
            raise DeliveryFailed(CloseReason.NO_ACCESS) from None
        except discord.NotFound:
            return Done.closed(CloseReason.THREAD_DELETED)
        return Done.sent(message.id, late=delivery.late)

    async def _deliver_checkin(self, delivery: Delivery) -> Done:
        reminder = delivery.reminder
        followup = (await self.repository.get(reminder.followup_id)
                    if reminder.followup_id is not None else None)
        if followup is None or followup.status != "open":
            # Closed meanwhile (answered, the member left, ...): say why, not "cancelled".
            return Done.stood_down((followup.reason if followup else None)
                                   or CloseReason.CANCELLED)
        channel = await self._fetch_place(followup.channel_id)
        answered_id = None
        present = True
        opted_out = False
        if channel is not None:
            answered_id = await self._history_answer(followup, channel)
            if answered_id is None:
                present = await self._member_present(followup.guild_id, followup.op_id)
                opted_out = await self.pings_off(followup.guild_id, followup.op_id)
        thread = channel if isinstance(channel, discord.Thread) else None
        plan = rules.plan_checkin(CheckinFacts(
            still_open=True, opted_out=opted_out, op_in_server=present,
            channel_exists=channel is not None, locked=bool(thread and thread.locked),
            archived=bool(thread and thread.archived), answered=answered_id is not None,
        ))
        if plan.action is CheckinAction.STAND_DOWN and plan.reason is CloseReason.ANSWERED:
            assert answered_id is not None
            await self._answered(followup, answered_id)
            return Done.stood_down(CloseReason.ANSWERED)
        if plan.action is not CheckinAction.SEND:
            reason = plan.reason or CloseReason.CANCELLED
            await self._close(followup, reason)
            if plan.action is CheckinAction.CLOSE:
                return Done.closed(reason, followup=followup.id)
            return Done.stood_down(reason, followup=followup.id)
        assert channel is not None
        config = self.bot.guild_settings.get(followup.guild_id).followup
        text = rules.render_checkin(
            config.checkin_template, op_id=followup.op_id, days=followup.days,
            jump=rules.jump_link(followup.guild_id, followup.channel_id,
                                 followup.question_message_id),
            late=delivery.late,
        )
        return await self._post_tag(delivery, channel, text, followup.op_id,
                                    reopen=plan.reopen_archived)

    async def _close(self, followup: Followup, reason: CloseReason) -> None:
        now = self.clock.now()
        if await self.repository.close(followup.id, CLOSED, reason, now):
            await self.reminders.cancel_for_followup(followup.id, now, reason)
            await self._refresh_watch(followup.channel_id)
            await self.bot.audit.record(followup.guild_id, None, "followup.closed",
                                        followup.op_id, {"followup": followup.id,
                                                         "reason": rules.REASON_TEXT[reason]},
                                        post=reason is not CloseReason.OPTED_OUT)

    async def _deliver_reminder(self, delivery: Delivery) -> Done:
        reminder = delivery.reminder
        member_id = reminder.member_id
        if member_id is None:
            raise DeliveryFailed("no_member")
        if await self.pings_off(reminder.guild_id, member_id):
            return Done.stood_down(CloseReason.OPTED_OUT)
        channel = await self._fetch_place(reminder.channel_id)
        if channel is None:
            return Done.closed(CloseReason.THREAD_DELETED)
        if isinstance(channel, discord.Thread) and channel.locked:
            return Done.closed(CloseReason.LOCKED)
        if not await self._member_present(reminder.guild_id, member_id):
            return Done.closed(CloseReason.OP_LEFT)
        text = rules.render_reminder(member_id=member_id, by_id=reminder.created_by or 0,
                                     note=reminder.note, late=delivery.late)
        # A moderator asked for exactly this one post, so an archived thread is reopened.
        return await self._post_tag(delivery, channel, text, member_id, reopen=True)

    async def _schedule_autocheck(self, starter: discord.Message, days: int) -> None:
        assert starter.guild is not None
        existing = await self.reminders.autochecks_for(starter.channel.id)
        if existing:
            return
        await self.scheduler.schedule(NewReminder(
            guild_id=starter.guild.id, kind=KIND_AUTOCHECK, channel_id=starter.channel.id,
            due_at=self.clock.now() + timedelta(days=days), member_id=starter.author.id,
        ))

    async def _deliver_autocheck(self, delivery: Delivery) -> Done:
        reminder = delivery.reminder
        op_id = reminder.member_id
        if op_id is None:
            raise DeliveryFailed("no_member")
        channel = await self._fetch_place(reminder.channel_id)
        if channel is None:
            return Done.closed(CloseReason.THREAD_DELETED)
        if isinstance(channel, discord.Thread) and channel.locked:
            return Done.closed(CloseReason.LOCKED)
        authors = [m.author.id async for m in channel.history(
            limit=HISTORY_SCAN_LIMIT, oldest_first=True, after=discord.Object(channel.id))
            if not m.author.bot and m.webhook_id is None]
        if not rules.autocheck_needed(op_id, authors):
            reason = "op_posted" if op_id in authors else "no_replies"
            return Done.stood_down(reason)
        if await self.pings_off(reminder.guild_id, op_id):
            return Done.stood_down(CloseReason.OPTED_OUT)
        if not await self._member_present(reminder.guild_id, op_id):
            return Done.closed(CloseReason.OP_LEFT)
        text = rules.render_autocheck(op_id=op_id, late=delivery.late)
        return await self._post_tag(delivery, channel, text, op_id, reopen=True)

    async def _deliver_expiry(self, delivery: Delivery) -> Done:
        reminder = delivery.reminder
        if reminder.followup_id is not None:
            followup = await self.repository.get(reminder.followup_id)
            if followup is not None and followup.status == "open":
                await self._close(followup, CloseReason.EXPIRED)
        return Done.stood_down(CloseReason.EXPIRED)

    # ------------------------------------------------------------ opt-outs, departures

    async def pings_off(self, guild_id: int, user_id: int) -> bool:
        """Whether the member turned follow-up pings off (also after `/privacy forget`,
        which keeps only a hashed opt-out). Asked only right before tagging someone."""
        if not (await self.repository.prefs(guild_id, user_id)).pings:
            return True
        privacy = self.bot.services.privacy
        return privacy is not None and await privacy.has_opted_out(guild_id, user_id,
                                                                   FOLLOWUP_PINGS)

    async def member_left(self, guild_id: int, user_id: int) -> int:
        """A member left: close the follow-ups that tag them, cancel their reminders, and
        remove their "Notify me when they reply" subscriptions in that guild.

        Each closed follow-up and each cancelled reminder is audited, the subscriptions once
        with a count; returns how many follow-ups and reminders were closed.
        """
        now = self.clock.now()
        reason = CloseReason.OP_LEFT
        text = rules.REASON_TEXT[reason]
        handled = 0
        for followup in await self.repository.open_for_op(guild_id, user_id):
            if not await self.repository.close(followup.id, CLOSED, reason, now):
                continue
            cancelled = await self.reminders.cancel_for_followup(followup.id, now, reason)
            await self._refresh_watch(followup.channel_id)
            handled += 1
            await self.bot.audit.record(guild_id, None, "followup.closed", user_id, {
                "followup": followup.id, "reason": text,
                "cancelled": [r.id for r in cancelled if r.kind in VISIBLE_KINDS],
            })
        for reminder in await self.reminders.pending_for_member(guild_id, user_id):
            if not await self.reminders.cancel(reminder.id, now, guild_id=guild_id,
                                               reason=reason):
                continue
            handled += 1
            if reminder.kind in VISIBLE_KINDS:
                await self.bot.audit.record(guild_id, None, "reminder.cancelled", user_id, {
                    "reminder": reminder.id, "kind": reminder.kind,
                    "channel": f"<#{reminder.channel_id}>", "reason": text,
                })
        unsubscribed = await self.repository.unsubscribe_member(guild_id, user_id)
        if unsubscribed:
            log.info("member %s left guild %s: removed %d follow-up subscription(s)", user_id,
                     guild_id, unsubscribed)
            await self.bot.audit.record(guild_id, None, "followup.unsubscribed_left", user_id,
                                        {"subscriptions": unsubscribed})
        if handled:
            log.info("member %s left guild %s: closed %d follow-up item(s)", user_id, guild_id,
                     handled)
            await self.refresh_pending_gauge()
        return handled

    # ------------------------------------------------------------ metrics

    def _metrics(self) -> Metrics | None:
        metrics = self.bot.services.metrics
        return metrics if metrics is not None and metrics.enabled else None

    async def refresh_pending_gauge(self) -> None:
        """Count pending reminders for the gauge (a partial-index count; metrics on only)."""
        metrics = self._metrics()
        if metrics is not None:
            metrics.set("reminders_pending", await self.reminders.count_pending())

    async def _gauge_loop(self) -> None:
        while True:
            try:
                await self.refresh_pending_gauge()
            except Exception:
                log.exception("could not count pending reminders")
            await self.clock.sleep_until(self.clock.now() + GAUGE_INTERVAL)

    # ------------------------------------------------------------ doctor

    async def probe(self, guild_id: int) -> list[Finding]:
        """Doctor probe: reminders that failed recently, and reminders stuck overdue."""
        now = self.clock.now()
        findings: list[Finding] = []
        failed = await self.reminders.failed_since(guild_id, now - FAILED_WINDOW,
                                                  ignore=QUIET_FAILURES)
        if failed:
            latest = failed[0]
            n = len(failed)
            channels = ", ".join(dict.fromkeys(f"<#{f.channel_id}>" for f in failed[:10]))
            why = rules.REASON_TEXT.get(latest.reason or "", latest.reason or "unknown")
            no_access = [f for f in failed if f.reason == CloseReason.NO_ACCESS]
            if no_access:
                where = ", ".join(dict.fromkeys(f"<#{f.channel_id}>" for f in no_access[:10]))
                fix = (f"Give Steward View Channel, Send Messages and Send Messages in Threads in "
                       f"{where}, then schedule what is still needed again with "
                       "`/followup remind`.")
            else:
                fix = ("The mod log has an entry for each failure with the reason; schedule "
                       "what is still needed again with `/followup remind`.")
            findings.append(Finding(
                "followups.failed", "reminders", Severity.WARNING,
                f"{n} reminder(s) could not be delivered in the last 7 days, in {channels} "
                f"(latest: #{latest.id}, {why}).",
                fix + " This note goes away 7 days after the last failure.",
            ))
        started = self.started_at
        if started is not None and not self.scheduler.running:
            findings.append(Finding(
                "followups.scheduler_stopped", "scheduler", Severity.PROBLEM,
                "The reminder scheduler has stopped, so no check-ins or reminders are sent.",
                "Restart Steward; reminders that fell due meanwhile are sent when it starts "
                "(none are lost). If it happens again, Steward's logs show the error.",
            ))
        if started is not None and now - started > OVERDUE_AFTER:
            overdue = await self.reminders.overdue(guild_id, now - OVERDUE_AFTER)
            if overdue:
                first = overdue[0]
                findings.append(Finding(
                    "followups.overdue", "reminders", Severity.PROBLEM,
                    f"{len(overdue)} reminder(s) are more than an hour overdue (the oldest, "
                    f"#{first.id}, was due <t:{int(first.due_at.timestamp())}:R>).",
                    "Restart Steward; it sends overdue reminders when it starts (marked as "
                    "late, none are lost). If it happens again, Steward's logs show why.",
                ))
        return findings

    # ------------------------------------------------------------ audit

    async def _record_finished(self, finished: Finished) -> None:
        reminder, done = finished.reminder, finished.done
        if reminder.kind not in VISIBLE_KINDS:  # expiries, and other features' timers
            return
        metrics = self._metrics()
        if metrics is not None:
            if done.status == SENT:
                metrics.inc("reminders", outcome="fired")
                if finished.late:
                    metrics.inc("reminders", outcome="late")
            elif done.status == FAILED:
                metrics.inc("reminders", outcome="failed")
        details: dict[str, Any] = {"reminder": reminder.id, "kind": reminder.kind,
                                   "channel": f"<#{reminder.channel_id}>"}
        if reminder.followup_id is not None:
            details["followup"] = reminder.followup_id
        if done.message_id is not None:
            details["message"] = rules.jump_link(reminder.guild_id, reminder.channel_id,
                                                 done.message_id)
        if finished.late:
            details["late_by"] = describe(finished.lateness)
        if done.reason:
            details["reason"] = rules.REASON_TEXT.get(done.reason, done.reason)
        action = {"sent": "reminder.fired", "stood_down": "reminder.stood_down",
                  "cancelled": "reminder.closed", "failed": "reminder.failed"}[done.status]
        # Failures (and closures) reach the mod log; routine deliveries stay in the audit table.
        post = done.status == "failed" and bool(done.details.get("notify", True))
        # A closed check-in is reported once, as followup.closed.
        post = post or (done.status == "cancelled" and reminder.kind != KIND_CHECKIN)
        await self.bot.audit.record(reminder.guild_id, None, action, reminder.member_id,
                                    details, post=post)


def _seen(message: discord.Message) -> rules.SeenMessage:
    reply_to = message.reference.message_id if message.reference is not None else None
    return rules.SeenMessage(message.id, message.channel.id, message.author.id, reply_to)


def _watch(followup: Followup) -> rules.Watch:
    return rules.Watch(op_id=followup.op_id, channel_id=followup.channel_id,
                       in_thread=followup.in_thread,
                       tag_message_id=followup.tag_message_id or followup.question_message_id,
                       question_message_id=followup.question_message_id)


def _has_component(message: discord.Message, custom_id: str) -> bool:
    for row in message.components:
        for child in getattr(row, "children", ()):
            if getattr(child, "custom_id", None) == custom_id:
                return True
    return False
