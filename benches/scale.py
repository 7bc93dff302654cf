"""Past one process: reminders fired per second, hold exposure and welcome throughput.

Run:  uv run python -m benches.scale                  (needs PostgreSQL at 127.0.0.1:5432)
      uv run python -m benches.scale --reminders 30 --joins 10 --holds 5   (quick)

Each configuration runs real `steward run` processes against one in-process sandbox with two
support servers, one on each of two shards:

- ``sqlite-1``: one process on SQLite (the default installation);
- ``pg-1``: one process on PostgreSQL, every server;
- ``pg-2``: two processes on one PostgreSQL, ``--shards 0`` and ``--shards 1`` of 2.

and measures, in one run, so the ratios compare like with like:

1. reminders fired/s: `--reminders` per server, all due at once; from the first reminder
   message to the last. Deliveries are paced to the REST budget, which the processes share
   (each gets half of Discord's 50 requests/s), so this stays near 15/s by design;
2. welcome throughput: `--joins` members join each server at once; joins/s until every one of
   them was mentioned in a welcome (joins arriving together are greeted together after the
   welcome's burst window, so with few joins this measures the window, not the machine);
3. hold exposure: `--holds` of those newcomers per server post a link at once; p50/p99/max
   from the post's timestamp to the bot's DELETE request, both on the sandbox's clock.

The sandbox runs in this process and the bots in others; all share the machine's cores, so
absolute numbers are small-machine numbers. Ratios are what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg

from bot.clock import SystemClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.reminders import NewReminder, ReminderRepository
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService
from sandbox import RealClock, Sandbox
from sandbox.world import SupportServer, build_support_server, configure_defaults

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("STEWARD_BENCH_POSTGRES", "postgresql://127.0.0.1:5432/test")


@contextlib.asynccontextmanager
async def pg_schema() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema for one configuration (dropped afterwards)."""
    name = f"steward_bench_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(POSTGRES)
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
        yield f"{POSTGRES}?search_path={name}"
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()


async def start(sb: Sandbox, database: str, folder: Path, name: str,
                shards: tuple[str, int] | None) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STEWARD_"))}
    env.update({"DISCORD_TOKEN": sb.token, "DISCORD_API_BASE": sb.api_base,
                "DISCORD_GATEWAY_URL": sb.gateway_url, "STEWARD_DATABASE": database,
                "STEWARD_KEY_FILE": str(folder / "steward.key"), "PYTHONPATH": str(ROOT),
                "STEWARD_LOG_LEVEL": "WARNING"})
    args = ["run"] + (["--shards", shards[0], "--shard-count", str(shards[1])] if shards else [])
    log = (folder / f"{name}.log").open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=folder, env=env, stdout=log, stderr=log)
    finally:
        log.close()


async def prepare(database: str, servers: list[SupportServer], reminders: int) -> None:
    db = await Database.open(database)
    try:
        await migrate(db)
        clock = SystemClock()
        settings = GuildSettingsService(GuildSettingsRepository(db), clock,
                                        AuditService(AuditRepository(db), clock))
        now = clock.now()
        items = []
        for server in servers:
            await settings.update(server.guild.id, configure_defaults(server))
            items += [NewReminder(server.guild.id, "remind", server.general.id,
                                  now + timedelta(seconds=3), member_id=server.member.user.id,
                                  created_by=server.mod.user.id, note=f"bench{i}")
                      for i in range(reminders)]
        await ReminderRepository(db).add_many(items, now)
    finally:
        await db.close()


def reminder_times(sb: Sandbox, servers: list[SupportServer]) -> list[float]:
    return [m.timestamp.timestamp() for s in servers for m in sb.messages(s.general)
            if m.author.id == sb.bot_user.id and "bench" in m.content and m.timestamp]


