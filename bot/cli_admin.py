"""Admin subcommands: `steward doctor`, `steward forget`, `steward config export|import`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_FAILED, EXIT_OK, Command, fail
from bot.i18n import N_, SOURCE, negotiate, speaking, tr, trn
from config.settings import Settings

if TYPE_CHECKING:
    from bot.app import StewardBot
    from bot.db import Database
    from bot.services.guild_settings import GuildSettingsService


COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    """Add a subcommand implementation to `COMMANDS` (bot.cli runs them)."""

    def register(func: Command) -> Command:
        COMMANDS[name] = func
        return func

    return register


def add_parsers(sub: Any) -> None:
    """Add the admin subcommands' parsers to `steward`'s subparsers."""
    doctor = sub.add_parser("doctor", help="show what the running bot last found wrong in a "
                                           "server (permissions, channels, roles)")
    doctor.add_argument("--guild", type=int, required=True, help="the server (guild) id")

    forget = sub.add_parser("forget", help="delete everything stored about a member of a server")
    forget.add_argument("--guild", type=int, required=True, help="the server (guild) id")
    forget.add_argument("--user", type=int, required=True, help="the member's user id")
    forget.add_argument("--yes", action="store_true", help="don't ask for confirmation")

    config = sub.add_parser("config", help="export or import a server's settings as TOML")
    actions = config.add_subparsers(dest="config_command", required=True)
    export = actions.add_parser("export", help="print the server's settings as TOML")
    export.add_argument("--guild", type=int, required=True, help="the server (guild) id")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")
    imp = actions.add_parser("import", help="apply a TOML file (validated; --dry-run shows "
                                            "the changes only)")
    imp.add_argument("--guild", type=int, required=True, help="the server (guild) id")
    imp.add_argument("file", type=Path, help="the TOML file ('-' reads stdin)")
    imp.add_argument("--dry-run", action="store_true", help="show the changes, save nothing")


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    from bot.db import Database, migrate

    db = await Database.open(settings.database)
    try:
        await migrate(db)
        yield db
    finally:
        await db.close()


@command("doctor")
async def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.doctor import DoctorRepository
    from bot.domain.doctor import Severity

    async with _database(settings) as db:
        repository = DoctorRepository(db)
        run = await repository.last_run(args.guild)
        findings = await repository.findings(args.guild)
    if run is None:
        print(f"Steward has not checked server {args.guild} yet. It checks when it starts and "
              "when settings change; in Discord, /steward doctor checks now.")
        return EXIT_FAILED
    print(f"Server {args.guild}, checked {run.checked_at.isoformat(timespec='seconds')}:")
    if not findings:
        print("  All clear: everything Steward needs is in place.")
        return EXIT_OK
    for recorded in findings:
        f = recorded.finding
        mark = "PROBLEM" if f.severity is Severity.PROBLEM else "warning"
        print(f"\n[{mark}] {f.code} ({f.subject}), since "
              f"{recorded.first_seen.isoformat(timespec='minutes')}")
        print(f"  {f.message}")
        print(f"  Fix: {f.fix}")
    problems = sum(1 for r in findings if r.finding.severity is Severity.PROBLEM)
    return EXIT_FAILED if problems else EXIT_OK


@asynccontextmanager
async def offline_bot(settings: Settings) -> AsyncIterator[StewardBot]:
    """The bot with every extension loaded but not connected, and no background work.

    Features register their privacy hooks when their extension loads, so this is how the CLI
    reaches all of them. Background work is refused before the extensions load, so nothing
    runs but what the caller asks for.
    """
    from bot.app import StewardBot

    bot = StewardBot(settings, sync_commands=False)
    async with bot:
        await bot.background.drain()
        await bot.setup_hook()
        yield bot


@command("forget")
async def _forget(args: argparse.Namespace, settings: Settings) -> int:

    if not args.yes:
        if not sys.stdin.isatty():
            return fail("add --yes to forget a member without being asked")
        answer = input(f"Delete everything stored about user {args.user} in server "  # noqa: ASYNC250 - nothing else runs yet
                       f"{args.guild}? This can't be undone. Type yes: ")
        if answer.strip().lower() != "yes":
            print("Nothing was changed.")
            return EXIT_FAILED
    async with offline_bot(settings) as bot:
        report = await bot.services.privacy.forget(args.guild, args.user)
        await bot.audit.record(args.guild, None, "privacy.forgotten",
                               details={"removed": report.total, "via": N_("command line")},
                               post=False)
    print(f"Forgot user {args.user} in server {args.guild}:")
    for name, count in report.removed.items():
        verb = "anonymized" if name == "audit" else "removed"
        print(f"  {name}: {count} {verb}")
    if report.failed:
        print("Could not finish: " + ", ".join(report.failed) + ". See the log above; run "
              "the command again once it is fixed.")
        return EXIT_FAILED
    return EXIT_OK


@command("config")
async def _config(args: argparse.Namespace, settings: Settings) -> int:
    from bot.clock import SystemClock
    from bot.db.guild_settings import GuildSettingsRepository
    from bot.services.guild_settings import GuildSettingsService

    async with _database(settings) as db:
        service = GuildSettingsService(GuildSettingsRepository(db), SystemClock())
        await service.load_all()
        with speaking(cli_language(settings, service.get(args.guild).core.language)):
            return await _config_in_language(args, db, service)


def cli_language(settings: Settings, server_language: str | None) -> str:
    """The command line's language: STEWARD_LANGUAGE, else the server's setting, else English
    (offline, the server's Discord locale is unknown)."""
    return negotiate(settings.language or server_language or SOURCE)


async def _config_in_language(args: argparse.Namespace, db: Database,
                              service: GuildSettingsService) -> int:
    """`steward config export|import`, speaking the command line's language."""
    from datetime import UTC, datetime

    from bot.clock import SystemClock
    from bot.services.config_io import (
        ImportRejected,
        apply_import,
        describe_changes,
        export_toml,
    )

    if args.config_command == "export":
        text = export_toml(service.get(args.guild), args.guild, datetime.now(UTC))
        if args.output:
            args.output.write_text(text, encoding="utf-8")
            print(tr("Wrote the settings of server {guild} to {file}.", guild=args.guild,
                     file=args.output), file=sys.stderr)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    try:
        text = (sys.stdin.read() if str(args.file) == "-"
                else args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return fail(tr("can't read {file}: {error}", file=args.file, error=exc),
                    EXIT_FAILED)
    try:
        from bot.db.welcome import WelcomeRepository

        groups = [(g.name, g.role_id)
                  for g in await WelcomeRepository(db).groups(args.guild)]
        plan = await apply_import(service, args.guild, text, dry_run=args.dry_run,
                                  groups=groups)
    except ImportRejected as exc:
        print(tr("{file} was not imported; nothing changed:", file=args.file),
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILED
    if plan.changes and not args.dry_run:
        from bot.db.audit import AuditRepository
        from bot.services.audit import AuditService

        await AuditService(AuditRepository(db), SystemClock()).record(
            args.guild, None, "settings.imported",
            details={k: f"{old} → {new}" for k, (old, new) in plan.changes.items()},
            post=False)
    for note in plan.notes:
        print(note)
    if not plan.changes:
        print(tr("No changes: the server already has these settings."))
        return EXIT_OK
    count = len(plan.changes)
    print(trn("Would change {count} setting:", "Would change {count} settings:", count,
              count=count) if args.dry_run else
          trn("Changed {count} setting:", "Changed {count} settings:", count, count=count))
    for line in describe_changes(plan.changes):
        print(f"  {line}")
    if not args.dry_run:
        print(tr("A running Steward picks this up within a minute."))
    return EXIT_OK
