"""Welcomes: greeting new members once, pointing them to support groups, pacing join bursts.

Flow of a join: `on_join` -> (waits in `welcome_pending` while Membership Screening or
Onboarding is incomplete) -> `ready` -> greeted at once, or added to the guild's burst batch
(a `ready` row due at the window's end). The shared scheduler is the one timer: a screening
fallback or a batch's end is a `welcome` item in its queue, and when one falls due everything
due in `welcome_pending` is greeted (`process_due`), so a restart in between still greets
everyone. `welcome_records` is claimed before a welcome is sent: a member is never greeted
twice. A post that fails for a passing reason (a 429 storm, a 5xx, the network) is retried
later by the scheduler (a `welcome` item naming the member, with backoff); each retry first
looks in the channel for a welcome that landed anyway, and re-sends only when there is none.
No Discord here: `WelcomeDiscord` (bot/adapters/welcome.py) reads and sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import failpoints
from bot.clock import Clock
from bot.db.reminders import NewReminder
from bot.db.welcome import PendingJoin, SupportGroup, WelcomeRepository
from bot.domain import welcome as rules
from bot.domain.audit import said
from bot.domain.templates import TemplateError
from bot.domain.welcome_facts import MemberFacts
from bot.errors import BotMissingPermissions, InvalidInput
from bot.i18n import N_, tr
from bot.services.scheduler import (
    MAX_ATTEMPTS,
    Delivery,
    DeliveryFailed,
    Done,
    RetryLater,
    Scheduler,
)
from bot.services.welcome_catchup import CatchUp
from bot.services.welcome_groups import SupportGroups
from bot.services.welcome_ports import (
    Audit,
    Counters,
    DoNotTag,
    Posted,
    QuietUntil,
    SendFailed,
    Settings,
    WelcomeDiscord,
    nobody_marked,
)
from bot.services.welcome_render import WelcomeRenderer

log = logging.getLogger(__name__)

TIMER_KIND = "welcome"  # the scheduler's queue item that wakes the welcomes
SAFETY_NET = timedelta(minutes=1)  # a single welcome's row is picked up if the send never ran
LATE_SCREENING = timedelta(days=1)  # screening done for a join Steward missed: still greet
DUE_BATCH = 1000  # pending joins greeted per wake-up (more: another wake-up at once)
RETRY_AFTER = timedelta(seconds=30)  # a failed welcome's first retry (then the backoff)


class WelcomeService:
    """Greets members once, manages the group directory, suggests groups to newcomers."""

    def __init__(self, repository: WelcomeRepository, discord: WelcomeDiscord,
                 settings: Settings, audit: Audit, metrics: Counters, scheduler: Scheduler,
                 clock: Clock, *, quiet_until: QuietUntil,
                 do_not_tag: DoNotTag = nobody_marked) -> None:
        self.repository = repository
        self._do_not_tag = do_not_tag
        self._discord = discord
        self._settings = settings
        self._audit = audit
        self._metrics = metrics
        self._scheduler = scheduler
        self._clock = clock
        self.directory = SupportGroups(repository, discord, settings, audit, clock,
                                       quiet_until=quiet_until, do_not_tag=do_not_tag)
        self.renderer = WelcomeRenderer(settings, self.directory, audit)
        self.catchup = CatchUp(repository, discord, settings, audit, clock, self)
        self._bursts: dict[int, rules.BurstTracker] = {}
        self._burst_timers: dict[int, datetime] = {}  # guild -> the batch end scheduled last
        scheduler.register(TIMER_KIND, self._on_timer)

    # --- lifecycle

    @property
    def caught_up(self) -> asyncio.Event:
        """Set once the startup catch-up has run."""
        return self.catchup.caught_up

    @property
    def last_catchup(self) -> dict[int, rules.CatchupPlan]:
        """The latest catch-up plan per guild."""
        return self.catchup.last_catchup

    async def run(self) -> None:
        """Once connected: re-arm the timer, catch up, keep "last seen" (until cancelled)."""
        await self.resume()
        await self.catchup.run()

    async def resume(self) -> None:
        """Wake up for pending joins left by a crash between saving and greeting them."""
        upcoming = await self.repository.next_due()
        if upcoming is not None:
            first = await self.repository.due(upcoming, limit=1)
            if first:
                await self._wake_at(first[0].guild_id, upcoming, "resume")

    async def groups(self, guild_id: int) -> list[SupportGroup]:
        """A guild's directory (cached)."""
        return await self.directory.groups(guild_id)

    # --- the one timer

    async def _wake_at(self, guild_id: int, when: datetime, why: str) -> None:
        await self._scheduler.schedule(NewReminder(
            guild_id=guild_id, kind=TIMER_KIND, channel_id=0, due_at=when, note=why))

    async def _on_timer(self, delivery: Delivery) -> Done:
        if delivery.reminder.member_id is not None:
            return await self._retry(delivery, delivery.reminder.member_id)
        await self.process_due(self._clock.now())
        return Done.sent(None)

    async def _retry(self, delivery: Delivery, member_id: int) -> Done:
        """Post a welcome that failed for a passing reason, unless it landed after all."""
        reminder = delivery.reminder
        guild_id, channel_id = reminder.guild_id, reminder.channel_id
        guild = self._discord.guild(guild_id)
        member = self._discord.member(guild_id, member_id)
        if guild is None or member is None:
            return Done.closed("member_left")
        record = await self.repository.record(guild_id, member_id)
        if record is None:  # forgotten (/privacy forget) meanwhile
            return Done.closed("forgotten")
        if record.message_id is not None:
            return Done.sent(record.message_id)
        if not self._discord.is_text_channel(guild_id, channel_id):
            return Done.closed("channel_gone")
        try:
            posted = await self._discord.find_welcome(guild_id, channel_id, member_id,
                                                      record.welcomed_at)
            if posted is None:
                text = await self.renderer.single(guild, member)
                await delivery.sending()
                posted = await self._discord.post_welcome(guild_id, channel_id, text,
                                                          [member_id])
                self._metrics.inc("welcomes", 1, outcome="sent")
            else:
                log.info("welcome for member %s of guild %s had landed; not sent again",
                         member_id, guild_id)
        except SendFailed as exc:
            if exc.transient and reminder.attempts < MAX_ATTEMPTS:
                raise RetryLater(f"HTTP {exc.status}") from exc
            await self._failed(guild_id, channel_id, [member_id], exc)
            reason = ("no_access" if exc.forbidden
                      else "gave_up_after_retries" if exc.transient else "refused")
            raise DeliveryFailed(reason, notify=False) from exc
        await self.repository.set_message(guild_id, [member_id], channel_id, posted.message_id)
        return Done.sent(posted.message_id)

    async def process_due(self, now: datetime) -> None:
        """Greet screening fallbacks and flush burst batches that are due at `now`."""
        due = await self.repository.due(now, limit=DUE_BATCH)
        batches: dict[int, list[PendingJoin]] = {}
        for row in due:
            if row.status == "screening":
                member = self._discord.member(row.guild_id, row.member_id)
                if member is None:
                    await self.repository.remove_pending(row.guild_id, row.member_id)
                    continue
                log.info("screening timeout for member %s of guild %s; greeting anyway",
                         row.member_id, row.guild_id)
                await self.ready(member, now)
            else:
                batches.setdefault(row.guild_id, []).append(row)
        for guild_id, rows in batches.items():
            await self.flush(guild_id, [r.member_id for r in rows])
        if len(due) >= DUE_BATCH:
            await self._wake_at(due[-1].guild_id, now, "more")

    # --- joins

    async def on_join(self, member: MemberFacts) -> None:
        """A member joined: greet, wait for screening, or note a rejoin."""
        guild_id = member.guild_id
        config = self._settings.get(guild_id).welcome
        if member.is_bot or not config.enabled:
            return
        if await self._do_not_tag(guild_id, member.id):
            log.info("member %s joined guild %s: marked do-not-tag, no welcome", member.id,
                     guild_id)
            return
        record = await self.repository.record(guild_id, member.id)
        action = rules.join_action(member.join(welcomed_before=record is not None),
                                   enabled=config.enabled)
        now = self._clock.now()
        if action == "skip_rejoin":
            log.info("member %s rejoined guild %s; no second welcome", member.id, guild_id)
            return
        if action == "wait":
            await self.wait_for_screening(guild_id, member.id, now)
            return
        if action == "greet":
            await self.ready(member, now)

    async def wait_for_screening(self, guild_id: int, member_id: int, now: datetime) -> None:
        """Hold the welcome until screening completes, or the fallback falls due."""
        config = self._settings.get(guild_id).welcome
        due = rules.screening_deadline(now, config.screening_timeout_minutes)
        await self.repository.add_pending(guild_id, member_id, now, "screening", due)
        await self._wake_at(guild_id, due, "screening")

    async def on_member_update(self, before: MemberFacts, after: MemberFacts) -> None:
        """Rules Screening or Onboarding completed: greet the member now."""
        if after.is_bot:
            return
        done = rules.screening_done(
            was_pending=before.pending, pending=after.pending,
            onboarding_before=before.onboarding_completed,
            onboarding_now=after.onboarding_completed)
        if not done:
            return
        now = self._clock.now()
        guild_id = after.guild_id
        row = await self.repository.pending(guild_id, after.id)
        if row is None:
            # Joined while Steward was offline: greet if recent and never welcomed.
            joined = after.joined_at
            if (not self._settings.get(guild_id).welcome.enabled
                    or joined is None or now - joined > LATE_SCREENING
                    or after.did_rejoin
                    or await self.repository.record(guild_id, after.id) is not None):
                return
        elif row.status != "screening":
            return
        await self.ready(after, now)

    async def on_leave(self, guild_id: int, member_id: int) -> None:
        """A member left: if not greeted yet, they won't be."""
        if await self.repository.remove_pending(guild_id, member_id):
            log.info("member %s left guild %s before their welcome", member_id, guild_id)

    async def ready(self, member: MemberFacts, now: datetime) -> None:
        """Greet now, or add to the guild's burst batch (greeted when its window ends)."""
        guild_id = member.guild_id
        if await self._do_not_tag(guild_id, member.id):  # also late joins and screening
            await self.repository.remove_pending(guild_id, member.id)
            log.info("no welcome for member %s of guild %s: marked do-not-tag", member.id,
                     guild_id)
            return
        config = self._settings.get(guild_id).welcome
        window = timedelta(seconds=config.burst_window_seconds)
        tracker = self._bursts.get(guild_id)
        if tracker is None:
            tracker = self._bursts[guild_id] = rules.BurstTracker(config.burst_threshold, window)
        else:
            tracker.reconfigure(config.burst_threshold, window)
        decision = tracker.record(now)
        if decision.now:
            await self.repository.add_pending(guild_id, member.id, now, "ready",
                                              now + SAFETY_NET)
            try:
                await self.greet(member, how="single")
            except Exception:
                await self._wake_at(guild_id, now + SAFETY_NET, "retry")
                raise
            return
        assert decision.flush_at is not None
        await self.repository.add_pending(guild_id, member.id, now, "ready", decision.flush_at)
        # One timer per batch. Past its end already (the clock moved while this join was
        # saved), the batch's timer may have run before the row existed: wake up again.
        if (self._burst_timers.get(guild_id) != decision.flush_at
                or decision.flush_at <= self._clock.now()):
            self._burst_timers[guild_id] = decision.flush_at
            await self._wake_at(guild_id, decision.flush_at, "burst")

    # --- sending

    def welcome_channel(self, guild_id: int) -> int | None:
        """The configured welcome channel, else the server's system channel (text only)."""
        channel_id = self._settings.get(guild_id).welcome.channel
        if not channel_id:
            guild = self._discord.guild(guild_id)
            channel_id = guild.system_channel_id if guild else None
        if channel_id and self._discord.is_text_channel(guild_id, channel_id):
            return channel_id
        return None

    async def greet(self, member: MemberFacts, *, how: str = "single",
                    dm_allowed: bool = True) -> bool:
        """Welcome one member (claimed first, so never twice); True when claimed."""
        guild_id = member.guild_id
        guild = self._discord.guild(guild_id)
        if guild is None:
            return False
        config = self._settings.get(guild_id).welcome
        claimed = await self.repository.claim(guild_id, [member.id], how, self._clock.now())
        if not claimed:
            return False
        failpoints.hit("welcome.claimed")
        text = await self.renderer.single(guild, member)
        channel_id = self.welcome_channel(guild_id)
        if channel_id is not None:
            posted = await self._post(guild_id, channel_id, text, [member.id])
            if posted is not None:
                await self.repository.set_message(guild_id, [member.id], channel_id,
                                                  posted.message_id)
        if config.dm and dm_allowed:
            await self._discord.dm_welcome(guild_id, member.id, text)
        return True

    async def flush(self, guild_id: int, member_ids: Sequence[int]) -> list[int]:
        """Greet a burst batch: members still here, not welcomed before, <= 20 per message."""
        guild = self._discord.guild(guild_id)
        if guild is None:  # Steward left the server (or it is gone): nobody to greet there
            for member_id in member_ids:
                await self.repository.remove_pending(guild_id, member_id)
            return []
        present: list[int] = []
        for member_id in member_ids:
            if (self._discord.has_member(guild_id, member_id)
                    and not await self._do_not_tag(guild_id, member_id)):  # marked meanwhile
                present.append(member_id)
            else:
                await self.repository.remove_pending(guild_id, member_id)
        if len(present) == 1:
            # A batch of one is just a welcome (still no DM: it came during a burst).
            member = self._discord.member(guild_id, present[0])
            if member is None:
                await self.repository.remove_pending(guild_id, present[0])
                return []
            greeted = await self.greet(member, how="single", dm_allowed=False)
            return [member.id] if greeted else []
        claimed = await self.repository.claim(guild_id, present, "burst", self._clock.now())
        if not claimed:
            return []
        failpoints.hit("welcome.claimed")
        channel_id = self.welcome_channel(guild_id)
        if channel_id is None:
            return claimed
        # Rate limits can hold later messages back; whoever leaves meanwhile isn't mentioned.
        remaining = list(claimed)
        sent: list[int] = []
        while remaining:
            chunk: list[int] = []
            gone: list[int] = []
            while remaining and len(chunk) < rules.MAX_BURST_MENTIONS:
                member_id = remaining.pop(0)
                (chunk if self._discord.has_member(guild_id, member_id) else gone).append(
                    member_id)
            if gone:
                await self.repository.unclaim(guild_id, gone)
            if not chunk:
                continue
            text = await self.renderer.burst(guild, chunk)
            posted = await self._post(guild_id, channel_id, text, chunk)
            if posted is not None:
                await self.repository.set_message(guild_id, chunk, channel_id,
                                                  posted.message_id)
            sent += chunk
        log.info("burst welcome for %d members in guild %s", len(sent), guild_id)
        return sent

    async def _post(self, guild_id: int, channel_id: int, text: str,
                    ping: Sequence[int]) -> Posted | None:
        try:
            posted = await self._discord.post_welcome(guild_id, channel_id, text, ping)
        except SendFailed as exc:
            if not exc.transient:
                await self._failed(guild_id, channel_id, ping, exc)
                return None
            # Nothing landed (or, after a 5xx, maybe it did: each retry looks first).
            log.warning("welcome in channel %s of guild %s failed (%s/%s); retrying later",
                        channel_id, guild_id, exc.status, exc.code)
            self._metrics.inc("welcomes", len(ping), outcome="retry")
            due = self._clock.now() + RETRY_AFTER
            await self._scheduler.schedule_many(
                NewReminder(guild_id=guild_id, kind=TIMER_KIND, channel_id=channel_id,
                            due_at=due, member_id=member_id, note="retry")
                for member_id in ping)
            return None
        self._metrics.inc("welcomes", len(ping), outcome="sent")
        return posted

    async def _failed(self, guild_id: int, channel_id: int, ping: Sequence[int],
                      exc: SendFailed) -> None:
        """A welcome that won't go out by itself: count it and tell the mod log."""
        log.warning("welcome in channel %s of guild %s failed: %s", channel_id, guild_id,
                    exc.code)
        self._metrics.inc("welcomes", len(ping), outcome="failed")
        await self._audit.record(
            guild_id, None, "welcome.failed", ping[0] if len(ping) == 1 else None,
            {"channel": f"<#{channel_id}>", "members": len(ping),
             "problem": said(N_("I'm missing Send Messages or View Channel there (Discord "
                                "error {code}). Fix the channel permissions; /welcome resend "
                                "can greet someone again."), code=exc.code) if exc.forbidden
             else said(N_("Discord error {status}/{code}"), status=exc.status, code=exc.code)})

    async def resend(self, member: MemberFacts, actor_id: int) -> Posted:
        """Post a member's welcome again (moderators), whatever the records say."""
        guild_id = member.guild_id
        guild = self._discord.guild(guild_id)
        channel_id = self.welcome_channel(guild_id)
        if guild is None or channel_id is None:
            raise InvalidInput(tr("There is no welcome channel. An admin can set one with "
                               "/welcome settings channel:."))
        if await self._do_not_tag(guild_id, member.id):
            raise InvalidInput(tr("Moderators asked me never to tag <@{id}> (see `/care quiet "
                                  "list`), so I won't welcome them again.", id=member.id))
        await self.repository.claim(guild_id, [member.id], "resend", self._clock.now())
        text = await self.renderer.single(guild, member)
        try:
            posted = await self._discord.post_welcome(guild_id, channel_id, text, [member.id])
        except SendFailed as exc:
            if exc.forbidden:
                raise BotMissingPermissions(
                    tr("I can't post in <#{channel_id}>: I need View Channel and Send Messages "
                       "there.", channel_id=channel_id)) from None
            raise
        await self.repository.set_message(guild_id, [member.id], channel_id,
                                          posted.message_id, how="resend")
        await self._audit.record(guild_id, actor_id, "welcome.resent", member.id,
                                 {"jump": posted.jump_url})
        return posted

    async def preview(self, member: MemberFacts, *, burst: bool = False) -> str:
        """What a welcome for `member` (or a burst including them) would look like now."""
        guild = self._discord.guild(member.guild_id)
        if guild is None:
            raise InvalidInput(tr("I can't see that server right now."))
        if burst:
            return await self.renderer.burst(guild, [member.id], report=False)
        return await self.renderer.single(guild, member, report=False)


def check_template(template: str, *, burst: bool) -> str:
    """A template that validates, or InvalidInput listing the valid placeholders."""
    try:
        rules.validate_template(template, burst=burst)
    except TemplateError as exc:
        problem = str(exc)
        if tr("; valid ones are: ") not in problem:
            names = rules.BURST_PLACEHOLDERS if burst else rules.PLACEHOLDERS
            problem += tr("; valid ones are: ") + ", ".join("{" + n + "}" for n in sorted(names))
        raise InvalidInput(tr("That template can't be used: {problem}", problem=problem)) from None
    return template
