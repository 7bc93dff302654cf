"""Process memory of `steward run` with a large guild (default chunking at startup).

Starts the sandbox in this process, fills the guild with N members, runs the real bot as a
separate process (`python -m bot run`, pointed at the sandbox by its two URL settings), waits
for "connected" (on_ready: after the member chunks arrived), and reads the bot process's
VmRSS / VmHWM from /proc. Run: `uv run python -m benches.memory [N ...]`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.world import build_support_server

ROOT = Path(__file__).resolve().parent.parent


def _status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            values[key] = int(rest.split()[0])  # kB
    return values


async def measure(members: int) -> tuple[float, dict[str, int]]:
    """Seconds from process start to ready, and the bot's memory once ready."""
    clock = FakeClock()
    async with Sandbox(clock=clock) as sb:
        server = build_support_server(sb, clock)
        for index in range(members):
            sb.add_member(server.guild, f"member{index}")
        with tempfile.TemporaryDirectory() as folder:
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("DISCORD_", "STEWARD_"))}
            env.update({
                "DISCORD_TOKEN": sb.token, "DISCORD_API_BASE": sb.api_base,
                "DISCORD_GATEWAY_URL": sb.gateway_url, "PYTHONPATH": str(ROOT),
                "STEWARD_DATABASE": str(Path(folder) / "bench.sqlite3"),
            })
            started = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=folder, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            assert process.stderr is not None
            try:
                while True:
                    line = await asyncio.wait_for(process.stderr.readline(), 600)
                    if not line:
                        raise RuntimeError("steward run exited before it was ready")
                    if b"connected as" in line:
                        break
                ready = time.perf_counter() - started
                await asyncio.sleep(1.0)  # let post-ready work settle
                memory = _status(process.pid)
            finally:
                process.send_signal(signal.SIGTERM)
                await process.wait()
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
