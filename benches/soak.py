"""Soak: a busy support server compressed into minutes, against the sandbox.

Run:  uv run python -m benches.soak                      (Steward as its own process; ~8 min)
      uv run python -m benches.soak --length 3           (3x the events, same server; ~20 min)
      uv run python -m benches.soak --scale 0.1 --seconds 20   (a quick look)
      uv run python -m benches.soak --in-process --speed 4     (one process, simulated time)

Steward runs as its own process (`python -m bot run`, sandbox.process.StewardProcess) against
the sandbox served on loopback sockets, on the standard support server with 2,000 members (5%
joined today, so their links are held); its memory is read from /proc/<pid>/status (VmRSS), so
the sandbox's own records don't count. The sandbox keeps only recent records
(sandbox.retention) and the soak counts what it needs as messages arrive. Load, all at once,
for `--seconds` x `--length` real seconds:
- `--rate` messages/s from random members (1% with a link);
- 200 joins per `--length` spread over the run (each must be welcomed once);
- 5,000 reminders per `--length` scheduled through `/followup remind` by moderators, due 2-3
  minutes later (each must fire once);
- a moderator approving held posts from the queue as they arrive;
- halfway: the gateway connection drops (Steward must RESUME) and a storm of 429s on message
  sends (each retried by discord.py).

Prints: holds made/decided, reminders fired, welcomes, REST calls, 429s answered, how fast
Steward answered interactions, the driver's event-loop lag, and Steward's RSS at warm-up (30 s
into the load), midpoint and end (after every reminder fired), then what was lost or doubled.
Compare `--length 1` and `--length 3`: Steward's RSS after warm-up must not grow with the
number of events (README: benchmarks).

`--in-process` runs the bot in this process on a FakeClock advanced `--speed` times faster than
real time (minute-long reminders fire sooner); RSS then includes the sandbox, and
`--trace-memory` splits the live heap by owner (Steward, discord.py, sandbox). The sandbox
shares that clock, so Discord's 3 s to answer an interaction is 0.75 s of real time at x4: an
answer can expire there (10062) that would not in real time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import re
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from bot.clock import FakeClock, SystemClock
from bot.db import Database
from bot.db.reminders import ReminderRepository
from sandbox import Message, Retention, Sandbox
from sandbox.process import StewardProcess, prepare_database
from sandbox.world import StewardHarness, SupportServer, build_support_server, configure_defaults

MESSAGES = "POST /channels/{channel_id}/messages"
WORDS = ("scan", "chemo", "tired", "hope", "today", "results", "nurse", "walk", "family",
         "thank", "you", "all", "stoma", "pain", "better", "sleep", "appointment", "week")
REMINDER_NOTE = "soak reminder"
REMIND_WORKERS = 8
WARM_UP = 30.0  # seconds into the load: caches filled, the first reminders scheduled


HEAP_OWNERS = {"bot": "Steward", "cogs": "Steward", "config": "Steward",
               "discord": "discord.py", "aiosqlite": "Steward", "sandbox": "sandbox"}


def heap_by_owner() -> dict[str, float]:
    """Live Python heap (MiB) by who allocated it: Steward, discord.py, the sandbox, other.

    In-process only: the bot and the sandbox share the process, so RSS alone can't show
    whether Steward's own memory levels off; the allocation sites can.
    """
    totals: dict[str, float] = {}
    for stat in tracemalloc.take_snapshot().statistics("traceback"):
        owner = "other"
        for frame in reversed(stat.traceback):  # innermost first: the nearest caller owns it
            path = frame.filename.replace("\\", "/")
            found = next((name for part, name in HEAP_OWNERS.items() if f"/{part}/" in path),
                         None)
            if found is not None:
                owner = found
                break
        totals[owner] = totals.get(owner, 0.0) + stat.size / 2**20
    return totals


def rss_mib() -> float:
    """This process's resident set size now (Linux), in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


