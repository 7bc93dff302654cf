"""Steward as a separate process (`python -m bot run`) against a sandbox, over real sockets.

Shared by the crash-safety tests, the subprocess tests and the memory and soak benchmarks::

    await prepare_database(database, server)      # migrate + point settings at the server
    steward = StewardProcess(sb, database)
    await steward.start()                         # returns once Steward logged "connected as"
    steward.memory()                              # {"VmRSS": kB, "VmHWM": kB} from /proc
    stderr = await steward.stop()                 # SIGTERM; asserts a clean exit 0

The process's stderr is read as it comes (a full pipe would stall a long run) and kept in
`lines`. It only knows the sandbox through its two URL settings, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.db import Database, migrate
from bot.db.guild_settings import GuildSettingsRepository
from bot.services.guild_settings import GuildSettingsService
from sandbox.scenario import Sandbox
from sandbox.world import SupportServer, configure_defaults

ROOT = Path(__file__).resolve().parent.parent


def steward_env(**values: str) -> dict[str, str]:
    """This process's environment without any DISCORD_/STEWARD_ setting, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STEWARD_"))}
    env.update(values, PYTHONPATH=str(ROOT))
    return env


async def prepare_database(database: Path, server: SupportServer) -> None:
    """Migrate and point Steward's settings at the standard server before it first starts."""
    db = await Database.open(database)
    try:
        await migrate(db)
        service = GuildSettingsService(GuildSettingsRepository(db), SystemClock())
        await service.load_all()
        await service.update(server.guild.id, configure_defaults(server))
    finally:
        await db.close()


class StewardProcess:
    """`python -m bot run` against `sb` on `database`, optionally with failpoints or more env."""

    def __init__(self, sb: Sandbox, database: Path, *, token: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.sb = sb
        self.database = database
        self.token = token
        self.env = env or {}
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._line = asyncio.Condition()

    @property
    def pid(self) -> int:
        """The running process's id."""
        if self.process is None:
            raise RuntimeError("Steward is not running")
        return self.process.pid

    @property
    def stderr(self) -> str:
        """Everything the process wrote to stderr so far."""
        return "\n".join(self.lines)

    async def spawn(self, failpoints: str = "") -> None:
        """Start the process and return at once (see `start` to wait until it is ready)."""
        env = steward_env(
            DISCORD_TOKEN=self.token or self.sb.token, DISCORD_API_BASE=self.sb.api_base,
            DISCORD_GATEWAY_URL=self.sb.gateway_url, STEWARD_DATABASE=str(self.database),
            STEWARD_FAILPOINTS=failpoints, **self.env)
        self.lines = []
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.database.parent, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self._reader = asyncio.get_running_loop().create_task(self._read(self.process))

    async def start(self, failpoints: str = "", *, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Start once the sandbox has no connection left, and wait until Steward is ready
        (on_ready: its "connected as" line)."""
        await self.sb.wait_for(lambda: not self.sb.connected, timeout=30)
        self.sb.reset()
        await self.spawn(failpoints)
        await self.wait_for_line("connected as", timeout=timeout)

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            async with self._line:
                self.lines.append(line.decode(errors="replace").rstrip("\n"))
                self._line.notify_all()
        async with self._line:
            self._line.notify_all()

    async def wait_for_line(self, text: str, timeout: float = 60) -> str:  # noqa: ASYNC109
        """The first stderr line containing `text`; RuntimeError if the process exits first."""

        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        async def wait() -> str:
            async with self._line:
                while (line := found()) is None:
                    if self._reader is None or self._reader.done():
                        raise RuntimeError(f"steward run exited before {text!r}:\n"
                                           + self.stderr[-3000:])
                    await self._line.wait()
                return line

        return await asyncio.wait_for(wait(), timeout)

    def memory(self) -> dict[str, int]:
        """The process's VmRSS and VmHWM (peak) now, in kB, from /proc/<pid>/status."""
        values: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in {"VmRSS", "VmHWM"}:
                values[key] = int(rest.split()[0])
        return values

    async def exited(self, timeout: float = 60) -> int:  # noqa: ASYNC109
        """Wait for the process to end by itself; its exit code (-9: killed)."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._drained()
        self.process = None
        return code

    async def killed(self) -> None:
        """Wait for the process to die at its failpoint (SIGKILL, exit -9)."""
        code = await self.exited()
        assert code == -signal.SIGKILL, f"expected a kill at the failpoint, got exit {code}"

    async def stop(self) -> str:
        """SIGTERM and wait; asserts a clean exit 0 and returns stderr."""
        if self.process is None:
            return ""
        self.process.send_signal(signal.SIGTERM)
        code = await self.exited()
        assert code == 0, self.stderr[-2000:]
        return self.stderr

    async def _drained(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reader, 10)
