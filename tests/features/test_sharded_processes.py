"""Two `steward run` processes with different shard ranges, one sandbox, one PostgreSQL.

Each process connects its shards, receives only its servers' events (the sandbox routes by
``(guild_id >> 22) % shard_count`` as Discord does) and claims only its servers' reminders.
Holds, approvals, welcomes and reminders in every server happen exactly once; a process killed
with SIGKILL in the middle of a reminder burst loses nothing and doubles nothing once it is
restarted (its claims are taken back when their lease expires).

Runs in the PostgreSQL feature step of .ci/run (marked `postgres`; left out without it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.reminders import NewReminder, ReminderRepository
from bot.services.audit import AuditService
from bot.services.automod import PROMOTE_KIND
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold_ping import PING_KIND
from sandbox import RealClock, Sandbox
from sandbox.world import SupportServer, build_support_server, configure_defaults
from tests.databases import postgres_schema

pytestmark = [pytest.mark.sandbox, pytest.mark.postgres, pytest.mark.sharded,
              pytest.mark.asyncio(loop_scope="session")]

ROOT = Path(__file__).resolve().parents[2]
READY = "connected as"


class Process:
    """One `steward run --shards ...` subprocess, its log in a file."""

    def __init__(self, folder: Path, name: str) -> None:
        self.log = folder / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, sb: Sandbox, database: str, shards: str, count: int,
                    folder: Path, **extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STEWARD_"))}
        env.update({
            "DISCORD_TOKEN": sb.token, "DISCORD_API_BASE": sb.api_base,
            "DISCORD_GATEWAY_URL": sb.gateway_url, "STEWARD_DATABASE": database,
            "STEWARD_KEY_FILE": str(folder / "steward.key"), "PYTHONPATH": str(ROOT),
            **extra,
        })
        handle = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--shards", shards, "--shard-count", str(count),
            cwd=folder, env=env, stdout=handle, stderr=handle)
        handle.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def ready(self, sb: Sandbox, times: int = 1) -> None:
        await sb.wait_for(lambda: self.text().count(READY) >= times, timeout=90,
                          message=f"{self.log.name} never became ready:\n{self.text()[-3000:]}")

    async def stop(self) -> int:
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


async def _prepare(database: str, servers: list[SupportServer]) -> Database:
    """Migrate and configure every server before the processes start."""
    db = await Database.open(database)
    await migrate(db)
    clock = SystemClock()
    settings = GuildSettingsService(GuildSettingsRepository(db), clock,
                                    AuditService(AuditRepository(db), clock))
    for server in servers:
        await settings.update(server.guild.id, configure_defaults(server))
    return db


def _notes_in(sb: Sandbox, server: SupportServer, prefix: str) -> dict[str, int]:
    """How often each reminder note appears in the server's general channel."""
    seen: dict[str, int] = {}
    for message in sb.messages(server.general):
        for word in message.content.replace("`", " ").replace(">", " ").split():
            if word.startswith(prefix):
                seen[word] = seen.get(word, 0) + 1
    return seen


def _reminders(server: SupportServer, count: int, prefix: str) -> list[NewReminder]:
    now = SystemClock().now()
    return [NewReminder(server.guild.id, "remind", server.general.id, now - timedelta(seconds=1),
                        member_id=server.member.user.id, created_by=server.mod.user.id,
                        note=f"{prefix}{i:03d}") for i in range(count)]


def _bot_messages(sb: Sandbox, channel) -> list:
    return [m for m in sb.messages(channel) if m.author.id == sb.bot_user.id]


