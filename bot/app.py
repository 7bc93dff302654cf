"""The Steward application: a `commands.Bot` wired to storage, services and the cogs."""

from __future__ import annotations

import asyncio
import logging
import pkgutil
import re
from collections import OrderedDict
from typing import Any

import discord
import yarl
from discord.ext import commands

import cogs
from bot.clock import Clock, SystemClock
from bot.composition import Services, build
from bot.db import Database, migrate
from bot.domain.shards import Shards
from bot.i18n import speaking
from bot.interactions import StewardTree
from bot.messaging import NOBODY
from bot.ratelimit import TokenBucket, budget_trace
from bot.routing import MessageRouter
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService
from bot.tasks import BackgroundTasks
from bot.ui.language import CatalogTranslator, server_language
from config.settings import Settings

log = logging.getLogger(__name__)

PersistentItem = type[discord.ui.DynamicItem[Any]]
MEMBER_LANGUAGES_KEPT = 50_000


def intents() -> discord.Intents:
    """Guilds, guild messages, message content, members, DMs and AutoMod; nothing else."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    wanted.members = True
    wanted.dm_messages = True
    # Steward's own AutoMod rule: its changes (re-create if deleted) and its blocks (holds).
    wanted.auto_moderation_configuration = True
    wanted.auto_moderation_execution = True
    return wanted


def point_at(api_base: str, gateway_url: str) -> None:
    """Send discord.py's REST calls to `api_base` and its gateway connection to `gateway_url`.

    discord.py reads `Route.BASE` for every request and dials the hard-coded
    `DiscordWebSocket.DEFAULT_GATEWAY` (it never asks /gateway/bot), so both are set here.
    """
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def extension_names() -> list[str]:
    """Every extension module in cogs/ (any order works: the services are built before)."""
    found = {m.name for m in pkgutil.iter_modules(cogs.__path__) if not m.name.startswith("_")}
    return [f"cogs.{name}" for name in sorted(found)]


def _guild_of(client: discord.Client, args: tuple[Any, ...]) -> discord.Guild | None:
    for arg in args:
        guild = getattr(arg, "guild", None)
        if isinstance(guild, discord.Guild):
            return guild
        guild_id = getattr(arg, "guild_id", None)
        if isinstance(guild_id, int):
            return client.get_guild(guild_id)
        if isinstance(arg, discord.Guild):
            return arg
    return None


class StewardBot(commands.Bot):
    """Steward: storage, services and one message router, shared by every cog."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        database: Database | None = None,
        guild_ready_timeout: float = 2.0,
        sync_commands: bool = True,
        shards: Shards | None = None,
        **options: Any,
    ) -> None:
        if shards is not None and shards.sharded:
            options.update(shard_ids=list(shards.ids or ()), shard_count=shards.count)
        self.ownership = shards or Shards()
        # This process's share of Discord's global REST limit (bot.ratelimit).
        self.rest_budget = TokenBucket(settings.rest_budget or self.ownership.rest_budget())
        if "http_trace" not in options:
            from bot.metrics import http_trace_config

            # Counts Discord's error responses once metrics are on (a no-op otherwise).
            options["http_trace"] = budget_trace(self.rest_budget, http_trace_config(
                lambda: self._services.metrics if self._services is not None else None))
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents(),
            allowed_mentions=NOBODY,
            tree_cls=StewardTree,
            guild_ready_timeout=guild_ready_timeout,
            **options,
        )
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.router = MessageRouter()
        # Edits of guild messages (raw, so uncached messages count), in the same fixed order:
        # the link gate first, then care (a held edit is answered by the gate's care hook).
        self.edit_router = MessageRouter()
        self.background = BackgroundTasks()
        self._services: Services | None = None
        self._database = database
        self._sync_commands = sync_commands
        self.synced_commands: list[discord.app_commands.AppCommand] = []
        self.ready_once = asyncio.Event()
        self._shutdown: asyncio.Task[None] | None = None
        self._persistent_items: dict[PersistentItem, None] = {}
        # The Discord language each member last used with Steward, by (guild, member): their
        # DMs follow it. Only in memory, for the most recent members; /privacy forget drops it.
        self._member_languages: OrderedDict[tuple[int, int], str] = OrderedDict()

    @property
    def db(self) -> Database:
        """The open database (available from setup_hook on)."""
        if self._database is None:
            raise RuntimeError("the database is not open yet")
        return self._database

    @property
    def services(self) -> Services:
        """Every service, built by the composition root (available from setup_hook on)."""
        if self._services is None:
            raise RuntimeError("the services are not built yet")
        return self._services

    @property
    def guild_settings(self) -> GuildSettingsService:
        """Per-guild settings (cached)."""
        return self.services.settings

    @property
    def audit(self) -> AuditService:
        """The audit trail and mod log."""
        return self.services.audit

    async def setup_hook(self) -> None:
        """Open and migrate the database, build the services, load cogs, sync commands."""
        if self._database is None:
            self._database = await Database.open(self.settings.database)
        report = await migrate(self.db)
        log.info("database at schema version %d", report.after)
        self._services = await build(self, self)
        self._services.privacy.register("languages", self.forget_language)
        await self.tree.set_translator(CatalogTranslator())
        for name in extension_names():
            await self.load_extension(name)
        # Commands are global: one process (shard 0's) registers them for all.
        if self._sync_commands and self.ownership.runs_global_work:
            await self.sync_application_commands()

    async def sync_application_commands(self) -> None:
        """Register commands globally, or instantly in STEWARD_DEV_GUILD when set."""
        if self.settings.dev_guild:
            guild = discord.Object(self.settings.dev_guild)
            self.tree.copy_global_to(guild=guild)
            self.synced_commands = await self.tree.sync(guild=guild)
        else:
            self.synced_commands = await self.tree.sync()
        log.info("registered %d application commands", len(self.synced_commands))

    async def on_ready(self) -> None:
        """Log once we are connected."""
        log.info("connected as %s to %d guild(s)", self.user.id if self.user else "?",
                 len(self.guilds))
        self.ready_once.set()

    def language_of(self, guild: discord.Guild | int | None) -> str:
        """The server's language (public posts, cards, mod log, DMs nobody asked for)."""
        if isinstance(guild, int):
            guild = self.get_guild(guild)
        if guild is None:
            return server_language(None, None)
        chosen = (self.guild_settings.get(guild.id).core.language
                  if self._services is not None else None)
        return server_language(chosen, guild)

    def remember_language(self, guild_id: int | None, member_id: int, language: str) -> None:
        """Note the language a member's Discord speaks (seen on their last interaction)."""
        if guild_id is None:
            return
        key = (guild_id, member_id)
        self._member_languages[key] = language
        self._member_languages.move_to_end(key)
        while len(self._member_languages) > MEMBER_LANGUAGES_KEPT:
            self._member_languages.popitem(last=False)

    def language_for_member(self, guild_id: int, member_id: int) -> str:
        """A member's language for a DM: what their Discord last told us, else the server's."""
        return self._member_languages.get((guild_id, member_id)) or self.language_of(guild_id)

    async def forget_language(self, guild_id: int, member_id: int) -> int:
        """Drop a member's remembered language (/privacy forget); returns entries removed."""
        return 1 if self._member_languages.pop((guild_id, member_id), None) else 0

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        """Every listener of a server's event speaks the server's language (tasks inherit it)."""
        with speaking(self.language_of(_guild_of(self, args))):
            super().dispatch(event_name, *args, **kwargs)

    async def on_message(self, message: discord.Message) -> None:
        """The single MESSAGE_CREATE entry point (see bot.routing)."""
        await self.router.dispatch(message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """The single MESSAGE_UPDATE entry point: an edit that changed the words is routed."""
        if payload.guild_id is None or "content" not in payload.data:
            return
        await self.edit_router.dispatch(payload.message)

    def add_dynamic_items(self, *items: PersistentItem) -> None:
        """Register persistent buttons (and remember them for `persistent_items()`)."""
        super().add_dynamic_items(*items)
        self._persistent_items.update(dict.fromkeys(items))

    def remove_dynamic_items(self, *items: PersistentItem) -> None:
        """Stop listening for these persistent buttons."""
        super().remove_dynamic_items(*items)
        for item in items:
            self._persistent_items.pop(item, None)

    def persistent_items(self) -> list[tuple[PersistentItem, re.Pattern[str]]]:
        """Every registered persistent item class with the custom_id pattern it answers."""
        return [(item, item.__discord_ui_compiled_template__)
                for item in self._persistent_items]

    async def close(self) -> None:
        """Stop taking work, finish in-flight tasks and writes, close Discord and the DB.

        Runs once however often it is called (a signal handler and `async with bot` both
        call it) and is shielded: a caller that is cancelled never cuts the shutdown short,
        so the database is closed before the event loop is.
        """
        if self._shutdown is None:
            self._shutdown = asyncio.get_running_loop().create_task(self._close_once(),
                                                                    name="steward.close")
        await asyncio.shield(self._shutdown)

    async def _close_once(self) -> None:
        await self.router.drain()  # posts being handled finish before the marks are saved
        await self.background.drain()
        await super().close()
        if self._database is not None:
            await self._database.close()


IDENTIFY_WINDOW = 5.0  # seconds: each identify bucket allows one IDENTIFY per window


class ShardedStewardBot(StewardBot, commands.AutoShardedBot):
    """Steward running a range of shards (`steward run --shards 0-3 --shard-count 8`).

    IDENTIFYs follow Discord's `max_concurrency` (from GET /gateway/bot): shard `i` is in
    bucket ``i % max_concurrency`` and each bucket may identify once per five seconds, so up
    to `max_concurrency` shards start together instead of discord.py's one every 5 s.
    """

    def __init__(self, settings: Settings, *, shards: Shards, **options: Any) -> None:
        if not shards.sharded:
            raise ValueError("ShardedStewardBot needs a shard range")
        super().__init__(settings, shards=shards, **options)
        self.max_concurrency = 1
        self._identified: dict[int, float] = {}

    async def setup_hook(self) -> None:
        """Read the identify concurrency, then the usual start-up."""
        try:
            _, _, limit = await self.http.get_bot_gateway()
            self.max_concurrency = max(1, int(limit["max_concurrency"]))
            owned = self.ownership
            log.info("running shards %s of %d (identify concurrency %d, %d session starts "
                     "left)", ",".join(map(str, owned.ids or ())), owned.count,
                     self.max_concurrency, limit["remaining"])
        except (discord.DiscordException, KeyError, TypeError, ValueError):
            log.warning("could not read GET /gateway/bot; identifying one shard per 5 s")
        await super().setup_hook()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False
                                   ) -> None:
        """Wait until this shard's identify bucket is free (see the class docstring)."""
        loop = asyncio.get_running_loop()
        bucket = (shard_id or 0) % self.max_concurrency
        last = self._identified.get(bucket)
        if last is not None:
            wait = last + IDENTIFY_WINDOW - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        self._identified[bucket] = loop.time()


def make_bot(settings: Settings, shards: Shards | None = None, **options: Any) -> StewardBot:
    """The bot for `steward run`: sharded when a shard range is given."""
    if shards is not None and shards.sharded:
        return ShardedStewardBot(settings, shards=shards, **options)
    return StewardBot(settings, **options)