async def until(predicate, within: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return False


async def run_config(name: str, args: argparse.Namespace) -> dict[str, float]:
    async with Sandbox(RealClock()) as sb, contextlib.AsyncExitStack() as stack:
        sb.world.max_concurrency = 2
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale-")))
        clock = RealClock()
        servers = [build_support_server(sb, clock, name="Hope Together", shard=(0, 2)),
                   build_support_server(sb, clock, name="Carers Corner", shard=(1, 2))]
        if name.startswith("sqlite"):
            database = str(folder / "steward.sqlite3")
        else:
            database = await stack.enter_async_context(pg_schema())
        await prepare(database, servers, args.reminders)
        plans = {"sqlite-1": [None], "pg-1": [None], "pg-2": [("0", 2), ("1", 2)]}[name]
        procs = [await start(sb, database, folder, f"p{i}", shards)
                 for i, shards in enumerate(plans)]
        try:
            total = args.reminders * len(servers)
            if not await until(lambda: len(reminder_times(sb, servers)) >= total, 300):
                raise RuntimeError(f"{name}: reminders missing; see {folder}")
            times = sorted(reminder_times(sb, servers))
            fired = (len(times) - 1) / max(times[-1] - times[0], 1e-6)

            # Welcomes: everyone joins at once.
            joined = []
            began = time.monotonic()
            for server in servers:
                for i in range(args.joins):
                    joined.append((server, await sb.join(
                        server.guild, f"{server.guild.name.split()[0].lower()}{i}")))

            def welcomed() -> int:
                mentioned = {int(x) for s in servers for m in sb.messages(s.welcome)
                             if m.author.id == sb.bot_user.id
                             for x in re.findall(r"<@!?(\d+)>", m.content)}
                return sum(1 for _, member in joined if member.user.id in mentioned)

            if not await until(lambda: welcomed() >= len(joined), 300):
                raise RuntimeError(f"{name}: {welcomed()}/{len(joined)} welcomed")
            welcome_rate = len(joined) / (time.monotonic() - began)

            # Holds: newcomers post a link at once; exposure = post -> removed.
            posters = [pair for server in servers
                       for pair in [p for p in joined if p[0] is server][: args.holds]]
            messages = await asyncio.gather(*(
                sb.post(server.general, member, f"our story https://youtu.be/{member.user.username}")
                for server, member in posters))
            if not await until(lambda: all(m.deleted for m in messages), 120):
                raise RuntimeError(f"{name}: links not held")
            # Exposure: from the post (its timestamp) to the bot's DELETE (the request's time).
            removed = {int(r.params["message_id"]): r.at for r in sb.requests
                       if r.route == "DELETE /channels/{channel_id}/messages/{message_id}"}
            exposures = [(removed[m.id] - m.timestamp).total_seconds() for m in messages
                         if m.timestamp is not None]
            exposures.sort()
            p99 = exposures[min(len(exposures) - 1, int(0.99 * len(exposures)))]
            return {"reminders_per_s": fired, "welcomes_per_s": welcome_rate,
                    "hold_p50_s": statistics.median(exposures), "hold_p99_s": p99,
                    "hold_max_s": exposures[-1]}
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 30)


async def main(args: argparse.Namespace) -> None:
    results: dict[str, dict[str, float]] = {}
    for name in ("sqlite-1", "pg-1", "pg-2"):
        results[name] = await run_config(name, args)
        figures = results[name]
        print(f"{name:>9}: reminders {figures['reminders_per_s']:6.1f}/s   "
              f"welcomes {figures['welcomes_per_s']:6.1f} joins/s   hold exposure "
              f"p50 {figures['hold_p50_s'] * 1000:5.0f} ms  p99 "
              f"{figures['hold_p99_s'] * 1000:5.0f} ms  max {figures['hold_max_s'] * 1000:5.0f} ms",
              flush=True)
    print("\nratios (same run):")
    for label, a, b in (("2 processes / 1 process, PostgreSQL", "pg-2", "pg-1"),
                        ("PostgreSQL / SQLite, 1 process", "pg-1", "sqlite-1")):
        ra, rb = results[a], results[b]
        print(f"  {label}: reminders/s x{ra['reminders_per_s'] / rb['reminders_per_s']:.2f}, "
              f"welcomes/s x{ra['welcomes_per_s'] / rb['welcomes_per_s']:.2f}, "
              f"hold p99 x{ra['hold_p99_s'] / rb['hold_p99_s']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=60, help="per server")
    parser.add_argument("--joins", type=int, default=20, help="per server")
    parser.add_argument("--holds", type=int, default=10, help="per server (<= --joins)")
    asyncio.run(main(parser.parse_args()))
