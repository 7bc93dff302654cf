"""The scheduler's handlers for follow-up items: check-ins, reminders, auto check-ins, expiry.

Each gathers the facts it needs (asking Discord only for those that can still matter), asks the
domain for a plan (`plan_checkin`, `plan_reminder`, `plan_autocheck`) and carries it out.
"""

from __future__ import annotations

from bot.db.followups import Followup, FollowupRepository
from bot.db.reminders import Reminder
from bot.domain import followups as rules
from bot.domain.followups import (
    AutocheckFacts,
    CheckinAction,
    CheckinFacts,
    CloseReason,
    DeliveryPlan,
    Postpone,
    ReminderFacts,
)
from bot.domain.templates import FALLBACK_ACTION
from bot.services.followups_lifecycle import FollowupLifecycle, watch_of
from bot.services.followups_ports import (
    FollowupDiscord,
    NoAccess,
    Place,
    PlaceGone,
    QuietUntil,
)
from bot.services.guild_settings import GuildSettingsService
from bot.services.scheduler import Delivery, DeliveryFailed, Done

QUIET = "member_quiet"


class FollowupDelivery:
    """Delivers due follow-up items (registered on the scheduler by kind)."""

    def __init__(self, repository: FollowupRepository, lifecycle: FollowupLifecycle,
                 discord: FollowupDiscord, settings: GuildSettingsService, *,
                 quiet_until: QuietUntil | None = None) -> None:
        self.repository = repository
        self.lifecycle = lifecycle
        self.discord = discord
        self.settings = settings
        self.quiet_until = quiet_until

    async def _wait_if_quiet(self, guild_id: int, member_id: int) -> None:
        """A member in a quiet window (care) gets no automated ping: postpone to its end."""
        if self.quiet_until is None:
            return
        until = await self.quiet_until(guild_id, member_id)
        if until is not None:
            raise Postpone(until, QUIET)

    async def _place(self, channel_id: int) -> Place | None:
        """The channel as Discord sees it now; None when gone."""
        try:
            place = await self.discord.place(channel_id)
        except NoAccess:
            raise DeliveryFailed(CloseReason.NO_ACCESS) from None
        if place is not None and not place.postable:
            raise DeliveryFailed("not_a_text_channel")
        return place

    async def _history_answer(self, followup: Followup) -> int | None:
        if followup.tag_message_id is None:
            return None
        watch = watch_of(followup)
        async for seen in self.discord.history_after(followup.channel_id,
                                                     followup.tag_message_id):
            if rules.is_answer(watch, seen):
                return seen.message_id
        return None

    async def _post_tag(self, delivery: Delivery, channel_id: int, text: str, member_id: int,
                        *, reopen: bool) -> Done:
        reminder = delivery.reminder
        if delivery.maybe_sent:
            existing = await self.discord.find_reminder_message(channel_id, reminder.id)
            if existing is not None:
                return Done.sent(existing, recovered=True)
        if reopen:
            await self.discord.reopen(channel_id)
        await delivery.sending()
        try:
            message_id = await self.discord.post_tag(channel_id, text, member_id, reminder.id)
        except NoAccess:
            raise DeliveryFailed(CloseReason.NO_ACCESS) from None
        except PlaceGone:
            return Done.closed(CloseReason.THREAD_DELETED)
        return Done.sent(message_id, late=delivery.late)

    @staticmethod
    def _not_sent(plan: DeliveryPlan, **details: int) -> Done:
        reason = plan.reason or CloseReason.CANCELLED
        if plan.action is CheckinAction.CLOSE:
            return Done.closed(reason, **details)
        return Done.stood_down(reason, **details)

    # --- the handlers

    async def checkin(self, delivery: Delivery) -> Done:
        """The one check-in of an ask, unless it was answered (also while we were offline)."""
        reminder = delivery.reminder
        followup = (await self.repository.get(reminder.followup_id)
                    if reminder.followup_id is not None else None)
        if followup is None or followup.status != "open":
            # Closed meanwhile (answered, the member left, ...): say why, not "cancelled".
            return Done.stood_down((followup.reason if followup else None)
                                   or CloseReason.CANCELLED)
        if await self.lifecycle.do_not_tag(followup.guild_id, followup.op_id):
            await self.lifecycle.close(followup, CloseReason.DO_NOT_TAG)
            return Done.stood_down(CloseReason.DO_NOT_TAG, followup=followup.id)
        place = await self._place(followup.channel_id)
        answered_id = None
        present = True
        opted_out = False
        if place is not None:
            answered_id = await self._history_answer(followup)
            if answered_id is None:
                present = await self.discord.member_present(followup.guild_id, followup.op_id)
                opted_out = await self.lifecycle.pings_off(followup.guild_id, followup.op_id)
        plan = rules.plan_checkin(CheckinFacts(
            still_open=True, opted_out=opted_out, op_in_server=present,
            channel_exists=place is not None, locked=bool(place and place.locked),
            archived=bool(place and place.is_thread and place.archived),
            answered=answered_id is not None,
        ))
        if plan.action is CheckinAction.STAND_DOWN and plan.reason is CloseReason.ANSWERED:
            assert answered_id is not None
            await self.lifecycle.answered(followup, answered_id)
            return Done.stood_down(CloseReason.ANSWERED)
        if plan.action is not CheckinAction.SEND:
            await self.lifecycle.close(followup, plan.reason or CloseReason.CANCELLED)
            return self._not_sent(DeliveryPlan(plan.action, plan.reason),
                                  followup=followup.id)
        await self._wait_if_quiet(followup.guild_id, followup.op_id)
        config = self.settings.get(followup.guild_id).followup
        text, failed = rules.render_checkin(
            config.checkin_template, op_id=followup.op_id, days=followup.days,
            jump=rules.jump_link(followup.guild_id, followup.channel_id,
                                 followup.question_message_id),
            late=delivery.late,
        )
        done = await self._post_tag(delivery, followup.channel_id, text, followup.op_id,
                                    reopen=plan.reopen_archived)
        if failed:
            await self.lifecycle.audit.record(
                followup.guild_id, None, FALLBACK_ACTION, followup.op_id,
                {"setting": "followup.checkin_template", "followup": followup.id})
        return done

    async def reminder(self, delivery: Delivery) -> Done:
        """A moderator's scheduled tag of one member."""
        reminder = delivery.reminder
        member_id = _member(reminder)
        if await self.lifecycle.do_not_tag(reminder.guild_id, member_id):
            return Done.stood_down(CloseReason.DO_NOT_TAG)
        opted_out = await self.lifecycle.pings_off(reminder.guild_id, member_id)
        place = None if opted_out else await self._place(reminder.channel_id)
        present = True
        if place is not None and not place.locked:
            present = await self.discord.member_present(reminder.guild_id, member_id)
        facts = ReminderFacts(
            opted_out=opted_out, channel_exists=opted_out or place is not None,
            locked=bool(place and place.locked),
            archived=bool(place and place.is_thread and place.archived),
            member_in_server=present,
        )
        plan = rules.plan_reminder(facts)
        if plan.action is not CheckinAction.SEND:
            return self._not_sent(plan)
        await self._wait_if_quiet(reminder.guild_id, member_id)
        text = rules.render_reminder(member_id=member_id, by_id=reminder.created_by or 0,
                                     note=reminder.note, late=delivery.late)
        return await self._post_tag(delivery, reminder.channel_id, text, member_id,
                                    reopen=plan.reopen_archived)

    async def autocheck(self, delivery: Delivery) -> Done:
        """The one automatic check-in on a forum post, if others replied and the OP didn't."""
        reminder = delivery.reminder
        op_id = _member(reminder)
        if await self.lifecycle.do_not_tag(reminder.guild_id, op_id):
            return Done.stood_down(CloseReason.DO_NOT_TAG)
        place = await self._place(reminder.channel_id)
        facts = AutocheckFacts(op_id=op_id, channel_exists=place is not None,
                               locked=bool(place and place.locked),
                               archived=bool(place and place.is_thread and place.archived))
        if place is not None and not place.locked:
            authors = tuple(await self.discord.reply_authors(reminder.channel_id))
            needed = rules.autocheck_needed(op_id, authors)
            opted_out = needed and await self.lifecycle.pings_off(reminder.guild_id, op_id)
            present = (not needed or opted_out
                       or await self.discord.member_present(reminder.guild_id, op_id))
            facts = AutocheckFacts(op_id=op_id, archived=facts.archived, reply_authors=authors,
                                   opted_out=opted_out, op_in_server=present)
        plan = rules.plan_autocheck(facts)
        if plan.action is not CheckinAction.SEND:
            return self._not_sent(plan)
        await self._wait_if_quiet(reminder.guild_id, op_id)
        text = rules.render_autocheck(op_id=op_id, late=delivery.late)
        return await self._post_tag(delivery, reminder.channel_id, text, op_id,
                                    reopen=plan.reopen_archived)

    async def expiry(self, delivery: Delivery) -> Done:
        """Stop watching for the answer a while after the check-in."""
        reminder = delivery.reminder
        if reminder.followup_id is not None:
            followup = await self.repository.get(reminder.followup_id)
            if followup is not None and followup.status == "open":
                await self.lifecycle.close(followup, CloseReason.EXPIRED)
        return Done.stood_down(CloseReason.EXPIRED)


def _member(reminder: Reminder) -> int:
    if reminder.member_id is None:
        raise DeliveryFailed("no_member")
    return reminder.member_id
