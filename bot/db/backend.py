"""What a storage backend (embedded SQLite or PostgreSQL) provides behind `Database`.

Repositories never see a backend: they call `Database`, which hands each call to one. SQL is
written once, with `?` placeholders and portable types; a backend translates what it must.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

Params = Sequence[Any]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class Row(Protocol):
    """A result row: by column name or position (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Transaction(ABC):
    """Statements run inside one BEGIN ... COMMIT."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows changed."""

    @abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT into a table with an `id` key; returns the new row's id."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run a statement for many parameter sets."""
        for params in rows:
            await self.execute(sql, params)


class Backend(ABC):
    """One process's connection(s) to one database."""

    dialect: str
    path: str  # SQLite: the file; PostgreSQL: where the installation key lives (see open)
    label: str  # how to name the database to a person (passwords removed)

    @property
    @abstractmethod
    def closed(self) -> bool:
        """True once `close()` was called."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """BEGIN ... COMMIT (ROLLBACK on error); a process's statements run one at a time."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement, committed on its own; returns rows changed."""

    @abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int:
        """One INSERT, committed on its own; returns the new row's id."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """A statement for many parameter sets, in one transaction."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""

    @abstractmethod
    def stream(self, sql: str, params: Params = (), size: int = 1000
               ) -> AsyncIterator[list[Row]]:
        """A query's rows in batches of up to `size` (for copying whole tables)."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The newest migration applied (0 for a new database)."""

    @abstractmethod
    async def apply_migration(self, statements: list[str], version: int, name: str) -> bool:
        """Run one migration and record its version, all or nothing.

        False when another process applied it first (nothing was run).
        """

    @abstractmethod
    async def checkpoint(self) -> None:
        """Make deleted content leave the files on disk where the backend can."""

    @abstractmethod
    async def backup(self, destination: str | Path) -> None:
        """Copy the live database to a file."""

    @abstractmethod
    async def reset_identity(self, table: str) -> None:
        """After rows were copied in with their ids: new ids continue after the largest."""

    @abstractmethod
    async def close(self) -> None:
        """Wait for in-flight statements, then close."""


def is_postgres_url(target: str | Path) -> bool:
    """True for a postgresql:// (or postgres://) URL."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def sqlite_path(target: str | Path) -> str:
    """The file of an SQLite target: a plain path, `sqlite:///relative` or `sqlite:////abs`."""
    text = str(target)
    if text.startswith("sqlite:///"):
        return text[len("sqlite:///"):] or ":memory:"
    if text.startswith("sqlite://"):
        return ":memory:"
    return text


def redact(target: str | Path) -> str:
    """The target with any password replaced by ***, for messages and logs."""
    text = str(target)
    if not is_postgres_url(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = re.sub(r":[^:@]*@", ":***@", parts.netloc, count=1)
    return urlunsplit(parts._replace(netloc=netloc))
