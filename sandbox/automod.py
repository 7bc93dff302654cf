"""Discord's AutoMod in the sandbox: rule validation with Discord's limits, keyword/regex
matching of member posts with Discord's exemptions, and what a match does.

Only ``MESSAGE_SEND`` keyword rules (trigger type 1) are evaluated; other trigger types are
stored and validated by their count only. Matching follows Discord's documented keyword
strategies (case-insensitive): ``cat`` a whole word, ``cat*`` a word starting with it, ``*cat``
a word ending with it, ``*cat*`` anywhere. Regex patterns are evaluated with Python ``re`` and
refused (50035) when they use what Rust's regex crate does not support (lookaround,
backreferences, possessive/atomic groups, ``\\Z``...). A match is forgiven when an
``allow_list`` entry (same wildcard rules) occurs overlapping the matched text.

The guild owner, members with Administrator or Manage Server, members with an exempt role and
posts in an exempt channel (a thread's parent, a channel's category count) are skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox import errors, wire
from sandbox.models import Channel, Guild, Member, Message
from sandbox.permissions import base_permissions, has

if TYPE_CHECKING:
    from sandbox.state import World

KEYWORD = 1
SPAM = 3
KEYWORD_PRESET = 4
MENTION_SPAM = 5
MEMBER_PROFILE = 6
TRIGGER_TYPES = {KEYWORD, SPAM, KEYWORD_PRESET, MENTION_SPAM, MEMBER_PROFILE}
MESSAGE_SEND = 1
MEMBER_UPDATE = 2

BLOCK_MESSAGE = 1
SEND_ALERT_MESSAGE = 2
TIMEOUT = 3
BLOCK_MEMBER_INTERACTION = 4

MAX_RULES = {KEYWORD: 6, SPAM: 1, KEYWORD_PRESET: 1, MENTION_SPAM: 1, MEMBER_PROFILE: 1}
MAX_KEYWORDS, MAX_KEYWORD_LEN = 1000, 60
MAX_REGEX, MAX_REGEX_LEN = 10, 260
MAX_ALLOW_KEYWORD, MAX_ALLOW_PRESET, MAX_ALLOW_LEN = 100, 1000, 60
MAX_EXEMPT_ROLES, MAX_EXEMPT_CHANNELS = 20, 50
MAX_CUSTOM_MESSAGE = 150
MAX_TIMEOUT_SECONDS = 2_419_200
MAX_NAME = 100
ALERT_MESSAGE_TYPE = 24

# Constructs Python accepts but Rust's regex crate refuses (Discord answers 50035).
_RUST_UNSUPPORTED = re.compile(
    r"\(\?(?:[=!]|<[=!]|>|P=|\(|#)"  # lookaround, atomic, backref by name, conditional, comment
    r"|\\[1-9]|\\[Zg]"  # backreferences, \Z, \g<..>
    r"|[*+?}]\+"  # possessive quantifiers
)


# ------------------------------------------------------------------ validation
class _Errors:
    """Collects Discord's nested ``errors`` for several fields at once."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: str, code: str, message: str) -> None:
        node = self.tree
        for part in path.split("."):
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.tree:
            raise errors.ApiError(400, 50035, "Invalid Form Body", self.tree)


