"""Link holds, upkeep: start and stop, reminders, the retention purge, high-water marks and the
catch-up plan after downtime, interrupted holds, members who left while Steward was away, and
the doctor probe."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from bot.db.holds import Hold
from bot.domain import holds as rules
from bot.domain.doctor import Finding, Severity
from bot.domain.text import MESSAGE_LIMIT
from bot.i18n import tr, trn
from bot.services.linkhold_ports import CatchupPlan, CatchupReport, queue_url
from bot.services.linkhold_review import HoldReview

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL = timedelta(minutes=5)
STUCK_AFTER = timedelta(minutes=10)  # a hold part-way through its steps this long is stuck


class HoldUpkeep(HoldReview):
    """What runs at startup, at shutdown and every few minutes."""

    @property
    def started(self) -> bool:
        """True once `start()` ran (after the gateway connected)."""
        return self._started

    async def load(self) -> None:
        """Load trusted members, post counts and high-water marks into memory."""
        self._trusted = await self._repos.trust.all()
        self._counts = await self._repos.counts.all()
        self._saved_marks = await self._repos.marks.all()
        self._marks = dict(self._saved_marks)

    async def start(self) -> CatchupReport | None:
        """Once connected: finish interrupted holds, catch up, start the upkeep loop."""
        if self._started:
            return None
        self._started = True
        await self.resume_unfinished()
        await self.close_departed()
        report = await self._actions.catch_up(self.plan_catchup())
        log.info("catch-up: %d channels, %d messages, %d held", report.channels,
                 report.messages, report.held)
        await self.save_marks()
        self._background.spawn(self._maintenance_loop(), name="linkhold-upkeep", daemon=True)
        return report

    async def stop(self) -> None:
        """Save the high-water marks and remove outstanding member notices (at shutdown).

        On a clean stop every event up to now was handled, so the mark becomes "now"; that
        spares the next start from re-reading channels where only the bot posted since.
        """
        if self._started:
            now_id = rules.snowflake_at(self._clock.now(), high=True)
            for guild_id in self._actions.guild_ids():
                self._marks[guild_id] = max(self._marks.get(guild_id, 0), now_id)
        await self.save_marks()
        for message_id, channel_id in list(self._notices.items()):
            await self._delete_notice(channel_id, message_id)

    # --- high-water marks and the catch-up plan -------------------------------------------------

    def saw(self, guild_id: int, message_id: int) -> None:
        """Note the newest message seen in a guild (every message; in memory)."""
        if message_id > self._marks.get(guild_id, 0):
            self._marks[guild_id] = message_id

    def high_water(self, guild_id: int) -> int | None:
        """The newest message id seen in a guild (in memory)."""
        return self._marks.get(guild_id)

    def plan_catchup(self, guild_ids: list[int] | None = None) -> CatchupPlan:
        """Where to read from after downtime: per guild, the saved mark (at most `max_age`
        back). A guild never seen before starts its mark now and is not read."""
        now = self._clock.now()
        floor = rules.snowflake_at(now - self.catchup_limits.max_age)
        after: dict[int, int] = {}
        for guild_id in self._actions.guild_ids() if guild_ids is None else guild_ids:
            mark = self._saved_marks.get(guild_id)
            if mark is None:
                self._marks.setdefault(guild_id, rules.snowflake_at(now))
                continue
            after[guild_id] = max(mark, floor)
        return CatchupPlan(after=after, limits=self.catchup_limits)

    async def save_marks(self) -> None:
        """Store high-water marks that moved since the last save."""
        changed = {g: m for g, m in self._marks.items() if self._saved_marks.get(g) != m}
        if not changed:
            return
        await self._repos.marks.save(changed, self._clock.now())
        self._saved_marks.update(changed)

    # --- the loop: reminders, retention -------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        while True:
            now = self._clock.now()
            try:
                await self.run_maintenance(now)
            except Exception:
                log.exception("link-hold upkeep failed")
            await self._clock.sleep_until(now + MAINTENANCE_INTERVAL)

    async def run_maintenance(self, now: datetime) -> None:
        """Remind moderators of old pending holds, purge expired content, save marks."""
        await self.send_reminders(now)
        await self.purge_expired(now)
        await self.save_marks()
        await self.refresh_pending_gauge()

    async def send_reminders(self, now: datetime) -> int:
        """Surface pending holds older than `review_reminder_hours` again; returns how many."""
        by_guild: dict[int, list[Hold]] = defaultdict(list)
        for hold in await self.holds.pending(limit=1000):
            if not self.owns(hold.guild_id):
                continue
            hours = timedelta(hours=self.settings(hold.guild_id).review_reminder_hours)
            if now - hold.created_at >= hours and (
                hold.reminded_at is None or now - hold.reminded_at >= hours
            ):
                by_guild[hold.guild_id].append(hold)
        total = 0
        for guild_id, due in by_guild.items():
            text = reminder_text(guild_id, due)
            queue = self.settings(guild_id).queue_channel
            mod_log = self._guild_settings.get(guild_id).core.mod_log_channel
            where = [c for c in (queue, mod_log) if c]
            delivered = await self._actions.post_text(where, text)
            if delivered == "nowhere":
                log.warning("guild %s has %d held posts waiting and nowhere to remind",
                            guild_id, len(due))
            if delivered != "sent":
                continue
            await self.holds.mark_reminded([h.id for h in due], now)
            total += len(due)
        return total

    async def purge_expired(self, now: datetime) -> int:
        """Delete content and attachments of holds decided more than `retention_days` ago."""
        expired = [
            hold for hold in await self.holds.decided_unpurged()
            if hold.decided_at is not None and self.owns(hold.guild_id)
            and now - hold.decided_at
            >= timedelta(days=self.settings(hold.guild_id).retention_days)
        ]
        if not expired:
            return 0
        await self.holds.purge([h.id for h in expired], now)
        if self._checkpoint is not None:
            await self._checkpoint()
        log.info("purged the content of %d decided holds", len(expired))
        for hold in expired:
            purged = await self.holds.get(hold.id)
            if purged is not None:
                await self.refresh_card(purged)
        return len(expired)

    # --- after downtime -----------------------------------------------------------------------

    async def resume_unfinished(self) -> int:
        """Finish holds interrupted between storing and queueing; un-claim stuck approvals."""
        for hold in await self.holds.stuck_approvals():
            if self.owns(hold.guild_id) and await self.holds.abort_approval(hold.id):
                log.warning("hold %s was being approved when Steward stopped; it is pending "
                            "again", hold.id)
                refreshed = await self.holds.get(hold.id)
                if refreshed is not None:
                    await self.refresh_card(refreshed)
        unfinished = [h for h in await self.holds.unfinished() if self.owns(h.guild_id)]
        for hold in unfinished:
            log.info("finishing interrupted hold %s (step %s)", hold.id, hold.step)
            try:
                await self.complete(hold)
            except Exception:
                log.exception("could not finish hold %s", hold.id)
        return len(unfinished)

    async def close_departed(self) -> int:
        """At startup: close pending holds of members who left while Steward was away.

        Asks Discord (Unknown Member), not the cache; the pending queue is small.
        """
        closed = 0
        checked: set[tuple[int, int]] = set()
        for hold in await self.holds.pending(limit=1000):
            key = (hold.guild_id, hold.member_id)
            if key in checked or not self.owns(hold.guild_id):
                continue
            checked.add(key)
            if not await self._actions.still_member(hold.guild_id, hold.member_id):
                closed += len(await self.member_left(hold.guild_id, hold.member_id))
        return closed

    # --- doctor -------------------------------------------------------------------------------

    async def probe(self, guild_id: int) -> list[Finding]:
        """Doctor probe: held posts waiting far too long, and holds stuck part-way."""
        settings = self.settings(guild_id)
        now = self._clock.now()
        findings: list[Finding] = []
        queue = f"<#{settings.queue_channel}>" if settings.queue_channel else None
        hours = settings.review_reminder_hours * 2
        waiting = await self.holds.waiting_since(guild_id, now - timedelta(hours=hours))
        if waiting:
            oldest = waiting[0]
            n = len(waiting)
            where = (tr("Open {queue} and press Approve or Reject on each card", queue=queue)
                     if queue else tr("Approve or Reject each one"))
            findings.append(Finding(
                "linkhold.waiting", "queue", Severity.WARNING,
                trn("{n}{more} held post has waited more than {hours} hours for a moderator "
                    "(the oldest is hold #{id}, from <t:{int}:R>). The member is still waiting.",
                    "{n}{more} held posts have waited more than {hours} hours for a moderator "
                    "(the oldest is hold #{id}, from <t:{int}:R>). The members are still "
                    "waiting.", n, n=n, more="+" if n >= 100 else "", hours=hours, id=oldest.id,
                    int=int(oldest.created_at.timestamp())),
                tr("{where}; `/linkhold queue` lists them with links.", where=where)
                + ("" if queue else tr(" To get cards with buttons, an admin can set a queue "
                   "channel with `/linkhold settings queue_channel:#mod-queue`.")),
            ))
        stuck = await self.holds.stuck(guild_id, now - STUCK_AFTER)
        not_removed = [h for h in stuck if h.status == "pending" and h.removal == "failed"]
        unfinished = [h for h in stuck if h.status == "pending" and h.removal != "failed"]
        approving = [h for h in stuck if h.status == "approving"]
        if not_removed:
            channels = ", ".join(dict.fromkeys(f"<#{h.channel_id}>" for h in not_removed))
            ids = ", ".join(f"#{h.id}" for h in not_removed[:10])
            findings.append(Finding(
                "linkhold.not_removed", "holds", Severity.PROBLEM,
                tr("I held post(s) {ids} but couldn't remove them, so they are still visible in "
                   "{channels}.", ids=ids, channels=channels),
                tr("Give Steward the Manage Messages permission in {channels} (channel settings → "
                   "Permissions), delete the post(s) there yourself, then Approve or Reject the "
                   "hold(s)",
                   channels=channels) + (tr(" in {queue}.",
                   queue=queue) if queue else tr(" (`/linkhold queue`).")),
            ))
        if unfinished:
            ids = ", ".join(f"#{h.id}" for h in unfinished[:10])
            findings.append(Finding(
                "linkhold.unfinished", "holds", Severity.PROBLEM,
                tr("Hold(s) {ids} got stuck part-way: the post was stored, but removing it, "
                   "telling the member or queueing it didn't finish.", ids=ids),
                tr("Restart Steward: it finishes interrupted holds when it starts. If this comes "
                "back, Steward's logs show the error."),
            ))
        if approving:
            ids = ", ".join(f"#{h.id}" for h in approving[:10])
            findings.append(Finding(
                "linkhold.approval_stuck", "holds", Severity.PROBLEM,
                tr("Approving hold(s) {ids} started but didn't finish.", ids=ids),
                tr("Restart Steward: it puts unfinished approvals back in the queue, and a "
                "moderator can press Approve again (nothing is posted twice)."),
            ))
        return findings


def reminder_text(guild_id: int, due: list[Hold]) -> str:
    """The reminder listing held posts still waiting (kept under one message)."""
    text = trn("⏰ {count} held post is still waiting for review:",
               "⏰ {count} held posts are still waiting for review:", len(due), count=len(due))
    for shown, hold in enumerate(due):
        url = queue_url(guild_id, hold.queue_channel_id, hold.queue_message_id)
        label = tr("[Hold #{id}]({url})",
                   id=hold.id, url=url) if url else tr("Hold #{id}", id=hold.id)
        line = (tr("\n• {label}: <@{member_id}> in <#{channel_id}>, held <t:{int}:R>",
                   label=label, member_id=hold.member_id, channel_id=hold.channel_id,
                   int=int(hold.created_at.timestamp())))
        if len(text) + len(line) > MESSAGE_LIMIT - 80:
            text += tr("\n…and {value} more (see `/linkhold queue`).", value=len(due) - shown)
            break
        text += line
    return text
