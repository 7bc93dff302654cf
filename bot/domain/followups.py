"""Pure rules for follow-ups: who the original poster is, whether they answered, what is due.

No Discord and no storage here: callers turn messages and channels into the small facts below
and pass `now` explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain import templates
from bot.domain.text import quote
from bot.i18n import N_, tr

LATE_AFTER = timedelta(minutes=10)
QUESTION_QUOTE_LIMIT = 200
MAX_CHECKINS_PER_ASK = 1

ASK_PLACEHOLDERS = frozenset({"op", "asker", "question", "jump"})
CHECKIN_PLACEHOLDERS = frozenset({"op", "jump", "days"})

DEFAULT_ASK_TEMPLATE = (
    N_("Hi {op} 👋 {asker} asked you something here and I wanted to make sure you saw it:\n"
    "> {question}\n"
    "[Jump to the question]({jump})\n"
    "No pressure at all: answer whenever you feel up to it.")
)
DEFAULT_CHECKIN_TEMPLATE = (
    N_("Hi {op}, a gentle note in case the question from {days} days ago slipped by: "
    "[jump to the question]({jump}). Only if and when you feel up to it. "
    "This is the only reminder I'll send about it.")
)
REMINDER_TEXT = N_("Hi {member}, a note from {by}:\n> {note}")
REMINDER_TEXT_NO_NOTE = N_("Hi {member}, {by} asked me to bring you back to this conversation.")
LATE_NOTE = N_("\n-# Sorry this comes late: I was offline when it was due.")
AUTOCHECK_TEXT = (
    N_("Hi {op}, people replied to your post here. If you'd like to share how things are going, "
    "we'd love to hear, but only if you feel up to it. This is the only reminder I'll send.")
)


class CloseReason(StrEnum):
    """Why a follow-up or reminder stopped without (or after) firing."""

    ANSWERED = "answered"
    OP_LEFT = "op_left"
    THREAD_DELETED = "thread_deleted"
    LOCKED = "locked"
    OPTED_OUT = "opted_out"
    CANCELLED = "cancelled"
    NO_ACCESS = "no_access"
    EXPIRED = "expired"
    DO_NOT_TAG = "do_not_tag"


REASON_TEXT: Mapping[str, str] = {
    CloseReason.ANSWERED: N_("the original poster answered"),
    CloseReason.OP_LEFT: N_("the member has left the server"),
    CloseReason.THREAD_DELETED: N_("the thread or channel was deleted"),
    CloseReason.LOCKED: N_("the thread is locked"),
    CloseReason.OPTED_OUT: N_("the member asked not to get follow-up pings"),
    CloseReason.CANCELLED: N_("a moderator cancelled it"),
    CloseReason.NO_ACCESS: N_("I can no longer post there"),
    CloseReason.EXPIRED: N_("it was open for too long"),
    CloseReason.DO_NOT_TAG: N_("moderators asked me never to tag this member"),
}


# --- who is the original poster -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionFacts:
    """Where a question was asked, as far as finding the original poster goes."""

    in_thread: bool
    thread_owner_id: int | None
    replied_author_id: int | None
    # The thread owner (in a thread) or the replied-to author (elsewhere) is Steward or a webhook:
    # the post was published for a member, so the member comes from the repost records.
    candidate_is_app: bool
    reposted_member_id: int | None
    question_author_id: int | None


class NoOpReason(StrEnum):
    """Why no original poster could be found."""

    NO_REPLY = "no_reply"
    NO_OWNER = "no_owner"
    UNKNOWN_REPOST = "unknown_repost"
    SAME_PERSON = "same_person"


NO_OP_TEXT: Mapping[str, str] = {
    NoOpReason.NO_REPLY: (
        N_("That message isn't in a thread or forum post and doesn't reply to anyone, "
        "so I can't tell who the original poster is.")
    ),
    NoOpReason.NO_OWNER: N_("I couldn't tell who started this thread."),
    NoOpReason.UNKNOWN_REPOST: (
        N_("That post was published by a bot or webhook and I have no record of whose it is.")
    ),
    NoOpReason.SAME_PERSON: N_("That question was written by the original poster themselves."),
}


@dataclass(frozen=True, slots=True)
class OpFinding:
    """The original poster, or why there is none."""

    op_id: int | None
    reason: NoOpReason | None = None


def find_op(facts: QuestionFacts) -> OpFinding:
    """The OP: the thread owner, or in a plain channel the author the question replies to."""
    if facts.in_thread:
        candidate = facts.thread_owner_id
        missing = NoOpReason.NO_OWNER
    else:
        candidate = facts.replied_author_id
        missing = NoOpReason.NO_REPLY
    if candidate is None:
        return OpFinding(None, missing)
    if facts.candidate_is_app:
        if facts.reposted_member_id is None:
            return OpFinding(None, NoOpReason.UNKNOWN_REPOST)
        candidate = facts.reposted_member_id
    if facts.question_author_id is not None and candidate == facts.question_author_id:
        return OpFinding(None, NoOpReason.SAME_PERSON)
    return OpFinding(candidate)


# --- did the original poster answer ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Watch:
    """An open follow-up as far as recognising the answer goes."""

    op_id: int
    channel_id: int
    in_thread: bool
    tag_message_id: int
    question_message_id: int


@dataclass(frozen=True, slots=True)
class SeenMessage:
    """A message posted where a follow-up is watching."""

    message_id: int
    channel_id: int
    author_id: int
    reply_to_id: int | None = None


def is_answer(watch: Watch, message: SeenMessage) -> bool:
    """In a thread any OP message after the tag; elsewhere an OP reply to the tag or question."""
    if message.author_id != watch.op_id or message.channel_id != watch.channel_id:
        return False
    # Snowflakes grow with time, so "after the ask" is "a larger id than the tag".
    if message.message_id <= watch.tag_message_id:
        return False
    if watch.in_thread:
        return True
    return message.reply_to_id in (watch.tag_message_id, watch.question_message_id)


def first_answer(watch: Watch, messages: Iterable[SeenMessage]) -> SeenMessage | None:
    """The earliest message in `messages` that answers `watch`, if any."""
    answers = [m for m in messages if is_answer(watch, m)]
    return min(answers, key=lambda m: m.message_id) if answers else None


# --- when things are due --------------------------------------------------------------------


def checkin_due(asked_at: datetime, days: int) -> datetime:
    """When the one check-in of an ask falls due."""
    if days < 1:
        raise ValueError("days must be at least 1")
    return asked_at + timedelta(days=days)


def lateness(due_at: datetime, fired_at: datetime) -> timedelta:
    """How late a reminder fired (never negative)."""
    return max(timedelta(), fired_at - due_at)


def is_late(due_at: datetime, fired_at: datetime) -> bool:
    """More than ten minutes late: the message says so."""
    return lateness(due_at, fired_at) > LATE_AFTER


class Postpone(Exception):
    """Not now, on purpose (the member is in a care quiet window): deliver at `until`.

    Raised by a scheduler handler before it sends anything; the scheduler puts the item back
    to pending at `until` (not dropped; a moderator can still cancel or snooze it).
    """

    level = 20  # logged at INFO by the scheduler: expected, not a failure

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


def retry_delay(attempt: int) -> timedelta:
    """Backoff after a transient failure: 30 s, 1 min, 2 min, ... capped at 30 minutes."""
    attempt = max(1, attempt)
    return min(timedelta(seconds=30 * 2 ** (attempt - 1)), timedelta(minutes=30))


# --- deciding a check-in --------------------------------------------------------------------


class CheckinAction(StrEnum):
    """What to do when a check-in falls due."""

    SEND = "send"
    STAND_DOWN = "stand_down"  # the reason is a happy one (answered) or a wish (opted out)
    CLOSE = "close"  # the place or person is gone


@dataclass(frozen=True, slots=True)
class CheckinFacts:
    """What Discord and the database said just before a check-in."""

    still_open: bool
    opted_out: bool
    op_in_server: bool
    channel_exists: bool
    locked: bool
    archived: bool
    answered: bool


@dataclass(frozen=True, slots=True)
class CheckinPlan:
    """The decision for one due check-in."""

    action: CheckinAction
    reason: CloseReason | None = None
    reopen_archived: bool = False


def plan_checkin(facts: CheckinFacts) -> CheckinPlan:
    """Send once, or stand down/close with the reason; never post into a locked thread."""
    if not facts.still_open:
        return CheckinPlan(CheckinAction.STAND_DOWN, CloseReason.CANCELLED)
    if not facts.channel_exists:
        return CheckinPlan(CheckinAction.CLOSE, CloseReason.THREAD_DELETED)
    if facts.answered:
        return CheckinPlan(CheckinAction.STAND_DOWN, CloseReason.ANSWERED)
    if not facts.op_in_server:
        return CheckinPlan(CheckinAction.CLOSE, CloseReason.OP_LEFT)
    if facts.opted_out:
        return CheckinPlan(CheckinAction.STAND_DOWN, CloseReason.OPTED_OUT)
    if facts.locked:
        return CheckinPlan(CheckinAction.CLOSE, CloseReason.LOCKED)
    return CheckinPlan(CheckinAction.SEND, reopen_archived=facts.archived)


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """The decision for one due reminder or automatic check-in."""

    action: CheckinAction
    reason: str | None = None
    reopen_archived: bool = False


@dataclass(frozen=True, slots=True)
class ReminderFacts:
    """What the database and Discord said just before a moderator's scheduled tag.

    Facts asked for only when they can still matter (e.g. membership, once the place is known
    to exist) keep their harmless default.
    """

    opted_out: bool
    channel_exists: bool = True
    locked: bool = False
    archived: bool = False
    member_in_server: bool = True


def plan_reminder(facts: ReminderFacts) -> DeliveryPlan:
    """Send (a moderator asked for exactly this post, so an archived thread is reopened), unless
    the member opted out or the place or the member is gone; never into a locked thread."""
    if facts.opted_out:
        return DeliveryPlan(CheckinAction.STAND_DOWN, CloseReason.OPTED_OUT)
    if not facts.channel_exists:
        return DeliveryPlan(CheckinAction.CLOSE, CloseReason.THREAD_DELETED)
    if facts.locked:
        return DeliveryPlan(CheckinAction.CLOSE, CloseReason.LOCKED)
    if not facts.member_in_server:
        return DeliveryPlan(CheckinAction.CLOSE, CloseReason.OP_LEFT)
    return DeliveryPlan(CheckinAction.SEND, reopen_archived=facts.archived)


OP_POSTED = "op_posted"  # an automatic check-in stood down: the poster came back
NO_REPLIES = "no_replies"  # ...or nobody else replied, so there is nothing to point to


@dataclass(frozen=True, slots=True)
class AutocheckFacts:
    """A forum post when its automatic check-in falls due (defaults as for ReminderFacts)."""

    op_id: int
    channel_exists: bool = True
    locked: bool = False
    archived: bool = False
    reply_authors: tuple[int, ...] = ()  # after the starter, oldest first, bots left out
    opted_out: bool = False
    op_in_server: bool = True


def plan_autocheck(facts: AutocheckFacts) -> DeliveryPlan:
    """Check in once when others replied and the poster hasn't been back (see
    `autocheck_needed`); stand down or close otherwise, never into a locked thread."""
    if not facts.channel_exists:
        return DeliveryPlan(CheckinAction.CLOSE, CloseReason.THREAD_DELETED)
    if facts.locked:
        return DeliveryPlan(CheckinAction.CLOSE, CloseReason.LOCKED)
    if not autocheck_needed(facts.op_id, facts.reply_authors):
        reason = OP_POSTED if facts.op_id in facts.reply_authors else NO_REPLIES
        return DeliveryPlan(CheckinAction.STAND_DOWN, reason)
    if facts.opted_out:
        return DeliveryPlan(CheckinAction.STAND_DOWN, CloseReason.OPTED_OUT)
    if not facts.op_in_server:
        return DeliveryPlan(CheckinAction.CLOSE, CloseReason.OP_LEFT)
    return DeliveryPlan(CheckinAction.SEND, reopen_archived=facts.archived)


def autocheck_needed(op_id: int, authors: Sequence[int]) -> bool:
    """Others replied (authors after the starter, oldest first, bots left out) and the OP didn't.

    "Didn't" means the OP has not posted since the first reply from someone else.
    """
    for index, author in enumerate(authors):
        if author != op_id:
            return op_id not in authors[index + 1 :]
    return False


# --- wording --------------------------------------------------------------------------------


def mention(user_id: int) -> str:
    """A user mention (`<@id>`)."""
    return f"<@{user_id}>"


def render_ask(template: str | None, *, op_id: int, asker_id: int, question: str,
               jump: str) -> tuple[str, bool]:
    """The tag message: names the asker, quotes the question briefly, links to it.
    `(text, failed)`: a saved template that no longer renders gives way to the default."""
    shown = quote(question, QUESTION_QUOTE_LIMIT) if question.strip() else tr("(see the link)")
    return templates.render_or_default(template, tr(DEFAULT_ASK_TEMPLATE), {
        "op": mention(op_id), "asker": mention(asker_id), "question": shown, "jump": jump,
    })


def render_checkin(template: str | None, *, op_id: int, jump: str, days: int,
                   late: bool = False) -> tuple[str, bool]:
    """The one check-in after `days` without an answer; `(text, failed)` as `render_ask`."""
    text, failed = templates.render_or_default(template, tr(DEFAULT_CHECKIN_TEMPLATE), {
        "op": mention(op_id), "jump": jump, "days": str(days),
    })
    return text + (tr(LATE_NOTE) if late else ""), failed


def render_reminder(*, member_id: int, by_id: int, note: str | None, late: bool = False) -> str:
    """A moderator's scheduled tag of one member."""
    if note and note.strip():
        text = templates.render(tr(REMINDER_TEXT), {
            "member": mention(member_id), "by": mention(by_id),
            "note": quote(note, 1500),
        })
    else:
        text = templates.render(tr(REMINDER_TEXT_NO_NOTE), {
            "member": mention(member_id), "by": mention(by_id),
        })
    return text + (tr(LATE_NOTE) if late else "")


