"""Core: setup, settings, audit, doctor, privacy and metrics (services from bot.composition)."""

from __future__ import annotations

import logging
from datetime import timedelta

import discord
from discord.ext import commands

from bot.adapters.doctor import looks_empty
from bot.app import StewardBot
from bot.domain.audit import AuditEntry
from bot.metrics import Metrics
from bot.services.config_io import ExternalChanges
from bot.services.doctor import DoctorService
from bot.services.privacy import PrivacyService
from cogs.core._commands import Core
from cogs.core._privacy import Privacy
from config.guild import GuildConfig

log = logging.getLogger(__name__)

PRIORITY_CONTENT_WATCH = 0  # sees every message first and never consumes it
# Probes (stuck queue items, failing reminders) change without an event: look again hourly.
# A report is posted only when the findings changed, so this never repeats one.
DOCTOR_INTERVAL = timedelta(hours=1)


class Upkeep(commands.Cog):
    """Runs the doctor when things change, the retention job, and the metrics endpoint."""

    def __init__(self, bot: StewardBot, doctor: DoctorService, privacy: PrivacyService,
                 metrics: Metrics, external: ExternalChanges) -> None:
        self.bot = bot
        self.doctor = doctor
        self.privacy = privacy
        self.metrics = metrics
        self.external = external
        self._pending: set[int] = set()

    async def cog_load(self) -> None:
        """Watch messages, settings and the schedule; start metrics."""
        self.bot.router.add("doctor.content", self._watch_content,
                            priority=PRIORITY_CONTENT_WATCH)
        self.bot.guild_settings.on_change(self._settings_changed)
        self.bot.audit.add_listener(self._count_action)
        if self.bot.ownership.runs_global_work:  # sharded: shard 0's process purges for all
            self.bot.background.spawn(self.privacy.run_retention(), name="privacy.retention",
                                      daemon=True)
        self.bot.background.spawn(self.external.run(), name="settings.external", daemon=True)
        self.bot.background.spawn(self._check_periodically(), name="doctor.periodic",
                                  daemon=True)
        if self.bot.settings.metrics_port is not None:
            self.metrics.start(self.bot.settings.metrics_port, self.bot.settings.metrics_host)
            self.metrics.set_function("gateway_latency_seconds", lambda: self.bot.latency)

    async def cog_unload(self) -> None:
        """Stop routing and serving metrics."""
        self.bot.router.remove("doctor.content")
        await self.metrics.stop()

    async def _check_periodically(self) -> None:
        await self.bot.wait_until_ready()
        while True:
            await self.bot.clock.sleep_until(self.bot.clock.now() + DOCTOR_INTERVAL)
            for guild in self.bot.guilds:
                self.schedule(guild.id)

    def _count_action(self, entry: AuditEntry) -> None:
        self.metrics.inc("audit_actions", action=entry.action)

    def schedule(self, guild_id: int) -> None:
        """Check a guild soon (several events in a row cause one check)."""
        if guild_id in self._pending:
            return
        self._pending.add(guild_id)
        self.bot.background.spawn(self._check(guild_id), name=f"doctor.{guild_id}")

    async def _check(self, guild_id: int) -> None:
        self._pending.discard(guild_id)
        await self.doctor.check_and_report(guild_id)

    async def _watch_content(self, message: discord.Message) -> bool:
        if message.guild is not None and self.doctor.observe_message(message.guild.id,
                                                                     looks_empty(message)):
            self.schedule(message.guild.id)
        return False

    async def _settings_changed(self, guild_id: int, old: GuildConfig, new: GuildConfig) -> None:
        self.schedule(guild_id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Check every guild at startup (and after a full reconnect)."""
        for guild in self.bot.guilds:
            self.schedule(guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """A new server: check it."""
        self.schedule(guild.id)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A configured channel may be gone."""
        self.schedule(channel.guild.id)

    @commands.Cog.listener()
    async def on_guild_channel_update(self, before: discord.abc.GuildChannel,
                                      after: discord.abc.GuildChannel) -> None:
        """Permissions may have changed."""
        if before.overwrites != after.overwrites or before.type != after.type:
            self.schedule(after.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        """A configured role may be gone."""
        self.schedule(role.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        """Permissions or the hierarchy may have changed."""
        if before.permissions != after.permissions or before.position != after.position:
            self.schedule(after.guild.id)

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Steward's own roles changed."""
        me = self.bot.user
        if me is not None and after.id == me.id and before.roles != after.roles:
            self.schedule(after.guild.id)


async def setup(bot: StewardBot) -> None:
    """Add the core cogs with the services the composition root built."""
    services = bot.services
    await bot.add_cog(Core(bot, services.doctor))
    await bot.add_cog(Privacy(bot, services.privacy))
    await bot.add_cog(Upkeep(bot, services.doctor, services.privacy, services.metrics,
                             services.external))
