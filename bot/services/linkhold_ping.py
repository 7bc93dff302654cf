"""Link holds, the reviewer ping: once per hold, `queue_ping_minutes` after it was held, the
queue card pings the server's reviewer role, unless the hold was decided meanwhile.

The timer is a row in the durable scheduler (`bot.services.scheduler`), so it survives a
restart; the ping itself is claimed on the hold (`holds.pinged_at`, a conditional update), so
a timer armed twice (a queue step re-run after a crash) or a restart never pings twice. The
role is named one by one in `allowed_mentions`; @everyone (the role whose id is the server's)
is never pinged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.db.holds import Hold, HoldRepository
from bot.db.reminders import NewReminder
from bot.domain import holds as rules
from bot.i18n import tr
from bot.services.scheduler import Delivery, Done, RetryLater, Scheduler
from config.guild import LinkHoldSettings

log = logging.getLogger(__name__)

PING_KIND = "hold_ping"  # the scheduler's item for a hold's one reviewer ping


class PingActions(Protocol):
    """The Discord side of the ping (part of `HoldActions`)."""

    async def ping_reviewers(self, guild_id: int, channel_id: int, card_message_id: int,
                             role_id: int, text: str) -> int | None:
        """Reply to a queue card pinging exactly `role_id` (nothing else); the reply's id, or
        None when it could not be sent."""


class ReviewerPing:
    """Arms and sends the one reviewer ping of each held post."""

    def __init__(self, holds: HoldRepository, settings: Callable[[int], LinkHoldSettings],
                 clock: Clock, actions: PingActions, scheduler: Scheduler) -> None:
        self._holds = holds
        self._settings = settings
        self._clock = clock
        self._actions = actions
        self._scheduler = scheduler
        scheduler.register(PING_KIND, self.on_due)

    async def arm(self, hold: Hold, channel_id: int) -> None:
        """Schedule the hold's ping (called before the hold is marked queued: a crash in
        between queues it again, and the claim keeps the ping to one)."""
        minutes = self._settings(hold.guild_id).queue_ping_minutes
        if minutes <= 0:
            return
        await self._scheduler.schedule(NewReminder(
            guild_id=hold.guild_id, kind=PING_KIND, channel_id=channel_id,
            due_at=hold.created_at + timedelta(minutes=minutes), member_id=hold.member_id,
            note=f"hold:{hold.id}"))

    async def on_due(self, delivery: Delivery) -> Done:
        """Ping the reviewer role on the hold's card, unless it was decided, pinged or turned
        off meanwhile (the scheduler's handler for `PING_KIND`)."""
        note = delivery.reminder.note or ""
        if not note.startswith("hold:") or not note[5:].isdigit():
            return Done.closed("no_hold")
        hold = await self._holds.get(int(note[5:]))
        if hold is None:
            return Done.closed("forgotten")
        settings = self._settings(hold.guild_id)
        role = settings.reviewer_role
        if hold.status != "pending":
            return Done.stood_down("decided")
        if settings.queue_ping_minutes <= 0:
            return Done.stood_down("turned_off")
        if role is None or role == hold.guild_id:  # no role set; never @everyone
            return Done.stood_down("no_reviewer_role")
        if hold.queue_channel_id is None or hold.queue_message_id is None:
            return Done.stood_down("no_card")
        if not await self._holds.claim_ping(hold.id, self._clock.now()):
            return Done.stood_down("already_pinged")
        await delivery.sending()
        waited = rules.describe_waited(self._clock.now() - hold.created_at)
        text = (tr("<@&{role}> a held post from <@{member_id}> has waited {waited} for review "
                   "(hold #{id}). Could someone take a look?",
                   role=role, member_id=hold.member_id, waited=waited, id=hold.id))
        sent = await self._actions.ping_reviewers(hold.guild_id, hold.queue_channel_id,
                                                  hold.queue_message_id, role, text)
        if sent is None:
            await self._holds.release_ping(hold.id)  # not sent: the retry may ping
            raise RetryLater(tr("the reviewer ping could not be sent"))
        log.info("pinged the reviewer role of guild %s about hold %s", hold.guild_id, hold.id)
        return Done.sent(sent)
