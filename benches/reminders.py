"""Reminder scheduler benchmarks: scale, memory, scheduling lateness, paced delivery.

Run:  uv run python -m benches.reminders            (1,000,000 / 10,000 / 300; a few minutes)
      uv run python -m benches.reminders --count 100000 --burst 2000 --deliver 100   (quick)

1. Schedule `--count` reminders (batched inserts): time, database size, RSS before/after.
2. Memory of the running scheduler with that many pending vs with 1,000 pending: Python heap
   (tracemalloc peak) and RSS while it starts, probes the index, sleeps and claims a batch.
3. Scheduling lateness: `--burst` reminders due within 2 seconds (on top of the big backlog),
   real clock, a handler that only records when it was invoked; p50/p99/max of
   (invoked - due). Delivery is not involved. Also: when every result was committed, and in
   how many transactions (results are group-committed; see bot.services.scheduler).
   3b: the same number due at one instant, i.e. how fast the scheduler can hand them out.
4. Delivery throughput: `--deliver` reminders due at once, delivered by the real Steward to
   the sandbox with Discord-like rate limits (50 requests/s global, 5 messages per 5 s per
   channel; sandbox.pacing). Each delivery is 3 requests (fetch channel, fetch member,
   post), so the global limit caps it near 50/3 per second.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import SystemClock
from bot.db import Database, migrate
from bot.db.reminders import Completion, NewReminder, ReminderRepository
from bot.services.scheduler import Delivery, Done, Scheduler
from bot.tasks import BackgroundTasks

CHUNK = 100_000


class CountingRepository(ReminderRepository):
    """The real repository, counting the results each batched write carries."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.flushes: list[int] = []

    async def finish_many(self, completions: Sequence[Completion],
                          now: datetime) -> set[int]:
        """Count, then write as usual."""
        self.flushes.append(len(completions))
        return await super().finish_many(completions, now)


