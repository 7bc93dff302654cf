"""Link holds, the shared base: the facts and ports the service works with, its state, and the
holding steps (remove, tell, queue) that intake, review and upkeep all use.

No Discord here: `HoldActions` (a port the Discord adapter implements) carries out what the
service decides, and the facts (`PostFacts`, `Someone`) are built by that adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot import failpoints
from bot.clock import Clock
from bot.db.holds import (
    STEP_REMOVED,
    STEP_STORED,
    STEP_TOLD,
    STEPS,
    HeldAttachment,
    Hold,
)
from bot.domain import holds as rules
from bot.domain.templates import FALLBACK_ACTION, render_or_default
from bot.i18n import speaking, tr
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold_blocks import CareGate, TrustHooks
from bot.services.linkhold_ping import ReviewerPing
from bot.services.linkhold_ports import (
    AUTOMOD,
    CatchupLimits,
    Checkpoint,
    HoldActions,
    Publisher,
    QueueCard,
    Removal,
    Repositories,
    Someone,
    queue_url,
)
from bot.services.scheduler import Scheduler
from bot.tasks import BackgroundTasks
from config.guild import LinkHoldSettings

log = logging.getLogger(__name__)

class HoldCore:
    """State and the holding steps shared by intake, review and upkeep."""

    def __init__(
        self,
        repositories: Repositories,
        settings: GuildSettingsService,
        clock: Clock,
        actions: HoldActions,
        publish: Publisher,
        *,
        audit: AuditService,
        background: BackgroundTasks,
        metrics: Metrics | None = None,
        checkpoint: Checkpoint | None = None,
        download_timeout: float = 5.0,
        catchup: CatchupLimits | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.holds = repositories.holds
        self._repos = repositories
        self._guild_settings = settings
        self._clock = clock
        self._actions = actions
        self._publish = publish
        self._audit = audit
        self._background = background
        self._metrics_sink = metrics
        self._checkpoint = checkpoint
        self.download_timeout = download_timeout
        self.catchup_limits = catchup or CatchupLimits()
        self._trusted: set[tuple[int, int]] = set()
        self._counts: dict[tuple[int, int], int] = {}
        self._marks: dict[int, int] = {}
        self._saved_marks: dict[int, int] = {}
        self._notices: dict[int, int] = {}  # notice message id -> channel id, deleted later
        self._hint_shown: set[int] = set()
        self._started = False
        self._completing: set[int] = set()  # holds whose steps run right now
        self.trust_hooks: TrustHooks | None = None  # the trusted role (bot.services.automod)
        self.care: CareGate | None = None  # distress: no automated notice, a care alert
        # The one reviewer ping per waiting hold, on the durable scheduler.
        self.pinger = (None if scheduler is None else
                       ReviewerPing(self.holds, self.settings, clock, actions, scheduler))
        # Sharded processes: the servers this one owns (its upkeep touches only theirs).
        self.owns: Callable[[int], bool] = lambda guild_id: True

    def settings(self, guild_id: int) -> LinkHoldSettings:
        """A guild's link-hold settings (cached)."""
        return self._guild_settings.get(guild_id).linkhold

    def _known(self, guild_id: int, facts: rules.MemberFacts) -> rules.MemberFacts:
        """Add what Steward remembers (trust, accepted posts) to what Discord knows."""
        key = (guild_id, facts.member_id)
        return replace(facts, trusted=key in self._trusted,
                       accepted_posts=self._counts.get(key, 0))

    async def count_post(self, guild_id: int, member_id: int) -> None:
        """One more accepted post by this member (for `min_posts`)."""
        key = (guild_id, member_id)
        self._counts[key] = self._counts.get(key, 0) + 1
        await self._repos.counts.add(guild_id, member_id, self._clock.now())
        if self.trust_hooks is not None:
            await self.trust_hooks.counted(guild_id, member_id)

    def accepted_posts(self, guild_id: int, member_id: int) -> int:
        """Accepted posts counted for this member (for `min_posts`)."""
        return self._counts.get((guild_id, member_id), 0)

    # --- the holding steps ------------------------------------------------------------------

    async def complete(self, hold: Hold, someone: Someone | None = None) -> Hold:
        """Run the remaining holding steps of `hold` (remove, tell, queue) in order.

        Once per hold at a time: the startup's `resume_unfinished` can find a hold that a live
        event is still completing (the member would be told twice).
        """
        if hold.id in self._completing:
            return hold
        self._completing.add(hold.id)
        try:
            return await self._complete(hold, someone)
        finally:
            self._completing.discard(hold.id)

    async def _complete(self, hold: Hold, someone: Someone | None) -> Hold:
        step = STEPS.index(hold.step)
        removal = hold.removal
        if step <= STEPS.index(STEP_STORED):
            failpoints.hit("hold.stored")
            removal = await self.take_down(hold.guild_id, hold.channel_id, hold.message_id,
                                           hold.kind, hold.content or "",
                                           [link.text for link in hold.links])
            await self.holds.mark_removed(hold.id, removal)
            failpoints.hit("hold.removed")
            if removal == "failed":
                await self._audit.record(
                    hold.guild_id, None, "hold.remove_failed", hold.member_id,
                    {"hold": hold.id, "channel": f"<#{hold.channel_id}>"},
                )
        if step <= STEPS.index(STEP_REMOVED):
            told = "none"
            held_back = None if self.care is None else await self.care.hold_back(hold)
            if held_back is not None:
                told = held_back  # a person answers distress, not an automated notice
                log.info("hold %s: member %s not told automatically (%s)", hold.id,
                         hold.member_id, held_back)
            elif removal != "failed":
                told = await self._tell_member(hold, someone)
            await self.holds.mark_told(hold.id, told)
        if step <= STEPS.index(STEP_TOLD):
            current = await self.holds.get(hold.id)
            assert current is not None
            channel_id, message_id = await self._post_card(current)
            if channel_id is not None and message_id is not None:
                await self._schedule_ping(current, channel_id)
            if self.care is not None:
                # After the card exists (the alert links to it: the post left the channel)
                # and before the step is marked done, so a crash between them is resumed.
                # The gate consumed the message, so the care route never sees it.
                try:
                    await self.care.alert_held(
                        current, queue_url(hold.guild_id, channel_id, message_id))
                except Exception:
                    log.exception("could not raise the care alert for hold %s", hold.id)
            await self.holds.mark_queued(hold.id, channel_id, message_id)
            await self._audit.record(
                hold.guild_id, None, "hold.held", hold.member_id,
                {"hold": hold.id, "channel": f"<#{hold.channel_id}>", "removed": removal,
                 "queue": queue_url(hold.guild_id, channel_id, message_id)},
            )
        done = await self.holds.get(hold.id)
        assert done is not None
        return done

    async def take_down(self, guild_id: int, channel_id: int, message_id: int, kind: str,
                        content: str, link_texts: Sequence[str]) -> Removal:
        """Take a held post out of sight: delete the message (a forum starter: its thread), or
        for a held thread name, rename the thread without its links (its posts stay). A post
        AutoMod blocked was never created: nothing to take down."""
        if kind == AUTOMOD:
            return "gone"
        if kind in rules.THREAD_KINDS:
            return await self._actions.rename_thread(
                guild_id, channel_id, rules.without_links(content, link_texts))
        return await self._actions.remove_post(guild_id, channel_id, message_id,
                                               forum=kind == "forum_post")

    async def _tell_member(self, hold: Hold, someone: Someone | None) -> str:
        """DM the member (or post a short self-deleting notice); returns how they were told."""
        server = self._actions.guild_name(hold.guild_id)
        if server is None:
            return "none"
        settings = self.settings(hold.guild_id)
        if someone is None or someone.display_name is None:
            someone = await self._actions.member(hold.guild_id, hold.member_id) or someone
        now = self._clock.now()
        facts = self._known(hold.guild_id, someone.facts) if someone else rules.MemberFacts(
            member_id=hold.member_id, joined_at=None,
            account_created_at=rules.snowflake_time(hold.member_id))
        clear = rules.clearance(facts, now, rules.HoldPolicy.from_settings(settings))
        when = rules.describe_clearance(clear, now)
        in_parent = hold.is_forum_post or hold.kind in rules.THREAD_KINDS
        where = f"<#{hold.parent_id}>" if in_parent and hold.parent_id else (
            f"<#{hold.channel_id}>")
        what = rules.held_what(hold.kind)
        domains = [link.domain for link in hold.links]
        eta = await self.decision_eta(hold.guild_id)
        lasts = timedelta(seconds=settings.notice_seconds)
        told: list[str] = []
        dm_failed = False
        if hold.kind == AUTOMOD:  # they saw AutoMod's message in the channel: a DM at most
            name = someone.display_name if someone else None
            with speaking(self._actions.member_language(hold.guild_id, hold.member_id)):
                values = rules.render_values(name or tr("there"), server, where,
                                             rules.describe_clearance(clear, now), domains,
                                             rules.held_what(hold.kind))
                blocked = tr(rules.DEFAULT_BLOCKED_DM, **values)
            if name is not None and await self._actions.send_dm(hold.member_id, blocked):
                return "dm"
            log.info("could not DM member %s about blocked post %s", hold.member_id, hold.id)
            return "none"
        if settings.notify in ("dm", "both"):
            name = someone.display_name if someone else None
            if name is None:
                dm_failed = True
            else:
                with speaking(self._actions.member_language(hold.guild_id, hold.member_id)):
                    values = rules.render_values(
                        name, server, where, rules.describe_clearance(clear, now), domains,
                        rules.held_what(hold.kind), eta=await self.decision_eta(hold.guild_id),
                        lasts=lasts)
                    default = tr(rules.DEFAULT_HELD_DM)
                text = await self.render_saved(hold, "linkhold.held_template",
                                               settings.held_template, default, values)
                if await self._actions.send_dm(hold.member_id, text):
                    told.append("dm")
                else:
                    dm_failed = True
                    log.info("could not DM member %s about hold %s", hold.member_id, hold.id)
        if settings.notify in ("channel", "both") or dm_failed:
            values = rules.render_values(f"<@{hold.member_id}>", server, where, when, domains,
                                         what, eta=eta, lasts=lasts)
            text = await self.render_saved(hold, "linkhold.notice_template",
                                           settings.notice_template, tr(rules.DEFAULT_HELD_NOTICE),
                                           values)
            if await self._post_notice(hold, settings, text):
                told.append("channel")
        return "+".join(told) or "none"

    async def decision_eta(self, guild_id: int) -> str | None:
        """How long a decision usually takes in this server ("usually within 3 hours"), from
        its recent decisions; None without enough of them."""
        since = self._clock.now() - rules.ETA_WINDOW
        return rules.decision_eta(await self.holds.recent_waits(guild_id, since,
                                                                rules.ETA_SAMPLE))

    async def render_saved(self, hold: Hold, setting: str, custom: str | None, default: str,
                           values: dict[str, str]) -> str:
        """A saved template rendered with `values`; when it no longer renders, the default,
        and the mod log says so (`template.fallback`)."""
        text, failed = render_or_default(custom, default, values)
        if failed:
            log.warning("saved template %s no longer renders in guild %s; used the default",
                        setting, hold.guild_id)
            await self._audit.record(hold.guild_id, None, FALLBACK_ACTION, hold.member_id,
                                     {"setting": setting, "hold": hold.id})
        return text

    async def _post_notice(self, hold: Hold, settings: LinkHoldSettings, text: str) -> bool:
        if hold.is_forum_post:  # the thread is gone: the notice channel, else the system one
            posted = await self._actions.post_notice(
                hold.guild_id, settings.notice_channel, hold.member_id, text,
                or_system_channel=True)
        else:
            posted = await self._actions.post_notice(
                hold.guild_id, hold.channel_id, hold.member_id, text, or_system_channel=False)
        if posted is None:
            log.warning("no channel to tell member %s about hold %s", hold.member_id, hold.id)
            return False
        channel_id, message_id = posted
        self._notices[message_id] = channel_id
        self._background.spawn(
            self._delete_notice_later(channel_id, message_id,
                                      self._clock.now()
                                      + timedelta(seconds=settings.notice_seconds)),
            name=f"linkhold-notice-{message_id}", daemon=True,
        )
        return True

    async def _delete_notice_later(self, channel_id: int, message_id: int, when: datetime) -> None:
        await self._clock.sleep_until(when)
        await self._delete_notice(channel_id, message_id)

    async def _delete_notice(self, channel_id: int, message_id: int) -> None:
        if self._notices.pop(message_id, None) is not None:
            await self._actions.delete_message(channel_id, message_id)

    # --- the queue card ---------------------------------------------------------------------

    async def card(self, hold: Hold) -> QueueCard:
        """What the queue card of `hold` shows."""
        history = await self.holds.member_history(hold.guild_id, hold.member_id)
        files: tuple[HeldAttachment, ...] = ()
        if hold.purged_at is None and hold.content is not None:
            files = tuple(await self.holds.attachments(hold.id))
        return QueueCard(hold=hold, history=history, files=files,
                         active=hold.status == "pending")

    async def _post_card(self, hold: Hold) -> tuple[int | None, int | None]:
        channel_id = self.settings(hold.guild_id).queue_channel
        message_id = None
        if channel_id is not None:
            message_id = await self._actions.post_card(channel_id, await self.card(hold))
        if message_id is None:
            log.warning("guild %s has no usable queue channel; hold %s is only in "
                        "/linkhold queue", hold.guild_id, hold.id)
            return None, None
        return channel_id, message_id

    async def refresh_card(self, hold: Hold) -> None:
        """Re-render a hold's queue message (after a decision, a repeat or a purge)."""
        if hold.queue_channel_id is not None and hold.queue_message_id is not None:
            await self._actions.edit_card(await self.card(hold))

    # --- the reviewer ping (bot.services.linkhold_ping) ---------------------------------

    async def _schedule_ping(self, hold: Hold, channel_id: int) -> None:
        if self.pinger is not None:
            await self.pinger.arm(hold, channel_id)

    # --- metrics ------------------------------------------------------------------------------

    def _metrics(self) -> Metrics | None:
        metrics = self._metrics_sink
        return metrics if metrics is not None and metrics.enabled else None

    async def refresh_pending_gauge(self) -> None:
        """Set the pending-holds gauge (one indexed count; only when metrics are on)."""
        metrics = self._metrics()
        if metrics is not None:
            metrics.set("holds_pending", await self.holds.count_pending())

    async def _count_decision(self, hold: Hold, outcome: str) -> None:
        metrics = self._metrics()
        if metrics is None:
            return
        metrics.inc("holds_decided", outcome=outcome)
        waited = (self._clock.now() - hold.created_at).total_seconds()
        metrics.observe("hold_decision_seconds", max(0.0, waited))
        await self.refresh_pending_gauge()