async def reminder_lateness(database: Path, speed: float) -> list[float]:
    """Real seconds each `/followup remind` reminder fired after it was due (from the DB)."""
    db = await Database.open(database)
    try:
        rows = await db.fetchall(
            "SELECT due_at, fired_at FROM reminders WHERE kind = 'remind' AND status = 'sent'")
    finally:
        await db.close()
    return [(int(r["fired_at"]) - int(r["due_at"])) / 1000 / speed for r in rows
            if r["fired_at"] is not None]


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 18)))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples) or [0.0]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class LagMeter:
    """How late a 50 ms ticker wakes: this process's event loop under the load."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.05)
            self.samples.append((time.perf_counter() - started - 0.05) * 1000)


async def tick(clock: FakeClock, speed: float) -> None:
    """Advance simulated time `speed` times faster than real time."""
    last = time.perf_counter()
    while True:
        await asyncio.sleep(0.05)
        now = time.perf_counter()
        clock.advance(timedelta(seconds=(now - last) * speed))
        last = now


class Steward(Protocol):
    """The bot under soak, however it runs."""

    where: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def rss(self) -> float: ...

    async def pending_reminders(self) -> int: ...


class StewardSubprocess:
    """`steward run` as its own process; its RSS is its own."""

    where = "Steward's own process (VmRSS)"

    def __init__(self, sb: Sandbox, server: SupportServer, database: Path) -> None:
        self.server = server
        self.process = StewardProcess(sb, database)
        self.db: Database | None = None

    async def start(self) -> None:
        await prepare_database(self.process.database, self.server)
        await self.process.start()
        self.db = await Database.open(self.process.database)

    async def stop(self) -> None:
        if self.db is not None:
            await self.db.close()
        await self.process.stop()

    def rss(self) -> float:
        return self.process.memory()["VmRSS"] / 1024

    def peak(self) -> float:
        return self.process.memory()["VmHWM"] / 1024

    async def pending_reminders(self) -> int:
        assert self.db is not None
        return await ReminderRepository(self.db).count_pending()


class StewardInProcess:
    """The bot in this process on a FakeClock moved `speed` times faster than real time."""

    where = "this process: Steward and the sandbox together"

    def __init__(self, sb: Sandbox, server: SupportServer, database: Path, clock: FakeClock,
                 speed: float) -> None:
        self.server = server
        self.harness = StewardHarness(sb, clock, database)
        self.clock = clock
        self.speed = speed
        self.ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        bot = await self.harness.start()
        await bot.guild_settings.update(self.server.guild.id, configure_defaults(self.server))
        self.ticker = asyncio.create_task(tick(self.clock, self.speed))

    async def stop(self) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
        await self.harness.stop()

    def rss(self) -> float:
        return rss_mib()

    async def pending_reminders(self) -> int:
        return await self.harness.bot.services.scheduler.repository.count_pending()


class Tally:
    """What the soak checks at the end, counted as messages arrive (the sandbox forgets)."""

    def __init__(self, sb: Sandbox, server: SupportServer) -> None:
        self.bot_id = sb.bot_user.id
        self.server = server
        self.fired: Counter[str] = Counter()
        self.welcomed: Counter[int] = Counter()
        self.queue_cards = 0
        sb.on_message(self.see)

    def see(self, message: Message) -> None:
        if message.author.id != self.bot_id or message.ephemeral:
            return
        if REMINDER_NOTE in message.content:
            self.fired.update(re.findall(rf"{REMINDER_NOTE} #\d+\.", message.content))
        if message.channel.id == self.server.welcome.id:
            self.welcomed.update(int(x) for x in re.findall(r"<@!?(\d+)>", message.content))
        if message.channel.id == self.server.queue.id and message.embeds:
            self.queue_cards += 1


async def soak(scale: float, seconds: float, length: float, rate: float, speed: float,
               seed: int, in_process: bool = False, trace: bool = False,
               reminders: int | None = None) -> int:
    rng = random.Random(seed)
    clock = FakeClock() if in_process else SystemClock()
    speed = speed if in_process else 1.0
    members_n = int(2000 * scale)
    joins_n = int(200 * scale * length)
    reminders_n = int((5000 * scale if reminders is None else reminders) * length)
    seconds *= length
    async with Sandbox(clock=clock, retention=Retention()) as sb:
        server = build_support_server(sb, clock)  # type: ignore[arg-type]
        now = clock.now()
        channels = [server.general, sb.add_text_channel(server.guild, "chemo-talk"),
                    sb.add_text_channel(server.guild, "carers")]
        members = []
        new_ids: set[int] = set()
        for i in range(members_n):
            new = i % 20 == 0  # 5% joined today: their links are held
            joined = now - (timedelta(hours=2) if new else timedelta(days=rng.randint(8, 900)))
            members.append(sb.add_member(server.guild, f"member{i}", joined_at=joined))
            if new:
                new_ids.add(members[-1].id)
        tally = Tally(sb, server)
        with tempfile.TemporaryDirectory(prefix="steward-soak-") as folder:
            database = Path(folder) / "soak.sqlite3"
            steward: Steward = (
                StewardInProcess(sb, server, database, clock, speed)  # type: ignore[arg-type]
                if in_process else StewardSubprocess(sb, server, database))
            await steward.start()
            lag = LagMeter()
            rss_samples: list[tuple[float, float]] = []
            answer_ms: list[float] = []
            background = [asyncio.create_task(lag.run())]
            try:
                await sb.idle()
                sb.reset()
                requests_before, statuses_before = sb.api.total, Counter(sb.api.status_counts)
                heap = {"start": heap_by_owner()} if trace else {}
                rss = {"start": steward.rss()}
                link_posts: list[Message] = []
                joined_ids: list[int] = []
                scheduled = 0
                approved: set[int] = set()
                refused: list[int] = []  # approvals not confirmed (Discord's error code or 0)
                started = time.perf_counter()

                async def sample_rss() -> None:
                    while True:
                        rss_samples.append((time.perf_counter() - started, steward.rss()))
                        await asyncio.sleep(1)

                background.append(asyncio.create_task(sample_rss()))

                async def post_load() -> None:
                    sent = 0
                    while (elapsed := time.perf_counter() - started) < seconds:
                        due = int(elapsed * rate)
                        while sent < due:
                            author = rng.choice(members)
                            text = sentence(rng)
                            if rng.random() < 0.01:
                                text += f" see https://clinic-{sent}.example.org/info"
                            message = await sb.post(rng.choice(channels), author, text)
                            if "https://" in text and author.id in new_ids:
                                sb.keep(message)
                                link_posts.append(message)
                            sent += 1
                        await asyncio.sleep(0.01)

                async def join_load() -> None:
                    for i in range(joins_n):
                        await asyncio.sleep(seconds / max(joins_n, 1))
                        joined_ids.append((await sb.join(server.guild, f"newcomer{i}")).id)

                async def remind_load() -> None:
                    nonlocal scheduled
                    numbers = iter(range(reminders_n))
                    pause = seconds * 0.6 / max(reminders_n, 1) * REMIND_WORKERS

                    async def worker() -> None:  # a few moderators typing at once
                        nonlocal scheduled
                        for number in numbers:
                            target = members[rng.randrange(members_n)]
                            asked = time.perf_counter()
                            r = await sb.slash(server.guild, server.mod, "followup remind",
                                               server.general, member=target,
                                               when=rng.choice(("2m", "3m")),
                                               note=f"{REMINDER_NOTE} #{number}.")
                            with contextlib.suppress(Exception):
                                await r.responded(timeout=30)
                                answer_ms.append((time.perf_counter() - asked) * 1000)
                                scheduled += 1
                            await asyncio.sleep(pause)

                    await asyncio.gather(*(worker() for _ in range(REMIND_WORKERS)))

                async def moderate() -> None:
                    while time.perf_counter() - started < seconds + 30:
                        for card in sb.messages(server.queue):
                            if card.id in approved or not card.buttons():
                                continue
                            if any(b.get("label") == "Approve" for b in card.buttons()):
                                approved.add(card.id)
                                answer = await sb.click(card, "Approve", by=server.mod)
                                with contextlib.suppress(Exception):
                                    await answer.done(timeout=30)
                                if answer.error is not None or not any(
                                        "Approved hold" in t for t in answer.texts):
                                    refused.append(answer.error.code if answer.error else 0)
                        await asyncio.sleep(0.5)

                async def checkpoints() -> None:
                    await asyncio.sleep(min(WARM_UP, seconds / 4))
                    rss["warm-up"] = steward.rss()
                    await asyncio.sleep(max(0.0, seconds / 2 - (time.perf_counter() - started)))
                    rss["middle"] = steward.rss()
                    if trace:
                        heap["middle"] = heap_by_owner()
                    await sb.drop_connection()
                    sb.fail(MESSAGES, 429, times=40)

                await asyncio.gather(post_load(), join_load(), remind_load(), moderate(),
                                     checkpoints())
                # Let every reminder and welcome come due and go out (at most 15 real minutes).
                drain_deadline = time.perf_counter() + 900
                while time.perf_counter() < drain_deadline and (  # noqa: ASYNC110 - polls the DB
                        await steward.pending_reminders()):
                    await asyncio.sleep(1)
                await asyncio.sleep(min(5.0, seconds))
                rss["end"] = steward.rss()
                late = await reminder_lateness(database, speed)
                peak = steward.peak() if isinstance(steward, StewardSubprocess) else None
                if trace:
                    heap["end"] = heap_by_owner()
                wall = time.perf_counter() - started
            finally:
                for task in background:
                    task.cancel()
                await steward.stop()

    requests = sb.api.total - requests_before
    statuses = sb.api.status_counts - statuses_before
    held_removed = sum(1 for message in link_posts if message.deleted)
    doubled = sum(1 for n in tally.fired.values() if n > 1)
    mode = "in-process, simulated x" + f"{speed:g}" if in_process else "Steward as a subprocess"
    print(f"soak: {wall:.0f} s real ({mode}), seed {seed}, scale {scale:g}, length {length:g}")
    print(f"  load: {members_n} members, {rate:g} msgs/s for {seconds:g} s, {joins_n} joins, "
          f"{reminders_n} reminders, gateway drop + 40x 429 halfway")
    print(f"  holds: {len(link_posts)} new-member link posts, {held_removed} removed, "
          f"{tally.queue_cards} queue cards, {len(approved)} approved by the moderator "
          f"({len(refused)} not confirmed{': codes ' + str(refused) if refused else ''})")
    print(f"  reminders: {scheduled} scheduled, {len(tally.fired)} fired, "
          f"{doubled} fired more than once")
    print(f"  reminders late (real s after due): p50 {percentile(late, 0.5):.1f}, "
          f"p99 {percentile(late, 0.99):.1f}, max {percentile(late, 1):.1f}")
    print(f"  welcomes: {sum(1 for j in joined_ids if tally.welcomed[j] >= 1)} of "
          f"{len(joined_ids)} joiners greeted, "
          f"{sum(1 for j in joined_ids if tally.welcomed[j] > 1)} greeted twice")
    print(f"  REST: {requests} calls, {statuses.get(429, 0)} answered 429, "
          f"{sum(v for k, v in statuses.items() if k >= 500)} 5xx")
    print(f"  /followup remind answered in: p50 {percentile(answer_ms, 0.5):.0f} ms, "
          f"p99 {percentile(answer_ms, 0.99):.0f} ms, max {percentile(answer_ms, 1):.0f} ms")
    print(f"  event-loop lag ({'shared' if in_process else 'the sandbox and load driver'}): "
          f"p50 {percentile(lag.samples, 0.5):.1f} ms, p99 {percentile(lag.samples, 0.99):.1f} "
          f"ms, max {percentile(lag.samples, 1):.1f} ms ({len(lag.samples)} samples)")
    print(f"  Steward RSS: start {rss['start']:.1f} MiB, warm-up {rss.get('warm-up', 0):.1f} MiB, "
          f"middle {rss.get('middle', 0):.1f} MiB, end {rss['end']:.1f} MiB"
          + (f", peak {peak:.1f} MiB" if peak is not None else "") + f" ({steward.where})")
    if rss_samples:
        step = max(1, len(rss_samples) // 10)
        print("  Steward RSS over time (s: MiB): " + ", ".join(
            f"{t:.0f}: {m:.1f}" for t, m in rss_samples[::step]))
    if not in_process:
        print(f"  sandbox and load driver RSS (this process): {rss_mib():.1f} MiB")
    for owner in ("Steward", "discord.py", "sandbox", "other"):
        if heap:
            print(f"  heap {owner:<11} " + ", ".join(
                f"{when} {heap[when].get(owner, 0.0):6.1f} MiB"
                for when in ("start", "middle", "end") if when in heap))
    lost = {
        "link posts not removed": len(link_posts) - held_removed,
        "reminders not fired": scheduled - len(tally.fired),
        "reminders fired twice": doubled,
        "joiners not greeted": sum(1 for j in joined_ids if tally.welcomed[j] == 0),
        "joiners greeted twice": sum(1 for j in joined_ids if tally.welcomed[j] > 1),
    }
    print("  lost or doubled: " + ", ".join(f"{k} {v}" for k, v in lost.items()))
    return 1 if any(lost.values()) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply members, joins and reminders (default 1)")
    parser.add_argument("--seconds", type=float, default=120, help="real seconds of load")
    parser.add_argument("--length", type=float, default=1.0,
                        help="multiply the seconds, joins and reminders (not the members)")
    parser.add_argument("--rate", type=float, default=100, help="messages per second")
    parser.add_argument("--reminders", type=int, default=None,
                        help="reminders per length (default 5,000 x scale)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--in-process", action="store_true",
                        help="run the bot in this process on simulated time")
    parser.add_argument("--speed", type=float, default=4,
                        help="in-process: simulated time per real second")
    parser.add_argument("--verbose", action="store_true", help="log warnings")
    parser.add_argument("--trace-memory", action="store_true",
                        help="in-process: split the heap by owner (tracemalloc; slows the run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR)
    if args.trace_memory and not args.in_process:
        parser.error("--trace-memory needs --in-process")
    if args.trace_memory:
        tracemalloc.start(15)
    return asyncio.run(soak(args.scale, args.seconds, args.length, args.rate, args.speed,
                            args.seed, args.in_process, args.trace_memory, args.reminders))


if __name__ == "__main__":
    raise SystemExit(main())
