"""The doctor's rules: facts about a guild in, findings (each with its exact fix) out.

Pure: bot/adapters/doctor.py turns discord.py objects into these facts; nothing here talks to
Discord.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.i18n import N_, tr

MAX_LISTED = 10  # channels named in one finding before "and N more"
CONTENT_EMPTY_THRESHOLD = 5  # empty member messages in a row that mean content stopped arriving
MODERATORS_CANT_SEE = "moderators.cant_see"  # finding code: no moderator role, staff hidden


class Severity(StrEnum):
    """How bad a finding is."""

    PROBLEM = "problem"  # something Steward should do is not happening
    WARNING = "warning"  # works, but not as well as it could


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong, in plain words, with the exact fix."""

    code: str
    subject: str
    severity: Severity
    message: str
    fix: str

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the finding (what it is about, not its wording)."""
        return (self.code, self.subject)


@dataclass(frozen=True, slots=True)
class ChannelNeed:
    """What a configured channel is for and what Steward must be allowed to do there."""

    label: str
    permissions: tuple[str, ...]
    kinds: tuple[str, ...] = ("text",)


_BASIC = ("view_channel", "send_messages", "embed_links", "read_message_history")

# Setting name -> need. Server fields not listed here get view + send.
CHANNEL_NEEDS: dict[str, ChannelNeed] = {
    "core.mod_log_channel": ChannelNeed(N_("mod-log channel"), _BASIC),
    "core.rules_channel": ChannelNeed(N_("rules channel"), ("view_channel",),
                                      ("text", "forum", "news")),
    "linkhold.queue_channel": ChannelNeed(N_("queue channel"), (*_BASIC, "attach_files")),
    "linkhold.notice_channel": ChannelNeed(N_("notice channel"), ("view_channel", "send_messages")),
    "linkhold.ignored_channels": ChannelNeed(N_("ignored channel"), (),
                                             ("text", "forum", "news", "voice", "category")),
    "welcome.channel": ChannelNeed(N_("welcome channel"), ("view_channel", "send_messages",
                                                      "embed_links")),
    "followup.autocheck_forums": ChannelNeed(
        N_("follow-up forum"),
        ("view_channel", "send_messages_in_threads", "read_message_history", "manage_threads"),
        ("forum",),
    ),
}
DEFAULT_NEED = ChannelNeed(N_("channel"), ("view_channel", "send_messages"),
                           ("text", "forum", "news"))

PERMISSION_LABELS: dict[str, str] = {
    "view_channel": N_("View Channel"),
    "send_messages": N_("Send Messages"),
    "send_messages_in_threads": N_("Send Messages in Threads"),
    "embed_links": N_("Embed Links"),
    "attach_files": N_("Attach Files"),
    "read_message_history": N_("Read Message History"),
    "manage_messages": N_("Manage Messages"),
    "manage_webhooks": N_("Manage Webhooks"),
    "manage_threads": N_("Manage Threads"),
    "manage_roles": N_("Manage Roles"),
    "manage_channels": N_("Manage Channels"),
    "manage_guild": N_("Manage Server"),
}


def label(permission: str) -> str:
    """A permission's name as Discord's settings screens show it."""
    return tr(PERMISSION_LABELS[permission]) if permission in PERMISSION_LABELS else permission


_NEEDS_SEND = ("embed_links", "attach_files")


def root_missing(needed: Iterable[str], granted: frozenset[str]) -> list[str]:
    """The needed permissions that are missing, leaving out those Discord withholds only
    because of another missing one (no View Channel: nothing else; no Send: no embeds or
    files). Fixing the root brings the others back."""
    missing = [p for p in needed if p not in granted]
    if "view_channel" in missing:
        return ["view_channel"]
    if "send_messages" not in granted:
        missing = [p for p in missing if p not in _NEEDS_SEND]
    return missing


def need_for(setting: str) -> ChannelNeed:
    """The need of a channel setting (a generic one for settings not in the table)."""
    return CHANNEL_NEEDS.get(setting, DEFAULT_NEED)


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """A channel a setting points at, as the bot sees it."""

    setting: str
    channel_id: int
    exists: bool
    kind: str = "text"  # text | forum | news | voice | category | thread | other
    granted: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RoleFacts:
    """A role a setting points at."""

    setting: str
    role_id: int
    exists: bool
    position: int = 0
    managed: bool = False
    everyone: bool = False  # the guild's @everyone role


@dataclass(frozen=True, slots=True)
class FeatureUse:
    """Which features are switched on (they decide what the bot needs server-wide)."""

    linkhold: bool = True
    repost_webhooks: bool = True
    welcome: bool = True


@dataclass(frozen=True, slots=True)
class StaffVisibility:
    """A moderators-only channel (queue, mod log) and the Manage Messages roles that can't
    see it."""

    setting: str
    channel_id: int
    unseen_by: tuple[int, ...] = ()  # role ids


@dataclass(frozen=True, slots=True)
class GuildFacts:
    """Everything the doctor looks at for one guild."""

    channels: tuple[ChannelFacts, ...] = ()
    roles: tuple[RoleFacts, ...] = ()
    group_roles: tuple[RoleFacts, ...] = ()
    member_channels: tuple[ChannelFacts, ...] = ()  # where members post (setting "member")
    bot_top_role_position: int = 0
    bot_guild_permissions: frozenset[str] = frozenset()
    features: FeatureUse = field(default_factory=FeatureUse)
    content_missing: bool = False
    mod_log_configured: bool = True
    queue_configured: bool = True
    moderator_roles_configured: bool = True
    staff_visibility: tuple[StaffVisibility, ...] = ()
    extra: tuple[Finding, ...] = ()  # from other features' probes (stuck items, failing jobs)


def _channel_ref(facts: ChannelFacts) -> str:
    return f"<#{facts.channel_id}>"


def _setting_option(setting: str) -> str:
    return {
        "core.mod_log_channel": "mod_log_channel",
        "core.rules_channel": "rules_channel",
        "linkhold.queue_channel": "queue_channel",
        "welcome.channel": "welcome_channel",
    }.get(setting, "")


def _deleted_channel_fix(facts: ChannelFacts) -> str:
    option = _setting_option(facts.setting)
    if option:
        return (tr("Pick another channel with `/steward setup {option}:`", option=option)
                + (tr(" (or `create_missing: True`).") if option in {"queue_channel",
                                                                  "mod_log_channel"} else "."))
    return (tr("Remove it from `{setting}` or choose another channel (`steward config "
               "export`/`import`, or the feature's settings command).", setting=facts.setting))


def check_channel(facts: ChannelFacts) -> list[Finding]:
    """Findings for one configured channel: deleted, wrong kind, or missing permissions."""
    need = need_for(facts.setting)
    if not facts.exists:
        return [Finding(
            "channel.deleted", f"{facts.setting}:{facts.channel_id}", Severity.PROBLEM,
            tr("The {label} (`{setting}`, id {channel_id}) no longer exists.",
               label=tr(need.label), setting=facts.setting, channel_id=facts.channel_id),
            _deleted_channel_fix(facts),
        )]
    found: list[Finding] = []
    if facts.kind not in need.kinds:
        found.append(Finding(
            "channel.kind", f"{facts.setting}:{facts.channel_id}", Severity.PROBLEM,
            tr("The {label} {channel_ref} is a {kind} channel; it must be a {join} channel.",
               label=tr(need.label), channel_ref=_channel_ref(facts), kind=facts.kind,
               join=" or ".join(need.kinds)),
            tr("Choose a {item} channel for `{setting}`.", item=need.kinds[0],
               setting=facts.setting),
        ))
    missing = root_missing(need.permissions, facts.granted)
    if missing:
        names = ", ".join(label(p) for p in missing)
        found.append(Finding(
            "channel.permission", f"{facts.setting}:{facts.channel_id}", Severity.PROBLEM,
            tr("In the {label} {channel_ref} Steward is missing: {names}.",
               label=tr(need.label), channel_ref=_channel_ref(facts), names=names),
            tr("Open {channel_ref} → Edit Channel → Permissions → add the Steward role and allow "
               "{names}.", channel_ref=_channel_ref(facts), names=names),
        ))
    return found


def _listed(channels: Sequence[ChannelFacts]) -> str:
    shown = " ".join(_channel_ref(c) for c in channels[:MAX_LISTED])
    more = len(channels) - MAX_LISTED
    return shown + (tr(" and {more} more", more=more) if more > 0 else "")


def member_channel_needs(features: FeatureUse) -> tuple[str, ...]:
    """Permissions Steward needs in every channel where members post."""
    needs = ["view_channel", "read_message_history"]
    if features.linkhold:
        needs += ["manage_messages", "send_messages", "attach_files"]
    if features.linkhold and features.repost_webhooks:
        needs.append("manage_webhooks")
    return tuple(needs)


def check_member_channels(facts: GuildFacts) -> list[Finding]:
    """One finding per permission Steward lacks in channels where members post."""
    found: list[Finding] = []
    # A configured channel's own needs are reported by check_channel; don't repeat them.
    covered: dict[int, set[str]] = {}
    for channel in facts.channels:
        covered.setdefault(channel.channel_id, set()).update(need_for(channel.setting)
                                                             .permissions)
    lacking: dict[str, list[ChannelFacts]] = {}
    for channel in facts.member_channels:
        if not channel.exists:
            continue
        for permission in root_missing(member_channel_needs(facts.features), channel.granted):
            if permission not in covered.get(channel.channel_id, ()):
                lacking.setdefault(permission, []).append(channel)
    for permission in member_channel_needs(facts.features):
        if permission not in lacking:
            continue
        found.append(Finding(
            "member_channels.permission", permission, Severity.PROBLEM,
            tr("Steward lacks {label} in {len} channel(s) where members post: {listed}.",
               label=label(permission), len=len(lacking[permission]),
                           listed=_listed(lacking[permission])),
            tr("Server Settings → Roles → Steward → allow {label}, and check those channels' "
               "permission overrides don't deny it.", label=label(permission)),
        ))
    return found


def check_roles(facts: GuildFacts) -> list[Finding]:
    """Deleted moderator/exempt roles; group roles Steward can't hand out."""
    found: list[Finding] = []
    for role in facts.roles:
        if not role.exists:
            found.append(Finding(
                "role.deleted", f"{role.setting}:{role.role_id}", Severity.PROBLEM,
                tr("A role in `{setting}` (id {role_id}) no longer exists.",
                   setting=role.setting, role_id=role.role_id),
                tr("Run `/steward settings moderator_role:` with the new role, or remove it from "
                   "`{setting}`.", setting=role.setting) if role.setting == "core.moderator_roles"
                else tr("Remove it from `{setting}` or choose another role.", setting=role.setting),
            ))
        elif role.everyone or role.managed:
            found.append(_unusable_power_role(role))
    existing_groups = [r for r in facts.group_roles if r.exists]
    for role in facts.group_roles:
        if not role.exists:
            found.append(Finding(
                "role.deleted", f"{role.setting}:{role.role_id}", Severity.PROBLEM,
                tr("A support-group role in `{setting}` (id {role_id}) no longer exists.",
                   setting=role.setting, role_id=role.role_id),
                tr("Remove it from `{setting}` or choose another role.", setting=role.setting),
            ))
        elif role.managed:
            found.append(Finding(
                "role.managed", f"{role.setting}:{role.role_id}", Severity.PROBLEM,
                tr("<@&{role_id}> belongs to an integration; nobody can hand it out.",
                   role_id=role.role_id),
                tr("Choose an ordinary role for `{setting}`.", setting=role.setting),
            ))
        elif role.position >= facts.bot_top_role_position:
            found.append(Finding(
                "role.hierarchy", f"{role.setting}:{role.role_id}", Severity.PROBLEM,
                tr("<@&{role_id}> is above Steward's highest role, so Steward can't give it to "
                   "members.", role_id=role.role_id),
                tr("Server Settings → Roles → drag the Steward role above <@&{role_id}>.",
                   role_id=role.role_id),
            ))
    if existing_groups and "manage_roles" not in facts.bot_guild_permissions:
        found.append(Finding(
            "server.permission", "manage_roles", Severity.PROBLEM,
            tr("Support-group roles are set up but Steward lacks Manage Roles."),
            tr("Server Settings → Roles → Steward → allow Manage Roles."),
        ))
    return found


