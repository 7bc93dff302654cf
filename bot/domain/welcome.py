"""Welcome rules: templates, keyword matching, safe group roles, join bursts, paging.

Pure: no Discord objects, no database, no clock reads. Callers pass small facts and `now`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import templates
from bot.domain.text import truncate
from bot.i18n import N_, tr, trn

# --- templates ---------------------------------------------------------------------------------

PLACEHOLDERS = frozenset(
    {"member", "member_name", "server", "member_count", "groups", "rules", "link_days"}
)
# A burst welcome greets several people at once: `{members}` is their mentions.
BURST_PLACEHOLDERS = frozenset(
    {"members", "count", "server", "member_count", "groups", "rules", "link_days"}
)

MAX_BURST_MENTIONS = 20
GROUP_NAME_LIMIT = 80
GROUP_DESCRIPTION_LIMIT = 100  # a select option's description
MAX_KEYWORDS = 25
KEYWORD_LIMIT = 40
SELECT_OPTIONS = 25
SELECTS_PER_PAGE = 4  # the fifth action row holds the page and save buttons

DEFAULT_TEMPLATE = (
    N_("Welcome to {server}, {member}! We're really glad you found us.\n"
    "Please take a minute to read {rules}.{link_note}\n"
    "{groups_line}"
    "Tap **Find your support group** below to find people who understand.")
)
DEFAULT_BURST_TEMPLATE = (
    N_("A warm welcome to everyone who just joined {server}: {members}!\n"
    "Please take a minute to read {rules}.{link_note}\n"
    "Tap **Find your support group** below to find people who understand.")
)


def _link_note(link_days: int | None) -> str:
    if not link_days:
        return ""
    return trn(" For your first {link_days} day, a moderator looks at links before they show, to "
               "keep "
               "everyone safe.",
               " For your first {link_days} days, a moderator looks at links before they show, "
               "to keep everyone safe.", link_days, link_days=link_days)


def default_template(*, link_days: int | None, has_groups: bool) -> str:
    """The default single-member welcome, adapted to link holds and whether groups exist."""
    groups_line = tr("Our support groups: {groups}\n") if has_groups else ""
    return (tr(DEFAULT_TEMPLATE).replace("{link_note}", _link_note(link_days))
            .replace("{groups_line}", groups_line))


def default_burst_template(*, link_days: int | None) -> str:
    """The default welcome for a join burst."""
    return tr(DEFAULT_BURST_TEMPLATE).replace("{link_note}", _link_note(link_days))


def validate_template(template: str, *, burst: bool = False) -> None:
    """Raise TemplateError unless `template` uses only the welcome placeholders."""
    templates.validate(template, BURST_PLACEHOLDERS if burst else PLACEHOLDERS)


@dataclass(frozen=True, slots=True)
class WelcomeValues:
    """What a welcome can say about the server, shared by single and burst welcomes."""

    server: str
    member_count: int
    groups: str
    rules: str
    link_days: int | None


def member_values(values: WelcomeValues, member_mention: str, member_name: str) -> dict[str, str]:
    """Placeholder values for one member's welcome."""
    return {
        "member": member_mention,
        "member_name": member_name,
        **_shared(values),
    }


def burst_values(values: WelcomeValues, mentions: Sequence[str]) -> dict[str, str]:
    """Placeholder values for a burst welcome greeting `mentions`."""
    return {"members": ", ".join(mentions), "count": str(len(mentions)), **_shared(values)}


def _shared(values: WelcomeValues) -> dict[str, str]:
    return {
        "server": values.server,
        "member_count": str(values.member_count),
        "groups": values.groups,
        "rules": values.rules,
        "link_days": str(values.link_days or 0),
    }


def render_welcome(template: str, values: Mapping[str, str]) -> str:
    """A welcome rendered safely (names only, mass mentions defused, capped)."""
    return templates.render(template, values)


# --- groups and keywords -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """What the rules need to know about a support group."""

    id: int
    name: str
    channel_id: int
    description: str = ""
    keywords: tuple[str, ...] = ()
    role_id: int | None = None


