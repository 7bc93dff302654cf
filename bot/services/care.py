"""Care: a post that reads as distress gets no automated reply; moderators are alerted.

`CareService.consider` runs the pure detector (`bot.domain.distress.assess`) on a post and,
when it reads as distress, records one alert per post, opens a quiet window for the member
(no automated reply to them until it ends: other features ask `quiet_until`), and posts one
card for the moderators through the `CareActions` port. Moderators claim an alert ("I'll
reach out", once) and may send the member one support message by DM, reviewed first; Steward
never DMs a member on its own. No words of the post are stored or logged: the card links to it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.db.care import (
    DM_CLOSED,
    IN_MEMORIAM,
    QUIET_REASONS,
    SENT,
    Alert,
    CareRepository,
    DoNotTagRepository,
    QuietMark,
)
from bot.db.holds import Hold
from bot.domain import care as rules
from bot.domain.distress import assess
from bot.domain.holds import THREAD_KINDS
from bot.domain.templates import FALLBACK_ACTION, render_or_default
from bot.errors import AlreadyDecided, InvalidInput, NotFound
from bot.i18n import N_, speaking, tr
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService

log = logging.getLogger(__name__)

SUPPORT_MAX = 1800

# `/privacy forget` removes the do-not-tag row with the member's other rows; a hashed opt-out
# under this scope keeps Steward quiet towards them afterwards (like "no follow-up pings").
DO_NOT_TAG_SCOPE = "do_not_tag"

QUIET_REASON_TEXT = {
    IN_MEMORIAM: N_("in memoriam"),
    "asked": N_("they asked for quiet"),
}

# Told when a member is marked (followups close what would tag them); returns how many.
MarkListener = Callable[[int, int], Awaitable[int]]


class OptOuts(Protocol):
    """Hashed opt-outs that outlive `/privacy forget` (bot.services.privacy)."""

    async def remember_opt_out(self, guild_id: int, user_id: int, scope: str) -> None:
        """Keep a hashed opt-out."""
        ...

    async def withdraw_opt_out(self, guild_id: int, user_id: int, scope: str) -> bool:
        """Drop it; False if there was none."""
        ...

    async def has_opted_out(self, guild_id: int, user_id: int, scope: str) -> bool:
        """Whether the hashed opt-out is kept."""
        ...


@dataclass(frozen=True, slots=True)
class CarePost:
    """A member's post (or a new forum post's title and text), as the detector needs it."""

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    text: str
    title: str | None = None
    language: str = "es"  # unknown: both lexicons (bot.domain.care.language_for)


class CareActions(Protocol):
    """The Discord actions of care (bot.adapters.care carries them out)."""

    async def post_alert(self, channel_id: int, alert: Alert) -> int | None:
        """Post the moderators' card; its message id (None: the channel is unusable)."""
        ...

    async def edit_alert(self, alert: Alert) -> None:
        """Re-render a posted card (claimed, support sent)."""
        ...

    async def blank_alert(self, alert: Alert) -> None:
        """Replace a forgotten member's card with a short note, without buttons."""
        ...

    async def send_dm(self, member_id: int, text: str) -> bool:
        """DM a member, pinging nobody; False when their DMs are closed."""
        ...

    def guild_name(self, guild_id: int) -> str | None:
        """The server's name."""
        ...


# The queue card of a post the link gate held, by (guild id, message id); None when the post
# was not held. bot.composition passes `LinkHoldService.card_url`: the held post is gone from
# the channel, so the alert links to where a moderator can read it.
HeldCard = Callable[[int, int], Awaitable[str | None]]

# Why the link gate sent the member nothing automated about a held post (`hold_back`).
HELD_BACK_DISTRESS = "care"
HELD_BACK_QUIET = "quiet"


@dataclass(frozen=True, slots=True)
class Draft:
    """The support message a moderator reviews; `fallback`: the server's template failed,
    so this is Steward's default."""

    text: str
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class Claim:
    """What pressing "I'll reach out" did."""

    alert: Alert
    claimed: bool  # False: someone else already has it (alert.claimed_by)


@dataclass(frozen=True, slots=True)
class SupportResult:
    """What sending the support message did."""

    alert: Alert
    delivered: bool  # False: the member's DMs are closed


