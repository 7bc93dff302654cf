"""Config as code: a guild's settings as TOML, and importing them back with the same validation.

The file has two parts. `[policy.<section>]` holds everything portable (hold days, templates,
allowlist, follow-up defaults); `[server.<section>]` holds channel and role ids (fields made
with `config.guild.server_field`), plus `[server] guild_id`. Importing into the guild the file
came from applies both; importing into another guild applies the policy and keeps that
guild's own server part (set it with `/steward setup`). Keys missing from `[policy]` take their
defaults, so the file is the whole policy. An invalid file is refused with line numbers and
changes nothing.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import tomli_w
from pydantic import BaseModel, ValidationError

from bot.clock import Clock
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.settings_stamps import SettingsStampRepository
from bot.domain.authority import power_role_refusal
from bot.domain.links import is_valid_domain
from bot.i18n import tr
from bot.services.guild_settings import GuildSettingsService, diff, problem_in_words
from config.guild import SERVER, GuildConfig

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


def is_server_field(section: type[BaseModel], name: str) -> bool:
    """Whether a section's field holds server-specific ids (channels, roles)."""
    extra = section.model_fields[name].json_schema_extra
    return isinstance(extra, dict) and all(extra.get(k) == v for k, v in SERVER.items())


def _section_types() -> dict[str, type[BaseModel]]:
    types: dict[str, type[BaseModel]] = {}
    for name, info in GuildConfig.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            types[name] = annotation
    return types


def _tomlable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_tomlable(v) for v in value]
    return value


def split(config: GuildConfig) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(policy, server): the config's values by section, None values left out (TOML has none)."""
    policy: dict[str, dict[str, Any]] = {}
    server: dict[str, dict[str, Any]] = {}
    dumped = config.model_dump(mode="json")
    for section, kind in _section_types().items():
        for name in kind.model_fields:
            value = dumped[section][name]
            if value is None:
                continue
            target = server if is_server_field(kind, name) else policy
            target.setdefault(section, {})[name] = _tomlable(value)
    return policy, server


def export_toml(config: GuildConfig, guild_id: int, exported_at: datetime | None = None) -> str:
    """The guild's settings as a TOML document."""
    policy, server = split(config)
    header = [
        "# Steward settings. Share the [policy] part between servers; [server] holds this",
        "# server's channel and role ids and is only applied to the server it came from.",
        f"# Import with: steward config import --guild {guild_id} FILE [--dry-run]",
    ]
    if exported_at is not None:
        header.append(f"# Exported {exported_at.isoformat(timespec='seconds')}")
    document: dict[str, Any] = {
        "steward": {"format": FORMAT_VERSION},
        "policy": policy,
        "server": {"guild_id": guild_id, **server},
    }
    return "\n".join(header) + "\n\n" + tomli_w.dumps(document)


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One thing wrong with an import file, at a line when known."""

    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        prefix = tr("line {line}: ", line=self.line) if self.line else ""
        return f"{prefix}{self.where}: {self.message}" if self.where else prefix + self.message


class ImportRejected(Exception):
    """The file can't be imported; nothing was changed."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import would do: the new settings and the changes, plus notes for the admin."""

    new: GuildConfig
    changes: dict[str, tuple[Any, Any]]
    notes: tuple[str, ...] = field(default_factory=tuple)


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\s\"']+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"']+)\s*=")


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line number of each `[table]` header and `key =` line, by dotted path (best effort)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header and not raw.lstrip().startswith("[["):
            table = tuple(p.strip().strip("\"'") for p in header.group(1).split("."))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(raw)
        if key:
            lines.setdefault((*table, key.group(1).strip("\"'")), number)
    return lines


