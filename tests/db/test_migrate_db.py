"""`steward migrate-db`: a populated SQLite installation moves to PostgreSQL without loss."""

import asyncio

import pytest

from bot.cli import main as _main
from bot.db import Database, migrate
from bot.db.database import redact
from bot.db.schema import describe
from bot.db.transfer import (
    TableSummary,
    TransferError,
    TransferReport,
    copy_database,
    summarize,
)
from tests.databases import postgres_schema
from tests.db.seed import seed_every_table


async def main(argv):
    """The `steward` command line, on its own event loop (as when run from a shell)."""
    return await asyncio.to_thread(_main, argv)


async def _rows(db, schema):
    return {t: sorted(map(repr, map(tuple, await db.fetchall(
        f"SELECT {', '.join(c.name for c in schema.tables[t].columns)} FROM {t}"))))
        for t in schema.tables}


async def test_seeding_reaches_every_table(tmp_path):
    db = await Database.open(tmp_path / "s.sqlite3")
    try:
        await migrate(db)
        await seed_every_table(db)
        schema = await describe(db)
        empty = [t for t in schema.tables if (await summarize(db, schema, t)).rows == 0]
        assert empty == [], "seed.py must write to every table (a migration added one?)"
    finally:
        await db.close()


@pytest.mark.postgres
async def test_sqlite_to_postgres_round_trip_keeps_every_row(tmp_path, capsys):
    source_file = tmp_path / "steward.sqlite3"
    source = await Database.open(source_file)
    await migrate(source)
    await seed_every_table(source)
    schema = await describe(source)
    expected = await _rows(source, schema)
    await source.close()

    async with postgres_schema() as url:
        code = await main(["migrate-db", "--from", f"sqlite:///{source_file}", "--to", url])
        out = capsys.readouterr().out
        assert code == 0, out
        assert f"All {len(schema.tables)} tables match" in out
        assert "MISMATCH" not in out and "holds " in out

        target = await Database.open(url)
        try:
            assert await _rows(target, schema) == expected
            # New rows get fresh ids after the copied ones (the identity sequences moved on).
            before = await target.fetchval("SELECT MAX(id) FROM audit_log")
            new_id = await target.insert(
                "INSERT INTO audit_log (guild_id, action, created_at) VALUES (?, ?, ?)",
                (1, "test", 0))
            assert new_id == before + 1
            # A second run is refused: the target is not empty.
            with pytest.raises(TransferError, match="not empty"):
                reopened = await Database.open(source_file)
                try:
                    await copy_database(reopened, target)
                finally:
                    await reopened.close()
        finally:
            await target.close()
        assert await main(["migrate-db", "--from", str(source_file), "--to", url]) == 1
        assert "not empty" in capsys.readouterr().err

        # And back: PostgreSQL -> a new SQLite file holds the same rows.
        back_file = tmp_path / "back.sqlite3"
        assert await main(["migrate-db", "--from", url, "--to", f"sqlite:///{back_file}"]) == 0
    back = await Database.open(back_file)
    try:
        rows = await _rows(back, schema)
        assert rows["audit_log"][:-1] == expected["audit_log"]  # plus the row added above
        assert {t: r for t, r in rows.items() if t != "audit_log"} == {
            t: r for t, r in expected.items() if t != "audit_log"}
    finally:
        await back.close()


async def test_a_password_in_the_url_is_never_printed(tmp_path, capsys):
    code = await main(["migrate-db", "--from", str(tmp_path / "missing.sqlite3"),
                 "--to", "postgresql://steward:hunter2@127.0.0.1:1/none"])
    captured = capsys.readouterr()
    assert code == 1 and "hunter2" not in captured.out + captured.err
    assert redact("postgresql://steward:hunter2@db:5432/steward") == (
        "postgresql://steward:***@db:5432/steward")


def test_a_table_that_differs_after_the_copy_is_named():
    same = TableSummary("holds", 2, "ab")
    report = TransferReport(8, (same, TableSummary("audit_log", 3, "cd")),
                            (same, TableSummary("audit_log", 3, "ce")))
    assert report.mismatched == ["audit_log"] and report.rows == 5
