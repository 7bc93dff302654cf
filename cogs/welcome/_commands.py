"""`/groups` for everyone, `/welcome ...` for moderators and admins, and the join listeners.

`/welcome` is visible to moderators (Manage Messages) because `/welcome resend` is theirs; a
command group can't mix audiences. Every admin subcommand re-checks Manage Server at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.welcome import group_channel_id, member_facts, role_facts, suggest
from bot.app import StewardBot
from bot.domain.welcome_facts import MemberFacts
from bot.i18n import shipped, tr
from bot.messaging import reply_ephemeral
from bot.permissions import MODERATOR_DEFAULT, is_admin, require_admin, require_moderator
from bot.routing import PRIORITY_WELCOME
from bot.services.welcome import WelcomeService, check_template
from bot.ui.welcome import PickerButton, describe_settings, keywords_note, open_picker
from config.guild import GuildConfig

RESET = "default"


class WelcomeCog(commands.Cog, name="Welcome"):
    """Welcomes, the support-group directory and group suggestions."""

    welcome = app_commands.Group(
        name="welcome", description="Welcomes and support groups (moderators and admins)",
        guild_only=True, default_permissions=MODERATOR_DEFAULT)
    group = app_commands.Group(name="group", description="The support-group directory (admins)",
                               parent=welcome)

    def __init__(self, bot: StewardBot, service: WelcomeService) -> None:
        self.bot = bot
        self.service = service
        self._running: asyncio.Task[Any] | None = None

    def _facts(self, member: discord.Member) -> MemberFacts:
        return member_facts(member, self.bot.guild_settings.get(member.guild.id).core)

    async def cog_load(self) -> None:
        """Route messages, register the persistent button, catch up once connected."""
        self.bot.router.add("welcome", self._suggest, priority=PRIORITY_WELCOME)
        self.bot.add_dynamic_items(PickerButton)
        self._running = self.bot.background.spawn(self._run_when_ready(),
                                                  name="welcome-catch-up", daemon=True)

    async def _run_when_ready(self) -> None:
        await self.bot.ready_once.wait()
        await self.service.run()

    async def _suggest(self, message: discord.Message) -> bool:
        return await suggest(self.service, message)

    async def cog_unload(self) -> None:
        """Undo cog_load."""
        self.bot.router.remove("welcome")
        self.bot.remove_dynamic_items(PickerButton)
        if self._running is not None:
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running
            self._running = None

    # --- gateway events

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """Greet, or wait for screening/onboarding."""
        await self.service.on_join(self._facts(member))

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Screening or onboarding completed."""
        await self.service.on_member_update(self._facts(before), self._facts(after))

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """Left before the welcome: not greeted (raw: works for uncached members too)."""
        if payload.guild_id is not None:
            await self.service.on_leave(payload.guild_id, payload.user.id)

    # --- everyone

    @app_commands.command(name="groups", description="See the support groups and pick yours")
    @app_commands.guild_only()
    async def groups(self, interaction: discord.Interaction) -> None:
        """The directory and the picker, just for you."""
        assert isinstance(interaction.user, discord.Member)
        await open_picker(interaction, self.service, interaction.user)

    # --- moderators

    @welcome.command(name="resend", description="Post a member's welcome again")
    @app_commands.describe(member="Who to welcome again")
    async def resend(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Re-send a welcome (moderators)."""
        assert interaction.guild_id is not None
        actor = require_moderator(interaction, self.bot.guild_settings.get(
            interaction.guild_id).core)
        await interaction.response.defer(ephemeral=True, thinking=True)
        posted = await self.service.resend(self._facts(member), actor.id)
        await reply_ephemeral(interaction, tr("Welcome posted again: {jump_url}",
                                              jump_url=posted.jump_url))

    # --- admins

    @welcome.command(name="settings", description="Show or change where and whether to welcome")
    @app_commands.describe(channel="Where welcomes are posted", dm="Also send the welcome by DM",
                           enabled="Welcome new members at all")
    async def settings(self, interaction: discord.Interaction,
                       channel: discord.TextChannel | None = None, dm: bool | None = None,
                       enabled: bool | None = None) -> None:
        """Change the welcome settings (admins)."""
        actor = require_admin(interaction)
        assert interaction.guild_id is not None

        def mutate(config: GuildConfig) -> None:
            if channel is not None:
                config.welcome.channel = channel.id
            if dm is not None:
                config.welcome.dm = dm
            if enabled is not None:
                config.welcome.enabled = enabled

        await self._save(interaction, actor, mutate)

    @welcome.command(name="message", description="Set the welcome template (or 'default')")
    @app_commands.describe(
        template="Text with {member} {member_name} {server} {member_count} {groups} {rules} "
                 "{link_days}",
        burst_template="Join-burst text with {members} {count} {server} {member_count} "
                       "{groups} {rules} {link_days}",
        language="Only for readers in this language (a template per language)")
    @app_commands.choices(language=[app_commands.Choice(name=code, value=code)
                                    for code in shipped()])
    async def message(self, interaction: discord.Interaction, template: str | None = None,
                      burst_template: str | None = None,
                      language: app_commands.Choice[str] | None = None) -> None:
        """Change the templates (admins); invalid placeholders are refused with the list."""
        actor = require_admin(interaction)
        single = _template_value(template, burst=False)
        burst = _template_value(burst_template, burst=True)

        def mutate(config: GuildConfig) -> None:
            w = config.welcome
            if language is not None:  # that language's own welcome ('default' removes it)
                for value, given, field in ((single, template, "language_templates"),
                                            (burst, burst_template,
                                             "language_burst_templates")):
                    if given is not None:
                        chosen = dict(getattr(w, field))
                        if value is None:
                            chosen.pop(language.value, None)
                        else:
                            chosen[language.value] = value
                        setattr(w, field, chosen)
                return
            if template is not None:
                w.template = single
            if burst_template is not None:
                w.burst_template = burst

        await self._save(interaction, actor, mutate)

    @welcome.command(name="preview", description="See the welcome as a new member would")
    @app_commands.describe(burst="Show the join-burst welcome instead")
    async def preview(self, interaction: discord.Interaction, burst: bool = False) -> None:
        """Preview the welcome for yourself (admins)."""
        actor = require_admin(interaction)
        text = await self.service.preview(self._facts(actor), burst=burst)
        await reply_ephemeral(interaction, text)

    @welcome.command(name="suggestions", description="Point newcomers' posts to their groups")
    async def suggestions(self, interaction: discord.Interaction,
                          state: Literal["on", "off"]) -> None:
        """Turn group suggestions on or off (admins)."""
        actor = require_admin(interaction)

        def mutate(config: GuildConfig) -> None:
            config.welcome.suggestions = state == "on"

        await self._save(interaction, actor, mutate)

    async def _save(self, interaction: discord.Interaction, actor: discord.Member,
                    mutate: Callable[[GuildConfig], None]) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # audit posts first
        _, new, changes = await self.bot.guild_settings.update(
            interaction.guild_id, mutate, actor_id=actor.id)
        await reply_ephemeral(interaction, (tr("Saved.") + "\n" if changes else "")
                              + describe_settings(new))

    # --- the directory (admins)

    @group.command(name="add", description="Add a support group")
    @app_commands.describe(
        name="The group's name, e.g. Colorectal Cancer",
        channel="Where the group meets (text channel or forum)",
        description="One line about the group",
        keywords="Comma-separated words that point posts to this group",
        role="A role members can take to follow the group (no permissions)")
    async def group_add(
        self, interaction: discord.Interaction, name: str,
        channel: discord.TextChannel | discord.ForumChannel, description: str = "",
        keywords: str = "", role: discord.Role | None = None,
    ) -> None:
        """Add a group (admins)."""
        actor = require_admin(interaction)
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        group = await self.service.directory.add_group(
            interaction.guild_id, self._facts(actor), name, group_channel_id(channel),
            description, keywords, role_facts(role) if role is not None else None)
        await reply_ephemeral(interaction, tr("Added **{name}** (<#{channel_id}>).",
                                              name=group.name, channel_id=group.channel_id)
                              + keywords_note(group.keywords))

    @group.command(name="edit", description="Change a support group")
    @app_commands.describe(
        name="The group to change", new_name="A new name", channel="Where it meets now",
        description="A new one-line description", keywords="New comma-separated keywords",
        role="A new role (no permissions)", remove_role="Stop giving a role for this group")
    async def group_edit(
        self, interaction: discord.Interaction, name: str, new_name: str | None = None,
        channel: discord.TextChannel | discord.ForumChannel | None = None,
        description: str | None = None, keywords: str | None = None,
        role: discord.Role | None = None, remove_role: bool = False,
    ) -> None:
        """Edit a group (admins)."""
        actor = require_admin(interaction)
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        group = await self.service.directory.edit_group(
            interaction.guild_id, self._facts(actor), name, new_name=new_name,
            channel_id=group_channel_id(channel) if channel is not None else None,
            description=description, keywords=keywords,
            role=role_facts(role) if role is not None else None, clear_role=remove_role)
        await reply_ephemeral(interaction, tr("Saved **{name}** (<#{channel_id}>).",
                                              name=group.name, channel_id=group.channel_id)
                              + keywords_note(group.keywords))

    @group.command(name="remove", description="Remove a support group from the directory")
    @app_commands.describe(name="The group to remove")
    async def group_remove(self, interaction: discord.Interaction, name: str) -> None:
        """Remove a group (admins)."""
        actor = require_admin(interaction)
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        group = await self.service.directory.remove_group(interaction.guild_id, actor.id, name)
        await reply_ephemeral(interaction, tr("Removed **{name}**. Members keep its role until "
                                              "they change their groups or you delete the role.",
                                              name=group.name))

    @group_edit.autocomplete("name")
    @group_remove.autocomplete("name")
    async def _group_names(self, interaction: discord.Interaction,
                           current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or not is_admin(interaction.user):
            return []  # group settings are for admins: nobody else is offered their data
        names = await self.service.directory.autocomplete(interaction.guild_id, current)
        return [app_commands.Choice(name=n, value=n) for n in names]


def _template_value(value: str | None, *, burst: bool) -> str | None:
    if value is None or value.strip().lower() == RESET:
        return None
    return check_template(value.replace("\\n", "\n"), burst=burst)

