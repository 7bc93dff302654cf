"""Soak: a busy support server compressed into a few minutes, against the sandbox.

Run:  uv run python -m benches.soak                    (full size; about 5 minutes)
      uv run python -m benches.soak --scale 0.1        (a tenth of everything; a minute)

The real Steward runs in-process against the sandbox on the standard support server with
2,000 members (5% joined today, so their links are held). Simulated time runs `--speed` times
faster than real time (a FakeClock advanced by a ticker), so minute-long reminders fire within
the run. Load, all at once:
- `--rate` messages/s for `--seconds` real seconds from random members (1% with a link);
- 200 joins spread over the run (each must be welcomed once);
- 5,000 reminders scheduled through `/followup remind` by a moderator, due 2-3 simulated
  minutes later (each must fire once, and late ones are counted);
- a moderator approving held posts from the queue as they arrive;
- halfway: the gateway connection drops (Steward must RESUME) and a storm of 429s on message
  sends (each retried by discord.py).

Prints: holds made/decided, reminders fired/late, welcomes, REST calls, 429s answered,
event-loop lag (p50/p99/max of a 50 ms ticker's overshoot; the loop is shared by Steward and
the sandbox), and process RSS at start, middle and end, then what was lost or doubled.
`--trace-memory` also splits the live heap by owner (Steward, discord.py, the sandbox): the
sandbox keeps every message and request for the final accounting, so RSS alone overstates
Steward. Tracing slows the run several-fold; use it at a small --scale.
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

from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.world import StewardHarness, build_support_server, configure_defaults

MESSAGES = "POST /channels/{channel_id}/messages"
WORDS = ("scan", "chemo", "tired", "hope", "today", "results", "nurse", "walk", "family",
         "thank", "you", "all", "stoma", "pain", "better", "sleep", "appointment", "week")
REMINDER_NOTE = "soak reminder"
REMIND_WORKERS = 8


HEAP_OWNERS = {"bot": "Steward", "cogs": "Steward", "config": "Steward",
               "discord": "discord.py", "aiosqlite": "Steward", "sandbox": "sandbox"}


def heap_by_owner() -> dict[str, float]:
    """Live Python heap (MiB) by who allocated it: Steward, discord.py, the sandbox, other.

    The bot and the sandbox share this process, and the sandbox keeps every message and
    request it saw (for the accounting at the end), so process RSS alone can't show whether
    Steward's own memory levels off; the allocation sites can.
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


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 18)))


class LagMeter:
    """How late a 50 ms ticker wakes: the event loop's responsiveness under the load."""

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


