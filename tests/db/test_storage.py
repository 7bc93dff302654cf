import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.db import Database, MigrationError, migrate
from bot.db.audit import AuditRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.migrations import discover
from bot.db.schema import describe
from bot.errors import InvalidInput
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService


async def test_fresh_database_gets_every_migration_and_pragmas(sqlite_db):
    db = sqlite_db
    assert await db.user_version() == len(discover())
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"guild_settings", "audit_log", "bot_state"} <= tables


async def test_fresh_database_gets_every_migration(db):
    assert await db.schema_version() == len(discover())
    tables = await describe(db)
    assert {"guild_settings", "audit_log", "bot_state"} <= set(tables.tables)


async def test_rerunning_migrate_is_a_no_op(db):
    version = await db.user_version()
    report = await migrate(db)
    assert report.applied == () and report.before == report.after == version


async def test_a_newer_database_is_refused(db):
    if db.dialect == "sqlite":
        await db.execute("PRAGMA user_version = 999")
    else:
        await db.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    with pytest.raises(MigrationError, match="newer"):
        await migrate(db)


def _write(folder: Path, name: str, sql: str) -> None:
    (folder / name).write_text(sql, encoding="utf-8")


async def test_a_failed_migration_leaves_the_database_as_it_was(empty_db, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    _write(folder, "0001_first.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n")
    _write(folder, "0002_broken.sql",
           "CREATE TABLE b (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);\n")
    with pytest.raises(MigrationError, match="0002_broken.sql"):
        await migrate(empty_db, folder)
    assert await empty_db.schema_version() == 1
    names = set((await describe(empty_db)).tables)
    assert "a" in names and "b" not in names


async def test_gaps_in_migration_numbers_are_refused(tmp_path):
    _write(tmp_path, "0001_a.sql", "SELECT 1;")
    _write(tmp_path, "0003_c.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="0002"):
        discover(tmp_path)


async def test_statements_split_on_semicolons_inside_strings_correctly(empty_db, tmp_path):
    _write(tmp_path, "0001_a.sql",
           "-- comment\nCREATE TABLE t (v TEXT);\nINSERT INTO t VALUES ('a;b?');\n")
    await migrate(empty_db, tmp_path)
    assert await empty_db.fetchval("SELECT v FROM t WHERE v <> ?", ("x",)) == "a;b?"


async def test_backup_while_open_copies_everything(sqlite_db, tmp_path):
    repo = AuditRepository(sqlite_db)
    await repo.append(1, 2, "test.action", 3, {"k": "v"}, datetime.now(UTC))
    target = tmp_path / "backup" / "copy.sqlite3"
    await sqlite_db.backup(target)
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT action FROM audit_log").fetchone() == ("test.action",)


async def test_transaction_rolls_back_on_error(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('k', 'v', 0)")
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM bot_state") == 0


async def test_guild_settings_are_validated_cached_and_persisted(db):
    clock = FakeClock()
    service = GuildSettingsService(GuildSettingsRepository(db), clock)
    assert service.get(7).linkhold.hold_days == 3

    def set_days(config):
        config.linkhold.hold_days = 5

    old, new, changes = await service.update(7, set_days)
    assert old.linkhold.hold_days == 3 and new.linkhold.hold_days == 5
    assert changes == {"linkhold.hold_days": (3, 5)}

    def bad(config):
        config.linkhold.hold_days = 400

    with pytest.raises(InvalidInput, match="hold_days"):
        await service.update(7, bad)
    assert service.get(7).linkhold.hold_days == 5

    reloaded = GuildSettingsService(GuildSettingsRepository(db), clock)
    await reloaded.load_all()
    assert reloaded.get(7).linkhold.hold_days == 5


async def test_audit_records_and_filters(db):
    clock = FakeClock()
    audit = AuditService(AuditRepository(db), clock)
    posted = []

    async def sink(entry):
        posted.append(entry.action)

    audit.set_mod_log_sink(sink)
    await audit.record(1, 10, "hold.created", 20, {"jump": "https://x"})
    clock.advance(days=2)
    await audit.record(1, 10, "repost.published", 21)
    await audit.record(2, 10, "hold.created", 20)
    assert posted == ["hold.created", "repost.published", "hold.created"]
    recent = await audit.repository.recent(1)
    assert [e.action for e in recent] == ["repost.published", "hold.created"]
    assert [e.action for e in await audit.repository.recent(1, target_id=20)] == ["hold.created"]
    assert [e.action for e in await audit.repository.recent(1, action_prefix="repost")] == [
        "repost.published"]
    since = clock.now() - timedelta(days=1)
    assert [e.action for e in await audit.repository.recent(1, since=since)] == [
        "repost.published"]


async def test_a_failing_mod_log_sink_does_not_lose_the_audit_row(db):
    audit = AuditService(AuditRepository(db), FakeClock())

    async def broken(entry):
        raise RuntimeError("discord down")

    audit.set_mod_log_sink(broken)
    await audit.record(1, None, "welcome.failed", 5)
    assert len(await audit.repository.recent(1)) == 1


async def test_cancelling_a_writer_never_leaves_the_connection_inside_a_transaction(db):
    import asyncio
    import contextlib

    async def writer(i):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO bot_state (key, value, updated_at) VALUES (?, 'v', 0)", (f"k{i}",))

    for attempt in range(30):
        task = asyncio.create_task(writer(attempt))
        for _ in range(attempt % 5):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # The connection is usable for a new transaction afterwards.
    await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('after', 'v', 0)")
    assert await db.fetchval("SELECT value FROM bot_state WHERE key = 'after'") == "v"


async def test_the_database_folder_and_files_are_private(tmp_path):
    import stat

    folder = tmp_path / "new-data"
    database = await Database.open(folder / "steward.sqlite3")
    try:
        await migrate(database)  # writes: the -wal and -shm files exist now
        mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
        assert mode(folder) == 0o700
        files = [folder / "steward.sqlite3", folder / "steward.sqlite3-wal",
                 folder / "steward.sqlite3-shm"]
        assert all(f.exists() for f in files)
        assert [mode(f) for f in files] == [0o600, 0o600, 0o600]
    finally:
        await database.close()


async def test_an_older_world_readable_database_is_tightened_on_open(tmp_path):
    import stat

    path = tmp_path / "old.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    database = await Database.open(path)
    await database.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
