"""Join-burst benchmark: 1,000 joins within 60 s of simulated time against the sandbox.

Run:  uv run python -m benches.welcome                 (Discord-like rate limits; ~1 minute)
      uv run python -m benches.welcome --no-pacing     (no rate limits; a few seconds)
      uv run python -m benches.welcome --joins 300 --seconds 20

The real Steward runs against the sandbox on the standard support server with a FakeClock.
Members join evenly over `--seconds` of simulated time; every 20th member (after the first 20)
leaves one simulated second after joining, before a burst welcome could greet them. With
pacing on, the sandbox answers like Discord under load (50 requests/s global, 5 messages per
5 s per channel, real time; sandbox.pacing) so a 429 would show if Steward overran them.

Prints: messages sent, REST calls (by route), members greeted (every member who stayed must be
greeted exactly once, nobody who left before their welcome), mentions per message, and whether
any 429 was hit.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.pacing import Pacer
from sandbox.world import StewardHarness, build_support_server, configure_defaults

MENTION = re.compile(r"<@!?(\d+)>")


async def until_quiet(harness: StewardHarness, quiet: float) -> None:
    """Wait until no join is pending and no request was made for `quiet` real seconds.

    (discord.py sleeps through a rate-limit bucket's reset without making requests, so the
    quiet period must outlast the 5 s channel window when pacing is on.)
    """

    service = harness.bot.services.welcome
    sb = harness.sb
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        pending = await service.repository.next_due()
        idle_for = time.monotonic() - sb.api.last_request_at
        if pending is None and idle_for >= quiet and not sb.api.in_flight:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("Steward did not finish greeting within 10 minutes")


async def run(joins: int, seconds: float, pacing: bool) -> int:
    clock = FakeClock()
    async with Sandbox(clock=clock) as sb:
        server = build_support_server(sb, clock)
        with tempfile.TemporaryDirectory(prefix="steward-bench-") as folder:
            harness = StewardHarness(sb, clock, Path(folder) / "bench.sqlite3")
            bot = await harness.start()
            try:
                await bot.guild_settings.update(server.guild.id, configure_defaults(server))
                config = bot.guild_settings.get(server.guild.id).welcome
                guild = bot.get_guild(server.guild.id)
                assert guild is not None
                await sb.idle()
                sb.reset()
                pacer = Pacer() if pacing else None
                sb.api.pacer = pacer
                step = timedelta(seconds=seconds / joins)
                leave_after = timedelta(seconds=1)
                joined: list[int] = []
                leavers: set[int] = set()
                to_leave: list[tuple[object, object]] = []  # (when, member)
                started = time.perf_counter()
                sim_start = clock.now()
                for index in range(joins):
                    member = await sb.join(server.guild, f"joiner{index}")
                    joined.append(member.id)
                    await sb.wait_for(lambda m=member: guild.get_member(m.id) is not None)
                    if index >= 20 and index % 20 == 0:
                        to_leave.append((clock.now() + leave_after, member))
                    # Leave before the clock moves past the leave time (and any flush due then).
                    while to_leave and to_leave[0][0] <= clock.now() + step:  # type: ignore[operator]
                        _, leaver = to_leave.pop(0)
                        await sb.leave(server.guild, leaver)  # type: ignore[arg-type]
                        leavers.add(leaver.id)  # type: ignore[attr-defined]
                        await sb.wait_for(lambda m=leaver: guild.get_member(m.id) is None)
                    clock.advance(step)
                for _, leaver in to_leave:
                    await sb.leave(server.guild, leaver)  # type: ignore[arg-type]
                    leavers.add(leaver.id)  # type: ignore[attr-defined]
                    await sb.wait_for(lambda m=leaver: guild.get_member(m.id) is None)
                joins_real = time.perf_counter() - started
                sim_joins = (clock.now() - sim_start).total_seconds()
                # Let the last burst window end, then wait until Steward is quiet.
                clock.advance(seconds=config.burst_window_seconds + 1)
                await until_quiet(harness, quiet=7.0 if pacing else 1.0)
                total_real = time.perf_counter() - started

                bot_id = sb.bot_user.id
                welcomes = [m for m in sb.messages(server.welcome) if m.author.id == bot_id]
                greeted = collections.Counter(
                    int(uid) for m in welcomes for uid in MENTION.findall(m.content))
                stayed = [m for m in joined if m not in leavers]
                missing = [m for m in stayed if greeted[m] == 0]
                twice = [m for m, n in greeted.items() if n > 1]
                left_but_greeted = [m for m in leavers if greeted[m]]
                pinged = [len(sb.mentions_pinged(m)) for m in welcomes]
                requests = sb.requests
                routes = collections.Counter(r.route for r in requests)
                limited = [r for r in requests if r.status == 429]
                dms = sum(len(sb.dms(sb.world.users[m])) for m in joined)
                singles = sum(1 for m in welcomes if m.content.startswith("Welcome to"))

                limits = "Discord-like rate limits" if pacing else "no rate limits"
                print(f"# Welcome join burst: {joins:,} joins over {sim_joins:.0f} s of "
                      f"simulated time ({limits})")
                print(f"settings:            burst threshold {config.burst_threshold} per "
                      f"{config.burst_window_seconds} s, DMs {'on' if config.dm else 'off'}")
                print(f"left before welcome: {len(leavers)}; stayed: {len(stayed)}")
                print(f"welcome messages:    {len(welcomes)} ({singles} single, "
                      f"{len(welcomes) - singles} burst); DMs sent: {dms}")
                print(f"mentions per message: max {max(pinged, default=0)}, "
                      f"mean {sum(pinged) / max(len(pinged), 1):.1f} (limit 20)")
                print(f"members greeted:     {sum(1 for m in stayed if greeted[m])} of "
                      f"{len(stayed)} who stayed; missing {len(missing)}; greeted twice "
                      f"{len(twice)}; greeted after leaving {len(left_but_greeted)}")
                print(f"REST calls:          {len(requests)} in total")
                for route, count in routes.most_common():
                    print(f"    {count:6d}  {route}")
                print(f"429 responses:       {len(limited)}"
                      + (f" (pacer refused {pacer.limited})" if pacer else ""))
                print(f"real time:           {joins_real:.1f} s to play the joins, "
                      f"{total_real:.1f} s until Steward was quiet")
                ok = not missing and not twice and not left_but_greeted
                print("result:              " + ("OK: everyone who stayed greeted exactly once"
                                                 if ok else "FAILED"))
                return 0 if ok else 1
            finally:
                await harness.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--no-pacing", action="store_true",
                        help="don't imitate Discord's rate limits")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    raise SystemExit(asyncio.run(run(args.joins, args.seconds, not args.no_pacing)))


if __name__ == "__main__":
    main()
