"""Link holds, review: moderators' decisions (approve once, reject, timeout/ban), trust, and
members who leave or ask to be forgotten."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot import failpoints
from bot.db.holds import CLOSED_LEFT, Hold
from bot.domain import holds as rules
from bot.domain.authority import Standing, may_punish
from bot.domain.text import MESSAGE_LIMIT
from bot.errors import AlreadyDecided, BotMissingPermissions, NotFound, NotModerator
from bot.i18n import N_, speaking, tr
from bot.services.linkhold_core import HoldCore
from bot.services.linkhold_ports import (
    Action,
    FileToPublish,
    Published,
    PublishRequest,
    Someone,
    queue_url,
)

log = logging.getLogger(__name__)

TIMEOUT_DURATION = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a moderator's decision, for the reply."""

    hold: Hold
    repost: Published | None = None
    member_told: bool | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """Whether a member's links are held, until when, and why (for `/linkhold status`)."""

    member_id: int
    held: bool
    exempt: str | None
    reasons: tuple[str, ...]
    clearance: str
    history: dict[str, int]


class HoldReview(HoldCore):
    """Decisions on held posts, trust, and members who leave."""

    async def _hold_for(self, guild_id: int, hold_id: int) -> Hold:
        hold = await self.holds.get(hold_id)
        if hold is None or hold.guild_id != guild_id:
            raise NotFound(tr("I couldn't find that held post."))
        return hold

    async def already_decided(self, hold_id: int) -> AlreadyDecided:
        """The error to show when someone else decided this hold first."""
        hold = await self.holds.get(hold_id)
        if hold is None:
            return AlreadyDecided()
        if hold.status == CLOSED_LEFT:
            return AlreadyDecided(tr("<@{member_id}> left the server, so this held post was "
                                     "closed. There's nothing to approve or reject.",
                                     member_id=hold.member_id))
        by = f"<@{hold.decided_by}>" if hold.decided_by else tr("another moderator")
        said = {"approving": tr("{by} is approving this post.", by=by),
                "approved": tr("{by} already approved this post.", by=by),
                "rejected": tr("{by} already rejected this post.", by=by)}
        return AlreadyDecided(said.get(hold.status, tr("{by} already handled this post.", by=by)))

    async def get_for_review(self, guild_id: int, hold_id: int) -> Hold:
        """A hold for showing to a moderator (full text, edit modal)."""
        return await self._hold_for(guild_id, hold_id)

    async def pending_for_review(self, guild_id: int, hold_id: int) -> Hold:
        """A hold a moderator is about to decide (AlreadyDecided when it isn't pending)."""
        hold = await self._hold_for(guild_id, hold_id)
        if hold.status != "pending":
            raise await self.already_decided(hold.id)
        return hold

    async def approve(
        self,
        guild_id: int,
        hold_id: int,
        moderator_id: int,
        *,
        content: str | None = None,
        trust: bool = False,
        title: str | None = None,
    ) -> Decision:
        """Publish a held post through the publisher, exactly once. `title`: the forum post
        title the moderator gave (a blocked forum post's is unknown; None: the neutral one)."""
        hold = await self._hold_for(guild_id, hold_id)
        decision = "trust" if trust else ("edit" if content is not None else "approve")
        if not await self.holds.begin_approval(hold_id, moderator_id, decision,
                                               self._clock.now()):
            raise await self.already_decided(hold_id)
        failpoints.hit("hold.approving")
        files = await self.holds.attachments(hold_id)
        text = hold.content or "" if content is None else content
        settings = self.settings(guild_id)
        forum = (hold.is_forum_post or hold.title_unknown) and hold.parent_id is not None
        with speaking(self._actions.member_language(guild_id, hold.member_id)):  # they read it
            notice = (tr(rules.PLAIN_APPROVED_NOTICE) if hold.member_told in rules.CARE_TOLD
                      else settings.approved_template or tr(rules.DEFAULT_APPROVED_NOTICE))
        request = PublishRequest(
            guild_id=guild_id,
            member_id=hold.member_id,
            content=text,
            destination_id=hold.parent_id if forum and hold.parent_id else hold.channel_id,
            moderator_id=moderator_id,
            reason=tr("approved held post #{id}", id=hold.id),
            source=f"hold:{hold.id}",
            attachments=tuple(FileToPublish(f.filename, f.data, f.content_type)
                              for f in files if f.data is not None),
            not_kept=tuple(f.filename for f in files if f.data is None),
            reply_to_url=hold.reply_to_url,
            notice=notice,
            forum_title=(title or hold.forum_title) if forum else None,
            forum_tag_ids=hold.forum_tag_ids if forum else (),
        )
        try:
            result = await self._publish(request)
        except BaseException:
            await self.holds.abort_approval(hold_id)
            raise
        await self.holds.finish_approval(hold_id, result.jump_url, self._clock.now())
        await self._count_decision(hold, "approved")
        if trust:  # one mod-log entry for the decision: "approved, member trusted"
            await self.trust(guild_id, hold.member_id, moderator_id, post=False)
        elif settings.min_posts:
            await self.count_post(guild_id, hold.member_id)
        told = {"dm": tr("by DM"), "channel": tr("in the channel (DMs closed)")}.get(
            result.member_notified, "no")
        await self._audit.record(
            guild_id, moderator_id, "hold.trusted_and_approved" if trust else "hold.approved",
            hold.member_id, {"hold": hold.id, "edited": content is not None,
                             "member_told": told, "result": result.jump_url},
        )
        done = await self.holds.get(hold_id)
        assert done is not None
        await self.refresh_card(done)
        return Decision(hold=done, repost=result)

    async def reject(
        self,
        guild_id: int,
        hold_id: int,
        moderator_id: int,
        *,
        reason: str | None = None,
        tell_member: bool = True,
        decision: str = "reject",
    ) -> Decision:
        """Reject a held post. Unless the moderator unticked it, the member is told kindly by
        DM (with the reason and where to ask) and gets their own words back."""
        hold = await self._hold_for(guild_id, hold_id)
        reason = (reason or "").strip() or None
        if not await self.holds.reject(hold_id, moderator_id, decision, reason,
                                       self._clock.now()):
            raise await self.already_decided(hold_id)
        await self._count_decision(hold, "rejected")
        told: bool | None = None
        if tell_member:
            told = await self._tell_rejected(hold, reason)
        action = "hold.rejected" if decision == "reject" else f"hold.rejected.{decision}"
        await self._audit.record(
            guild_id, moderator_id, action, hold.member_id,
            {"hold": hold.id, "member_told": told},
        )
        done = await self.holds.get(hold_id)
        assert done is not None
        await self.refresh_card(done)
        return Decision(hold=done, member_told=told)

    async def _tell_rejected(self, hold: Hold, reason: str | None) -> bool:
        server = self._actions.guild_name(hold.guild_id)
        someone = await self._actions.member(hold.guild_id, hold.member_id)
        if server is None or someone is None or someone.display_name is None:
            return False
        settings = self.settings(hold.guild_id)
        with speaking(self._actions.member_language(hold.guild_id, hold.member_id)):
            note = tr("\n\nThe moderator's note: {reason}", reason=reason) if reason else ""
            values = {"member": someone.display_name, "server": server, "reason": note,
                      "ask": rules.ask_phrase(settings.contact_channel)}
            default, intro = tr(rules.DEFAULT_REJECTED_DM), tr(rules.WORDS_BACK_INTRO)
        text = await self.render_saved(hold, "linkhold.rejected_template",
                                       settings.rejected_template, default, values)
        words = rules.words_back(hold.content, hold.forum_title)
        messages = [text]
        if words:
            first = f"{text}\n\n{intro}\n{words[0]}"
            messages = ([first, *words[1:]] if len(first) <= MESSAGE_LIMIT
                        else [text, intro + "\n" + words[0], *words[1:]])
        if not await self._actions.send_dm(hold.member_id, messages[0]):
            log.info("could not DM member %s about rejected hold %s", hold.member_id, hold.id)
            return False
        for more in messages[1:]:
            if not await self._actions.send_dm(hold.member_id, more):
                log.info("could not DM member %s the rest of rejected hold %s",
                         hold.member_id, hold.id)
                break
        return True

    async def punish(
        self,
        guild_id: int,
        hold_id: int,
        moderator_id: int,
        action: Action,
        *,
        moderator_may: bool,
        steward_may: bool,
        standing: Standing | None = None,
    ) -> Decision:
        """Reject a scam post and time out or ban its author.

        `moderator_may`/`steward_may`: whether the moderator and Steward hold Timeout Members
        (or Ban Members) in this server; both are needed. `standing`: the role hierarchy
        (Discord's rule: both must rank above the target, the owner is immune).
        """
        hold = await self._hold_for(guild_id, hold_id)
        what = tr("Timeout Members") if action == "timeout" else tr("Ban Members")
        if not moderator_may:
            raise NotModerator(tr("You need the {what} permission to do that.", what=what))
        if not steward_may:
            raise BotMissingPermissions(tr("I need the {what} permission for that.", what=what))
        if standing is not None and (refusal := may_punish(action, standing)) is not None:
            if refusal.blocked_by == "steward":
                raise BotMissingPermissions(refusal.message)
            raise NotModerator(refusal.message)
        # A scam's author gets no kind note and no copy of the scam back.
        result = await self.reject(guild_id, hold_id, moderator_id, decision=action,
                                   tell_member=False)
        reason = tr("Steward: scam link post (hold #{id}), by moderator {moderator_id}",
                    id=hold.id, moderator_id=moderator_id)
        outcome = await self._actions.punish(guild_id, hold.member_id, action,
                                             self._clock.now() + TIMEOUT_DURATION, reason)
        note = None
        if outcome == "left":
            note = tr("They already left the server, so I couldn't time them out.")
        elif outcome == "forbidden":
            note = (tr("The post is rejected, but Discord didn't let me time them out (their "
                       "role may be above mine).") if action == "timeout" else
                    tr("The post is rejected, but Discord didn't let me ban them (their role may "
                       "be above mine)."))
        elif isinstance(outcome, int):
            note = (tr("The post is rejected, but the timeout failed ({outcome}).",
                       outcome=outcome) if action == "timeout" else
                    tr("The post is rejected, but the ban failed ({outcome}).", outcome=outcome))
        else:
            await self._audit.record(guild_id, moderator_id, f"member.{action}",
                                     hold.member_id, {"hold": hold.id})
        return Decision(hold=result.hold, note=note)

    # --- trust --------------------------------------------------------------------------------

    def is_trusted(self, guild_id: int, member_id: int) -> bool:
        """True when a moderator trusted this member here."""
        return (guild_id, member_id) in self._trusted

    async def trust(self, guild_id: int, member_id: int, by: int | None, *,
                    post: bool = True) -> bool:
        """Never hold this member's links again here; False if already trusted."""
        self._trusted.add((guild_id, member_id))
        added = await self._repos.trust.trust(guild_id, member_id, by, self._clock.now())
        if added:
            await self._audit.record(guild_id, by, "member.trusted", member_id, post=post)
        if self.trust_hooks is not None:
            await self.trust_hooks.trusted(guild_id, member_id, by)
        return added

    async def untrust(self, guild_id: int, member_id: int, by: int | None) -> bool:
        """Apply the policy to this member again; False if they weren't trusted."""
        self._trusted.discard((guild_id, member_id))
        removed = await self._repos.trust.untrust(guild_id, member_id)
        if removed:
            await self._audit.record(guild_id, by, "member.untrusted", member_id)
        if self.trust_hooks is not None and by is not None:  # not when forgetting them
            await self.trust_hooks.untrusted(guild_id, member_id, by)
        return removed

    async def status(self, guild_id: int, someone: Someone) -> MemberStatus:
        """Is this member held, until when, and why."""
        settings = self.settings(guild_id)
        policy = rules.HoldPolicy.from_settings(settings)
        facts = self._known(guild_id, someone.facts)
        now = self._clock.now()
        exempt = rules.exemption(facts, policy)
        reasons = tuple(rules.new_member_reasons(facts, now, policy))
        held = settings.enabled and exempt is None and bool(reasons)
        when = rules.describe_clearance(rules.clearance(facts, now, policy), now)
        history = await self.holds.member_history(guild_id, facts.member_id)
        return MemberStatus(facts.member_id, held, exempt, reasons, when, history)

    # --- members who leave, members forgotten --------------------------------------------------

    async def member_left(self, guild_id: int, member_id: int) -> list[Hold]:
        """Close a departed member's pending holds; their content is purged after retention."""
        closed = await self.holds.close_for_member(guild_id, member_id, self._clock.now())
        for hold in closed:
            log.info("closed hold %s: member %s left guild %s", hold.id, member_id, guild_id)
            await self._count_decision(hold, "member_left")
            await self._audit.record(
                guild_id, None, "hold.closed_member_left", member_id,
                {"hold": hold.id, "reason": N_("the member left the server"),
                 "queue": queue_url(guild_id, hold.queue_channel_id,
                                    hold.queue_message_id)},
            )
            current = await self.holds.get(hold.id)
            if current is not None:
                await self.refresh_card(current)
        return closed

    async def forget_member(self, guild_id: int, member_id: int) -> None:
        """Before `/privacy forget` deletes the rows: drop the member from memory and blank
        their queue cards (the cards show what they wrote)."""
        await self.untrust(guild_id, member_id, None)
        self._counts.pop((guild_id, member_id), None)
        for hold in await self.holds.with_cards(guild_id, member_id):
            await self._actions.blank_card(hold)
        self._background.spawn(self.refresh_pending_gauge(), name="linkhold-gauge")

