"""How a follow-up ends: answered (subscribers hear once) or closed with a reason.

Also the in-memory set of threads/channels with an open follow-up (so the message handler
costs one set lookup for everything else) and the opt-out check made right before any tag.
"""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.db.followups import ANSWERED, CLOSED, Followup, FollowupRepository
from bot.db.reminders import ReminderRepository
from bot.domain import followups as rules
from bot.domain.followups import CloseReason
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.followups_ports import DoNotTag, FollowupDiscord, OptOutRecords
from bot.services.privacy import FOLLOWUP_PINGS

log = logging.getLogger(__name__)

# Closed without a mod-log post (the audit table keeps them): the member's own wish, or a
# moderator's do-not-tag mark, which has its own mod-log entry.
QUIET_CLOSES = frozenset({CloseReason.OPTED_OUT, CloseReason.DO_NOT_TAG})


def watch_of(followup: Followup) -> rules.Watch:
    """The follow-up as far as recognising the answer goes."""
    return rules.Watch(op_id=followup.op_id, channel_id=followup.channel_id,
                       in_thread=followup.in_thread,
                       tag_message_id=followup.tag_message_id or followup.question_message_id,
                       question_message_id=followup.question_message_id)


class FollowupLifecycle:
    """Once-only transitions of follow-ups, the watch set, opt-outs and reply notices."""

    def __init__(self, repository: FollowupRepository, reminders: ReminderRepository,
                 clock: Clock, discord: FollowupDiscord, audit: AuditService,
                 opt_outs: OptOutRecords, metrics: Metrics, *,
                 do_not_tag: DoNotTag | None = None) -> None:
        self.repository = repository
        self._do_not_tag = do_not_tag
        self.reminders = reminders
        self.clock = clock
        self.discord = discord
        self.audit = audit
        self.opt_outs = opt_outs
        self.metrics = metrics
        self._watched: set[int] = set()

    # --- the watch set

    async def load(self) -> None:
        """Load the ids of threads/channels with open follow-ups (once, at startup)."""
        self._watched = await self.repository.open_channel_ids()
        log.info("follow-ups watching %d channel(s)", len(self._watched))

    def is_watched(self, channel_id: int) -> bool:
        """Whether an answer is awaited in this thread/channel (the hot path: a set lookup)."""
        return channel_id in self._watched

    @property
    def watched(self) -> frozenset[int]:
        """Threads/channels where an answer is awaited."""
        return frozenset(self._watched)

    def watch(self, channel_id: int) -> None:
        """An ask opened a follow-up here."""
        self._watched.add(channel_id)

    async def refresh_watch(self, channel_id: int) -> None:
        """Stop watching a channel once no follow-up there is open."""
        if not await self.repository.open_in_channel(channel_id):
            self._watched.discard(channel_id)

    # --- opt-outs

    async def pings_off(self, guild_id: int, user_id: int) -> bool:
        """Whether the member turned follow-up pings off (also after `/privacy forget`,
        which keeps only a hashed opt-out). Asked only right before tagging someone."""
        if not (await self.repository.prefs(guild_id, user_id)).pings:
            return True
        return await self.opt_outs.has_opted_out(guild_id, user_id, FOLLOWUP_PINGS)

    async def do_not_tag(self, guild_id: int, user_id: int) -> bool:
        """Whether moderators marked the member do-not-tag (care): never tag or DM them."""
        return self._do_not_tag is not None and await self._do_not_tag(guild_id, user_id)

    # --- endings

    async def check_answer(self, seen: rules.SeenMessage) -> None:
        """A message in a watched channel: stand down every follow-up it answers."""
        for followup in await self.repository.open_in_channel(seen.channel_id):
            if followup.tag_message_id is None:
                continue
            if rules.is_answer(watch_of(followup), seen):
                await self.answered(followup, seen.message_id)

    async def answered(self, followup: Followup, answer_id: int) -> bool:
        """Mark answered (once), cancel the check-in, tell subscribers; False if already."""
        now = self.clock.now()
        if not await self.repository.close(followup.id, ANSWERED, CloseReason.ANSWERED, now,
                                           answer_message_id=answer_id):
            return False
        await self.reminders.cancel_for_followup(followup.id, now, CloseReason.ANSWERED)
        await self.refresh_watch(followup.channel_id)
        if self.metrics.enabled:
            self.metrics.inc("reminders", outcome="answered")
        jump = rules.jump_link(followup.guild_id, followup.channel_id, answer_id)
        await self.audit.record(followup.guild_id, None, "followup.answered",
                                followup.op_id, {"followup": followup.id, "answer": jump})
        await self._notify_subscribers(followup, jump)
        return True

    async def _notify_subscribers(self, followup: Followup, jump: str) -> None:
        subscribers = [s for s in await self.repository.take_subscribers(
            followup.id, followup.guild_id, self.clock.now()) if s.user_id != followup.op_id]
        subscribers = [s for s in subscribers
                       if not await self.do_not_tag(followup.guild_id, s.user_id)]
        in_thread = [s.user_id for s in subscribers if not s.notify_dm]
        for sub in (s for s in subscribers if s.notify_dm):
            text = rules.render_answered_dm(op_id=followup.op_id, jump=jump)
            if not await self.discord.dm(sub.user_id, text):
                in_thread.append(sub.user_id)  # closed DMs: a mention in the thread instead
        if in_thread:
            await self.discord.post_notice(
                followup.channel_id,
                rules.render_answered(subscriber_ids=in_thread, op_id=followup.op_id,
                                      jump=jump),
                in_thread)

    async def close(self, followup: Followup, reason: CloseReason) -> None:
        """open -> closed (once) with the reason; cancels its reminders and audits it."""
        now = self.clock.now()
        if await self.repository.close(followup.id, CLOSED, reason, now):
            await self.reminders.cancel_for_followup(followup.id, now, reason)
            await self.refresh_watch(followup.channel_id)
            await self.audit.record(followup.guild_id, None, "followup.closed",
                                    followup.op_id, {"followup": followup.id,
                                                     "reason": rules.REASON_TEXT[reason]},
                                    post=reason not in QUIET_CLOSES)
