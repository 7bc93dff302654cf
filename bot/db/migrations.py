"""Applies `migrations/NNNN_name.sql` in order, each in its own transaction.

Progress is tracked with `PRAGMA user_version`. Re-running is a no-op; a database whose version
is newer than the newest file is refused; a failed migration leaves the database as it was.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.db.database import Database

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The database can't be brought to this version of Steward."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    path: Path

    def statements(self) -> list[str]:
        """The file split into complete SQL statements."""
        statements: list[str] = []
        buffer = ""
        for line in self.path.read_text(encoding="utf-8").splitlines(keepends=True):
            if not buffer and (not line.strip() or line.lstrip().startswith("--")):
                continue
            buffer += line
            if sqlite3.complete_statement(buffer):
                statements.append(buffer.strip())
                buffer = ""
        if buffer.strip():
            raise MigrationError(f"{self.path.name}: incomplete statement at the end")
        return statements


def migrations_dir() -> Path:
    """The migrations folder of a checkout, or the copy packaged inside `bot/`."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "migrations", here / "_migrations"):
        if candidate.is_dir():
            return candidate
    raise MigrationError("no migrations folder found")


def discover(folder: Path | None = None) -> list[Migration]:
    """Every migration file, in order; duplicate or missing numbers are refused."""
    folder = folder or migrations_dir()
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{migration.path.name}: expected migration number {expected:04d} (no gaps)"
            )
    return found


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What `migrate` did."""

    before: int
    after: int
    applied: tuple[str, ...]


async def migrate(db: Database, folder: Path | None = None) -> MigrationReport:
    """Bring `db` up to the newest migration."""
    available = discover(folder)
    newest = available[-1].version if available else 0
    before = await db.user_version()
    if before > newest:
        raise MigrationError(
            f"the database is at schema version {before}, newer than this Steward knows "
            f"({newest}); upgrade Steward or restore a backup"
        )
    applied: list[str] = []
    for migration in available:
        if migration.version <= before:
            continue
        try:
            await db.run_script_in_transaction(migration.statements(), migration.version)
        except sqlite3.Error as exc:
            raise MigrationError(f"{migration.path.name} failed: {exc}") from exc
        log.info("applied migration %04d_%s", migration.version, migration.name)
        applied.append(f"{migration.version:04d}_{migration.name}")
    return MigrationReport(before=before, after=await db.user_version(), applied=tuple(applied))