def clean_group_name(name: str) -> str:
    """A group name trimmed of extra whitespace; ValueError if empty or too long."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("a group needs a name")
    if len(cleaned) > GROUP_NAME_LIMIT:
        raise ValueError(f"a group name can be at most {GROUP_NAME_LIMIT} characters")
    return cleaned


def clean_description(description: str) -> str:
    """A one-line description, capped to what a select option can show."""
    return truncate(" ".join(description.split()), GROUP_DESCRIPTION_LIMIT)


_WORD = re.compile(r"\w+")


def parse_keywords(text: str) -> tuple[str, ...]:
    """Comma-separated keywords, lower-cased and de-duplicated; ValueError when unusable."""
    found: list[str] = []
    for raw in text.split(","):
        words = _WORD.findall(raw.lower())
        if not words:
            continue
        keyword = " ".join(words)
        if len(keyword) > KEYWORD_LIMIT:
            raise ValueError(f"the keyword {truncate(keyword, 30)!r} is longer than "
                             f"{KEYWORD_LIMIT} characters")
        if len(keyword) < 2:
            raise ValueError(f"the keyword {keyword!r} is too short to match reliably")
        if keyword not in found:
            found.append(keyword)
    if len(found) > MAX_KEYWORDS:
        raise ValueError(f"a group can have at most {MAX_KEYWORDS} keywords")
    return tuple(found)


def word_forms(word: str) -> frozenset[str]:
    """A word and the singulars it may be the plural of ("colons" -> colon; "ostomies" -> ostomy).

    Two words match when their forms overlap, so singular and plural meet in either direction
    while "colon" never reaches "colonoscopy".
    """
    forms = {word}
    if len(word) > 3 and word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if len(word) > 3 and word.endswith("es"):
        forms.add(word[:-2])
    if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    return frozenset(forms)


@dataclass(frozen=True, slots=True)
class _Phrase:
    rest: tuple[frozenset[str], ...]
    group_id: int


class KeywordMatcher:
    """All of a guild's group keywords, compiled once; `match(text)` names the groups hit."""

    def __init__(self, groups: Iterable[GroupFacts]) -> None:
        self._single: dict[str, list[int]] = {}
        self._phrases: dict[str, list[_Phrase]] = {}
        self._order: dict[int, int] = {}
        for index, group in enumerate(groups):
            self._order[group.id] = index
            for keyword in group.keywords:
                words = keyword.split()
                if not words:
                    continue
                first = word_forms(words[0])
                if len(words) == 1:
                    for form in first:
                        self._single.setdefault(form, []).append(group.id)
                else:
                    phrase = _Phrase(tuple(word_forms(w) for w in words[1:]), group.id)
                    for form in first:
                        self._phrases.setdefault(form, []).append(phrase)

    def __bool__(self) -> bool:
        return bool(self._single or self._phrases)

    def match(self, text: str) -> list[int]:
        """Ids of the groups whose keywords occur in `text` as whole words, in directory order."""
        if not self:
            return []
        words = _WORD.findall(text.lower())
        hits: set[int] = set()
        for i, word in enumerate(words):
            for form in word_forms(word):
                hits.update(self._single.get(form, ()))
                for phrase in self._phrases.get(form, ()):
                    if phrase.group_id in hits:
                        continue
                    following = words[i + 1 : i + 1 + len(phrase.rest)]
                    if len(following) == len(phrase.rest) and all(
                        word_forms(w) & wanted for w, wanted in zip(following, phrase.rest,
                                                                    strict=True)
                    ):
                        hits.add(phrase.group_id)
        return sorted(hits, key=lambda gid: self._order[gid])


def suggestion_text(group: GroupFacts) -> str:
    """The short, friendly pointer to a group."""
    return (tr("Interested in more discussions like this? The **{name}** group meets in "
               "<#{channel_id}>.", name=group.name, channel_id=group.channel_id))


def directory_lines(groups: Sequence[GroupFacts], *, limit: int = 900) -> str:
    """The `{groups}` value: channel links, shortened to fit in a welcome."""
    if not groups:
        return tr("(none yet)")
    parts: list[str] = []
    used = 0
    for index, group in enumerate(groups):
        part = f"<#{group.channel_id}>"
        if used + len(part) + 2 > limit:
            parts.append(tr("and {value} more", value=len(groups) - index))
            break
        parts.append(part)
        used += len(part) + 2
    return ", ".join(parts)


