"""The one Discord AutoMod rule Steward owns, built from the link-hold settings (pure).

Discord's AutoMod blocks a message before it exists, even while Steward is offline, but it
cannot tell a new member from a veteran. So the rule exempts the trusted role (granted when a
member passes the hold period, see `promotion_due`), the moderator and exempt roles and the
ignored channels, and blocks links from everyone else. Steward turns each block into a hold.

* `build_rule(facts) -> RuleSpec` - the rule, within Discord's limits; what did not fit is
  listed in `RuleSpec.truncated` (nothing is silently dropped).
* `rule_payload(spec) -> dict` - the JSON body for POST/PATCH
  `/guilds/{id}/auto-moderation/rules`.
* `differs(existing, spec) -> bool` - whether the rule Discord has needs a PATCH.
* `is_owned(rule, bot_user_id) -> bool` - Steward touches only the rule it made.
* The rule's name and the message Discord shows the blocked member are in the server's
  language (`build_rule` translates them in the language being spoken); the name keeps the
  untranslated prefix `Steward: `, which is what identifies Steward's rule.
* `foreign_syntax(pattern) -> list[str]` - constructs outside the regex syntax that Rust's
  `regex` crate (what Discord runs) and Python's `re` (what tests and benches run) share.
* `promotion_due(...)` - when a member passes the hold period (the rule of `bot.domain.holds`).

The link patterns follow the detector's rules (`bot.domain.links`): schemes (also spaced,
defanged or percent-encoded), `www.`, Discord invites (also partial `.gg/code`), IPv4 URLs,
host-with-path, and bare domains on the most abused TLDs (only TLDs present in tldextract's
bundled snapshot, never fetched). They are deliberately narrower than the detector: a false
block hides a member's post, so prose look-alikes (`fine.Now`, `dot com`) are left to the
bot-side detector, which keeps running for everyone without the trusted role.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import tldextract

from bot.domain.holds import HoldPolicy, MemberFacts, clearance
from bot.i18n import N_, tr

if TYPE_CHECKING:
    from config.guild import LinkHoldSettings

# Never translated: the prefix (with the creator) is how Steward knows its own rule, in any
# language and after the server's language changes.
RULE_PREFIX = "Steward: "
RULE_SUBJECT = N_("new members' links")  # the rest of the name, in the server's language
RULE_NAME = RULE_PREFIX + RULE_SUBJECT  # the name in English
CUSTOM_MESSAGE = N_(
    "New members can't post links for a few days, to keep spam out. "
    "A moderator will look at your post soon."
)

KEYWORD_TRIGGER = 1
MESSAGE_SEND = 1
BLOCK_MESSAGE = 1
SEND_ALERT_MESSAGE = 2

MAX_PATTERNS, MAX_PATTERN_LEN = 10, 260
MAX_ALLOW, MAX_ALLOW_LEN = 100, 60
MAX_EXEMPT_ROLES, MAX_EXEMPT_CHANNELS = 20, 50
MAX_CUSTOM_MESSAGE = 150
MAX_NAME = 100


# ------------------------------------------------------------------ the patterns
_SNAPSHOT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
)
_KNOWN_TLDS = frozenset(s for s in _SNAPSHOT.tlds if "." not in s)

# Most abused in link spam (cheap gTLDs, free/redirector ccTLDs) plus the everyday ones.
# Left out on purpose: TLDs that are English words or file extensions people type
# ("me", "in", "now", "today", "care", "work", "py", "pl", "sh"), which the detector judges in
# context. The TLD must be written in lower case: "sad.Fun", "B.Com", "well.Work" are prose.
_ABUSED_TLD_TEXT = (
    "com net org info biz io co xyz top site online shop store club app dev tech pro icu vip "
    "buzz cyou sbs cfd click link bid loan website mobi asia cam bond gov edu ru cn tk ml ga "
    "cf gq pw cc ws su ly gg tv fm gl uk de eu ca au fr nl ch br ua kz ir vn pk ng int clinic "
    "pharmacy"
)
_ABUSED_TLDS = _ABUSED_TLD_TEXT.split()

_LEFT = r"(?:^|[^\w@.-]|[\w.+-]@)"  # token start; handles (@name.co) are not links, e-mails are
_HOST = r"[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,3}"
_DOT = r"(?:[.．。]|\s{1,3}\.\s{1,3}|\.\s?\n\s?|\s?[\[({](?:\.|dot)[\])}]\s?)"

# The matched text runs through the host, so an allow_list entry ("nhs.uk") can cover it:
# a match of "https://" alone would block every allowlisted link written with a scheme.
_REST = r"\s{0,3}[^\s/?#]{0,253}"

_FIXED_PATTERNS = (
    # scheme://, also spaced (h t t p s : / /), defanged (hxxp, [:]) or percent-encoded
    r"(?i)\b(?:h\s?[tx]\s?[tx]\s?p\s?s?|s?ftps?|wss?)\s{0,3}(?::|\[:\]|%3a)\s{0,3}"
    r"(?:/|%2f)\s{0,3}(?:/|%2f)" + _REST,
    # www. in any disguise
    r"(?i)\bwww\d{0,2}\s{0,3}" + _DOT + r"\s{0,3}[a-z0-9]" + _REST,
    # Discord invites, look-alike hosts and partial ".gg/code"
    r"(?i)(?:[a-z0-9-]{0,63}\s{0,2}\.\s{0,2}gg|discord(?:app)?\s{0,2}\.\s{0,2}(?:com|io|me|li)\s{0,2}/\s{0,2}invite)"
    r"\s{0,2}/\s{0,2}[a-z0-9-]{2,32}|\b(?:discord(?:app)?\.gift|t\.me|youtu\.be)\b",
    # IPv4 with a port or a path (a bare dotted quad is a version number)
    r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{2,5}|/[\w.-])",
    # host.tld/path on any TLD
    r"(?i)" + _LEFT + _HOST + r" ?\.\n?[a-z]{2,12}/[\w%-]",
    # e-mail addresses (a handle like "@name.co" has no local part)
    r"(?i)[\w.+-]@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,3}\.[a-z]{2,12}\b",
)


def _tld_patterns() -> tuple[str, ...]:
    """Bare domains on the abused TLDs, split into as few patterns as the length allows."""
    tlds = [t for t in _ABUSED_TLDS if t in _KNOWN_TLDS]
    head = "(?i:" + _LEFT + _HOST + ")" + _DOT + "(?:"
    tail = r")\b"
    out: list[str] = []
    chunk: list[str] = []
    for tld in tlds:
        if len(head + "|".join([*chunk, tld]) + tail) > MAX_PATTERN_LEN:
            out.append(head + "|".join(chunk) + tail)
            chunk = []
        chunk.append(tld)
    if chunk:
        out.append(head + "|".join(chunk) + tail)
    return tuple(out)


LINK_PATTERNS: tuple[str, ...] = _FIXED_PATTERNS + _tld_patterns()


# ------------------------------------------------------------- syntax checker
_SAFE_ESCAPES = frozenset("dDwWsSbBAntrf") | frozenset(r".-\/^$|?*+()[]{}:@#%&~!,'\"<>=_ ")
_GROUP_OPENERS = ("?:", "?i)", "?i:", "?m)", "?s)", "?x)", "?P<")


def foreign_syntax(pattern: str) -> list[str]:
    """What in `pattern` is outside the syntax Rust's regex and Python's re share.

    Conservative: lookaround, backreferences, atomic/possessive forms, conditionals,
    comments, `\\Z`/`\\z`/`\\G`, Unicode classes (`\\p`), `{,n}`, POSIX or nested classes
    and set operations are refused, and so is anything Python cannot compile.
    """
    problems: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # "possible nested set": Rust differs
        try:
            re.compile(pattern)
        except (re.error, FutureWarning) as exc:
            problems.append(f"does not compile the same way: {exc}")
    i, in_class, n = 0, False, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1] if i + 1 < n else ""
            if nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", pattern[i + 2:i + 4]):
                i += 4
                continue
            if nxt not in _SAFE_ESCAPES:
                problems.append(f"escape \\{nxt} at {i}")
            i += 2
            continue
        if in_class:
            if ch == "[" or pattern.startswith(("&&", "--", "~~"), i):
                problems.append(f"nested class or set operation at {i}")
            elif ch == "]":
                in_class = False
            i += 1
            continue
        if ch == "[":
            in_class = True
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):
                i += 1  # a literal ] first in the class
            continue
        if ch == "(" and pattern.startswith("?", i + 1):
            if not pattern.startswith(_GROUP_OPENERS, i + 1):
                problems.append(f"group kind {pattern[i:i + 4]!r} at {i}")
        elif ch in "*+?}" and pattern.startswith("+", i + 1):
            problems.append(f"possessive quantifier at {i}")
        elif ch == "{" and pattern.startswith(",", i + 1):
            problems.append(f"{{,n}} quantifier at {i}")
        i += 1
    return problems


# ------------------------------------------------------------------- the rule
@dataclass(frozen=True, slots=True)
class RuleFacts:
    """What the rule is built from: one guild's link-hold settings."""

    allowlist: Sequence[str] = ()
    trusted_role_id: int | None = None
    moderator_role_ids: Sequence[int] = ()
    exempt_role_ids: Sequence[int] = ()
    ignored_channel_ids: Sequence[int] = ()
    queue_channel_id: int | None = None
    enabled: bool = True

    @classmethod
    def from_settings(cls, linkhold: LinkHoldSettings, moderator_role_ids: Sequence[int],
                      trusted_role_id: int | None) -> RuleFacts:
        """The facts in a guild's link-hold settings (+ core moderator roles, trusted role)."""
        return cls(
            allowlist=tuple(linkhold.allowlist),
            trusted_role_id=trusted_role_id,
            moderator_role_ids=tuple(moderator_role_ids),
            exempt_role_ids=tuple(linkhold.exempt_roles),
            ignored_channel_ids=tuple(linkhold.ignored_channels),
            queue_channel_id=linkhold.queue_channel,
            enabled=linkhold.enabled,
        )