class CareService:
    """Distress alerts, claims, support messages and quiet windows."""

    def __init__(self, repository: CareRepository, settings: GuildSettingsService,
                 clock: Clock, actions: CareActions, *, audit: AuditService,
                 marks: DoNotTagRepository | None = None, opt_outs: OptOuts | None = None
                 ) -> None:
        self.repository = repository
        self.marks = marks
        self.opt_outs = opt_outs
        self._mark_listeners: list[MarkListener] = []
        self.settings = settings
        self.clock = clock
        self.actions = actions
        self.audit = audit
        self.held_card: HeldCard | None = None

    async def _shown(self, alert: Alert, held_url: str | None = None) -> Alert:
        """The alert as the card shows it: a held post links to its queue card."""
        url = held_url
        if url is None and self.held_card is not None:
            url = await self.held_card(alert.guild_id, alert.message_id)
        return alert if url is None else replace(alert, held_url=url)

    # --- detection ----------------------------------------------------------------------------

    def enabled(self, guild_id: int) -> bool:
        """Whether care is on in the guild (cached settings: cheap on the hot path)."""
        return self.settings.get(guild_id).care.enabled

    def _assess(self, post: CarePost) -> tuple[str, ...]:
        """The phrases that make the post read as distress (empty: it doesn't)."""
        care = self.settings.get(post.guild_id).care
        text = post.text if post.title is None else f"{post.title}.\n{post.text}"
        return assess(text, extra_phrases=care.extra_phrases, language=post.language).matched

    @staticmethod
    def held_post(hold: Hold) -> CarePost:
        """A post the link gate held (or AutoMod blocked), as the detector sees it.

        A held thread name is keyed by its thread (as care's own rename check keys it), so a
        title is one alert whichever of the two sees it first.
        """
        if hold.kind in THREAD_KINDS:
            return CarePost(guild_id=hold.guild_id, channel_id=hold.channel_id,
                            message_id=hold.channel_id, author_id=hold.member_id, text="",
                            title=hold.content or "")
        return CarePost(guild_id=hold.guild_id, channel_id=hold.channel_id,
                        message_id=hold.message_id, author_id=hold.member_id,
                        text=hold.content or "", title=hold.forum_title)

    async def hold_back(self, hold: Hold) -> str | None:
        """Should the link gate send the author nothing automated about their held post?

        `HELD_BACK_DISTRESS` when the post reads as distress (a person answers it, not
        Steward), `HELD_BACK_QUIET` when the author is in a quiet window, None otherwise.
        Pure over the post and the stored windows, so a hold resumed after a restart gets the
        same answer.
        """
        post = self.held_post(hold)
        if not self.enabled(post.guild_id):
            return None
        if self._assess(post):
            return HELD_BACK_DISTRESS
        if await self.quiet_until(post.guild_id, post.author_id) is not None:
            return HELD_BACK_QUIET
        return None

    async def alert_held(self, hold: Hold, card_url: str | None) -> None:
        """The link gate held this post (its queue card, if any, is `card_url`): alert if it
        reads as distress."""
        await self.consider(self.held_post(hold), held_url=card_url)

    async def consider(self, post: CarePost, *, held_url: str | None = None) -> bool:
        """Alert on a post that reads as distress; True when it does (consume the message).

        A post the link gate held comes here from the gate itself (after its queue card is
        posted), so one post has one alert whichever way it came.
        """
        config = self.settings.get(post.guild_id)
        care = config.care
        if not care.enabled:
            return False
        matched = self._assess(post)
        if not matched:
            return False
        now = self.clock.now()
        quiet_until = rules.quiet_end(now, care.quiet_hours)
        alert = await self.repository.create(
            guild_id=post.guild_id, member_id=post.author_id, channel_id=post.channel_id,
            message_id=post.message_id, matched=matched, now=now,
            quiet_until=quiet_until)
        if alert is None:  # seen before (a catch-up, a retry): one alert per post
            await self.repository.extend_quiet(post.guild_id, post.message_id, quiet_until)
            return True
        log.info("care alert %s for member %s in guild %s (message %s)", alert.id,
                 post.author_id, post.guild_id, post.message_id)
        channel_id = care.care_channel or config.linkhold.queue_channel
        if channel_id is None:
            log.warning("care alert %s: guild %s has no care or queue channel", alert.id,
                        post.guild_id)
        else:
            alert = await self._shown(alert, held_url)
            card_id = await self.actions.post_alert(channel_id, alert)
            if card_id is not None:
                await self.repository.set_card(alert.id, channel_id, card_id)
        await self.audit.record(post.guild_id, None, "care.alert", post.author_id,
                                {"alert": alert.id, "jump": alert.link})
        return True

    # --- quiet windows ------------------------------------------------------------------------

    async def quiet_until(self, guild_id: int, member_id: int) -> datetime | None:
        """When the member's quiet window ends (None: not quiet): no automated reply before."""
        return await self.repository.quiet_until(guild_id, member_id, self.clock.now())

    # --- do-not-tag ----------------------------------------------------------------------------

    async def do_not_tag(self, guild_id: int, member_id: int) -> bool:
        """Whether Steward must never tag, remind, suggest groups to or welcome the member.

        The one question every feature asks before pinging or DMing a member (the port
        `DoNotTag` of followups, welcome and repost)."""
        if self.marks is not None and await self.marks.is_marked(guild_id, member_id):
            return True
        return self.opt_outs is not None and await self.opt_outs.has_opted_out(
            guild_id, member_id, DO_NOT_TAG_SCOPE)

    def on_mark(self, listener: MarkListener) -> None:
        """Call `listener(guild_id, member_id)` when a member is marked (closes their items)."""
        self._mark_listeners.append(listener)

    def _require_marks(self) -> DoNotTagRepository:
        if self.marks is None:
            raise InvalidInput(tr("Do-not-tag marks aren't available on this bot."))
        return self.marks

    async def mark_quiet(self, guild_id: int, member_id: int, reason: str,
                         moderator_id: int) -> tuple[bool, int]:
        """Mark a member do-not-tag (audited); (newly marked, follow-up items closed)."""
        if reason not in QUIET_REASONS:
            raise InvalidInput(tr("Pick a reason: in memoriam, or they asked for quiet."))
        marks = self._require_marks()
        new = await marks.mark(guild_id, member_id, reason, moderator_id, self.clock.now())
        closed = 0
        for listener in self._mark_listeners:
            closed += await listener(guild_id, member_id)
        await self.audit.record(guild_id, moderator_id,
                                "care.quiet_added" if new else "care.quiet_changed",
                                member_id, {"reason": QUIET_REASON_TEXT[reason],
                                            "follow_ups_closed": closed or None})
        return new, closed

    async def unmark_quiet(self, guild_id: int, member_id: int, moderator_id: int) -> QuietMark:
        """Take the mark away (audited); NotFound when the member wasn't marked."""
        removed = await self._require_marks().unmark(guild_id, member_id)
        withdrawn = self.opt_outs is not None and await self.opt_outs.withdraw_opt_out(
            guild_id, member_id, DO_NOT_TAG_SCOPE)
        if removed is None and not withdrawn:
            raise NotFound(tr("<@{member_id}> isn't marked do-not-tag.", member_id=member_id))
        await self.audit.record(guild_id, moderator_id, "care.quiet_removed", member_id, {
            "reason": QUIET_REASON_TEXT[removed.reason] if removed else None})
        return removed or QuietMark(guild_id, member_id, "asked", None, self.clock.now())

    async def quiet_marks(self, guild_id: int) -> list[QuietMark]:
        """The guild's marked members, newest first."""
        return await self._require_marks().in_guild(guild_id)

    # --- moderators ---------------------------------------------------------------------------

    async def alert(self, guild_id: int, alert_id: int) -> Alert:
        """An alert of this guild (NotFound otherwise)."""
        alert = await self.repository.get(alert_id)
        if alert is None or alert.guild_id != guild_id:
            raise NotFound(tr("I can't find that alert any more (the member may have asked to "
                           "be forgotten, or it was cleared after the retention period)."))
        return await self._shown(alert)

    async def claim(self, guild_id: int, alert_id: int, moderator_id: int) -> Claim:
        """"I'll reach out": the first moderator has it; the others are told who."""
        alert = await self.alert(guild_id, alert_id)
        if alert.claimed_by == moderator_id:
            return Claim(alert, True)
        if not await self.repository.claim(alert.id, moderator_id, self.clock.now()):
            return Claim(await self.alert(guild_id, alert_id), False)
        alert = await self.alert(guild_id, alert_id)
        await self.actions.edit_alert(alert)
        await self.audit.record(guild_id, moderator_id, "care.claimed", alert.member_id,
                                {"alert": alert.id, "jump": alert.link})
        return Claim(alert, True)

    def _may_send(self, alert: Alert, moderator_id: int) -> None:
        if alert.support_status in (SENT, "sending"):
            by = f"<@{alert.support_by}>" if alert.support_by else tr("a moderator")
            raise AlreadyDecided(tr("The support message was already sent by {by}.", by=by))
        if alert.claimed_by not in (None, moderator_id):
            raise AlreadyDecided(tr("<@{claimed_by}> is reaching out to this member, so I won't "
                                    "send a second message. Talk to them first.",
                                    claimed_by=alert.claimed_by))

    def support_text(self, guild_id: int, alert: Alert, moderator_name: str) -> Draft:
        """The server's support message for this member, for the moderator to review.

        A saved template that no longer renders (an older version, a hand-edited database)
        never stops a moderator from sending support: Steward's default is used instead and
        `fallback` says so.
        """
        text, failed = render_or_default(
            self.settings.get(guild_id).care.support_template,
            tr(rules.DEFAULT_SUPPORT_TEMPLATE),
            {"member": f"<@{alert.member_id}>",
             "server": self.actions.guild_name(guild_id) or tr("our server"),
             "moderator": moderator_name}, limit=SUPPORT_MAX)
        return Draft(text, failed)

    async def support_draft(self, guild_id: int, alert_id: int, moderator_id: int,
                            moderator_name: str, language: str | None = None) -> Draft:
        """The text to pre-fill, after checking the message may still be sent; the default
        wording is in `language` (the member's, when the caller knows it)."""
        alert = await self.alert(guild_id, alert_id)
        self._may_send(alert, moderator_id)
        with speaking(language):
            draft = self.support_text(guild_id, alert, moderator_name)
        if draft.fallback:
            log.warning("saved care.support_template no longer renders in guild %s; "
                        "used the default", guild_id)
            await self.audit.record(guild_id, None, FALLBACK_ACTION, alert.member_id,
                                    {"setting": "care.support_template", "alert": alert.id})
        return draft

    async def send_support(self, guild_id: int, alert_id: int, moderator_id: int,
                           moderator_name: str, text: str,
                           language: str | None = None) -> SupportResult:
        """Send the reviewed support message by DM, once; it says which moderator sent it
        (in `language`, the member's when the caller knows it)."""
        body = text.strip()
        if not body:
            raise InvalidInput(tr("The message is empty, so I didn't send anything."))
        alert = await self.alert(guild_id, alert_id)
        self._may_send(alert, moderator_id)
        if not await self.repository.start_support(alert.id, moderator_id, self.clock.now()):
            self._may_send(await self.alert(guild_id, alert_id), moderator_id)
            raise AlreadyDecided(tr("Another moderator is sending the support message right now."))
        await self.repository.claim(alert.id, moderator_id, self.clock.now())
        with speaking(language):
            server = self.actions.guild_name(guild_id) or tr("the server")
            signed = (tr("{item}\n\n— sent by {moderator_name}, a moderator of {server}, "
                         "through Steward",
                         item=body[:SUPPORT_MAX], moderator_name=moderator_name, server=server))
        try:
            delivered = await self.actions.send_dm(alert.member_id, signed)
        except BaseException:
            await self.repository.release_support(alert.id)  # unknown failure: may try again
            raise
        await self.repository.finish_support(alert.id, SENT if delivered else DM_CLOSED)
        alert = await self.alert(guild_id, alert_id)
        await self.actions.edit_alert(alert)
        await self.audit.record(guild_id, moderator_id,
                                "care.support_sent" if delivered else "care.support_dm_closed",
                                alert.member_id, {"alert": alert.id, "jump": alert.link})
        return SupportResult(alert, delivered)

    # --- privacy ------------------------------------------------------------------------------

    async def forget_member(self, guild_id: int, member_id: int) -> int:
        """`/privacy forget`, before their rows go: blank the member's cards; returns how many.

        A do-not-tag mark goes with their rows; a hashed opt-out keeps Steward quiet."""
        if (self.marks is not None and self.opt_outs is not None
                and await self.marks.is_marked(guild_id, member_id)):
            await self.opt_outs.remember_opt_out(guild_id, member_id, DO_NOT_TAG_SCOPE)
        blanked = 0
        for alert in await self.repository.for_member(guild_id, member_id):
            if alert.card_message_id is not None:
                await self.actions.blank_alert(alert)
                blanked += 1
        return blanked

    async def purge_expired(self, now: datetime) -> int:
        """Delete alerts past the guild's link-hold retention (once their quiet window ends)."""
        removed = 0
        for guild_id in await self.repository.guild_ids():
            days = self.settings.get(guild_id).linkhold.retention_days
            removed += await self.repository.purge(guild_id, now - timedelta(days=days), now)
        return removed
