"""A sandbox support server with the real StewardBot, shared by the setup/doctor/privacy tests."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.app import StewardBot
from bot.clock import FakeClock
from bot.sandbox import Sandbox
from bot.sandbox.harness import start_client, stop_client
from config.settings import Settings


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


class StewardEnv:
    """The sandbox, a support server, and a running bot that can be restarted."""

    def __init__(self, sb: Sandbox, clock: FakeClock, db_path: Path, *,
                 metrics_port: int | None = None) -> None:
        self.sb = sb
        self.clock = clock
        self.db_path = db_path
        self.metrics_port = metrics_port
        self.bot: StewardBot | None = None
        self.task: asyncio.Task[None] | None = None
        self._servers = 0
        self.main = Server(sb, "Hope Together")

    async def add_server(self) -> Server:
        """A fresh server, joined by the running bot (tests stay independent)."""
        self._servers += 1
        server = Server(self.sb, f"Support {self._servers}")
        bot = self.bot
        assert bot is not None
        await self.sb.wait_for(lambda: bot.get_guild(server.id) is not None)
        return server

    def settings(self) -> Settings:
        """Deploy settings pointing at the test database."""
        extra = {} if self.metrics_port is None else {"STEWARD_METRICS_PORT": self.metrics_port}
        return Settings(_env_file=None, DISCORD_TOKEN=self.sb.token,  # type: ignore[call-arg]
                        STEWARD_DATABASE=str(self.db_path), **extra)

    async def start(self) -> StewardBot:
        """Start the bot; returns once it is ready."""
        bot = StewardBot(self.settings(), clock=self.clock, guild_ready_timeout=0.05)
        self.task = await start_client(self.sb, bot)
        self.bot = bot
        return bot

    async def stop(self) -> None:
        """Stop the bot."""
        if self.bot is not None and self.task is not None:
            await stop_client(self.bot, self.task)
        self.bot = self.task = None

    async def restart(self) -> StewardBot:
        """Stop and start again on the same database."""
        await self.stop()
        return await self.start()


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
