"""The database of a process, and the only place SQL is executed.

Repositories under `bot/db/` hold the SQL; they call `Database.execute/fetch*` or work inside
`async with db.transaction() as tx:`. SQL uses `?` placeholders and portable types (INTEGER,
TEXT, no SQLite-only functions in queries). `Database.open` picks the backend from the target:
a file path or `sqlite:///path` (embedded SQLite, the default) or `postgresql://...`.
Times are stored as INTEGER Unix milliseconds (UTC).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.db.backend import (
    POSTGRESQL,
    SQLITE,
    Backend,
    Params,
    Row,
    Transaction,
    is_postgres_url,
    redact,
    sqlite_path,
)
from bot.db.postgres import PostgresBackend
from bot.db.sqlite import SqliteBackend

__all__ = ["POSTGRESQL", "SQLITE", "Database", "Params", "Row", "Transaction", "from_db_time",
           "redact", "to_db_time"]


def to_db_time(when: datetime) -> int:
    """A timezone-aware datetime as Unix milliseconds."""
    if when.tzinfo is None:
        raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
    return int(when.timestamp() * 1000)


def from_db_time(value: int) -> datetime:
    """Unix milliseconds back to an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


class Database:
    """One process's database: SQLite (one connection) or PostgreSQL (a pool)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @classmethod
    async def open(cls, target: str | Path) -> Database:
        """Open `target`: a path / `sqlite:///path` (SQLite) or a `postgresql://` URL."""
        if is_postgres_url(target):
            return cls(await PostgresBackend.open(str(target)))
        return cls(await SqliteBackend.open(sqlite_path(target)))

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._backend.dialect

    @property
    def path(self) -> str:
        """SQLite: the database file; PostgreSQL: the local base name of the installation key."""
        return self._backend.path

    @property
    def label(self) -> str:
        """The database, named for people (any password removed)."""
        return self._backend.label

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._backend.closed

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """BEGIN ... COMMIT (ROLLBACK on error), one at a time within this process."""
        return self._backend.transaction()

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; returns rows changed."""
        return await self._backend.execute(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT (into a table keyed by `id`) on its own; returns the new id."""
        return await self._backend.insert(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run a statement for many parameter sets in one transaction."""
        await self._backend.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        return await self._backend.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        return await self._backend.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    def stream(self, sql: str, params: Params = (), size: int = 1000
               ) -> AsyncIterator[list[Row]]:
        """A query's rows in batches of up to `size`."""
        return self._backend.stream(sql, params, size)

    async def schema_version(self) -> int:
        """The newest migration applied to this database."""
        return await self._backend.schema_version()

    async def user_version(self) -> int:
        """The schema version (SQLite keeps it in PRAGMA user_version)."""
        return await self.schema_version()

    async def apply_migration(self, statements: list[str], version: int, name: str) -> bool:
        """Apply one migration and record its version, all or nothing."""
        return await self._backend.apply_migration(statements, version, name)

    async def checkpoint(self) -> None:
        """SQLite: fold the WAL into the main file and truncate it (purged content leaves it)."""
        await self._backend.checkpoint()

    async def backup(self, destination: str | Path) -> None:
        """Copy the live (SQLite) database to `destination`."""
        await self._backend.backup(destination)

    async def reset_identity(self, table: str) -> None:
        """After copying rows in with their ids, new ids continue after the largest."""
        await self._backend.reset_identity(table)

    async def close(self) -> None:
        """Wait for in-flight statements, then close."""
        await self._backend.close()
