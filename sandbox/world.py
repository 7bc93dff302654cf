"""The standard support server and a restartable Steward running against the sandbox.

Tests and `steward demo` share this: a small support community ("Hope Together") with
#welcome, #rules, #general, a Colorectal Cancer forum, #mod-queue and #mod-log, a Moderators
role, a moderator (Maria), an established member (Anna) and the owner (Olivia); and
`StewardHarness`, which runs the real `StewardBot` on it with a FakeClock and can restart it on
the same database (what survives a restart is what was stored).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord

from bot.app import StewardBot
from bot.clock import FakeClock
from config.guild import GuildConfig
from config.settings import Settings
from sandbox.harness import start_client, stop_client
from sandbox.models import Channel, Guild, Member, Role
from sandbox.scenario import Sandbox


@dataclass
class SupportServer:
    """Handles to the standard server's channels, roles and people."""

    sb: Sandbox
    clock: FakeClock
    guild: Guild
    welcome: Channel
    rules: Channel
    general: Channel
    forum: Channel
    queue: Channel
    modlog: Channel
    moderators: Role
    owner: Member
    mod: Member
    member: Member


def build_support_server(sb: Sandbox, clock: FakeClock, *, name: str = "Hope Together",
                         shard: tuple[int, int] | None = None) -> SupportServer:
    """Create the standard support server in `sb` (before the bot connects); `shard` places
    it on a shard (see `Sandbox.add_guild`)."""
    now = clock.now()
    guild = sb.add_guild(name, owner="olivia", shard=shard)
    welcome = sb.add_text_channel(guild, "welcome")
    rules = sb.add_text_channel(guild, "rules")
    general = sb.add_text_channel(guild, "general")
    forum = sb.add_forum_channel(guild, "colorectal-cancer", tags=["question", "treatment"])
    queue = sb.add_text_channel(guild, "mod-queue")
    modlog = sb.add_text_channel(guild, "mod-log")
    moderators = sb.add_role(guild, "Moderators", discord.Permissions(manage_messages=True))
    for private in (queue, modlog):
        sb.set_overwrite(private, guild, deny=discord.Permissions(view_channel=True).value)
        sb.set_overwrite(private, moderators, allow=discord.Permissions(view_channel=True).value)
        sb.allow(private, "view_channel")  # Steward itself posts there (a member overwrite)
    mod = sb.add_member(guild, "maria", roles=[moderators], joined_at=now - timedelta(days=400))
    member = sb.add_member(guild, "anna", joined_at=now - timedelta(days=90))
    owner = sb.member(guild, "olivia")
    return SupportServer(sb=sb, clock=clock, guild=guild, welcome=welcome, rules=rules,
                         general=general, forum=forum, queue=queue, modlog=modlog,
                         moderators=moderators, owner=owner, mod=mod, member=member)


def configure_defaults(server: SupportServer) -> Any:
    """A mutator that points Steward's settings at the standard server's channels and role."""

    def mutate(config: GuildConfig) -> None:
        config.core.moderator_roles = [server.moderators.id]
        config.core.mod_log_channel = server.modlog.id
        config.core.rules_channel = server.rules.id
        config.linkhold.queue_channel = server.queue.id
        config.welcome.channel = server.welcome.id

    return mutate


def sandbox_settings(sb: Sandbox, database: Path | str, *,
                     metrics_port: int | None = None) -> Settings:
    """Deploy settings that point Steward at `sb` with its own database (no `.env`)."""
    values: dict[str, Any] = {
        "DISCORD_TOKEN": sb.token,
        "DISCORD_API_BASE": sb.api_base,
        "DISCORD_GATEWAY_URL": sb.gateway_url,
        "STEWARD_DATABASE": str(database),
    }
    if metrics_port is not None:
        values["STEWARD_METRICS_PORT"] = metrics_port
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class StewardHarness:
    """Runs the real StewardBot against a sandbox; `restart()` keeps the database.

    `metrics_port` turns on the Prometheus endpoint (0: any free port). `on_start` is awaited
    after every start once the bot is ready, e.g. to wait until a service's loop is running.
    `async with harness:` starts it and stops it on exit.
    """

    def __init__(self, sb: Sandbox, clock: FakeClock, database: Path | str, *,
                 metrics_port: int | None = None,
                 on_start: Callable[[StewardBot], Awaitable[None]] | None = None) -> None:
        self.sb = sb
        self.clock = clock
        self.database = database
        self.metrics_port = metrics_port
        self.on_start = on_start
        self._bot: StewardBot | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def bot(self) -> StewardBot:
        """The running bot."""
        if self._bot is None:
            raise RuntimeError("Steward is not running")
        return self._bot

    @property
    def running(self) -> bool:
        """Whether a bot is running (between start and stop)."""
        return self._bot is not None

    async def start(self) -> StewardBot:
        """Start a fresh StewardBot, wait until it is ready, then await `on_start`."""
        settings = sandbox_settings(self.sb, self.database, metrics_port=self.metrics_port)
        bot = StewardBot(settings, clock=self.clock, guild_ready_timeout=0.05)
        self._task = await start_client(self.sb, bot)
        self._bot = bot
        if self.on_start is not None:
            await self.on_start(bot)
        return bot

    async def stop(self) -> None:
        """Shut the bot down as SIGTERM would."""
        if self._bot is not None and self._task is not None:
            await stop_client(self._bot, self._task)
        self._bot = None
        self._task = None

    async def restart(self) -> StewardBot:
        """Stop and start again on the same database (in-memory state is lost)."""
        await self.stop()
        return await self.start()

    async def __aenter__(self) -> StewardHarness:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
