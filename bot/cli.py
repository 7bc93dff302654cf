"""The `steward` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
from pathlib import Path

from bot import cli_admin
from bot.cli_common import EXIT_FAILED, EXIT_OK, Command, fail
from config.settings import MissingTokenError, Settings, SettingsError, load_settings

log = logging.getLogger(__name__)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    import discord

    from bot.app import make_bot, point_at
    from bot.domain.shards import parse_shards

    try:
        token = settings.token()
    except MissingTokenError:
        return fail("DISCORD_TOKEN is not set: put your bot's token in .env "
                    "(see .env.example) or the environment")
    shards = None
    if args.shards is not None or args.shard_count is not None:
        if args.shards is None or args.shard_count is None:
            return fail("--shards and --shard-count go together, e.g. --shards 0-3 "
                        "--shard-count 8")
        try:
            shards = parse_shards(args.shards, args.shard_count)
        except ValueError as exc:
            return fail(f"--shards: {exc}")
    point_at(settings.discord_api_base, settings.discord_gateway_url)
    bot = make_bot(settings, shards)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)

    async def stop_on_signal() -> None:
        await stopping.wait()
        log.info("shutting down")
        await bot.close()

    stopper = asyncio.create_task(stop_on_signal())
    try:
        async with bot:
            await bot.start(token)
    except discord.PrivilegedIntentsRequired:
        return fail("Discord refused the connection because privileged intents are off: in the "
                    "Developer Portal, open your application -> Bot and enable SERVER MEMBERS "
                    "INTENT and MESSAGE CONTENT INTENT")
    except discord.LoginFailure:
        return fail("Discord did not accept DISCORD_TOKEN: copy the token again from the "
                    "Developer Portal (Bot -> Reset Token)")
    finally:
        if stopping.is_set():
            await stopper  # the shutdown it started runs to the end: nothing cut short
        else:
            stopper.cancel()
    return EXIT_OK


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import Database, MigrationError, migrate

    db = await Database.open(settings.database)
    try:
        report = await migrate(db)
    except MigrationError as exc:
        return fail(str(exc), EXIT_FAILED)
    finally:
        await db.close()
    if report.applied:
        print(f"Migrated {db.label} from version {report.before} to {report.after}: "
              + ", ".join(report.applied))
    else:
        print(f"{db.label} is up to date (schema version {report.after}).")
    return EXIT_OK


async def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import Database

    if is_postgres(settings.database):
        return fail("steward backup copies an SQLite database; back up PostgreSQL with "
                    "pg_dump (see docs/guide/setup.md)", EXIT_FAILED)
    if not Path(settings.database).exists():  # noqa: ASYNC240 - one stat at start-up
        return fail(f"no database at {settings.database}", EXIT_FAILED)
    from bot.services.privacy import key_path

    db = await Database.open(settings.database)
    try:
        await db.backup(args.path)
    finally:
        await db.close()
    print(f"Backed up {settings.database} to {args.path}.")
    # The opt-out fingerprints are keyed with the installation key: it travels with the data.
    key, copy = key_path(settings.database), key_path(args.path)
    if key is not None and copy is not None and key.exists():  # noqa: ASYNC240 - one stat
        shutil.copy2(key, copy)
        copy.chmod(0o600)
        print(f"Copied the installation key to {copy} (keep it as private as the database).")
    return EXIT_OK


async def _check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import Database, MigrationError, migrate
    from bot.db.database import redact
    from bot.db.guild_settings import GuildSettingsRepository

    ok = True
    print(f"settings: loaded (log level {settings.log_level}, format {settings.log_format})")
    try:
        settings.token()
        print("DISCORD_TOKEN: set")
    except MissingTokenError:
        print("DISCORD_TOKEN: NOT SET")
        ok = False
    print(f"REST API: {settings.discord_api_base}")
    print(f"gateway: {settings.discord_gateway_url}")
    try:
        db = await Database.open(settings.database)
    except Exception as exc:
        print(f"database: cannot open {redact(settings.database)}: {exc}")
        return EXIT_FAILED
    try:
        report = await migrate(db)
        guilds = await GuildSettingsRepository(db).load_all()
        print(f"database: {db.label}, schema version {report.after}, "
              f"{len(guilds)} configured guild(s)")
    except MigrationError as exc:
        print(f"database: {exc}")
        ok = False
    finally:
        await db.close()
    return EXIT_OK if ok else EXIT_FAILED


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    code: int = await run_demo(quiet=args.quiet, language=args.lang)
    return code


async def _migrate_db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import Database
    from bot.db.database import redact
    from bot.db.transfer import TransferError, copy_database
    from config.settings import database_target

    try:
        source_target, target_target = database_target(args.source), database_target(args.to)
    except ValueError as exc:
        return fail(f"migrate-db: {exc}")
    if str(source_target) == str(target_target):
        return fail("migrate-db: --from and --to are the same database")
    if not is_postgres(source_target) and not Path(source_target).exists():  # noqa: ASYNC240
        return fail(f"no database at {source_target}", EXIT_FAILED)
    print(f"Copying {redact(source_target)} to {redact(target_target)}")
    source = await Database.open(source_target)
    try:
        target = await Database.open(target_target)
        try:
            report = await copy_database(source, target)
        except TransferError as exc:
            return fail(str(exc), EXIT_FAILED)
        finally:
            await target.close()
    finally:
        await source.close()
    print(f"{'table':<24}{'rows before':>12}  {'checksum before':<18}{'rows after':>11}  "
          "checksum after")
    for before, after in zip(report.before, report.after, strict=True):
        mark = "" if before == after else "  MISMATCH"
        print(f"{before.table:<24}{before.rows:>12}  {before.checksum:<18}{after.rows:>11}  "
              f"{after.checksum}{mark}")
    if report.mismatched:
        return fail(f"migrate-db: {len(report.mismatched)} table(s) differ after the copy: "
                    + ", ".join(report.mismatched) + " (empty the target before trying again)",
                    EXIT_FAILED)
    print(f"All {len(report.before)} tables match: {report.rows} rows copied at schema version "
          f"{report.version}. Point STEWARD_DATABASE at the new database and start Steward.")
    return EXIT_OK


def is_postgres(target: Path | str) -> bool:
    """True for a postgresql:// target (settings.database or a migrate-db argument)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


