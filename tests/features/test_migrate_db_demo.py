"""The demo's database moves to PostgreSQL and back without loss (`steward migrate-db`)."""

from __future__ import annotations

import asyncio
import io

import pytest

from bot.cli import main
from bot.db import Database
from bot.db.schema import describe
from bot.db.transfer import summarize
from bot.demo import play
from tests.databases import postgres_schema


@pytest.mark.postgres
async def test_the_demo_database_round_trips_through_postgres(tmp_path, capsys):
    demo = tmp_path / "demo.sqlite3"
    await play(io.StringIO(), demo)
    source = await Database.open(demo)
    try:
        schema = await describe(source)
        expected = [await summarize(source, schema, t) for t in schema.dependency_order()]
    finally:
        await source.close()
    assert sum(s.rows for s in expected) > 20  # the demo left a real installation behind

    back = tmp_path / "back.sqlite3"
    async with postgres_schema() as url:
        there = await asyncio.to_thread(main, ["migrate-db", "--from", str(demo), "--to", url])
        home = await asyncio.to_thread(main, ["migrate-db", "--from", url, "--to", str(back)])
    out = capsys.readouterr().out
    assert (there, home) == (0, 0), out
    copy = await Database.open(back)
    try:
        assert [await summarize(copy, schema, t) for t in schema.dependency_order()] == expected
    finally:
        await copy.close()
