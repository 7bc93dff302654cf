"""`/steward ...` (server admins): setup, settings, audit, doctor, config export."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import discord
from babel import Locale
from discord import app_commands
from discord.ext import commands

from bot.adapters.setup import create_staff_channels
from bot.app import StewardBot
from bot.domain.doctor import MODERATORS_CANT_SEE, Severity
from bot.i18n import shipped, tr, trn
from bot.messaging import reply_ephemeral
from bot.permissions import ADMIN_DEFAULT, refuse_power_role, require_admin
from bot.services.config_io import export_toml
from bot.services.doctor import DoctorService
from bot.ui.audit import audit_page, describe_routing
from bot.ui.doctor import render_report
from bot.ui.pager import Pager
from bot.ui.setup import (
    created_hidden_message,
    describe_core,
    hidden_channels_warning,
    settings_pages,
    setup_summary,
)
from config.guild import GuildConfig

log = logging.getLogger(__name__)

AUTO = "auto"
LANGUAGE_CHOICES = [
    app_commands.Choice(name="Server's language", value=AUTO),
    *[app_commands.Choice(name=Locale.parse(code).get_display_name(code).capitalize(),
                          value=code) for code in shipped()],
]
# The mod log's event families (bot/domain/audit.py EVENT_FAMILIES), written out so the
# catalog holds each choice's name and Discord shows it in the admin's language.
EVENT_CHOICES = [
    app_commands.Choice(name="linkhold: held links and decisions", value="linkhold"),
    app_commands.Choice(name="reposts: reposts, their edits and deletions", value="reposts"),
    app_commands.Choice(name="followups: follow-ups and reminders", value="followups"),
    app_commands.Choice(name="welcome: welcomes and support groups", value="welcome"),
    app_commands.Choice(name="care: care alerts and do-not-tag marks", value="care"),
    app_commands.Choice(name="settings: settings changes", value="settings"),
    app_commands.Choice(name="privacy: forget requests", value="privacy"),
]
AUDIT_PAGE_SIZE = 10
QUEUE_NAME = "mod-queue"
LOG_NAME = "mod-log"


class Core(commands.Cog):
    """Setting Steward up and looking after it (server admins)."""

    steward = app_commands.Group(
        name="steward",
        description="Set up and look after Steward (server admins)",
        guild_only=True,
        default_permissions=ADMIN_DEFAULT,
    )
    config_group = app_commands.Group(name="config", description="Settings as a TOML file",
                                      parent=steward)

    def __init__(self, bot: StewardBot, doctor: DoctorService) -> None:
        self.bot = bot
        self.doctor = doctor

    # ------------------------------------------------------------------ setup
    @steward.command(name="setup", description="Set moderator role and channels; create the "
                                               "missing ones")
    @app_commands.describe(
        moderator_role="A role whose members moderate (added to the moderator roles)",
        queue_channel="Where held posts wait for a moderator",
        mod_log_channel="Where Steward records what it did",
        welcome_channel="Where new members are welcomed",
        rules_channel="Your rules channel (linked in welcomes)",
        create_missing="Create #mod-queue and #mod-log (moderators only) if they are not set",
    )
    async def setup(
        self,
        interaction: discord.Interaction,
        moderator_role: discord.Role | None = None,
        queue_channel: discord.TextChannel | None = None,
        mod_log_channel: discord.TextChannel | None = None,
        welcome_channel: discord.TextChannel | None = None,
        rules_channel: discord.TextChannel | None = None,
        create_missing: bool = False,
    ) -> None:
        """One guided step: shows current values, sets what was given, creates what's asked."""
        admin = require_admin(interaction)
        guild = interaction.guild
        assert guild is not None
        if moderator_role is not None:
            await refuse_power_role(self.bot, guild.id, moderator_role)
        await interaction.response.defer(ephemeral=True, thinking=True)
        current = self.bot.guild_settings.get(guild.id)
        roles = list(current.core.moderator_roles)
        if moderator_role is not None and moderator_role.id not in roles:
            roles.append(moderator_role.id)
        queue_id = queue_channel.id if queue_channel else current.linkhold.queue_channel
        log_id = mod_log_channel.id if mod_log_channel else current.core.mod_log_channel
        created: list[str] = []
        if create_missing:
            wanted = [name for name, value in ((QUEUE_NAME, queue_id), (LOG_NAME, log_id))
                      if value is None or guild.get_channel(value) is None]
            if wanted:
                made = await create_staff_channels(guild, wanted, roles)
                created = [c.mention for c in made.values()]
                queue_id = made[QUEUE_NAME].id if QUEUE_NAME in made else queue_id
                log_id = made[LOG_NAME].id if LOG_NAME in made else log_id

        def mutate(config: GuildConfig) -> None:
            config.core.moderator_roles = roles
            config.linkhold.queue_channel = queue_id
            config.core.mod_log_channel = log_id
            if welcome_channel is not None:
                config.welcome.channel = welcome_channel.id
            if rules_channel is not None:
                config.core.rules_channel = rules_channel.id

        _, new, _ = await self.bot.guild_settings.update(guild.id, mutate, actor_id=admin.id)
        findings = await self.doctor.check_and_report(guild.id)
        problems = sum(1 for f in findings if f.severity is Severity.PROBLEM)
        missing = [label for label, value in (
            (tr("queue channel"), new.linkhold.queue_channel),
            (tr("mod-log channel"), new.core.mod_log_channel),
            (tr("welcome channel"), new.welcome.channel),
            (tr("rules channel"), new.core.rules_channel),
        ) if value is None]
        hidden = next((f for f in findings if f.code == MODERATORS_CANT_SEE), None)
        hidden_warning = None
        if hidden is not None:
            hidden_warning = hidden_channels_warning(hidden.message, hidden.fix)
        elif created and not new.core.moderator_roles:
            hidden_warning = hidden_channels_warning(*created_hidden_message(created))
        await reply_ephemeral(interaction, embeds=[
            setup_summary(new, created, missing, problems, len(findings) - problems,
                          hidden_warning=hidden_warning)])

    # --------------------------------------------------------------- settings
    @steward.command(name="settings", description="Show every setting, or change moderator "
                                                  "roles and the mod log")
    @app_commands.describe(
        moderator_role="Add this role to the moderator roles (or remove it if it is one)",
        mod_log="Channel where Steward records what it did",
        language="The language of public posts, cards and the mod log",
    )
    @app_commands.choices(language=LANGUAGE_CHOICES)
    async def settings(
        self,
        interaction: discord.Interaction,
        moderator_role: discord.Role | None = None,
        mod_log: discord.TextChannel | None = None,
        language: app_commands.Choice[str] | None = None,
    ) -> None:
        """Change the shared settings, or show all settings with defaults (admins)."""
        admin = require_admin(interaction)
        assert interaction.guild_id is not None
        if moderator_role is None and mod_log is None and language is None:
            pages = settings_pages(self.bot.guild_settings.get(interaction.guild_id))

            async def page(number: int) -> tuple[discord.Embed, bool]:
                number = min(number, len(pages) - 1)
                return pages[number], number < len(pages) - 1

            await Pager.start(interaction, page, require_admin)
            return
        current = self.bot.guild_settings.get(interaction.guild_id).core.moderator_roles
        if moderator_role is not None and moderator_role.id not in current:
            await refuse_power_role(self.bot, interaction.guild_id, moderator_role)

        def mutate(config: GuildConfig) -> None:
            if moderator_role is not None:
                roles = list(config.core.moderator_roles)
                if moderator_role.id in roles:
                    roles.remove(moderator_role.id)
                else:
                    roles.append(moderator_role.id)
                config.core.moderator_roles = roles
            if mod_log is not None:
                config.core.mod_log_channel = mod_log.id
            if language is not None:
                config.core.language = None if language.value == AUTO else language.value

        _, new, _ = await self.bot.guild_settings.update(interaction.guild_id, mutate,
                                                         actor_id=admin.id)
        await reply_ephemeral(interaction, tr("Saved.") + "\n" + describe_core(new))

    # ----------------------------------------------------------------- modlog
    @steward.command(name="modlog", description="Choose which events the mod log shows")
    @app_commands.describe(event="A kind of event", show="Post it to the mod log")
    @app_commands.choices(event=EVENT_CHOICES)
    async def modlog(self, interaction: discord.Interaction,
                     event: app_commands.Choice[str] | None = None,
                     show: bool | None = None) -> None:
        """Show the routing, or turn one event family on or off (admins)."""
        admin = require_admin(interaction)
        assert interaction.guild_id is not None
        if event is None or show is None:
            current = self.bot.guild_settings.get(interaction.guild_id).core.mod_log_events
            await reply_ephemeral(interaction, describe_routing(current))
            return

        def mutate(config: GuildConfig) -> None:
            events = [e for e in config.core.mod_log_events if e != event.value]
            config.core.mod_log_events = [*events, event.value] if show else events

        _, new, _ = await self.bot.guild_settings.update(interaction.guild_id, mutate,
                                                         actor_id=admin.id)
        await reply_ephemeral(interaction, tr("Saved.") + "\n" + describe_routing(
            new.core.mod_log_events))

    # ------------------------------------------------------------------ audit
    @steward.command(name="audit", description="What Steward and the moderators did, newest "
                                               "first")
    @app_commands.describe(member="Only entries about this member",
                           action="Only actions starting with this, e.g. hold or settings",
                           days="Only the last N days")
    async def audit(self, interaction: discord.Interaction, member: discord.User | None = None,
                    action: str | None = None,
                    days: app_commands.Range[int, 1, 3650] | None = None) -> None:
        """Recent audit entries, paged (admins)."""
        require_admin(interaction)
        guild_id = interaction.guild_id
        assert guild_id is not None
        since = self.bot.clock.now() - timedelta(days=days) if days else None
        filters = ", ".join(part for part in (
            tr("member {member}", member=member.mention) if member else "",
            tr("action {action}", action="`" + action + "`") if action else "",
            trn("last {days} day", "last {days} days", days, days=days) if days else "")
            if part)
        audit = self.bot.audit

        async def page(number: int) -> tuple[discord.Embed, bool]:
            entries = await audit.recent(
                guild_id, target_id=member.id if member else None, action_prefix=action,
                since=since, limit=AUDIT_PAGE_SIZE + 1, offset=number * AUDIT_PAGE_SIZE)
            return (audit_page(entries[:AUDIT_PAGE_SIZE], number, filters),
                    len(entries) > AUDIT_PAGE_SIZE)

        await interaction.response.defer(ephemeral=True, thinking=True)
        await Pager.start(interaction, page, require_admin)

    # ----------------------------------------------------------------- doctor
    @steward.command(name="doctor", description="Check Steward's permissions, channels and "
                                                "roles, with exact fixes")
    async def doctor_command(self, interaction: discord.Interaction) -> None:
        """Run the doctor now (admins)."""
        require_admin(interaction)
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        findings = await self.doctor.check_and_report(interaction.guild.id)
        await reply_ephemeral(interaction, embeds=[render_report(findings)])

    # ----------------------------------------------------------------- config
    @config_group.command(name="export", description="Download this server's settings as a "
                                                     "TOML file")
    async def config_export(self, interaction: discord.Interaction) -> None:
        """The settings as a file (admins)."""
        require_admin(interaction)
        guild_id = interaction.guild_id
        assert guild_id is not None
        text = export_toml(self.bot.guild_settings.get(guild_id), guild_id,
                           self.bot.clock.now())
        file = discord.File(io.BytesIO(text.encode()), filename=f"steward-{guild_id}.toml")
        await reply_ephemeral(
            interaction,
            tr("Here are this server's settings. Share the `[policy]` part with other servers; "
               "import with `steward config import --guild {guild_id} FILE --dry-run` first.",
               guild_id=guild_id),
            file=file)