COMMANDS: dict[str, Command] = {"run": _run, "migrate": _migrate, "backup": _backup,
                                "check": _check, "demo": _demo, "migrate-db": _migrate_db,
                                **cli_admin.COMMANDS}


async def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the subcommand `args` names (what `main` does after parsing and logging set-up)."""
    return await COMMANDS[args.command](args, settings)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="steward", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="connect to Discord and run the bot")
    run.add_argument("--shards", help="the shards this process runs, e.g. 0-3 or 0,2 "
                     "(with --shard-count; see docs/guide/scaling.md)")
    run.add_argument("--shard-count", type=int, help="how many shards all processes run")
    sub.add_parser("migrate", help="apply database migrations and report")
    backup = sub.add_parser("backup", help="copy the database safely, even while the bot runs")
    backup.add_argument("path", type=Path)
    sub.add_parser("check", help="check settings and the database (Docker healthcheck)")
    move = sub.add_parser("migrate-db", help="copy an installation into an empty database "
                          "(e.g. SQLite to PostgreSQL), checking every table")
    move.add_argument("--from", dest="source", required=True,
                      help="sqlite:///path, a file path, or postgresql://...")
    move.add_argument("--to", required=True, help="postgresql://... (or sqlite:///path)")
    demo = sub.add_parser("demo", help="play an offline story against the built-in sandbox")
    demo.add_argument("--quiet", action="store_true", help="print only the transcript")
    demo.add_argument("--lang", default="en", choices=["en", "es"],
                      help="the server's and members' language (default: en)")
    cli_admin.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `steward` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return fail(str(exc))
    if args.command != "demo":
        from bot.logs import setup_logging

        setup_logging(settings.log_level, settings.log_format.value)
    try:
        return asyncio.run(run_command(args, settings))
    except KeyboardInterrupt:
        return EXIT_OK