# --- group roles -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleFacts:
    """What decides whether members may safely be given a role."""

    id: int
    position: int
    permissions: int
    managed: bool = False
    is_default: bool = False


def group_role_problem(
    role: RoleFacts,
    *,
    bot_top_position: int,
    actor_top_position: int,
    actor_is_owner: bool,
) -> str | None:
    """Why `role` must not be a self-assigned group role, or None when it is safe."""
    if role.is_default:
        return tr("@everyone can't be a group role.")
    if role.managed:
        return tr("that role is managed by an integration or bot, so nobody can be given it.")
    if role.permissions != 0:
        return (tr("that role grants permissions. A group role must have no permissions at all, "
                "so nobody gains any by picking a group."))
    if role.position >= bot_top_position:
        return tr("that role is not below my highest role, so I couldn't give it to anyone.")
    if not actor_is_owner and role.position >= actor_top_position:
        return tr("that role is not below your highest role.")
    return None


@dataclass(frozen=True, slots=True)
class RolePlan:
    """Role ids to give and take away after a member's picker choice."""

    add: tuple[int, ...]
    remove: tuple[int, ...]


def plan_roles(
    groups: Sequence[GroupFacts], chosen: Iterable[int], current_roles: Iterable[int],
    shown: Iterable[int] | None = None,
) -> RolePlan:
    """Give roles of chosen groups, remove roles of shown-but-unchosen groups."""
    chosen_ids, have = set(chosen), set(current_roles)
    shown_ids = set(shown) if shown is not None else {g.id for g in groups}
    add: list[int] = []
    remove: list[int] = []
    for group in groups:
        if group.role_id is None or group.id not in shown_ids:
            continue
        if group.id in chosen_ids and group.role_id not in have and group.role_id not in add:
            add.append(group.role_id)
        elif group.id not in chosen_ids and group.role_id in have and group.role_id not in remove:
            remove.append(group.role_id)
    # A role shared by two groups stays if either is chosen.
    remove = [r for r in remove if r not in add and not any(
        g.role_id == r and g.id in chosen_ids for g in groups)]
    return RolePlan(tuple(add), tuple(remove))


def groups_with_roles(groups: Sequence[GroupFacts], role_ids: Iterable[int]) -> list[GroupFacts]:
    """The groups whose role the member already has (their known interests)."""
    have = set(role_ids)
    return [g for g in groups if g.role_id is not None and g.role_id in have]


def interest_lines(groups: Sequence[GroupFacts]) -> list[str]:
    """"You picked X: the group meets in #channel." for each of a member's groups."""
    return [tr("You picked **{name}**: the group meets in <#{channel_id}>.",
               name=g.name, channel_id=g.channel_id) for g in groups]


# --- picker paging -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PickerPage:
    """One page of the picker: up to four select menus of up to 25 groups."""

    index: int
    count: int
    menus: tuple[tuple[GroupFacts, ...], ...]