def render_autocheck(*, op_id: int, late: bool = False) -> str:
    """The one automatic check-in on a forum post."""
    return tr(AUTOCHECK_TEXT, op=mention(op_id)) + (tr(LATE_NOTE) if late else "")


def render_answered(*, subscriber_ids: Sequence[int], op_id: int, jump: str) -> str:
    """The one notice to subscribers that the OP replied."""
    who = " ".join(mention(s) for s in subscriber_ids)
    lead = f"{who}: " if who else ""
    return tr("{lead}{mention} replied to the question you were following: {jump}",
              lead=lead, mention=mention(op_id), jump=jump)


def render_answered_dm(*, op_id: int, jump: str) -> str:
    """The DM version of the notice, for subscribers who prefer DMs."""
    return tr("{mention} replied to the question you were following: {jump}",
              mention=mention(op_id), jump=jump)


# --- links ----------------------------------------------------------------------------------

_LINK = re.compile(
    r"https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/"
    r"(?P<guild>\d{15,21})/(?P<channel>\d{15,21})/(?P<message>\d{15,21})/?"
)


@dataclass(frozen=True, slots=True)
class MessageLink:
    """The ids in a message link."""

    guild_id: int
    channel_id: int
    message_id: int


def parse_message_link(text: str) -> MessageLink | None:
    """The ids of a `https://discord.com/channels/g/c/m` link (ptb/canary too), or None."""
    match = _LINK.fullmatch(text.strip().strip("<>"))
    if match is None:
        return None
    return MessageLink(int(match["guild"]), int(match["channel"]), int(match["message"]))


def jump_link(guild_id: int, channel_id: int, message_id: int) -> str:
    """A link that opens a message."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
