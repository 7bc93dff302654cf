"""Follow-ups' health: the pending-reminders gauge, the doctor's probe, and the audit trail of
every delivered (or not delivered) reminder."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.db.reminders import FAILED, SENT, ReminderRepository
from bot.domain import followups as rules
from bot.domain.doctor import Finding, Severity
from bot.domain.durations import describe
from bot.domain.followups import CloseReason
from bot.i18n import tr
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.followups_ports import KIND_CHECKIN, VISIBLE_KINDS
from bot.services.scheduler import Finished, Scheduler
from bot.tasks import BackgroundTasks

log = logging.getLogger(__name__)

GAUGE_INTERVAL = timedelta(minutes=5)  # how often the pending-reminders gauge is counted
FAILED_WINDOW = timedelta(days=7)  # the doctor reports reminders that failed this recently
OVERDUE_AFTER = timedelta(hours=1)  # ...and pending ones this late while the scheduler runs
# Failures that are not problems to fix (a moderator cancelled it while it was starting).
QUIET_FAILURES = ("state_changed",)


class FollowupHealth:
    """The gauge loop, the doctor probe, and the scheduler's on_finished listener."""

    def __init__(self, reminders: ReminderRepository, scheduler: Scheduler, clock: Clock,
                 audit: AuditService, metrics: Metrics, tasks: BackgroundTasks) -> None:
        self.reminders = reminders
        self.scheduler = scheduler
        self.clock = clock
        self.audit = audit
        self.metrics = metrics
        self.tasks = tasks
        self.started_at: datetime | None = None
        scheduler.on_finished(self.record_finished)

    def start(self) -> None:
        """Once connected (first time only): remember when, start counting pending ones."""
        if self.started_at is None:
            self.started_at = self.clock.now()
            self.tasks.spawn(self._gauge_loop(), name="followups-gauge", daemon=True)

    async def refresh_pending_gauge(self) -> None:
        """Count pending reminders for the gauge (a partial-index count; metrics on only)."""
        if self.metrics.enabled:
            self.metrics.set("reminders_pending", await self.reminders.count_pending())

    async def _gauge_loop(self) -> None:
        while True:
            try:
                await self.refresh_pending_gauge()
            except Exception:
                log.exception("could not count pending reminders")
            await self.clock.sleep_until(self.clock.now() + GAUGE_INTERVAL)

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
            why = tr(rules.REASON_TEXT.get(latest.reason or "", latest.reason or "unknown"))
            no_access = [f for f in failed if f.reason == CloseReason.NO_ACCESS]
            if no_access:
                where = ", ".join(dict.fromkeys(f"<#{f.channel_id}>" for f in no_access[:10]))
                fix = (tr("Give Steward View Channel, Send Messages and Send Messages in Threads "
                          "in {where}, then schedule what is still needed again with `/followup "
                          "remind`.", where=where))
            else:
                fix = (tr("The mod log has an entry for each failure with the reason; schedule "
                       "what is still needed again with `/followup remind`."))
            findings.append(Finding(
                "followups.failed", "reminders", Severity.WARNING,
                tr("{n} reminder(s) could not be delivered in the last 7 days, in {channels} "
                   "(latest: #{id}, {why}).", n=n, channels=channels, id=latest.id, why=why),
                fix + tr(" This note goes away 7 days after the last failure."),
            ))
        started = self.started_at
        if started is not None and not self.scheduler.running:
            findings.append(Finding(
                "followups.scheduler_stopped", "scheduler", Severity.PROBLEM,
                tr("The reminder scheduler has stopped, so no check-ins or reminders are sent."),
                tr("Restart Steward; reminders that fell due meanwhile are sent when it starts "
                "(none are lost). If it happens again, Steward's logs show the error."),
            ))
        if started is not None and now - started > OVERDUE_AFTER:
            overdue = await self.reminders.overdue(guild_id, now - OVERDUE_AFTER)
            if overdue:
                first = overdue[0]
                findings.append(Finding(
                    "followups.overdue", "reminders", Severity.PROBLEM,
                    tr("{len} reminder(s) are more than an hour overdue (the oldest, #{id}, was "
                       "due <t:{int}:R>).",
                       len=len(overdue), id=first.id, int=int(first.due_at.timestamp())),
                    tr("Restart Steward; it sends overdue reminders when it starts (marked as "
                    "late, none are lost). If it happens again, Steward's logs show why."),
                ))
        return findings

    async def record_finished(self, finished: Finished) -> None:
        """After a reminder's final state is committed: metrics, audit, and the mod log."""
        reminder, done = finished.reminder, finished.done
        if reminder.kind not in VISIBLE_KINDS:  # expiries, and other features' timers
            return
        metrics = self.metrics
        if metrics.enabled:
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
        await self.audit.record(reminder.guild_id, None, action, reminder.member_id,
                                    details, post=post)
