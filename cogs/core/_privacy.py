"""`/privacy forget` (server admins): delete everything Steward stored about a member here.

Admins only (Manage Server), at run time and in its default permissions: it rewrites the
audit trail, so a moderator must not be able to erase their own. What a forgotten person did
as a moderator stays attributed to a keyed pseudonym, and the forget itself is audited.

It is its own top-level command because `/steward` is for server admins and one top-level
command never mixes audiences.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import StewardBot
from bot.errors import NotAdmin
from bot.i18n import N_, tr
from bot.messaging import reply_ephemeral
from bot.permissions import ADMIN_DEFAULT, is_admin
from bot.services.privacy import PrivacyService
from bot.services.repost import jump_url
from bot.ui.privacy import ConfirmForget, describe_forget, describe_shared

FORGET_IS_FOR_ADMINS = (N_("Only server admins (Manage Server) can make Steward forget someone: "
                        "it rewrites the audit trail."))


class Privacy(commands.Cog):
    """Members' right to be forgotten (server admins)."""

    privacy = app_commands.Group(
        name="privacy", description="Members' data (server admins)", guild_only=True,
        default_permissions=ADMIN_DEFAULT)

    def __init__(self, bot: StewardBot, service: PrivacyService) -> None:
        self.bot = bot
        self.service = service

    def _check(self, interaction: discord.Interaction) -> discord.Member:
        user = interaction.user
        if interaction.guild is None or not isinstance(user, discord.Member) or \
                not is_admin(user):
            raise NotAdmin(tr(FORGET_IS_FOR_ADMINS))
        return user

    @privacy.command(name="forget", description="Delete everything Steward stored about a "
                                                "member (asks to confirm)")
    @app_commands.describe(member="The member (works for people who already left, too)")
    async def forget(self, interaction: discord.Interaction, member: discord.User) -> None:
        """Ask to confirm, then forget (server admins)."""
        self._check(interaction)
        guild_id = interaction.guild_id
        assert guild_id is not None
        user_id = member.id

        reposts = self.bot.services.repost
        shared = await reposts.published_for(guild_id, user_id)

        async def go(confirmed: discord.Interaction, delete_shared: bool) -> None:
            admin = self._check(confirmed)
            # Before forgetting: the records of what to delete go with the member's rows.
            removed = (await reposts.delete_for_member(guild_id, user_id, admin.id)
                       if delete_shared else None)
            report = await self.service.forget(guild_id, user_id)
            await self.bot.audit.record(guild_id, admin.id, "privacy.forgotten",
                                        details={"removed": report.total,
                                                 "failed": ", ".join(report.failed),
                                                 "pseudonym": report.pseudonym,
                                                 "shared_posts_deleted":
                                                     removed[0] if removed else None})
            await confirmed.edit_original_response(
                content=describe_forget(report, user_id, removed))

        view = ConfirmForget(interaction.user.id, self._check, go, shared_posts=len(shared))
        posts = [(jump_url(guild_id, r.channel_id or r.destination_id,
                           r.message_ids[0] if r.message_ids else 0),
                  r.published_at or r.created_at) for r in shared]
        await reply_ephemeral(
            interaction,
            tr("This deletes everything Steward stored about <@{user_id}> in this server: held "
               "posts and their files, reminders, welcome records and the like, and takes them out "
               "of the audit log. It can't be undone.", user_id=user_id)
            + ("\n\n" + describe_shared(posts) if posts else ""),
            view=view)
