"""Process memory of `steward run` with a large guild (default chunking at startup).

Starts the sandbox in this process, fills the guild with N members, runs the real bot as a
separate process (`python -m bot run`, pointed at the sandbox by its two URL settings), waits
for "connected" (on_ready: after the member chunks arrived), and reads the bot process's
VmRSS / VmHWM from /proc. Run: `uv run python -m benches.memory [N ...]`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.process import StewardProcess
from sandbox.world import build_support_server


async def measure(members: int) -> tuple[float, dict[str, int]]:
    """Seconds from process start to ready, and the bot's memory once ready."""
    clock = FakeClock()
    async with Sandbox(clock=clock) as sb:
        server = build_support_server(sb, clock)
        for index in range(members):
            sb.add_member(server.guild, f"member{index}")
        with tempfile.TemporaryDirectory() as folder:
            steward = StewardProcess(sb, Path(folder) / "bench.sqlite3")
            started = time.perf_counter()
            await steward.spawn()
            try:
                await steward.wait_for_line("connected as", timeout=600)
                ready = time.perf_counter() - started
                await asyncio.sleep(1.0)  # let post-ready work settle
                memory = steward.memory()
            finally:
                await steward.stop()
    return ready, memory


async def main(sizes: list[int]) -> None:
    """Print ready time and memory for each guild size."""
    print(f"{'members':>9} {'ready (s)':>10} {'RSS (MiB)':>10} {'peak RSS (MiB)':>15}")
    for size in sizes:
        ready, memory = await measure(size)
        print(f"{size:>9} {ready:>10.1f} {memory['VmRSS'] / 1024:>10.1f} "
              f"{memory['VmHWM'] / 1024:>15.1f}")


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [0, 10_000, 100_000]))