def _strings(value: Any, path: str, err: _Errors, *, most: int, longest: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        err.add(path, "BASE_TYPE_BAD_TYPE", "Must be an array of strings.")
        return []
    if len(value) > most:
        err.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {most} or fewer in length.")
    for i, item in enumerate(value):
        if len(item) > longest:
            err.add(f"{path}.{i}", "BASE_TYPE_MAX_LENGTH",
                    f"Must be {longest} or fewer in length.")
    return list(value)


def _ids(value: Any, path: str, err: _Errors, *, most: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        err.add(path, "BASE_TYPE_BAD_TYPE", "Must be an array of snowflakes.")
        return []
    if len(value) > most:
        err.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {most} or fewer in length.")
    out = []
    for i, item in enumerate(value):
        if not str(item).isdigit():
            err.add(f"{path}.{i}", "NUMBER_TYPE_COERCE", f"Value \"{item}\" is not snowflake.")
        out.append(str(item))
    return out


def unsupported_regex(pattern: str) -> str | None:
    """Why Discord (Rust's regex crate) would refuse ``pattern``, or None."""
    if _RUST_UNSUPPORTED.search(pattern):
        return "uses a construct Rust's regex does not support"
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def _metadata(trigger: int, raw: Any, err: _Errors) -> dict[str, Any]:
    meta = raw if isinstance(raw, dict) else {}
    if trigger not in (KEYWORD, MEMBER_PROFILE, KEYWORD_PRESET):
        return dict(meta)
    base = "trigger_metadata"
    allow_most = MAX_ALLOW_PRESET if trigger == KEYWORD_PRESET else MAX_ALLOW_KEYWORD
    out: dict[str, Any] = {**meta, "allow_list": _strings(
        meta.get("allow_list"), f"{base}.allow_list", err, most=allow_most,
        longest=MAX_ALLOW_LEN)}
    if trigger == KEYWORD_PRESET:
        return out
    out["keyword_filter"] = _strings(meta.get("keyword_filter"), f"{base}.keyword_filter", err,
                                     most=MAX_KEYWORDS, longest=MAX_KEYWORD_LEN)
    patterns = _strings(meta.get("regex_patterns"), f"{base}.regex_patterns", err,
                        most=MAX_REGEX, longest=MAX_REGEX_LEN)
    for i, pattern in enumerate(patterns):
        if len(pattern) <= MAX_REGEX_LEN and unsupported_regex(pattern):
            err.add(f"{base}.regex_patterns.{i}", "AUTO_MODERATION_INVALID_REGEX",
                    "Invalid regex pattern.")
    out["regex_patterns"] = patterns
    return out


def _actions(raw: Any, trigger: int, guild: Guild, err: _Errors) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        err.add("actions", "BASE_TYPE_REQUIRED", "This field is required")
        return []
    out = []
    for i, action in enumerate(raw):
        path = f"actions.{i}"
        kind = int(action.get("type", 0)) if isinstance(action, dict) else 0
        meta = dict(action.get("metadata") or {}) if isinstance(action, dict) else {}
        if kind == BLOCK_MESSAGE:
            custom = meta.get("custom_message")
            if custom is not None and len(str(custom)) > MAX_CUSTOM_MESSAGE:
                err.add(f"{path}.metadata.custom_message", "BASE_TYPE_MAX_LENGTH",
                        f"Must be {MAX_CUSTOM_MESSAGE} or fewer in length.")
        elif kind == SEND_ALERT_MESSAGE:
            cid = str(meta.get("channel_id") or "")
            if not cid.isdigit() or int(cid) not in guild.channels:
                err.add(f"{path}.metadata.channel_id", "CHANNEL_INVALID", "Unknown channel")
            meta["channel_id"] = cid
        elif kind == TIMEOUT:
            seconds = meta.get("duration_seconds")
            if trigger not in (KEYWORD, MENTION_SPAM):
                err.add(f"{path}.type", "AUTO_MODERATION_ACTION_INVALID",
                        "Timeout is only allowed for keyword and mention spam rules.")
            if not isinstance(seconds, int) or not 0 <= seconds <= MAX_TIMEOUT_SECONDS:
                err.add(f"{path}.metadata.duration_seconds", "NUMBER_TYPE_MAX",
                        f"int value should be less than or equal to {MAX_TIMEOUT_SECONDS}.")
        elif kind != BLOCK_MEMBER_INTERACTION:
            err.add(f"{path}.type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4).")
        out.append({"type": kind, "metadata": meta})
    return out


def validate_rule(guild: Guild, body: dict[str, Any], existing: dict[str, Any] | None,
                  creator_id: int, rule_id: int) -> dict[str, Any]:
    """The stored rule for a POST (``existing`` None) or PATCH body; 50035 like Discord."""
    err = _Errors()
    merged = {**(existing or {}), **{k: v for k, v in body.items() if v is not None}}
    if existing is None:
        for key in ("name", "event_type", "trigger_type", "actions"):
            if key not in body or body[key] is None:
                err.add(key, "BASE_TYPE_REQUIRED", "This field is required")
        err.raise_if_any()
    name = str(merged.get("name") or "")
    if not 1 <= len(name) <= MAX_NAME:
        err.add("name", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_NAME} in length.")
    trigger = int(existing["trigger_type"]) if existing else int(merged["trigger_type"])
    if trigger not in TRIGGER_TYPES:
        err.add("trigger_type", "BASE_TYPE_CHOICES", "Value must be one of (1, 3, 4, 5, 6).")
    event = int(merged.get("event_type") or 0)
    if event != (MEMBER_UPDATE if trigger == MEMBER_PROFILE else MESSAGE_SEND):
        err.add("event_type", "BASE_TYPE_CHOICES", "Invalid event type for this trigger.")
    if existing is None and trigger in MAX_RULES:
        same = [r for r in guild.automod_rules.values() if int(r["trigger_type"]) == trigger]
        if len(same) >= MAX_RULES[trigger]:
            err.add("trigger_type", "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED",
                    f"Maximum number of rules of this type reached ({MAX_RULES[trigger]}).")
    rule = {
        "id": str(rule_id),
        "guild_id": str(guild.id),
        "name": name,
        "creator_id": str(existing["creator_id"]) if existing else str(creator_id),
        "event_type": event,
        "trigger_type": trigger,
        "trigger_metadata": _metadata(trigger, merged.get("trigger_metadata"), err),
        "actions": _actions(merged.get("actions"), trigger, guild, err),
        "enabled": bool(merged.get("enabled", False)),
        "exempt_roles": _ids(merged.get("exempt_roles"), "exempt_roles", err,
                             most=MAX_EXEMPT_ROLES),
        "exempt_channels": _ids(merged.get("exempt_channels"), "exempt_channels", err,
                                most=MAX_EXEMPT_CHANNELS),
    }
    err.raise_if_any()
    return rule


# -------------------------------------------------------------------- matching
def keyword_regex(keyword: str) -> re.Pattern[str]:
    """Discord's wildcard strategy for one keyword (or allow-list entry) as a regex."""
    prefix, suffix = keyword.startswith("*"), keyword.endswith("*") and len(keyword) > 1
    core = re.escape(keyword.strip("*"))
    left = r"\w*" if prefix else r"(?<!\w)"
    right = r"\w*" if suffix else r"(?!\w)"
    return re.compile(left + core + right, re.IGNORECASE)


@dataclass(frozen=True)
class RuleMatch:
    """A rule that fired: which keyword/pattern, and the text it matched."""

    rule: dict[str, Any]
    matched_keyword: str
    matched_content: str


def _allowed(content: str, span: tuple[int, int], allow: list[str]) -> bool:
    for entry in allow:
        if not entry.strip("*"):
            continue
        for m in keyword_regex(entry).finditer(content):
            if m.start() < span[1] and span[0] < m.end():
                return True
    return False


def match_rule(rule: dict[str, Any], content: str) -> RuleMatch | None:
    """The first non-allowed keyword or regex match of a keyword rule in ``content``."""
    meta = rule.get("trigger_metadata") or {}
    allow = list(meta.get("allow_list") or [])
    candidates: list[tuple[str, re.Pattern[str]]] = [
        (k, keyword_regex(k)) for k in meta.get("keyword_filter") or [] if k.strip("*")]
    candidates += [(p, re.compile(p)) for p in meta.get("regex_patterns") or []]
    for keyword, regex in candidates:
        for m in regex.finditer(content):
            if m.end() > m.start() and not _allowed(content, m.span(), allow):
                return RuleMatch(rule, keyword, m.group(0))
    return None


def _exempt(guild: Guild, member: Member, channel: Channel, rule: dict[str, Any]) -> bool:
    if member.id == guild.owner_id:
        return True
    if has(base_permissions(guild, member), "manage_guild"):  # admins have every bit
        return True
    if {str(r) for r in member.roles} & set(rule.get("exempt_roles") or []):
        return True
    exempt = set(rule.get("exempt_channels") or [])
    chain: list[int | None] = [channel.id, channel.parent_id]
    parent = guild.channels.get(channel.parent_id or 0)
    if parent is not None:
        chain.append(parent.parent_id)
    return any(str(c) in exempt for c in chain if c)


def matches(guild: Guild, member: Member, channel: Channel, content: str) -> list[RuleMatch]:
    """Every enabled keyword rule that fires on ``member`` posting ``content`` there."""
    out = []
    for rule in guild.automod_rules.values():
        if not rule.get("enabled") or int(rule["trigger_type"]) != KEYWORD:
            continue
        if int(rule.get("event_type") or 0) != MESSAGE_SEND:
            continue
        if _exempt(guild, member, channel, rule):
            continue
        found = match_rule(rule, content)
        if found is not None:
            out.append(found)
    return out


# --------------------------------------------------------------------- effects
@dataclass
class Blocked:
    """A post AutoMod refused: it was never created (no id, no MESSAGE_CREATE).

    ``custom_message`` is what the member saw (Discord's default when the rule has none);
    ``alerts`` are the alert messages posted for it; ``executions`` the
    AUTO_MODERATION_ACTION_EXECUTION payloads sent.
    """

    channel: Channel
    author: Member
    content: str
    rules: list[dict[str, Any]]
    custom_message: str
    at: dt.datetime
    alerts: list[Message] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rule_names(self) -> list[str]:
        return [str(r["name"]) for r in self.rules]


DEFAULT_BLOCK_MESSAGE = "Your message could not be delivered because it contains content " \
    "blocked by this server."


def alert_embed(found: RuleMatch, channel: Channel, content: str) -> dict[str, Any]:
    """The embed of a type 24 alert message, as Discord builds it."""
    rule = found.rule
    fields = [
        ("rule_name", str(rule["name"])),
        ("channel_id", str(channel.id)),
        ("decision_id", str(rule["id"])),
        ("decision_outcome", "blocked" if any(
            a["type"] == BLOCK_MESSAGE for a in rule["actions"]) else "flagged"),
        ("keyword", found.matched_keyword),
        ("keyword_matched_content", found.matched_content),
    ]
    return {
        "type": "auto_moderation_message",
        "description": content,
        "fields": [{"name": n, "value": v, "inline": False} for n, v in fields],
    }


def execution(found: RuleMatch, action: dict[str, Any], member: Member, channel: Channel,
              content: str, message_id: int | None, alert_id: int | None) -> dict[str, Any]:
    """One AUTO_MODERATION_ACTION_EXECUTION payload."""
    out: dict[str, Any] = {
        "guild_id": str(member.guild_id),
        "action": action,
        "rule_id": str(found.rule["id"]),
        "rule_trigger_type": int(found.rule["trigger_type"]),
        "user_id": str(member.id),
        "channel_id": str(channel.id),
        "content": content,
        "matched_keyword": found.matched_keyword,
        "matched_content": found.matched_content,
    }
    if message_id is not None:
        out["message_id"] = str(message_id)
    if alert_id is not None:
        out["alert_system_message_id"] = str(alert_id)
    return out


async def enforce(world: World, guild: Guild, member: Member, channel: Channel,
                  content: str, found: list[RuleMatch],
                  create: Any) -> Message | Blocked:
    """Carry out the actions of the rules that fired. ``create`` is an async callable that
    creates and publishes the post (called only when no rule blocks it)."""
    actions = [(f, a) for f in found for a in f.rule["actions"]]
    block = next((a for _, a in actions if a["type"] == BLOCK_MESSAGE), None)
    message: Message | None = None if block is not None else await create()
    message_id = message.id if message is not None else None
    blocked = None
    if block is not None:
        custom = (block.get("metadata") or {}).get("custom_message") or DEFAULT_BLOCK_MESSAGE
        blocked = Blocked(channel, member, content, [f.rule for f in found], str(custom),
                          world.now())
        world.automod_blocks.append(blocked)
    executions = []
    for f, action in actions:
        alert_id = None
        if action["type"] == SEND_ALERT_MESSAGE:
            alert = await _post_alert(world, f, action, member, channel, content)
            alert_id = alert.id if alert is not None else None
            if blocked is not None and alert is not None:
                blocked.alerts.append(alert)
        elif action["type"] == TIMEOUT:
            seconds = int((action.get("metadata") or {}).get("duration_seconds") or 0)
            member.communication_disabled_until = world.now() + dt.timedelta(seconds=seconds)
            await world.dispatch("GUILD_MEMBER_UPDATE", wire.member_event(guild, member))
        executions.append(execution(f, action, member, channel, content, message_id, alert_id))
    for payload in executions:
        await world.dispatch("AUTO_MODERATION_ACTION_EXECUTION", payload)
    if blocked is not None:
        blocked.executions = executions
        return blocked
    assert message is not None
    return message


async def _post_alert(world: World, found: RuleMatch, action: dict[str, Any], member: Member,
                      channel: Channel, content: str) -> Message | None:
    target = world.channels.get(int((action.get("metadata") or {}).get("channel_id") or 0))
    if target is None or target.deleted:
        return None
    alert = world.build_message(target, member.user, {
        "content": "", "embeds": [alert_embed(found, channel, content)]},
        msg_type=ALERT_MESSAGE_TYPE)
    alert.answered_at = 0.0
    world.store(alert)
    await world.publish(alert)
    return alert


class MessageBlocked(Exception):  # noqa: N818 - named after what happened, like Discord's UI
    """Raised by ``sb.post`` when AutoMod blocked the post (``sb.try_post`` returns it)."""

    def __init__(self, blocked: Blocked) -> None:
        super().__init__(f"AutoMod blocked the post: {blocked.custom_message}")
        self.blocked = blocked
