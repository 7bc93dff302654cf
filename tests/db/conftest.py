"""The storage tier runs on every selected backend (see tests/databases.py): `db` is a
migrated database, `empty_db` an unmigrated one, `sqlite_db` for SQLite-only behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.db import Database, migrate
from tests.databases import database_target, selected


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", selected(metafunc.config))


@pytest.fixture
async def target(backend, tmp_path) -> AsyncIterator[object]:
    async with database_target(backend, tmp_path) as where:
        yield where


@pytest.fixture
async def empty_db(target) -> AsyncIterator[Database]:
    database = await Database.open(target)
    yield database
    await database.close()


@pytest.fixture
async def db(empty_db) -> Database:
    await migrate(empty_db)
    return empty_db


@pytest.fixture
async def sqlite_db(tmp_path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "data" / "steward.sqlite3")
    await migrate(database)
    yield database
    await database.close()