async def test_two_processes_each_handle_their_own_servers_exactly_once(tmp_path):
    async with Sandbox(RealClock()) as sb, postgres_schema() as database:
        sb.world.max_concurrency = 4  # the four shards identify together
        clock = RealClock()
        # Shards 0-1 run in one process and 2-3 in the other; a server on each side.
        left = build_support_server(sb, clock, name="Hope Together", shard=(0, 4))
        right = build_support_server(sb, clock, name="Carers Corner", shard=(3, 4))
        db = await _prepare(database, [left, right])
        reminders = ReminderRepository(db)
        await reminders.add_many(_reminders(left, 5, "left-") + _reminders(right, 5, "right-"),
                                 SystemClock().now())
        one, two = Process(tmp_path, "one"), Process(tmp_path, "two")
        try:
            await one.start(sb, database, "0-1", 4, tmp_path)
            await two.start(sb, database, "2-3", 4, tmp_path)
            await one.ready(sb)
            await two.ready(sb)
            # Each shard identified once with [id, 4] and got READY with only its servers.
            assert sorted(s for s in sb.gateway.shard_identifies if s) == [
                (0, 4), (1, 4), (2, 4), (3, 4)]
            ready_guilds = {
                session.shard: [int(g["id"]) for g in session.log[0]["d"]["guilds"]]
                for session in sb.gateway.sessions.values()}
            assert ready_guilds == {(0, 4): [left.guild.id], (1, 4): [], (2, 4): [],
                                   (3, 4): [right.guild.id]}

            # Welcomes: one per newcomer, in each server.
            newcomers = {}
            for server, name in ((left, "lena"), (right, "ravi")):
                newcomers[server.guild.id] = await sb.join(server.guild, name)
            for server in (left, right):
                await sb.wait_for(lambda s=server: len(_bot_messages(sb, s.welcome)) >= 1,
                                  timeout=30, message="no welcome")
            # Holds: a newcomer's link is held once and queued once; approval reposts once.
            posts = {}
            for server in (left, right):
                who = newcomers[server.guild.id]
                posts[server.guild.id] = await sb.post(
                    server.general, who, f"our clinic's video https://youtu.be/{who.user.username}")
            cards = {}
            for server in (left, right):
                card = await sb.wait_for(
                    lambda s=server: next(iter(_bot_messages(sb, s.queue)), None), timeout=30,
                    message="no queue card")
                cards[server.guild.id] = card
                result = await sb.click(card, "Approve", by=server.mod)
                await result.done()
            for server in (left, right):
                name = newcomers[server.guild.id].user.username
                await sb.wait_for(lambda s=server, n=name: any(
                    f"youtu.be/{n}" in m.content for m in sb.messages(s.general)
                    if m.webhook_id), timeout=30, message="approved post never reposted")
            # Reminders: every one once, each fired by the process owning its server.
            for server, prefix in ((left, "left-"), (right, "right-")):
                await sb.wait_for(lambda s=server, p=prefix: len(_notes_in(sb, s, p)) == 5,
                                  timeout=60, message=f"{prefix} reminders missing")
            await asyncio.sleep(2)  # anything doubled would show by now
            for server in (left, right):
                assert len(_bot_messages(sb, server.welcome)) == 1
                assert len(_bot_messages(sb, server.queue)) == 1
                name = newcomers[server.guild.id].user.username
                reposts = [m for m in sb.messages(server.general)
                           if m.webhook_id and f"youtu.be/{name}" in m.content]
                assert len(reposts) == 1
                assert posts[server.guild.id].deleted
            assert set(_notes_in(sb, left, "left-").values()) == {1}
            assert set(_notes_in(sb, right, "right-").values()) == {1}
            owner = {left.guild.id: f":{one.pid}:", right.guild.id: f":{two.pid}:"}
            # (Not the rows that wait on their own clock: a newcomer's promotion to the trusted
            # role and a held post's reviewer ping, both days or an hour away.)
            for row in await db.fetchall(
                    "SELECT guild_id, status, claimed_by FROM reminders WHERE kind NOT IN "
                    f"('{PROMOTE_KIND}', '{PING_KIND}')"):
                assert row["status"] == "sent"
                assert owner[int(row["guild_id"])] in row["claimed_by"]
        finally:
            codes = [await one.stop(), await two.stop()]
            await db.close()
        assert codes == [0, 0], one.text()[-2000:] + two.text()[-2000:]
        for process in (one, two):
            assert "Traceback" not in process.text(), process.text()[-3000:]


async def test_a_killed_process_loses_and_doubles_nothing_once_restarted(tmp_path):
    async with Sandbox(RealClock()) as sb, postgres_schema() as database:
        sb.world.max_concurrency = 2
        clock = RealClock()
        left = build_support_server(sb, clock, name="Hope Together", shard=(0, 2))
        right = build_support_server(sb, clock, name="Carers Corner", shard=(1, 2))
        db = await _prepare(database, [left, right])
        burst = 30
        await ReminderRepository(db).add_many(
            _reminders(left, burst, "left-") + _reminders(right, burst, "right-"),
            SystemClock().now())
        one, two = Process(tmp_path, "one"), Process(tmp_path, "two")
        lease = {"STEWARD_CLAIM_LEASE": "3"}
        try:
            await one.start(sb, database, "0", 2, tmp_path, **lease)
            await two.start(sb, database, "1", 2, tmp_path, **lease)
            # Mid-burst: some of the left server's reminders are out, most are not.
            await sb.wait_for(lambda: len(_notes_in(sb, left, "left-")) >= 4, timeout=90,
                              message="the burst never started:\n" + one.text()[-2000:])
            await one.kill()
            sent_before = len(_notes_in(sb, left, "left-"))
            assert sent_before < burst
            claimed = await db.fetchval(
                "SELECT COUNT(*) FROM reminders WHERE status IN ('running', 'sending')")
            # The other process carries on with its own servers only.
            await sb.wait_for(lambda: len(_notes_in(sb, right, "right-")) == burst, timeout=90,
                              message="the right server's burst stalled")
            assert len(_notes_in(sb, left, "left-")) == sent_before
            # Restarted, the process takes its server back (claims once their lease expired).
            await one.start(sb, database, "0", 2, tmp_path, **lease)
            await sb.wait_for(lambda: len(_notes_in(sb, left, "left-")) == burst, timeout=90,
                              message="left reminders lost:\n" + one.text()[-3000:])
            await asyncio.sleep(2)
            assert set(_notes_in(sb, left, "left-").values()) == {1}
            assert set(_notes_in(sb, right, "right-").values()) == {1}
            statuses = await db.fetchall(
                "SELECT status, COUNT(*) AS n FROM reminders WHERE kind NOT IN "
                f"('{PROMOTE_KIND}', '{PING_KIND}') GROUP BY status")
            assert {r["status"]: int(r["n"]) for r in statuses} == {"sent": 2 * burst}
            print(f"killed after {sent_before} sent; {claimed} claimed at the kill")
        finally:
            await one.stop()
            await two.stop()
            await db.close()
        assert "Traceback" not in two.text(), two.text()[-3000:]