_REMOVE_POWER_ROLE = {
    "core.moderator_roles": (N_("every member counts as a moderator"),
                             N_("Run `/steward settings moderator_role:` with that role to remove "
                             "it, then add your moderators' own role the same way.")),
    "linkhold.exempt_roles": (N_("links from every member skip the hold"),
                              N_("Run `/linkhold unexempt role:` with that role to remove it, then "
                              "exempt an ordinary staff role with `/linkhold exempt` if needed.")),
}


def _unusable_power_role(role: RoleFacts) -> Finding:
    """@everyone or an integration's role given Steward powers (not through a command: they
    refuse it; e.g. an older version or a hand-edited database)."""
    effect, fix = (tuple(tr(x) for x in _REMOVE_POWER_ROLE[role.setting])
                   if role.setting in _REMOVE_POWER_ROLE else (tr("the setting doesn't work as "
                   "meant"), tr("Remove it from `{setting}`.", setting=role.setting)))
    if role.everyone:
        message = tr("@everyone is in `{place}`, so {effect}.", place=role.setting, effect=effect)
    else:
        message = (tr("<@&{role_id}> in `{setting}` belongs to an integration or bot: nobody can "
                      "be given it, and Steward powers belong to an ordinary staff role.",
                      role_id=role.role_id, setting=role.setting))
    return Finding("role.unusable_power", f"{role.setting}:{role.role_id}", Severity.PROBLEM,
                   message, fix)


