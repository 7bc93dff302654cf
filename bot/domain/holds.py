"""Who gets a link post held, and what they are told: pure rules over facts and an explicit `now`.

A member is *new* while any of the guild's policy conditions applies: joined less than
`hold_days` ago, fewer than `min_posts` accepted posts (when set), or an account younger than
`min_account_age_days` (when set). New members' links are held unless the member is exempt
(bots, the owner, Manage Messages, exempt roles, trusted members) or the channel is ignored.
Links on the allowlist pass, subdomains included (boundary-correct via `bot.domain.links`).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from bot.domain.links import Link, matches_domain
from bot.i18n import N_, tr, trn

Exemption = Literal["bot", "owner", "moderator", "exempt role", "trusted"]


class FastPathSettings(Protocol):
    """The four settings the established-member fast path reads (`LinkHoldSettings` has them)."""

    @property
    def enabled(self) -> bool: ...
    @property
    def hold_days(self) -> int: ...
    @property
    def min_posts(self) -> int: ...
    @property
    def min_account_age_days(self) -> int: ...


class HoldSettings(FastPathSettings, Protocol):
    """The link-hold settings a policy is made from (config.guild.LinkHoldSettings)."""

    @property
    def allowlist(self) -> Sequence[str]: ...
    @property
    def exempt_roles(self) -> Iterable[int]: ...
    @property
    def ignored_channels(self) -> Iterable[int]: ...
    @property
    def trusted_role(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the policy needs to know about the author of a post."""

    member_id: int
    joined_at: datetime | None
    account_created_at: datetime
    is_bot: bool = False
    is_owner: bool = False
    can_manage_messages: bool = False
    role_ids: frozenset[int] = frozenset()
    trusted: bool = False
    accepted_posts: int = 0


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    """One guild's link-hold rules."""

    enabled: bool = True
    hold_days: int = 3
    min_posts: int = 0
    min_account_age_days: int = 0
    allowlist: tuple[str, ...] = ()
    exempt_roles: frozenset[int] = frozenset()
    ignored_channels: frozenset[int] = frozenset()
    trusted_role: int | None = None  # given when a member passes the hold period

    @classmethod
    def from_settings(cls, settings: HoldSettings) -> HoldPolicy:
        """The policy described by a guild's link-hold settings."""
        return cls(
            enabled=settings.enabled,
            hold_days=settings.hold_days,
            min_posts=settings.min_posts,
            min_account_age_days=settings.min_account_age_days,
            allowlist=tuple(settings.allowlist),
            exempt_roles=frozenset(settings.exempt_roles),
            ignored_channels=frozenset(settings.ignored_channels),
            trusted_role=settings.trusted_role,
        )


def needs_check(settings: FastPathSettings, joined_at: datetime | None, now: datetime) -> bool:
    """False when a post can't be held: holds are off, or the author is established by their
    join date alone (no post-count or account-age condition set). Runs on every message, so it
    reads only cached settings and the join date that MESSAGE_CREATE carries."""
    if not settings.enabled:
        return False
    return (
        joined_at is None
        or bool(settings.min_posts)
        or bool(settings.min_account_age_days)
        or now - joined_at < timedelta(days=settings.hold_days)
    )


DISCORD_EPOCH_MS = 1420070400000


def snowflake_at(when: datetime, *, high: bool = False) -> int:
    """The lowest (or highest) Discord id that can be created at `when`."""
    ms = int(when.timestamp() * 1000 - DISCORD_EPOCH_MS)
    return (ms << 22) + ((1 << 22) - 1 if high else 0)


def rename_key(name: str, now: datetime) -> int:
    """A thread rename's stand-in message id: the moment, with the words in the low bits (the
    same rename seen twice gives the same key; two renames never share one)."""
    words = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    return snowflake_at(now) + (words & ((1 << 22) - 1))


