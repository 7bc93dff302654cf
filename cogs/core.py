"""Core commands: `/steward settings` for the moderator roles and the mod-log channel."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import StewardBot
from bot.messaging import reply_ephemeral
from bot.permissions import ADMIN_DEFAULT, require_admin
from config.guild import GuildConfig


def _describe_core(config: GuildConfig) -> str:
    roles = ", ".join(f"<@&{r}>" for r in config.core.moderator_roles) or "none (Manage Messages)"
    log_channel = f"<#{config.core.mod_log_channel}>" if config.core.mod_log_channel else "not set"
    return f"**Moderator roles:** {roles}\n**Mod log:** {log_channel}"


class Core(commands.Cog):
    """Settings every feature shares."""

    steward = app_commands.Group(
        name="steward",
        description="Set up and look after Steward (server admins)",
        guild_only=True,
        default_permissions=ADMIN_DEFAULT,
    )

    def __init__(self, bot: StewardBot) -> None:
        self.bot = bot

    @steward.command(name="settings", description="Show or change moderator roles and the mod log")
    @app_commands.describe(
        moderator_role="Add this role to the moderator roles (or remove it if it is one)",
        mod_log="Channel where Steward records what it did",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        moderator_role: discord.Role | None = None,
        mod_log: discord.TextChannel | None = None,
    ) -> None:
        """Change or show the shared settings (admins)."""
        admin = require_admin(interaction)
        assert interaction.guild_id is not None
        if moderator_role is None and mod_log is None:
            config = self.bot.guild_settings.get(interaction.guild_id)
            await reply_ephemeral(interaction, _describe_core(config))
            return

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

        _, new, changes = await self.bot.guild_settings.update(interaction.guild_id, mutate)
        if changes:
            await self.bot.audit.record(
                interaction.guild_id, admin.id, "settings.changed",
                details={k: f"{old} → {value}" for k, (old, value) in changes.items()},
            )
        await reply_ephemeral(interaction, "Saved.\n" + _describe_core(new))


async def setup(bot: StewardBot) -> None:
    """Load the core cog."""
    await bot.add_cog(Core(bot))