@dataclass(frozen=True, slots=True)
class Truncated:
    """What did not fit in Discord's limits, and what that means for members."""

    allow_list: tuple[str, ...] = ()
    exempt_roles: tuple[int, ...] = ()
    exempt_channels: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.allow_list or self.exempt_roles or self.exempt_channels)

    def explain(self) -> list[str]:
        """One plain sentence per list that overflowed (for the doctor and /linkhold)."""
        out = []
        if self.allow_list:
            out.append(
                f"{len(self.allow_list)} allowlisted domains did not fit in AutoMod's "
                f"{MAX_ALLOW}-entry allow list (or are longer than {MAX_ALLOW_LEN} "
                "characters): AutoMod blocks them for new members, and each block becomes "
                "a hold a moderator can approve.")
        if self.exempt_roles:
            out.append(
                f"{len(self.exempt_roles)} roles did not fit in AutoMod's "
                f"{MAX_EXEMPT_ROLES} exempt roles: members who have only those roles get "
                "their links blocked by AutoMod; Steward still treats them as exempt.")
        if self.exempt_channels:
            out.append(
                f"{len(self.exempt_channels)} ignored channels did not fit in AutoMod's "
                f"{MAX_EXEMPT_CHANNELS} exempt channels: AutoMod still blocks new members' "
                "links there.")
        return out


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """The keyword rule Steward keeps on Discord."""

    name: str
    regex_patterns: tuple[str, ...]
    allow_list: tuple[str, ...]
    exempt_roles: tuple[int, ...]
    exempt_channels: tuple[int, ...]
    custom_message: str
    alert_channel_id: int | None
    enabled: bool
    truncated: Truncated


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def build_rule(facts: RuleFacts) -> RuleSpec:
    """The one keyword rule for these settings, within every Discord limit."""
    domains = _unique(d.strip().lower() for d in facts.allowlist if d.strip())
    fitting = [d for d in domains if len(d) <= MAX_ALLOW_LEN]
    too_long = [d for d in domains if len(d) > MAX_ALLOW_LEN]
    allow, allow_over = fitting[:MAX_ALLOW], fitting[MAX_ALLOW:] + too_long
    roles = _unique([
        *([facts.trusted_role_id] if facts.trusted_role_id else []),
        *facts.moderator_role_ids, *facts.exempt_role_ids,
    ])
    channels = _unique(facts.ignored_channel_ids)
    return RuleSpec(
        name=rule_name(),
        regex_patterns=LINK_PATTERNS,
        allow_list=tuple(allow),
        exempt_roles=tuple(roles[:MAX_EXEMPT_ROLES]),
        exempt_channels=tuple(channels[:MAX_EXEMPT_CHANNELS]),
        custom_message=tr(CUSTOM_MESSAGE)[:MAX_CUSTOM_MESSAGE],
        alert_channel_id=facts.queue_channel_id,
        enabled=facts.enabled,
        truncated=Truncated(
            allow_list=tuple(allow_over),
            exempt_roles=tuple(roles[MAX_EXEMPT_ROLES:]),
            exempt_channels=tuple(channels[MAX_EXEMPT_CHANNELS:]),
        ),
    )


