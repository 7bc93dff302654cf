"""`/privacy forget` (moderators): delete everything Steward stored about a member here.

It is its own top-level command because `/steward` is for server admins and one top-level
command never mixes audiences.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import StewardBot
from bot.messaging import reply_ephemeral
from bot.permissions import MODERATOR_DEFAULT, require_moderator
from bot.services.privacy import PrivacyService
from bot.ui.privacy import ConfirmForget, describe_forget


class Privacy(commands.Cog):
    """Members' right to be forgotten (moderators)."""

    privacy = app_commands.Group(
        name="privacy", description="Members' data (moderators)", guild_only=True,
        default_permissions=MODERATOR_DEFAULT)

    def __init__(self, bot: StewardBot, service: PrivacyService) -> None:
        self.bot = bot
        self.service = service

    def _check(self, interaction: discord.Interaction) -> discord.Member:
        assert interaction.guild_id is not None
        return require_moderator(interaction,
                                 self.bot.guild_settings.get(interaction.guild_id).core)

    @privacy.command(name="forget", description="Delete everything Steward stored about a "
                                                "member (asks to confirm)")
    @app_commands.describe(member="The member (works for people who already left, too)")
    async def forget(self, interaction: discord.Interaction, member: discord.User) -> None:
        """Ask to confirm, then forget (moderators)."""
        self._check(interaction)
        guild_id = interaction.guild_id
        assert guild_id is not None
        user_id = member.id

        async def go(confirmed: discord.Interaction) -> None:
            moderator = self._check(confirmed)
            report = await self.service.forget(guild_id, user_id)
            await self.bot.audit.record(guild_id, moderator.id, "privacy.forgotten",
                                        details={"removed": report.total,
                                                 "failed": ", ".join(report.failed)})
            await confirmed.edit_original_response(content=describe_forget(report, user_id))

        view = ConfirmForget(interaction.user.id, self._check, go)
        await reply_ephemeral(
            interaction,
            f"This deletes everything Steward stored about <@{user_id}> in this server: held "
            "posts and their files, reminders, welcome records and the like, and takes them out "
            "of the audit log. It can't be undone.",
            view=view)