def rss_mib() -> float:
    """Resident set size of this process, MiB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def db_size_mib(path: Path) -> float:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            total += candidate.stat().st_size
    return total / (1024 * 1024)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def schedule_many(path: Path, count: int) -> None:
    print(f"\n## 1. Scheduling {count:,} reminders")
    db = await Database.open(path)
    await migrate(db)
    repo = ReminderRepository(db)
    now = datetime.now(UTC)
    gc.collect()
    rss_before = rss_mib()
    started = time.perf_counter()
    for offset in range(0, count, CHUNK):
        size = min(CHUNK, count - offset)
        await repo.add_many(
            (NewReminder(guild_id=1 + (i % 50), kind="remind", channel_id=1000 + (i % 5000),
                         due_at=now + timedelta(days=30, seconds=(offset + i) % 29_000_000),
                         member_id=10_000 + i, created_by=7, note=None)
             for i in range(size)),
            now,
        )
    elapsed = time.perf_counter() - started
    await db.checkpoint()
    rss_after = rss_mib()
    print(f"time:          {elapsed:.1f} s ({count / elapsed:,.0f} reminders/s, "
          f"batches of {CHUNK:,} in one transaction each)")
    mib = db_size_mib(path)
    print(f"database size: {mib:.1f} MiB ({mib * 1024 * 1024 / count:.0f} bytes/reminder "
          "incl. indexes)")
    print(f"RSS:           {rss_before:.1f} MiB before, {rss_after:.1f} MiB after "
          f"(delta {rss_after - rss_before:+.1f} MiB)")
    await db.close()


async def scheduler_memory(path: Path, label: str) -> tuple[float, float, float]:
    db = await Database.open(path)
    repo = ReminderRepository(db)
    pending = await repo.count_pending()
    tasks = BackgroundTasks()
    scheduler = Scheduler(repo, SystemClock(), tasks)
    gc.collect()
    rss_before = rss_mib()
    tracemalloc.start()
    started = time.perf_counter()
    await scheduler.start()
    await asyncio.wait_for(scheduler.wait_idle(), 30)
    probe_started = time.perf_counter()
    next_due = await repo.next_due_at()
    probe = time.perf_counter() - probe_started
    claim_started = time.perf_counter()
    batch = await repo.claim_due(next_due + timedelta(seconds=1) if next_due else
                                 datetime.now(UTC), 50)
    claim = time.perf_counter() - claim_started
    startup = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = rss_mib()
    # Put the claimed rows back so later runs see the same data.
    for reminder in batch:
        await repo.retry(reminder.id, reminder.due_at, datetime.now(UTC), maybe_sent=False)
    await scheduler.stop()
    await tasks.drain(grace=1)
    await db.close()
    print(f"{label:>10} pending ({pending:,}): start+idle {startup * 1000:.1f} ms, "
          f"next-due probe {probe * 1000:.2f} ms, claim batch {claim * 1000:.2f} ms, "
          f"Python heap peak {peak / 1024:.0f} KiB, RSS delta {rss_after - rss_before:+.1f} MiB")
    return peak, rss_after - rss_before, probe


async def memory_compare(big: Path, tmp: Path) -> None:
    print("\n## 2. Scheduler memory: big backlog vs 1,000 pending")
    small = tmp / "small.sqlite3"
    db = await Database.open(small)
    await migrate(db)
    now = datetime.now(UTC)
    await ReminderRepository(db).add_many(
        (NewReminder(1, "remind", 1000, now + timedelta(days=30, seconds=i), member_id=i)
         for i in range(1000)), now)
    await db.close()
    small_peak, _, _ = await scheduler_memory(small, "1,000")
    big_peak, _, _ = await scheduler_memory(big, "big")
    print(f"heap ratio big/1,000: {big_peak / max(small_peak, 1):.2f} "
          "(the scheduler keeps no per-reminder state; only a batch is ever loaded)")


async def lateness(path: Path, burst: int, spread: float, title: str) -> None:
    print(f"\n## {title}: {burst:,} reminders due "
          f"{f'within {spread:g} s' if spread else 'at the same instant'} "
          "(handler only records the time)")
    db = await Database.open(path)
    repo = CountingRepository(db)
    clock = SystemClock()
    tasks = BackgroundTasks()
    scheduler = Scheduler(repo, clock, tasks)
    late: list[float] = []
    finished = asyncio.Event()

    async def record(delivery: Delivery) -> Done:
        late.append((clock.now() - delivery.reminder.due_at).total_seconds())
        if len(late) >= burst:
            finished.set()
        return Done.sent(None)

    scheduler.register("bench", record)
    sent_before = await db.fetchval("SELECT COUNT(*) FROM reminders WHERE kind = 'bench' "
                                    "AND status = 'sent'")
    await scheduler.start()
    start = clock.now() + timedelta(seconds=1)
    await scheduler.schedule_many(
        NewReminder(1, "bench", 5, start + timedelta(seconds=spread * i / burst))
        for i in range(burst))
    began = time.perf_counter()
    await asyncio.wait_for(finished.wait(), 600)
    total = time.perf_counter() - began
    await scheduler.stop()  # writes whatever is still unwritten
    written = time.perf_counter() - began
    sent = await db.fetchval("SELECT COUNT(*) FROM reminders WHERE kind = 'bench' "
                             "AND status = 'sent'") - sent_before
    await tasks.drain(grace=1)
    await db.close()
    print(f"lateness p50 {pct(late, 0.50) * 1000:.1f} ms, p99 {pct(late, 0.99) * 1000:.1f} ms, "
          f"max {max(late) * 1000:.1f} ms, mean {statistics.fmean(late) * 1000:.1f} ms")
    print(f"all {burst:,} handled {total:.2f} s after scheduling "
          f"(due {f'over 1-{1 + spread:g} s' if spread else 'at 1 s'}; "
          f"{burst / max(total - 1, 0.001):,.0f}/s once due)")
    flushes = repo.flushes
    print(f"{sent:,} recorded as sent by {written:.2f} s, in {len(flushes):,} transactions "
          f"(mean {statistics.fmean(flushes) if flushes else 0:.0f}, "
          f"max {max(flushes, default=0)} results each)")


async def delivery(tmp: Path, count: int) -> None:
    print(f"\n## 4. Delivery throughput: {count} reminders due at once, real Steward -> sandbox "
          "paced like Discord")
    import discord

    from bot.app import StewardBot
    from config.settings import Settings
    from sandbox import Sandbox
    from sandbox.harness import start_client, stop_client
    from sandbox.pacing import Pacer

    discord.utils.setup_logging(level=40)
    sb = Sandbox()
    await sb.start()
    guild = sb.add_guild("Bench", "owner")
    channels = [sb.add_text_channel(guild, f"room{i}") for i in range(max(1, count // 5))]
    members = [sb.add_member(guild, f"m{i}") for i in range(50)]
    settings = Settings(_env_file=None, DISCORD_TOKEN=sb.token,  # type: ignore[call-arg]
                        STEWARD_DATABASE=str(tmp / "deliver.sqlite3"))
    bot = StewardBot(settings, guild_ready_timeout=0.05)
    task = await start_client(sb, bot)
    scheduler = bot.services.scheduler
    while not scheduler.running:  # noqa: ASYNC110 - started once the bot is ready
        await asyncio.sleep(0.01)
    sb.api.pacer = pacer = Pacer(global_per_second=50, channel_messages=5, channel_window=5.0)
    sb.reset()
    due = datetime.now(UTC) + timedelta(seconds=1)
    await scheduler.schedule_many(
        NewReminder(guild.id, "remind", channels[i % len(channels)].id, due,
                    member_id=members[i % len(members)].id, created_by=guild.owner_id)
        for i in range(count))
    repo = scheduler.repository
    while await repo.count_pending() or await repo.with_status(["running", "sending"]):  # noqa: ASYNC110
        await asyncio.sleep(0.2)  # polling the database from outside the bot
    finished = datetime.now(UTC)
    sent = await repo.with_status(["sent"], limit=count + 10)
    failed = await repo.with_status(["failed"], limit=count + 10)
    requests = len(sb.requests)
    seconds = (finished - due).total_seconds()
    await stop_client(bot, task)
    await sb.stop()
    print("scheduler paced at 15 deliveries/s (the followups cog's setting)")
    print(f"{len(sent)} sent, {len(failed)} failed in {seconds:.1f} s after due: "
          f"{len(sent) / seconds:.1f} reminders/s, {requests / seconds:.1f} requests/s, "
          f"{pacer.limited} answered 429 by the pacer")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--deliver", type=int, default=300)
    args = parser.parse_args()
    print(f"# Reminder benchmarks (Python {os.sys.version.split()[0]}, "  # type: ignore[attr-defined]
          f"{os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        big = tmp / "big.sqlite3"
        await schedule_many(big, args.count)
        await memory_compare(big, tmp)
        await lateness(big, args.burst, 2.0, "3. Scheduling lateness")
        await lateness(big, args.burst, 0.0, "3b. Scheduling capacity")
        if args.deliver:
            await delivery(tmp, args.deliver)


if __name__ == "__main__":
    asyncio.run(main())