async def soak(scale: float, seconds: float, rate: float, speed: float, seed: int,
               trace: bool = False) -> int:
    rng = random.Random(seed)
    clock = FakeClock()
    members_n, joins_n, reminders_n = int(2000 * scale), int(200 * scale), int(5000 * scale)
    async with Sandbox(clock=clock) as sb:
        server = build_support_server(sb, clock)
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
        with tempfile.TemporaryDirectory(prefix="steward-soak-") as folder:
            harness = StewardHarness(sb, clock, Path(folder) / "soak.sqlite3")
            bot = await harness.start()
            lag = LagMeter()
            background = [asyncio.create_task(lag.run()), asyncio.create_task(tick(clock, speed))]
            try:
                await bot.guild_settings.update(server.guild.id, configure_defaults(server))
                await sb.idle()
                sb.reset()
                rss = {"start": rss_mib()}
                heap = {"start": heap_by_owner()} if trace else {}
                link_posts: list[int] = []
                joined_ids: list[int] = []
                scheduled = 0
                approved: set[int] = set()
                started = time.perf_counter()

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
                                link_posts.append(message.id)
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
                            r = await sb.slash(server.guild, server.mod, "followup remind",
                                               server.general, member=target,
                                               when=rng.choice(("2m", "3m")),
                                               note=f"{REMINDER_NOTE} #{number}.")
                            with contextlib.suppress(Exception):
                                await r.responded(timeout=30)
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
                                with contextlib.suppress(Exception):
                                    await (await sb.click(card, "Approve", by=server.mod)).done()
                        await asyncio.sleep(0.5)

                async def trouble() -> None:
                    await asyncio.sleep(seconds / 2)
                    rss["middle"] = rss_mib()
                    if trace:
                        heap["middle"] = heap_by_owner()
                    await sb.drop_connection()
                    sb.fail(MESSAGES, 429, times=40)

                await asyncio.gather(post_load(), join_load(), remind_load(), moderate(),
                                     trouble())
                # Let the last reminders come due and fire.
                # Let every reminder and welcome come due and go out (at most 15 real minutes).
                drain_deadline = time.perf_counter() + 900
                scheduler = harness.bot.services.scheduler
                while time.perf_counter() < drain_deadline and (  # noqa: ASYNC110 - polls the DB
                        await scheduler.repository.count_pending()):
                    await asyncio.sleep(1)
                await asyncio.sleep(5)
                rss["end"] = rss_mib()
                if trace:
                    heap["end"] = heap_by_owner()
                wall = time.perf_counter() - started
            finally:
                for task in background:
                    task.cancel()
                await harness.stop()

    requests = sb.api.requests
    statuses = Counter(r.status for r in requests)
    bot_id = sb.bot_user.id
    queue_cards = [m for m in sb.messages(server.queue) if m.author.id == bot_id]
    fired = [m for c in channels for m in sb.messages(c)
             if m.author.id == bot_id and REMINDER_NOTE in m.content]
    fired_text = " ".join(m.content for m in fired)
    fired_notes = Counter(re.findall(rf"{REMINDER_NOTE} #\d+\.", fired_text))
    welcomed = Counter(int(x) for m in sb.messages(server.welcome) if m.author.id == bot_id
                       for x in re.findall(r"<@!?(\d+)>", m.content))
    held_removed = sum(1 for mid in link_posts if sb.message(mid).deleted)
    samples = sorted(lag.samples) or [0.0]
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]  # noqa: E731
    print(f"soak: {wall:.0f} s real, simulated x{speed:g}, seed {seed}, scale {scale:g}")
    print(f"  load: {members_n} members, {rate:g} msgs/s for {seconds:g} s, {joins_n} joins, "
          f"{reminders_n} reminders, gateway drop + 40x 429 halfway")
    print(f"  holds: {len(link_posts)} new-member link posts, {held_removed} removed, "
          f"{len(queue_cards)} queue cards, {len(approved)} approved by the moderator")
    print(f"  reminders: {scheduled} scheduled, {len(fired_notes)} fired, "
          f"{sum(1 for n in fired_notes.values() if n > 1)} fired more than once")
    print(f"  welcomes: {sum(1 for j in joined_ids if welcomed[j] >= 1)} of {len(joined_ids)} "
          f"joiners greeted, {sum(1 for j in joined_ids if welcomed[j] > 1)} greeted twice")
    print(f"  REST: {len(requests)} calls, {statuses.get(429, 0)} answered 429, "
          f"{sum(v for k, v in statuses.items() if k >= 500)} 5xx")
    print(f"  event-loop lag: p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {samples[-1]:.1f} ms"
          f" ({len(samples)} samples)")
    print(f"  RSS: start {rss['start']:.1f} MiB, middle {rss.get('middle', 0):.1f} MiB, "
          f"end {rss['end']:.1f} MiB (process: Steward and the sandbox together)")
    for owner in ("Steward", "discord.py", "sandbox", "other"):
        if heap:
            print(f"  heap {owner:<11} " + ", ".join(
                f"{when} {heap[when].get(owner, 0.0):6.1f} MiB"
                for when in ("start", "middle", "end") if when in heap))
    lost = {
        "link posts not removed": len(link_posts) - held_removed,
        "reminders not fired": scheduled - len(fired_notes),
        "reminders fired twice": sum(1 for n in fired_notes.values() if n > 1),
        "joiners not greeted": sum(1 for j in joined_ids if welcomed[j] == 0),
        "joiners greeted twice": sum(1 for j in joined_ids if welcomed[j] > 1),
    }
    print("  lost or doubled: " + ", ".join(f"{k} {v}" for k, v in lost.items()))
    return 1 if any(lost.values()) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply members, joins and reminders (default 1)")
    parser.add_argument("--seconds", type=float, default=120, help="real seconds of load")
    parser.add_argument("--rate", type=float, default=100, help="messages per second")
    parser.add_argument("--speed", type=float, default=4, help="simulated time per real second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="log warnings")
    parser.add_argument("--trace-memory", action="store_true",
                        help="also split the heap by owner (tracemalloc; slows the run)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR)
    if args.trace_memory:
        tracemalloc.start(15)
    return asyncio.run(soak(args.scale, args.seconds, args.rate, args.speed, args.seed,
                            args.trace_memory))


if __name__ == "__main__":
    raise SystemExit(main())
