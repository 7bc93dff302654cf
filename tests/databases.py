"""Test databases on both backends: SQLite files, and PostgreSQL schemas made per test.

`--db=sqlite|postgres|both` (or STEWARD_TEST_DB; default both) chooses the backends. PostgreSQL
is found at STEWARD_TEST_POSTGRES (default postgresql://127.0.0.1:5432/test). When it can't be
reached the PostgreSQL tier is left out and one plain line says so, unless
STEWARD_TEST_POSTGRES_REQUIRED=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import asyncio
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


def chosen(config: pytest.Config) -> tuple[str, ...]:
    """The backends asked for (--db, else STEWARD_TEST_DB, else both)."""
    choice = config.getoption("--db", default=None) or os.environ.get("STEWARD_TEST_DB", "both")
    return BACKENDS if choice == "both" else (choice,)


def selected(config: pytest.Config) -> tuple[str, ...]:
    """The backends this run covers: those asked for, less an unreachable PostgreSQL."""
    return tuple(b for b in chosen(config) if b != "postgres" or _problem is None)


_problem: str | None = None


async def postgres_problem() -> str | None:
    """None when PostgreSQL answers; otherwise why not."""
    try:
        conn = await asyncpg.connect(postgres_url(), timeout=3)
        await conn.close()
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def configure(config: pytest.Config) -> None:
    """Check PostgreSQL once, before collection (pytest_configure)."""
    global _problem
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (skipped without it)")
    config.addinivalue_line("markers", "sharded: several `steward run` processes on one "
                            "PostgreSQL (the PostgreSQL feature step of .ci/run)")
    if "postgres" not in chosen(config):
        return
    _problem = asyncio.run(postgres_problem())
    if _problem is not None and required():
        raise pytest.UsageError(
            f"PostgreSQL is required (STEWARD_TEST_POSTGRES_REQUIRED) and not reachable at "
            f"{postgres_url()}: {_problem}")


def _left_out(config: pytest.Config, item: pytest.Item) -> bool:
    if "postgres" not in selected(config):
        return item.get_closest_marker("postgres") is not None
    # With STEWARD_TEST_FEATURES=postgres, a feature test whose Steward does not come from the
    # shared `steward` fixture would only run on SQLite again: leave it to the normal run.
    # Sharded tests bring their own PostgreSQL and belong to that step.
    return (os.environ.get("STEWARD_TEST_FEATURES") == "postgres"
            and "features" in item.path.parts and "steward" not in item.fixturenames
            and item.get_closest_marker("sharded") is None)


def deselect(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out tests marked `postgres` when this run does not cover PostgreSQL, and (when
    feature tests run on PostgreSQL) those whose Steward would not use it."""
    dropped = [i for i in items if _left_out(config, i)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if not _left_out(config, i)]


def summary_line(config: pytest.Config) -> str | None:
    """One plain line when PostgreSQL was asked for and could not be reached."""
    if "postgres" in chosen(config) and _problem is not None:
        return f"NOTE: {NOT_RUN}: PostgreSQL not reachable at {postgres_url()} ({_problem})."
    return None


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh, empty schema for one test: yields its URL (search_path set), then drops it."""
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


@asynccontextmanager
async def feature_database(folder: Path) -> AsyncIterator[str | Path]:
    """The database of a feature test's Steward: SQLite in `folder`, or with
    STEWARD_TEST_FEATURES=postgres a fresh PostgreSQL schema (the feature tiers' opt-in)."""
    backend = os.environ.get("STEWARD_TEST_FEATURES", "sqlite")
    async with database_target(backend, folder) as where:
        yield where