def check_staff_visibility(facts: GuildFacts) -> list[Finding]:
    """Moderators can't see the staff channels (queue, mod log).

    With moderator roles configured, `staff_visibility` lists those roles; without, the roles
    that moderate through Manage Messages alone.
    """
    hidden = [v for v in facts.staff_visibility if v.unseen_by]
    if not hidden:
        return []
    roles = " ".join(f"<@&{r}>" for r in sorted({r for v in hidden for r in v.unseen_by}))
    channels = " ".join(f"<#{c}>" for c in dict.fromkeys(v.channel_id for v in hidden))
    if facts.moderator_roles_configured:
        return [Finding(
            MODERATORS_CANT_SEE, "core.moderator_roles", Severity.WARNING,
            tr("The moderator roles {roles} can't see {channels}: they won't see held posts or "
               "Steward's mod log.", roles=roles, channels=channels),
            tr("Open {channels} → Edit Channel → Permissions → add {roles} and allow View Channel.",
               channels=channels, roles=roles),
        )]
    return [Finding(
        MODERATORS_CANT_SEE, "core.moderator_roles", Severity.WARNING,
        tr("No moderator role is set, so moderators who rely on Manage Messages ({roles}) can't "
           "see {channels}: they won't see held posts or Steward's mod log.",
           roles=roles, channels=channels),
        tr("Open {channels} → Edit Channel → Permissions → add {roles} and allow View Channel, and "
           "set your moderators' role with `/steward setup moderator_role:` (setup doesn't change "
           "the permissions of channels that already exist).", channels=channels, roles=roles),
    )]


