"""Crash safety with real processes: `steward run` is killed with SIGKILL at chosen points.

Each test runs Steward as a subprocess against the sandbox with `STEWARD_FAILPOINTS` naming a
point (bot/failpoints.py), lets the process die there (exit -9: no cleanup at all), restarts it
without the failpoint on the same database, and asserts on the wire and in the database:
nothing held is lost, nothing is published or sent twice beyond the documented bound, and
`PRAGMA integrity_check` is ok.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.db import Database
from bot.db.migrations import discover
from bot.db.reminders import NewReminder, ReminderRepository
from sandbox import Sandbox
from sandbox.process import StewardProcess, prepare_database, steward_env
from sandbox.world import SupportServer, build_support_server

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]

LINK = "Here is the clinic's page https://clinic.example.org/trials"


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.fixture
async def world(tmp_path):
    async with Sandbox() as sb:
        server = build_support_server(sb, SystemClock())  # type: ignore[arg-type]
        database = tmp_path / "steward.sqlite3"
        await prepare_database(database, server)
        steward = StewardProcess(sb, database)
        yield sb, server, steward
        await steward.stop()


def cards(sb: Sandbox, server: SupportServer) -> list:
    return [m for m in sb.messages(server.queue) if m.author.id == sb.bot_user.id
            and "Hold #" in m.display_text]


async def held_post(sb: Sandbox, server: SupportServer, name: str):
    newcomer = await sb.join(server.guild, name)
    post = await sb.post(server.general, newcomer, LINK)
    return newcomer, post


@pytest.mark.parametrize("point", ["hold.stored", "hold.removed"])
async def test_a_hold_interrupted_is_finished_at_startup_once(world, point):
    sb, server, steward = world
    await steward.start(point)
    newcomer, post = await held_post(sb, server, f"newcomer-{point}")
    await steward.killed()
    assert post.deleted == (point == "hold.removed")
    assert sb.dms(newcomer) == [] and cards(sb, server) == []
    await steward.start()
    await sb.wait_for(lambda: cards(sb, server), timeout=30)
    await asyncio.sleep(1)
    assert post.deleted  # the link is gone from the channel
    assert len(sb.dms(newcomer)) == 1  # told once
    assert len(cards(sb, server)) == 1  # queued once
    assert integrity(steward.database) == "ok"


@pytest.mark.parametrize("point", ["hold.approving", "repost.part_sent"])
async def test_an_approval_interrupted_publishes_exactly_once(world, point):
    sb, server, steward = world
    await steward.start(point)
    newcomer, _ = await held_post(sb, server, f"newcomer-{point}")
    await sb.wait_for(lambda: cards(sb, server), timeout=30)
    (card,) = cards(sb, server)
    await sb.click(card, "Approve", by=server.mod)
    await steward.killed()
    await steward.start()
    # The approval was set back to pending at startup: the moderator approves again.
    result = await sb.click(sb.message(card.id), "Approve", by=server.mod)
    await result.done(timeout=30)
    await asyncio.sleep(1)
    copies = [m for m in sb.messages(server.general)
              if m.webhook_id is not None and "clinic.example.org" in m.content]
    assert len(copies) == 1, [m.content for m in copies]
    assert integrity(steward.database) == "ok"


async def test_reminders_firing_when_killed_are_sent_at_most_once_more(world):
    """The documented bound: a reminder whose send was not recorded is looked for in recent
    history before it is sent again, so a crash right after a send causes no second send."""
    sb, server, steward = world
    db = await Database.open(steward.database)
    due = datetime.now(UTC) - timedelta(seconds=5)
    targets = [await sb.join(server.guild, f"carer-{i}") for i in range(5)]
    try:
        repository = ReminderRepository(db)
        for i, member in enumerate(targets):
            await repository.add(NewReminder(
                guild_id=server.guild.id, kind="remind", channel_id=server.general.id,
                due_at=due, member_id=member.id, created_by=server.mod.id,
                note=f"crash-matrix note {i}"), due)
    finally:
        await db.close()
    await steward.start("scheduler.sent")
    await steward.killed()  # dies right after the first delivery, before recording it
    sent_before = [m for m in sb.messages(server.general) if "crash-matrix note" in m.content]
    assert len(sent_before) >= 1
    await steward.start()
    await sb.wait_for(lambda: len({m.content for m in sb.messages(server.general)
                                   if "crash-matrix note" in m.content}) == 5, timeout=60)
    await asyncio.sleep(2)
    notes = [m.content for m in sb.messages(server.general) if "crash-matrix note" in m.content]
    for i in range(5):
        assert sum(f"crash-matrix note {i}" in n for n in notes) == 1, notes
    assert integrity(steward.database) == "ok"


async def test_a_welcome_interrupted_after_its_claim_is_never_sent_twice(world):
    """The documented bound: the welcome record is claimed before the send, so a crash in
    between loses that one welcome (moderators can /welcome resend) and never greets twice."""
    sb, server, steward = world
    await steward.start("welcome.claimed")
    newcomer = await sb.join(server.guild, "newcomer-welcome")
    await steward.killed()
    await steward.start()
    await asyncio.sleep(3)  # the catch-up of joins missed while Steward was down has run

    def greetings() -> int:
        return len([m for m in sb.messages(server.welcome) if f"<@{newcomer.id}>" in m.content])

    assert greetings() in (0, 1)
    assert len(sb.dms(newcomer)) <= 1
    # A later join is greeted as usual: the lost welcome did not stall the others.
    later = await sb.join(server.guild, "newcomer-after")
    await sb.wait_for_message(server.welcome, lambda m: f"<@{later.id}>" in m.content,
                              timeout=30)
    assert greetings() in (0, 1)
    assert integrity(steward.database) == "ok"


async def steward_migrate(database: Path, **failpoint: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", cwd=database.parent,
        env=steward_env(STEWARD_DATABASE=str(database), **failpoint),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


def schema(database: Path) -> tuple[int, list[str]]:
    with sqlite3.connect(database) as conn:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = [str(r[0]) for r in conn.execute(  # and indexes: a migration may add only those
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') "
            "AND name NOT LIKE 'sqlite_autoindex%'")]
    return version, tables


def columns(database: Path, table: str) -> list[str]:
    with sqlite3.connect(database) as conn:
        return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]  # noqa: S608


@pytest.mark.parametrize("which", ["first", "newest"])
async def test_a_migration_interrupted_is_applied_once_on_the_next_run(tmp_path, which):
    migrations = discover()
    newest = migrations[-1].version
    interrupted = migrations[0] if which == "first" else migrations[-1]
    database = tmp_path / "steward.sqlite3"
    failpoint = {"STEWARD_FAILPOINTS": "migrate.applying"}
    if which == "newest":
        failpoint["STEWARD_FAILPOINT_MIGRATION"] = str(interrupted.version)
    code, stderr = await steward_migrate(database, **failpoint)
    assert code == -signal.SIGKILL, stderr[-2000:]
    # The interrupted migration left no trace; the ones before it are committed.
    version, tables = schema(database)
    assert version == interrupted.version - 1
    sql = interrupted.path.read_text()
    created = re.findall(r"CREATE (?:TABLE|(?:UNIQUE )?INDEX) (?:IF NOT EXISTS )?(\w+)", sql,
                         flags=re.IGNORECASE)
    added = re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", sql, flags=re.IGNORECASE)
    assert created or added, "the migration should leave a visible trace to test"
    assert not set(created) & set(tables)
    assert not [c for t, c in added if c in columns(database, t)]
    assert integrity(database) == "ok"

    code, stderr = await steward_migrate(database)
    assert code == 0, stderr[-2000:]
    version, tables = schema(database)
    assert version == newest
    for table in created:
        assert tables.count(table) == 1, (table, tables)
    for table, column in added:
        assert columns(database, table).count(column) == 1, (table, column)
    assert integrity(database) == "ok"
    code, _ = await steward_migrate(database)  # and a further run is a no-op
    assert code == 0 and schema(database) == (version, tables)
