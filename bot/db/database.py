"""The one database connection of a process (aiosqlite), and the only place SQL is executed.

Repositories under `bot/db/` hold the SQL; they call `Database.execute/fetch*` or work inside
`async with db.transaction() as tx:`. SQL uses `?` placeholders and portable types (INTEGER,
TEXT, no SQLite-only functions in queries) so a PostgreSQL backend could run it with a
placeholder translation. Times are stored as INTEGER Unix milliseconds (UTC).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
Row = sqlite3.Row


def to_db_time(when: datetime) -> int:
    """A timezone-aware datetime as Unix milliseconds."""
    if when.tzinfo is None:
        raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
    return int(when.timestamp() * 1000)


def from_db_time(value: int) -> datetime:
    """Unix milliseconds back to an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


class Transaction:
    """Statements run inside one BEGIN ... COMMIT, holding the connection lock."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows changed."""
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; returns the new row id."""
        cursor = await self._conn.execute(sql, params)
        return int(cursor.lastrowid or 0)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        cursor = await self._conn.execute(sql, params)
        row: Row | None = await cursor.fetchone()
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        cursor = await self._conn.execute(sql, params)
        return list(await cursor.fetchall())


def make_private(path: Path) -> None:
    """Create `path`'s folder 0700 (when Steward creates it) and the file and its -wal/-shm 0600.

    The database holds health details. SQLite gives the -wal and -shm files the main file's
    mode, so creating that one 0600 before SQLite opens it covers all three; files left by an
    older version are tightened too.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)


class Database:
    """One aiosqlite connection with WAL, foreign keys, a busy timeout and a write lock."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating the parent folder) and configure the database at `path`."""
        target = str(path)
        if target != ":memory:":
            make_private(Path(target))
        conn = await aiosqlite.connect(target, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA secure_delete=ON",
        ):
            await conn.execute(pragma)
        return cls(conn, target)

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._closed

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), exclusive within this process.

        Safe against cancellation: aiosqlite runs statements in order on its own thread, so a
        ROLLBACK queued after an interrupted BEGIN always lands after it, and COMMIT/ROLLBACK
        are shielded so a cancelled caller never leaves the connection inside a transaction.
        """
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                yield Transaction(self._conn)
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            await asyncio.shield(self._conn.execute("COMMIT"))

    async def _rollback(self) -> None:
        # When the BEGIN never ran there is nothing to undo, and SQLite says so.
        with contextlib.suppress(sqlite3.OperationalError):
            await self._conn.execute("ROLLBACK")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; returns rows changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT in its own transaction; returns the new row id."""
        async with self.transaction() as tx:
            return await tx.insert(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run a statement for many parameter sets in one transaction."""
        async with self.transaction():
            await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        async with self._lock:
            cursor = await self._conn.execute(sql, params)
            row: Row | None = await cursor.fetchone()
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        async with self._lock:
            cursor = await self._conn.execute(sql, params)
            return list(await cursor.fetchall())

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def user_version(self) -> int:
        """The schema version recorded in the database header."""
        return int(await self.fetchval("PRAGMA user_version") or 0)

    async def run_script_in_transaction(self, statements: list[str], version: int) -> None:
        """Apply one migration's statements and set user_version, all or nothing."""
        async with self.transaction() as tx:
            for statement in statements:
                await tx.execute(statement)
            # PRAGMA takes no parameters; version is an int we parsed from a file name.
            await tx.execute(f"PRAGMA user_version = {int(version)}")

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file and truncate it (purged content leaves the WAL)."""
        async with self._lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def backup(self, destination: str | Path) -> None:
        """Copy the live database to `destination` with SQLite's online backup API."""
        dest_path = Path(destination)
        dest_path.parent.mkdir(parents=True, exist_ok=True)
        async with self._lock:
            dest = await aiosqlite.connect(str(dest_path))
            try:
                await self._conn.backup(dest)
            finally:
                await dest.close()

    async def close(self) -> None:
        """Wait for in-flight statements, then close the connection."""
        if self._closed:
            return
        async with self._lock:
            self._closed = True
            await self._conn.close()