def _line_of(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _check_shape(data: dict[str, Any], lines: dict[tuple[str, ...], int]) -> list[ImportProblem]:
    problems: list[ImportProblem] = []
    sections = _section_types()
    for top in data:
        if top not in {"steward", "policy", "server"}:
            problems.append(ImportProblem(_line_of(lines, (top,)), top,
                                          tr("unknown part (expected [policy] and [server])")))
    header = data.get("steward", {})
    if not isinstance(header, dict):
        problems.append(ImportProblem(_line_of(lines, ("steward",)), "steward",
                                      tr("must be a table ([steward] with format = 1)")))
        header = {}
    fmt = header.get("format", FORMAT_VERSION)
    if type(fmt) is not int or fmt != FORMAT_VERSION:
        problems.append(ImportProblem(_line_of(lines, ("steward", "format")), "steward.format",
                                      tr("this Steward reads format {version}, not {found}",
                                         version=FORMAT_VERSION, found=fmt)))
    for part in ("policy", "server"):
        block = data.get(part, {})
        if not isinstance(block, dict):
            problems.append(ImportProblem(_line_of(lines, (part,)), part,
                                          tr("must be a table")))
            continue
        for section, values in block.items():
            if part == "server" and section == "guild_id":
                if type(values) is not int:
                    problems.append(ImportProblem(_line_of(lines, (part, section)),
                                                  "server.guild_id", tr("must be a server id")))
                continue
            where = f"{part}.{section}"
            kind = sections.get(section)
            if kind is None:
                problems.append(ImportProblem(_line_of(lines, (part, section)), where,
                                              tr("unknown section")))
                continue
            if not isinstance(values, dict):
                problems.append(ImportProblem(_line_of(lines, (part, section)), where,
                                              tr("must be a table")))
                continue
            for name in values:
                if name not in kind.model_fields:
                    problems.append(ImportProblem(_line_of(lines, (part, section, name)),
                                                  f"{where}.{name}", tr("unknown setting")))
                elif is_server_field(kind, name) != (part == "server"):
                    right = "server" if part == "policy" else "policy"
                    problems.append(ImportProblem(
                        _line_of(lines, (part, section, name)), f"{where}.{name}",
                        tr("belongs in [{part}.{section}]", part=right, section=section)))
    return problems


def plan_import(text: str, current: GuildConfig, guild_id: int,
                groups: Iterable[tuple[str, int | None]] = ()) -> ImportPlan:
    """Parse and validate `text` against the guild's current settings; raises ImportRejected.

    `groups` are the guild's support groups as (name, role id): their roles, which members
    give themselves, can't be made moderator or exempt roles.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ImportRejected([ImportProblem(int(match.group(1)) if match else None, "",
                                            tr("not valid TOML: {detail}",
                                               detail=f"`{exc}`"))]) from None
    except RecursionError:
        raise ImportRejected([ImportProblem(None, "", tr("not valid TOML: nested too deeply"))]
                             ) from None
    lines = key_lines(text)
    problems = _check_shape(data, lines)
    if problems:
        raise ImportRejected(problems)
    server = dict(data.get("server", {}))
    source_guild = server.pop("guild_id", None)
    same_server = source_guild == guild_id
    policy = data.get("policy", {})
    current_dump = current.model_dump(mode="json")
    merged: dict[str, dict[str, Any]] = {}
    for section, kind in _section_types().items():
        values: dict[str, Any] = {}
        for name in kind.model_fields:
            if is_server_field(kind, name):
                if same_server:
                    if name in server.get(section, {}):
                        values[name] = server[section][name]
                else:
                    values[name] = current_dump[section][name]
            elif name in policy.get(section, {}):
                values[name] = policy[section][name]
        merged[section] = values
    problems = _check_values(merged, guild_id, lines, same_server, list(groups))
    if problems:
        raise ImportRejected(problems)
    try:  # strict: `hold_days = true` or `"3"` is refused, never taken as 1 or 3
        new = GuildConfig.model_validate(_int_keys(merged), strict=True)
    except ValidationError as exc:
        raise ImportRejected(_validation_problems(exc, lines, same_server)) from None
    notes: list[str] = []
    if not same_server and server:
        notes.append(tr(
            "The [server] part came from server {source}, not this one, so it was skipped: set "
            "channels and roles here with /steward setup.", source=source_guild))
    return ImportPlan(new, diff(current, new), tuple(notes))


# Roles that give Steward powers: @everyone there would make every member a moderator, or
# exempt every member from link holds.
_POWER_ROLES = (("core", "moderator_roles"), ("linkhold", "exempt_roles"))


def _check_values(merged: dict[str, dict[str, Any]], guild_id: int,
                  lines: dict[tuple[str, ...], int], same_server: bool,
                  groups: list[tuple[str, int | None]]) -> list[ImportProblem]:
    """What the slash commands refuse and the model alone can't know: allowlist entries go
    through the same domain validator as /linkhold allow (and are stored as it stores them),
    and neither @everyone nor a support-group role can be given Steward's powers."""
    problems: list[ImportProblem] = []
    allowlist = merged.get("linkhold", {}).get("allowlist")
    if isinstance(allowlist, list):
        cleaned: list[Any] = []
        for entry in allowlist:
            normalized = is_valid_domain(entry) if isinstance(entry, str) else None
            if normalized is None:
                problems.append(ImportProblem(
                    _line_of(lines, ("policy", "linkhold", "allowlist")),
                    "policy.linkhold.allowlist",
                    tr("{entry} isn't a website address Steward can allow (like cancer.gov; "
                       "not a bare ending like com)", entry=repr(str(entry)[:100]))))
            else:
                cleaned.append(normalized)
        merged["linkhold"]["allowlist"] = cleaned
    if same_server:
        for section, name in _POWER_ROLES:
            roles = merged.get(section, {}).get(name)
            if not isinstance(roles, list):
                continue
            where = _line_of(lines, ("server", section, name)), f"server.{section}.{name}"
            if guild_id in roles:
                problems.append(ImportProblem(
                    *where, tr("@everyone can't be given this: pick an ordinary role")))
            for role in roles:
                refusal = power_role_refusal(role, groups) if isinstance(role, int) else None
                if refusal:
                    problems.append(ImportProblem(*where, tr("role {role}: {refusal}",
                                                             role=role, refusal=refusal)))
    return problems


def _int_keys(merged: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """TOML (and JSON) keys are strings: ids used as keys become ints before strict checks."""
    out = {section: dict(values) for section, values in merged.items()}
    forums = out.get("followup", {}).get("autocheck_forums")
    if isinstance(forums, dict):
        out["followup"]["autocheck_forums"] = {
            int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in forums.items()}
    return out


def _validation_problems(exc: ValidationError, lines: dict[tuple[str, ...], int],
                         same_server: bool) -> list[ImportProblem]:
    sections = _section_types()
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(str(p) for p in error["loc"])
        part = "policy"
        if len(loc) >= 2 and loc[0] in sections and loc[1] in sections[loc[0]].model_fields:
            part = "server" if is_server_field(sections[loc[0]], loc[1]) else "policy"
        path = (part, *loc)
        problems.append(ImportProblem(_line_of(lines, path), ".".join(path),
                                      problem_in_words(error)))
    return problems


def describe_changes(changes: dict[str, tuple[Any, Any]]) -> list[str]:
    """One line per changed setting: `name: old → new`."""
    return [f"{name}: {old!r} → {new!r}" for name, (old, new) in sorted(changes.items())]


async def apply_import(service: GuildSettingsService, guild_id: int, text: str,
                       *, dry_run: bool = False,
                       groups: Iterable[tuple[str, int | None]] = ()) -> ImportPlan:
    """Validate and (unless `dry_run`) save an import; raises ImportRejected, saving nothing.

    `groups`: the guild's support groups as (name, role id), whose roles can't get powers.
    """
    plan = plan_import(text, service.get(guild_id), guild_id, groups)
    if not dry_run and plan.changes:
        await service.replace(guild_id, plan.new)
    return plan


class ExternalChanges:
    """Picks up settings another process saved (`steward config import`) while the bot runs."""

    def __init__(self, stamps: SettingsStampRepository, raw: GuildSettingsRepository,
                 service: GuildSettingsService, clock: Clock) -> None:
        self._stamps = stamps
        self._raw = raw
        self._service = service
        self._clock = clock
        self._known: dict[int, int] | None = None

    async def poll(self) -> list[int]:
        """Apply settings saved elsewhere since the last poll; returns the guilds reloaded."""
        current = await self._stamps.stamps()
        known, self._known = self._known, current
        if known is None:
            return []
        reloaded = []
        for guild_id, stamp in current.items():
            if known.get(guild_id) == stamp:
                continue
            raw = await self._raw.load(guild_id)
            if raw is None:
                continue
            try:
                stored = GuildConfig.model_validate_json(raw)
            except ValidationError:
                log.error("settings of guild %s saved elsewhere are invalid; ignored", guild_id)
                continue
            if stored != self._service.get(guild_id):
                await self._service.replace(guild_id, stored)
                reloaded.append(guild_id)
                log.info("picked up settings of guild %s saved by another process", guild_id)
        if reloaded:
            self._known = await self._stamps.stamps()
        return reloaded

    async def run(self, interval: timedelta = timedelta(minutes=1)) -> None:
        """Poll every `interval` until cancelled."""
        while True:
            try:
                await self.poll()
            except Exception:
                log.exception("could not check for settings saved elsewhere")
            await self._clock.sleep_until(self._clock.now() + interval)