def snowflake_time(snowflake: int) -> datetime:
    """When the Discord id `snowflake` was created (an account's creation time, say)."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def exemption(facts: MemberFacts, policy: HoldPolicy) -> Exemption | None:
    """Why this member is never held, or None when the policy applies to them."""
    if facts.is_bot:
        return "bot"
    if facts.is_owner:
        return "owner"
    if facts.can_manage_messages:
        return "moderator"
    if facts.role_ids & policy.exempt_roles:
        return "exempt role"
    if facts.trusted or (policy.trusted_role is not None
                         and policy.trusted_role in facts.role_ids):
        return "trusted"
    return None


def new_member_reasons(facts: MemberFacts, now: datetime, policy: HoldPolicy) -> list[str]:
    """The policy conditions that make this member "new" right now (empty: established)."""
    reasons: list[str] = []
    if facts.joined_at is None:
        reasons.append(tr("join date unknown"))
    elif now - facts.joined_at < timedelta(days=policy.hold_days):
        reasons.append(tr("joined less than {days} ago", days=_days(policy.hold_days)))
    if policy.min_posts > 0 and facts.accepted_posts < policy.min_posts:
        reasons.append(tr("{accepted_posts} of {min_posts} posts so far",
                          accepted_posts=facts.accepted_posts, min_posts=policy.min_posts))
    if policy.min_account_age_days > 0 and (
        now - facts.account_created_at < timedelta(days=policy.min_account_age_days)
    ):
        reasons.append(tr("Discord account younger than {days}",
                          days=_days(policy.min_account_age_days)))
    return reasons


def is_new_member(facts: MemberFacts, now: datetime, policy: HoldPolicy) -> bool:
    """True while any of the policy's "new member" conditions applies."""
    return bool(new_member_reasons(facts, now, policy))


