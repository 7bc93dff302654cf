"""A sandbox support server with the real StewardBot, shared by the setup/doctor/privacy tests."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.world import StewardHarness


class Server:
    """A support server: channels, a moderator role, and a few people."""

    def __init__(self, sb: Sandbox, name: str) -> None:
        self.sb = sb
        self.guild = g = sb.add_guild(name, f"owner-{name}")
        self.id = g.id
        self.owner = sb.member(g, f"owner-{name}")
        self.welcome = sb.add_text_channel(g, "welcome")
        self.general = sb.add_text_channel(g, "general")
        self.rules = sb.add_text_channel(g, "rules")
        self.forum = sb.add_forum_channel(g, "colorectal-cancer")
        self.mod_role = sb.add_role(g, "Moderators", ["manage_messages"])
        self.helper_role = sb.add_role(g, "Helpers")
        self.admin_role = sb.add_role(g, "Admins", ["manage_guild"])
        self.moderator = sb.add_member(g, f"mod-{name}", roles=[self.mod_role])
        self.helper = sb.add_member(g, f"helper-{name}", roles=[self.helper_role])
        self.admin = sb.add_member(g, f"admin-{name}", roles=[self.admin_role])
        self.member = sb.add_member(g, f"member-{name}")


class StewardEnv(StewardHarness):
    """The sandbox, a support server (`main`), and a running bot that can be restarted."""

    def __init__(self, sb: Sandbox, clock: FakeClock, db_path: Path, *,
                 metrics_port: int | None = None) -> None:
        super().__init__(sb, clock, db_path, metrics_port=metrics_port)
        self._servers = 0
        self.main = Server(sb, "Hope Together")

    @property
    def db_path(self) -> Path:
        """The database file (kept across restarts)."""
        return self.database

    async def add_server(self) -> Server:
        """A fresh server, joined by the running bot (tests stay independent)."""
        self._servers += 1
        server = Server(self.sb, f"Support {self._servers}")
        bot = self.bot
        await self.sb.wait_for(lambda: bot.get_guild(server.id) is not None)
        return server


@asynccontextmanager
async def running_env(folder: Path, *, metrics_port: int | None = None,
                      before_start: Callable[[StewardEnv], object] | None = None,
                      ) -> AsyncIterator[StewardEnv]:
    """A sandbox with StewardEnv's server and Steward running on `folder`; all stopped on exit.

    `before_start(env)` may add to the world before the bot connects.
    """
    clock = FakeClock()
    async with Sandbox(clock=clock) as sb:
        env = StewardEnv(sb, clock, folder / "steward.sqlite3", metrics_port=metrics_port)
        if before_start is not None:
            before_start(env)
        async with env:
            yield env


def scan_database(path: Path, needle: int) -> list[str]:
    """Every table.column of the SQLite file holding `needle` as a number or inside text."""
    hits = []
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in conn.execute(f'PRAGMA table_info("{table}")'):
                name = column[1]
                (count,) = conn.execute(
                    f'SELECT COUNT(*) FROM "{table}" WHERE "{name}" = ? '
                    f'OR CAST("{name}" AS TEXT) LIKE ?', (needle, f"%{needle}%")).fetchone()
                if count:
                    hits.append(f"{table}.{name}")
    return hits
