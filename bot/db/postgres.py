"""PostgreSQL (asyncpg): a connection pool behind the same interface as the SQLite default.

SQL arrives with `?` placeholders; each statement is translated to `$1, $2, ...` once and the
translation cached (asyncpg then caches the prepared statement per connection). Row counts come
from the command tag ("UPDATE 3"); `insert` appends `RETURNING id`.

The statements and transactions of one process run one at a time and in the order they were
asked for, exactly as on the SQLite connection: the features rely on that (read-then-write
inside a transaction, join handlers finishing in arrival order). A process scales out by
running more processes, not more connections; the pool replaces broken connections and serves
the cursor of `stream`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from bot import failpoints
from bot.db.backend import POSTGRESQL, Backend, Params, Row, Transaction, redact

# Where the installation key (bot.services.privacy) lives when the data is in PostgreSQL:
# `data/steward.postgresql.key`, beside where the SQLite file would be.
KEY_BASE = "data/steward.postgresql"
_VERSIONS = "schema_migrations"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.steward.migrations'))"


@functools.lru_cache(maxsize=4096)
def to_dollar(sql: str) -> str:
    """`?` placeholders as `$1, $2, ...`, leaving quoted text and comments alone."""
    out: list[str] = []
    count = 0
    quote = ""
    i = 0
    while i < len(sql):
        char = sql[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end])
            i = end
            continue
        elif char == "?":
            count += 1
            out.append(f"${count}")
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def rowcount(status: str) -> int:
    """Rows changed, from a command tag such as "INSERT 0 1" or "DELETE 3"."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def _args(params: Params) -> tuple[Any, ...]:
    if isinstance(params, dict):
        raise TypeError("named parameters are not supported; use ? placeholders")
    return tuple(params)


class PostgresTransaction(Transaction):
    """Statements on one pooled connection inside BEGIN ... COMMIT."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows changed."""
        return rowcount(await self._conn.execute(to_dollar(sql), *_args(params)))

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; returns the new row's id."""
        return int(await self._conn.fetchval(to_dollar(sql) + " RETURNING id", *_args(params)))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        row: Row | None = await self._conn.fetchrow(to_dollar(sql), *_args(params))
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        return list(await self._conn.fetch(to_dollar(sql), *_args(params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run a statement for many parameter sets."""
        await self._conn.executemany(to_dollar(sql), [_args(p) for p in rows])


class PostgresBackend(Backend):
    """An asyncpg pool; migrations tracked in the `schema_migrations` table."""

    dialect = POSTGRESQL

    def __init__(self, pool: Any, url: str) -> None:
        self._pool = pool
        self.path = KEY_BASE
        self.label = redact(url)
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, url: str, *, max_size: int = 4) -> PostgresBackend:
        """Connect a pool to `url` (query parameters such as search_path are server settings).
        """
        pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size,
                                         server_settings={"application_name": "steward"})
        return cls(pool, url)

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._closed

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN ... COMMIT on one pooled connection (ROLLBACK on error or cancellation)."""
        async with self._lock, self._pool.acquire() as conn, conn.transaction():
            yield PostgresTransaction(conn)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement, committed on its own; returns rows changed."""
        async with self._lock:
            return rowcount(await self._pool.execute(to_dollar(sql), *_args(params)))

    async def insert(self, sql: str, params: Params = ()) -> int:
        """One INSERT, committed on its own; returns the new row's id."""
        async with self._lock:
            return int(await self._pool.fetchval(to_dollar(sql) + " RETURNING id",
                                                 *_args(params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """A statement for many parameter sets, in one transaction."""
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        async with self._lock:
            row: Row | None = await self._pool.fetchrow(to_dollar(sql), *_args(params))
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        async with self._lock:
            return list(await self._pool.fetch(to_dollar(sql), *_args(params)))

    async def stream(self, sql: str, params: Params = (), size: int = 1000
                     ) -> AsyncIterator[list[Row]]:
        """A query's rows in batches, read through a server-side cursor."""
        async with self._pool.acquire() as conn, conn.transaction():
            batch: list[Row] = []
            async for row in conn.cursor(to_dollar(sql), *_args(params), prefetch=size):
                batch.append(row)
                if len(batch) >= size:
                    yield batch
                    batch = []
            if batch:
                yield batch

    async def schema_version(self) -> int:
        """The newest version in `schema_migrations` (0 when the table does not exist yet)."""
        if await self._pool.fetchval(f"SELECT to_regclass('{_VERSIONS}')") is None:
            return 0
        return int(await self._pool.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {_VERSIONS}"))

    async def apply_migration(self, statements: list[str], version: int, name: str) -> bool:
        """Run one migration under an advisory lock, so processes starting together apply it
        once; False when another process already had."""
        async with self._lock, self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_LOCK)
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {_VERSIONS} (version BIGINT PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            current = await conn.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {_VERSIONS}")
            if int(current) >= version:
                return False
            for statement in statements:
                await conn.execute(statement)
            await conn.execute(f"INSERT INTO {_VERSIONS} (version, name) VALUES ($1, $2)",
                               version, name)
            failpoints.hit_migration(version)
        return True

    async def checkpoint(self) -> None:
        """Nothing to fold: deleted rows are gone from every query and dump at once; their
        bytes stay in the data files until (auto)vacuum reuses the space."""

    async def backup(self, destination: str | Path) -> None:
        """Not done here: PostgreSQL is backed up with its own tools."""
        raise NotImplementedError("back up PostgreSQL with pg_dump (see docs/guide/setup.md)")

    async def reset_identity(self, table: str) -> None:
        """Move the table's id sequence past the largest copied id."""
        await self._pool.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")

    async def close(self) -> None:
        """Close the pool (waits for connections in use)."""
        if self._closed:
            return
        self._closed = True
        await self._pool.close()
