"""Test databases on both backends: SQLite files, and PostgreSQL schemas made per test.

`--db=sqlite|postgres|both` (or STEWARD_TEST_DB; default both) chooses the backends. PostgreSQL
is found at STEWARD_TEST_POSTGRES (default postgresql://127.0.0.1:5432/test). When it can't be
reached its tests are skipped with one plain line, unless STEWARD_TEST_POSTGRES_REQUIRED=1
(CI), which makes that a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

BACKENDS = ("sqlite", "postgres")
DEFAULT_URL = "postgresql://127.0.0.1:5432/test"
NOT_RUN = "the PostgreSQL tier did not run"


def postgres_url() -> str:
    """The server the PostgreSQL tier uses."""
    return os.environ.get("STEWARD_TEST_POSTGRES", DEFAULT_URL)


def required() -> bool:
    """True when an unreachable PostgreSQL must fail the run (CI)."""
    return os.environ.get("STEWARD_TEST_POSTGRES_REQUIRED", "") not in ("", "0")


def selected(config: pytest.Config) -> tuple[str, ...]:
    """The backends this run covers."""
    choice = config.getoption("--db", default=None) or os.environ.get("STEWARD_TEST_DB", "both")
    return BACKENDS if choice == "both" else (choice,)


_reachable: dict[str, str | None] = {}


async def postgres_problem() -> str | None:
    """None when PostgreSQL answers; otherwise why not (asked once per run)."""
    url = postgres_url()
    if url not in _reachable:
        try:
            conn = await asyncpg.connect(url, timeout=3)
            await conn.close()
            _reachable[url] = None
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            _reachable[url] = f"{type(exc).__name__}: {exc}"
    return _reachable[url]


def skipped_reason() -> str | None:
    """Why the PostgreSQL tier was skipped in this run, if it was."""
    return next((p for p in _reachable.values() if p), None)


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh, empty schema for one test: yields its URL (search_path set), then drops it."""
    problem = await postgres_problem()
    if problem is not None:
        if required():
            pytest.fail(f"PostgreSQL is required here and not reachable ({problem})")
        pytest.skip(f"{NOT_RUN}: PostgreSQL not reachable at {postgres_url()}")
    name = f"steward_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(postgres_url())
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
        separator = "&" if "?" in postgres_url() else "?"
        # Tests need no durability: not waiting for each commit to reach the disk saves time.
        yield f"{postgres_url()}{separator}search_path={name}&synchronous_commit=off"
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()


@asynccontextmanager
async def database_target(backend: str, folder: Path) -> AsyncIterator[str | Path]:
    """Where a test's database lives on `backend`: a file in `folder`, or a fresh schema."""
    if backend == "sqlite":
        yield folder / "steward.sqlite3"
        return
    async with postgres_schema() as url:
        yield url