def _actions(spec: RuleSpec) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = [
        {"type": BLOCK_MESSAGE, "metadata": {"custom_message": spec.custom_message}}]
    if spec.alert_channel_id is not None:
        actions.append({"type": SEND_ALERT_MESSAGE,
                        "metadata": {"channel_id": str(spec.alert_channel_id)}})
    return actions


def rule_payload(spec: RuleSpec) -> dict[str, Any]:
    """The JSON body that creates (POST) or updates (PATCH) the rule."""
    return {
        "name": spec.name,
        "event_type": MESSAGE_SEND,
        "trigger_type": KEYWORD_TRIGGER,
        "trigger_metadata": {
            "keyword_filter": [],
            "regex_patterns": list(spec.regex_patterns),
            "allow_list": list(spec.allow_list),
        },
        "actions": _actions(spec),
        "enabled": spec.enabled,
        "exempt_roles": [str(r) for r in spec.exempt_roles],
        "exempt_channels": [str(c) for c in spec.exempt_channels],
    }


def _action_key(action: Mapping[str, Any]) -> tuple[int, str]:
    meta = action.get("metadata") or {}
    kind = int(action.get("type", 0))
    if kind == BLOCK_MESSAGE:
        return kind, str(meta.get("custom_message") or "")
    if kind == SEND_ALERT_MESSAGE:
        return kind, str(meta.get("channel_id") or "")
    return kind, repr(sorted(meta.items()))