def links_to_hold(links: Iterable[Link], allowlist: Sequence[str]) -> list[Link]:
    """The links whose host is not on the allowlist (subdomains of allowed sites pass).

    Matched on the host, not the registrable domain, so an allowed site on shared hosting
    (``mysite.blogspot.com``) passes without allowing the rest of the service.
    """
    return [
        link
        for link in links
        if not any(matches_domain(link.host or link.domain, a) for a in allowlist)
    ]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a post is held, and why."""

    held: bool
    links: tuple[Link, ...] = ()
    reasons: tuple[str, ...] = ()
    exempt: Exemption | None = None


PASS = Verdict(held=False)


def judge(
    facts: MemberFacts,
    links: Iterable[Link],
    channel_ids: Iterable[int],
    now: datetime,
    policy: HoldPolicy,
) -> Verdict:
    """Decide about a post with `links` in the channel (and its parents) `channel_ids`."""
    if not policy.enabled:
        return PASS
    if any(c in policy.ignored_channels for c in channel_ids):
        return PASS
    exempt = exemption(facts, policy)
    if exempt is not None:
        return Verdict(held=False, exempt=exempt)
    reasons = new_member_reasons(facts, now, policy)
    if not reasons:
        return PASS
    held_links = links_to_hold(links, policy.allowlist)
    if not held_links:
        return Verdict(held=False, reasons=tuple(reasons))
    return Verdict(held=True, links=tuple(held_links), reasons=tuple(reasons))


@dataclass(frozen=True, slots=True)
class Clearance:
    """When a member may post links: a time (None: already, as far as time goes) and posts."""

    at: datetime | None
    posts_needed: int = 0


def clearance(facts: MemberFacts, now: datetime, policy: HoldPolicy) -> Clearance:
    """When the time-based conditions end, and how many more accepted posts are needed."""
    moments: list[datetime] = []
    if facts.joined_at is not None:
        moments.append(facts.joined_at + timedelta(days=policy.hold_days))
    if policy.min_account_age_days > 0:
        moments.append(facts.account_created_at + timedelta(days=policy.min_account_age_days))
    latest = max(moments) if moments else None
    at = latest if latest is not None and latest > now else None
    needed = max(0, policy.min_posts - facts.accepted_posts) if policy.min_posts > 0 else 0
    return Clearance(at=at, posts_needed=needed)


def describe_wait(until: datetime | None, now: datetime) -> str:
    """A short phrase for how long until `until`: "in 2 days", "in 5 hours", "very soon"."""
    if until is None or until <= now:
        return tr("now")
    seconds = (until - now).total_seconds()
    if seconds < 3600:
        return tr("within the hour")
    if seconds < 86400:
        hours = math.ceil(seconds / 3600)
        return (trn("in about an hour", "in {hours} hours", hours, hours=hours) if hours > 1
                else tr("in about an hour"))
    days = math.ceil(seconds / 86400)
    return tr("tomorrow") if days == 1 else trn("in {days} day", "in {days} days", days, days=days)


def describe_clearance(c: Clearance, now: datetime) -> str:
    """When the member can post links, in plain words ("in 2 days", "after 3 more posts")."""
    parts = []
    if c.at is not None:
        parts.append(describe_wait(c.at, now))
    if c.posts_needed:
        parts.append(trn("after {count} more post here", "after {count} more posts here",
                         c.posts_needed, count=c.posts_needed))
    if not parts:
        return tr("soon")
    return tr(" and ").join(parts)


def _days(n: int) -> str:
    return trn("{count} day", "{count} days", n, count=n)


def duplicate_key(member_id: int, text: str) -> str:
    """A key equal for the same member posting the same words (case and spacing ignored)."""
    normalized = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    digest = hashlib.sha256(f"{member_id}\x00{normalized}".encode()).hexdigest()
    return digest[:32]


# --- What people are told -------------------------------------------------------------------

HELD_NAMES = frozenset({"member", "server", "channel", "when", "domains", "what", "expect",
                        "lasts"})

# What was held, in the member's terms, by the kind of hold ({what} in the templates).
HELD_WHAT: dict[str, str] = {
    "message": N_("post"),
    "edit": N_("edited post"),
    "forum_post": N_("post"),
    "forward": N_("forwarded message"),
    "poll": N_("poll"),
    "app_post": N_("message sent through an app"),
    "thread_name": N_("new thread's name"),
    "thread_rename": N_("thread's new title"),
    "automod": N_("post"),
}


def held_what(kind: str) -> str:
    """What was held, after "your" ("post", "new thread's name")."""
    return tr(HELD_WHAT.get(kind, HELD_WHAT["message"]))


THREAD_KINDS = frozenset({"thread_name", "thread_rename"})
HELD_LINK_MARK = N_("(link held)")
THREAD_NAME_LIMIT = 100


def without_links(name: str, link_texts: Iterable[str]) -> str:
    """A thread name with the held links cut out, for renaming the thread while it is held
    (never empty, at most Discord's 100 characters)."""
    out = name
    for text in sorted(set(link_texts), key=len, reverse=True):
        if text:
            out = out.replace(text, tr(HELD_LINK_MARK))
    out = " ".join(out.split()) or tr(HELD_LINK_MARK)
    if len(out) > THREAD_NAME_LIMIT:
        out = out[: THREAD_NAME_LIMIT - 1] + "…"
    return out

DEFAULT_HELD_DM = (
    N_("Hi {member}, thank you for posting in **{server}**. Your {what} in {channel} had a link in "
    "it, so I've held it for a moderator to look at.\n\n"
    "New members can't post links for their first few days. We do this to keep spammers out "
    "and keep the community safe; it isn't about you or what you wrote.\n\n"
    "You'll be able to post links yourself {when}. Until then {expect}. "
    "You don't need to do anything.")
)

# A post Discord's AutoMod blocked: the member already saw the block message (why), so the DM
# only says what happens next. Not configurable (`held_template` repeats the why).
DEFAULT_BLOCKED_DM = (
    N_("Hi {member}, about the post you tried to share in {channel} on **{server}**: I've saved "
    "its text for a moderator, who may post it for you. Pictures and files can't be kept with "
    "a blocked post, so please keep your own copies. You'll be able to post links yourself "
    "{when}. You don't need to do anything.")
)

DEFAULT_HELD_NOTICE = (
    N_("{member}, your {what} had a link, so I've held it for a moderator to review. New members "
    "can't post links for their first few days; you can post links yourself {when}. "
    "Until then {expect}. (This note disappears in {lasts}.)")
)

DEFAULT_APPROVED_NOTICE = (
    N_("Good news: a moderator approved your post and shared it for you in {channel}: {link}")
)

# The approval notice of a post that read as distress, or of a member in a care quiet window:
# a moderator decided to share it, so the member is told, plainly (no cheer, no server template).
PLAIN_APPROVED_NOTICE = N_("A moderator shared your post in {channel}: {link}")

# Why a held post's member got no automated notice (bot.services.care decides).
CARE_TOLD = frozenset({"care", "quiet"})

DEFAULT_REJECTED_DM = (
    N_("Hi {member}, a moderator looked at the post I held in **{server}** and decided not to "
    "share it.{reason}\n\nIf you have questions or think this was a mistake, {ask}")
)

# The channel notice (DMs closed) stays this long unless a server sets `notice_seconds`.
NOTICE_DELETE_AFTER = timedelta(minutes=2)

# Placeholders each configurable template may use (the approval notice is rendered by the
# repost service, which offers these names).
TEMPLATE_NAMES: dict[str, frozenset[str]] = {
    "held_template": HELD_NAMES,
    "notice_template": HELD_NAMES,
    "approved_template": frozenset({"member", "channel", "link"}),
    "rejected_template": frozenset({"member", "server", "reason", "ask"}),
}


def render_values(
    member_mention: str, server: str, channel: str, when: str, domains: Sequence[str],
    what: str = "post", *, eta: str | None = None, lasts: timedelta = NOTICE_DELETE_AFTER,
) -> dict[str, str]:
    """Values for the held-post templates (`eta`: see `decision_eta`)."""
    return {
        "expect": expect_phrase(eta),
        "lasts": describe_duration(lasts),
        "what": what,
        "member": member_mention,
        "server": server,
        "channel": channel,
        "when": when,
        "domains": ", ".join(dict.fromkeys(domains)),
    }


def code_span(text: str, limit: int = 200) -> str:
    """`text` as inline code that can't be clicked or break out (backticks replaced)."""
    cleaned = text.replace("`", "ˋ").replace("\n", " ")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return f"`{cleaned}`" if cleaned else "` `"


# --- When to expect a decision, and the way back after a rejection ---------------------------

ETA_SAMPLE = 20  # the most recent decisions the estimate looks at
ETA_WINDOW = timedelta(days=30)  # ... within this long
ETA_MINIMUM = 3  # fewer decisions than this: no estimate (the generic wording)
# Kind roundings: the estimate is always rounded *up* to the next of these.
_ETA_STEPS: tuple[tuple[timedelta, str], ...] = (
    (timedelta(minutes=15), N_("15 minutes")),
    (timedelta(minutes=30), N_("half an hour")),
    (timedelta(hours=1), N_("an hour")),
    (timedelta(hours=2), N_("2 hours")), (timedelta(hours=3), N_("3 hours")),
    (timedelta(hours=4), N_("4 hours")), (timedelta(hours=6), N_("6 hours")),
    (timedelta(hours=8), N_("8 hours")), (timedelta(hours=12), N_("12 hours")),
    (timedelta(days=1), N_("a day")),
    (timedelta(days=2), N_("2 days")),
    (timedelta(days=3), N_("3 days")),
    (timedelta(days=7), N_("a week")),
)


def decision_eta(waits: Sequence[timedelta], *, minimum: int = ETA_MINIMUM) -> str | None:
    """How long a decision usually takes here, from recent waits (held -> decided), as
    "usually within 3 hours"; None with fewer than `minimum` waits or when it takes longer
    than a week (a promise we couldn't keep helps nobody).

    The median resists one post forgotten over a weekend; rounding up to a kind step keeps
    the promise on the safe side.
    """
    known = sorted(w for w in waits if w >= timedelta(0))
    if len(known) < max(1, minimum):
        return None
    mid = len(known) // 2
    median = known[mid] if len(known) % 2 else (known[mid - 1] + known[mid]) / 2
    for step, words in _ETA_STEPS:
        if median <= step:
            return tr("usually within {words}", words=tr(words))
    return None


def expect_phrase(eta: str | None) -> str:
    """What happens until the member may post links ({expect} in the held-post templates)."""
    if eta is None:
        return tr("a moderator will review your post and may post it for you")
    return tr("a moderator will review your post ({eta} here) and may post it for you", eta=eta)


def describe_waited(span: timedelta) -> str:
    """How long something has waited, roughly: "an hour", "2 hours", "45 minutes"."""
    minutes = max(1, int(span.total_seconds() // 60))
    if minutes < 60:
        return tr("1 minute") if minutes == 1 else f"{minutes} minutes"
    hours = minutes // 60
    if hours < 48:
        return tr("an hour") if hours == 1 else f"{hours} hours"
    return f"{hours // 24} days"


def describe_duration(span: timedelta) -> str:
    """A short span in words: "2 minutes", "45 seconds", "1 minute"."""
    seconds = max(1, round(span.total_seconds()))
    if seconds % 60 == 0:
        minutes = seconds // 60
        return tr("1 minute") if minutes == 1 else f"{minutes} minutes"
    return tr("1 second") if seconds == 1 else f"{seconds} seconds"


def ask_phrase(contact_channel_id: int | None) -> str:
    """Where a member can ask about a rejected post ({ask} in the rejection DM)."""
    if contact_channel_id is None:
        return tr("you're welcome to message one of the moderators; they're happy to talk it over.")
    return (tr("you're welcome to ask the moderators in <#{contact_channel_id}>; they're happy to "
               "talk it over.", contact_channel_id=contact_channel_id))


WORDS_BACK_INTRO = N_("Here is what you wrote, so nothing is lost:")


def words_back(content: str | None, title: str | None = None, *, limit: int = 1900
               ) -> list[str]:
    """A rejected post's own words, for DMing back: code blocks of at most `limit` characters
    each (links stay unclickable; nothing is cut). Empty when there is nothing to return."""
    text = "\n".join(p for p in (title, content) if p and p.strip())
    if not text.strip():
        return []
    body = text.replace("```", "ˋˋˋ")
    room = limit - len("```\n\n```")
    chunks: list[str] = []
    while body:
        cut = len(body) if len(body) <= room else _break_at(body, room)
        chunks.append(f"```\n{body[:cut].rstrip(chr(10))}\n```")
        body = body[cut:]
    return chunks


def _break_at(text: str, room: int) -> int:
    """Where to cut `text` to at most `room` characters: after a line, else after a word, in
    the second half; else hard at `room`."""
    for sep in ("\n", " "):
        at = text.rfind(sep, room // 2, room)
        if at != -1:
            return at + 1
    return room
