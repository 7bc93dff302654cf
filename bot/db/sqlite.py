"""The embedded default: one aiosqlite connection with WAL, foreign keys and secure_delete."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot import failpoints
from bot.db.backend import SQLITE, Backend, Params, Row, Transaction


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

class SqliteTransaction(Transaction):
    """Statements inside BEGIN IMMEDIATE ... COMMIT, holding the connection lock."""

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

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run a statement for many parameter sets."""
        await self._conn.executemany(sql, rows)


class SqliteBackend(Backend):
    """One aiosqlite connection with WAL, foreign keys, a busy timeout and a write lock."""

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        self.label = path
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: str) -> SqliteBackend:
        """Open (creating the parent folder) and configure the database at `path`."""
        if path != ":memory:":
            make_private(Path(path))
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA secure_delete=ON",
        ):
            await conn.execute(pragma)
        return cls(conn, path)

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
                yield SqliteTransaction(self._conn)
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
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

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

    async def stream(self, sql: str, params: Params = (), size: int = 1000
                     ) -> AsyncIterator[list[Row]]:
        """A query's rows in batches (the connection is held until the last batch)."""
        async with self._lock:
            cursor = await self._conn.execute(sql, params)
            while True:
                batch: list[Row] = list(await cursor.fetchmany(size))
                if not batch:
                    return
                yield batch

    async def schema_version(self) -> int:
        """The schema version recorded in the database header (PRAGMA user_version)."""
        row = await self.fetchone("PRAGMA user_version")
        return 0 if row is None else int(row[0] or 0)

    async def apply_migration(self, statements: list[str], version: int, name: str) -> bool:
        """Apply one migration's statements and set user_version, all or nothing."""
        async with self.transaction() as tx:
            for statement in statements:
                await tx.execute(statement)
            # PRAGMA takes no parameters; version is an int we parsed from a file name.
            await tx.execute(f"PRAGMA user_version = {int(version)}")
            failpoints.hit_migration(version)
        return True

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

    async def reset_identity(self, table: str) -> None:
        """Nothing to do: an INTEGER PRIMARY KEY continues after the largest id by itself."""

    async def close(self) -> None:
        """Wait for in-flight statements, then close the connection."""
        if self._closed:
            return
        async with self._lock:
            self._closed = True
            await self._conn.close()