def diagnose(facts: GuildFacts) -> list[Finding]:
    """Every finding for a guild, most serious first, in a stable order."""
    found: list[Finding] = []
    for channel in facts.channels:
        found.extend(check_channel(channel))
    found.extend(check_member_channels(facts))
    found.extend(check_roles(facts))
    found.extend(check_staff_visibility(facts))
    if facts.content_missing:
        found.append(Finding(
            "gateway.message_content", "intent", Severity.PROBLEM,
            tr("Messages from members are arriving without their text, so Steward can't see "
            "links or replies. The Message Content intent was probably switched off."),
            tr("Discord Developer Portal → your application → Bot → turn on MESSAGE CONTENT "
            "INTENT, then restart Steward."),
        ))
    if not facts.mod_log_configured:
        found.append(Finding(
            "setting.missing", "core.mod_log_channel", Severity.WARNING,
            tr("No mod-log channel is set: Steward's actions are only in `/steward audit`."),
            tr("Run `/steward setup mod_log_channel:` (or `create_missing: True`)."),
        ))
    if facts.features.linkhold and not facts.queue_configured:
        found.append(Finding(
            "setting.missing", "linkhold.queue_channel", Severity.PROBLEM,
            tr("Link holds are on but no queue channel is set, so moderators won't see held "
               "posts."),
            tr("Run `/steward setup queue_channel:` (or `create_missing: True`)."),
        ))
    found.extend(facts.extra)
    return sort_findings(found)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Problems before warnings, then by code and subject; duplicates dropped."""
    unique = {f.key: f for f in findings}
    order = {Severity.PROBLEM: 0, Severity.WARNING: 1}
    return sorted(unique.values(), key=lambda f: (order[f.severity], f.code, f.subject))


def fingerprint(findings: Iterable[Finding]) -> str:
    """A short stable digest of what was found (not of the wording), for report-once."""
    keys = sorted(f"{f.severity}|{f.code}|{f.subject}" for f in findings)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def content_missing(empty_in_a_row: int) -> bool:
    """Whether member messages have arrived empty often enough to blame the content intent."""
    return empty_in_a_row >= CONTENT_EMPTY_THRESHOLD


def automod_findings(
    *,
    automod_on: bool,
    trusted_role: int | None,
    role_exists: bool,
    role_position: int,
    role_managed: bool,
    bot_top_position: int,
    manage_roles: bool,
    manage_guild: bool,
    rule_refused: str | None = None,
    truncated: Sequence[str] = (),
) -> list[Finding]:
    """The trusted role Steward can't give, and the AutoMod rule it can't keep (issue 14).

    Without the rule, bot-side holds carry on alone: the findings say so, so nobody thinks
    new members' links are unguarded.
    """
    found: list[Finding] = []
    if trusted_role is not None and role_exists:
        ref = f"<@&{trusted_role}>"
        if role_managed:
            found.append(Finding(
                "trusted_role.managed", f"linkhold.trusted_role:{trusted_role}",
                Severity.PROBLEM,
                tr("The trusted role {ref} belongs to an integration; nobody can hand it out.",
                   ref=ref),
                tr("Create an ordinary role and set it with `/linkhold settings trusted_role:`.")))
        elif role_position >= bot_top_position:
            found.append(Finding(
                "trusted_role.hierarchy", f"linkhold.trusted_role:{trusted_role}",
                Severity.PROBLEM,
                tr("The trusted role {ref} is above Steward's highest role, so Steward can't give "
                   "it to members who pass the hold period", ref=ref)
                + (tr(" and AutoMod keeps blocking their links.") if automod_on else "."),
                tr("Server Settings → Roles → drag the Steward role above {ref}.", ref=ref)))
        if not manage_roles:
            found.append(Finding(
                "server.permission", "manage_roles:trusted_role", Severity.PROBLEM,
                tr("A trusted role ({ref}) is set but Steward lacks Manage Roles, so members who "
                   "pass the hold period don't get it.", ref=ref),
                tr("Server Settings → Roles → Steward → allow Manage Roles.")))
    if automod_on and not manage_guild:
        found.append(Finding(
            "server.permission", "manage_guild:automod", Severity.PROBLEM,
            tr("AutoMod is on for links, but Steward lacks Manage Server, so it can't keep its "
            "AutoMod rule: new members' links show until Steward removes them (bot-side holds "
            "carry on)."),
            tr("Server Settings → Roles → Steward → allow Manage Server (or turn it off with "
            "`/linkhold automod state:off`).")))
    elif automod_on and rule_refused:
        found.append(Finding(
            "automod.refused", "linkhold.automod", Severity.PROBLEM,
            tr("Discord refused Steward's AutoMod rule ({item}); bot-side holds carry on alone.",
               item=rule_refused[:200]),
            tr("Check the server's AutoMod rules (at most 6 keyword rules), then run "
            "`/linkhold automod state:on` again.")))
    if automod_on and trusted_role is None:
        found.append(Finding(
            "setting.missing", "linkhold.trusted_role", Severity.WARNING,
            tr("AutoMod is on but no trusted role is set: AutoMod blocks the links of every "
            "member without a moderator or exempt role, veterans too."),
            tr("Create a role (e.g. Member) and set it with `/linkhold settings trusted_role:`.")))
    for line in truncated:
        found.append(Finding("automod.limits", line[:40], Severity.WARNING, line,
                             tr("Shorten the lists (`/linkhold settings`, `/linkhold disallow`, "
                             "`/linkhold unexempt`, `/linkhold unignore`).")))
    return found