def page_count(total: int, *, per_menu: int = SELECT_OPTIONS,
               menus: int = SELECTS_PER_PAGE) -> int:
    """How many pages `total` groups need (at least one)."""
    per_page = per_menu * menus
    return max(1, -(-total // per_page))


def picker_page(groups: Sequence[GroupFacts], index: int, *, per_menu: int = SELECT_OPTIONS,
                menus: int = SELECTS_PER_PAGE) -> PickerPage:
    """Page `index` (clamped) of the picker."""
    count = page_count(len(groups), per_menu=per_menu, menus=menus)
    index = min(max(index, 0), count - 1)
    per_page = per_menu * menus
    chunk = groups[index * per_page : (index + 1) * per_page]
    menu_groups = tuple(
        tuple(chunk[i : i + per_menu]) for i in range(0, len(chunk), per_menu)
    )
    return PickerPage(index, count, menu_groups)


# --- joins: screening, rejoin, bursts ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinFacts:
    """A join as the welcome rules see it."""

    is_bot: bool
    pending: bool
    did_rejoin: bool
    welcomed_before: bool
    onboarding_started: bool = False
    onboarding_completed: bool = False


def join_action(facts: JoinFacts, *, enabled: bool) -> str:
    """"ignore", "skip_rejoin", "wait" (screening/onboarding) or "greet"."""
    if facts.is_bot or not enabled:
        return "ignore"
    if facts.did_rejoin or facts.welcomed_before:
        return "skip_rejoin"
    if facts.pending or (facts.onboarding_started and not facts.onboarding_completed):
        return "wait"
    return "greet"


def screening_done(*, was_pending: bool, pending: bool, onboarding_before: bool,
                   onboarding_now: bool) -> bool:
    """True when a member update completes Rules Screening or Onboarding."""
    return (was_pending and not pending) or (onboarding_now and not onboarding_before)


def screening_deadline(joined: datetime, timeout_minutes: int) -> datetime:
    """When a member still in screening is greeted anyway."""
    return joined + timedelta(minutes=timeout_minutes)


@dataclass(frozen=True, slots=True)
class BurstDecision:
    """Greet now, or add to the batch that is flushed at `flush_at`."""

    now: bool
    flush_at: datetime | None = None


@dataclass(slots=True)
class BurstTracker:
    """Per-guild join pacing: lone joins greeted at once, bursts coalesced per window.

    Up to `threshold` joins within a sliding `window` are greeted one by one. The next join
    opens a batch that collects everyone until the window after it ends; while joins keep
    coming faster than the threshold, each new window gets a new batch.
    """

    threshold: int
    window: timedelta
    _recent: deque[datetime] = field(default_factory=deque)
    _batch_until: datetime | None = None

    def record(self, now: datetime) -> BurstDecision:
        """Account for one ready-to-greet join at `now`."""
        while self._recent and self._recent[0] <= now - self.window:
            self._recent.popleft()
        self._recent.append(now)
        if self._batch_until is not None and now < self._batch_until:
            return BurstDecision(False, self._batch_until)
        if len(self._recent) <= self.threshold:
            self._batch_until = None
            return BurstDecision(True)
        self._batch_until = now + self.window
        return BurstDecision(False, self._batch_until)

    def reconfigure(self, threshold: int, window: timedelta) -> None:
        """Adopt changed settings without forgetting recent joins."""
        self.threshold, self.window = threshold, window


def chunk_mentions(member_ids: Sequence[int],
                   size: int = MAX_BURST_MENTIONS) -> list[tuple[int, ...]]:
    """Members split into messages of at most `size` mentions."""
    return [tuple(member_ids[i : i + size]) for i in range(0, len(member_ids), size)]


# --- catching up on joins missed while Steward was offline

CATCHUP_MAX_AGE = timedelta(hours=24)
CATCHUP_MAX_MEMBERS = 50


@dataclass(frozen=True, slots=True)
class CatchupPlan:
    """Who to welcome after downtime (oldest join first) and how many are left ungreeted."""

    greet: tuple[int, ...]
    too_old: int
    over_cap: int

    @property
    def not_greeted(self) -> int:
        """Members missed while offline that the catch-up leaves to /welcome resend."""
        return self.too_old + self.over_cap


def plan_catchup(joins: Iterable[tuple[int, datetime]], *, last_seen: datetime | None,
                 now: datetime, max_age: timedelta = CATCHUP_MAX_AGE,
                 max_members: int = CATCHUP_MAX_MEMBERS) -> CatchupPlan:
    """Pick the joins to greet late: after `last_seen`, within `max_age`, newest `max_members`.

    `joins` are (member id, joined at) of members not welcomed or pending yet. With no
    `last_seen` (Steward's first start in the guild) nobody is greeted retroactively.
    """
    if last_seen is None:
        return CatchupPlan((), 0, 0)
    missed = sorted((j for j in joins if j[1] > last_seen), key=lambda j: (j[1], j[0]))
    oldest = now - max_age
    recent = [j for j in missed if j[1] >= oldest]
    too_old = len(missed) - len(recent)
    keep = recent[-max_members:] if max_members > 0 else []
    return CatchupPlan(tuple(m for m, _ in keep), too_old, len(recent) - len(keep))