def _shape(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    meta = rule.get("trigger_metadata") or {}
    return (
        str(rule.get("name") or ""),
        int(rule.get("event_type") or 0),
        int(rule.get("trigger_type") or 0),
        bool(rule.get("enabled")),
        tuple(meta.get("keyword_filter") or ()),
        tuple(meta.get("regex_patterns") or ()),
        frozenset(meta.get("allow_list") or ()),
        frozenset(str(r) for r in rule.get("exempt_roles") or ()),
        frozenset(str(c) for c in rule.get("exempt_channels") or ()),
        sorted(_action_key(a) for a in rule.get("actions") or ()),
    )


def differs(existing: Mapping[str, Any], spec: RuleSpec) -> bool:
    """True when the rule Discord returned no longer says what `spec` says."""
    return _shape(existing) != _shape(rule_payload(spec))


def rule_name() -> str:
    """The rule's name in the language being spoken (Discord shows it to admins)."""
    return (RULE_PREFIX + tr(RULE_SUBJECT))[:MAX_NAME]


def is_steward_rule_name(name: object) -> bool:
    """Whether a rule name is Steward's (in any language)."""
    return isinstance(name, str) and name.startswith(RULE_PREFIX)


def is_owned(rule: Mapping[str, Any], bot_user_id: int) -> bool:
    """Steward's own rule: made by this bot and carrying Steward's name (in any language)."""
    return (str(rule.get("creator_id")) == str(bot_user_id)
            and is_steward_rule_name(rule.get("name")))


# ------------------------------------------------------------------ promotion
def promotion_due(
    joined_at: datetime | None,
    account_created_at: datetime,
    post_count: int,
    policy: HoldPolicy,
    now: datetime,
) -> datetime | None:
    """When the member passes the hold period (at or before `now`: already).

    None while it is not a matter of time: the join date is unknown, or the member still
    needs posts (`min_posts`); the post that reaches the count is the moment to ask again.
    """
    if joined_at is None:
        return None
    facts = MemberFacts(member_id=0, joined_at=joined_at,
                        account_created_at=account_created_at, accepted_posts=post_count)
    clear = clearance(facts, now, policy)
    if clear.posts_needed:
        return None
    return clear.at if clear.at is not None else now
