"""Repost on behalf: moderators publish a member's words for them, clearly attributed.

Surfaces: message context menus "Repost for member" (moderators), "Manage my reposted post"
and "About this repost" (everyone, checked at run time); `/repost new` and `/repost settings`.
The work happens in `bot.services.repost.RepostService` (built by `bot.composition`; link-hold
approvals publish through it too); the modals and views are in `bot.ui.repost`.
"""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import StewardBot
from bot.domain import repost as rules
from bot.domain.templates import TemplateError, validate
from bot.errors import InvalidInput, NotAllowedThere, NotFound, StewardError
from bot.i18n import N_, tr
from bot.messaging import reply_ephemeral
from bot.permissions import (
    CANT_POST_THERE,
    MODERATOR_DEFAULT,
    cached_place,
    may_post_in,
    require_admin,
    require_moderator,
)
from bot.services.repost import RepostRecord, RepostService
from bot.ui.repost import NOT_YOURS, ManageView, RepostModal, describe_settings, may_manage
from config.guild import GuildConfig

log = logging.getLogger(__name__)

NOT_A_REPOST = N_("That message isn't a repost I made, so there is nothing to manage here.")


def _refuse_if_closed(moderator: discord.Member, channel_id: int) -> None:
    """Refuse a destination the moderator can't post in (cached state: a modal follows;
    the form's submit checks the channel finally chosen)."""
    place = cached_place(moderator.guild, channel_id)
    if place is not None and not may_post_in(moderator, place):
        raise NotAllowedThere(CANT_POST_THERE.format(channel=channel_id))


class Repost(commands.Cog):
    """Commands and context menus for reposting on a member's behalf."""

    repost = app_commands.Group(
        name="repost",
        description="Post a member's words for them, clearly attributed (moderators)",
        guild_only=True,
        default_permissions=MODERATOR_DEFAULT,
    )

    def __init__(self, bot: StewardBot, service: RepostService) -> None:
        self.bot = bot
        self.service = service
        self.menus = [
            app_commands.ContextMenu(name="Repost for member", callback=self.repost_for_member),
            app_commands.ContextMenu(name="Manage my reposted post", callback=self.manage),
            app_commands.ContextMenu(name="About this repost", callback=self.about),
        ]
        for menu in self.menus:
            menu.guild_only = True
        self.menus[0].default_permissions = MODERATOR_DEFAULT

    async def cog_load(self) -> None:
        """Add the context menus to the tree."""
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        """Remove the context menus."""
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    # ---------------------------------------------------------------- moderators

    async def repost_for_member(self, interaction: discord.Interaction,
                                message: discord.Message) -> None:
        """Open the repost modal prefilled with the message (moderators; cached check only)."""
        assert interaction.guild_id is not None
        moderator = require_moderator(
            interaction, self.bot.guild_settings.get(interaction.guild_id).core)
        _refuse_if_closed(moderator, message.channel.id)
        if message.author.bot or message.webhook_id is not None:
            raise InvalidInput(tr("That message was posted by a bot or webhook, not a member. "
                               "Use it on the member's own message."))
        reply_url = None
        if message.reference is not None and message.reference.message_id is not None:
            reply_url = message.reference.jump_url
        await interaction.response.send_modal(RepostModal(
            self.bot, self.service, member_id=message.author.id, content=message.content,
            destination_id=message.channel.id,
            source=f"message:{message.channel.id}/{message.id}", source_url=message.jump_url,
            attachments=message.attachments, reply_to_url=reply_url,
            member_name=message.author.display_name,
        ))

    @repost.command(name="new", description="Post words a member sent another way (DM, e-mail)")
    @app_commands.describe(
        member="Whose words these are",
        channel="Where to post (default: here); you can change it in the form",
        attachment="A picture or file they sent you, to include",
    )
    async def new(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        channel: discord.TextChannel | discord.Thread | discord.ForumChannel | None = None,
        attachment: discord.Attachment | None = None,
    ) -> None:
        """Open the repost modal empty: slash options can't hold line breaks."""
        assert interaction.guild_id is not None
        moderator = require_moderator(
            interaction, self.bot.guild_settings.get(interaction.guild_id).core)
        if member.bot:
            raise InvalidInput(tr("That's a bot, not a member."))
        target = channel.id if channel is not None else interaction.channel_id
        if target is not None:
            _refuse_if_closed(moderator, target)
        await interaction.response.send_modal(RepostModal(
            self.bot, self.service, member_id=member.id, content="", destination_id=target,
            source="manual", attachments=[attachment] if attachment else [],
            member_name=member.display_name,
        ))

    @repost.command(name="settings", description="Show or change how reposts look (admins)")
    @app_commands.describe(
        mode="webhook: in the member's name and picture; bot: posted by Steward",
        attribution="Line under each repost; {member} is replaced by a mention",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        mode: Literal["webhook", "bot"] | None = None,
        attribution: str | None = None,
    ) -> None:
        """Change or show the repost settings (admins, checked at run time)."""
        admin = require_admin(interaction)
        assert interaction.guild_id is not None
        if mode is None and attribution is None:
            await reply_ephemeral(interaction,
                                  describe_settings(self.bot.guild_settings.get(interaction.guild_id)))
            return
        if attribution is not None:
            attribution = " ".join(attribution.split())
            try:
                validate(attribution, rules.ATTRIBUTION_NAMES, max_length=rules.ATTRIBUTION_MAX)
            except TemplateError as exc:
                raise InvalidInput(tr("That attribution doesn't work: {exc}.", exc=exc)) from None
            if not attribution:
                raise InvalidInput(tr("The attribution can't be empty."))

        def mutate(config: GuildConfig) -> None:
            if mode is not None:
                config.repost.mode = mode
            if attribution is not None:
                config.repost.attribution = attribution

        _, new, changes = await self.bot.guild_settings.update(interaction.guild_id, mutate,
                                                               actor_id=admin.id)
        note = ""
        if new.repost.mode == "webhook" and interaction.app_permissions and \
                not interaction.app_permissions.manage_webhooks:
            note = (tr("\nNote: I don't have Manage Webhooks here, so reposts in channels "
                    "without it are posted by Steward instead."))
        await reply_ephemeral(interaction, tr("Saved.") + "\n" + describe_settings(new) + note)

    # ---------------------------------------------------------------- everyone

    async def _record_for(self, message: discord.Message) -> RepostRecord:
        record = await self.service.find_by_message(message.id)
        if record is None:
            raise NotFound(tr(NOT_A_REPOST))
        return record

    async def manage(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Offer edit/delete to the member named in the repost, or a moderator."""
        record = await self._record_for(message)
        if not may_manage(self.bot, self.service, record, interaction.user):
            raise StewardError(tr(NOT_YOURS))
        if message.id not in record.message_ids:
            raise NotFound(tr(NOT_A_REPOST))
        index = record.message_ids.index(message.id)
        _, words, _ = rules.split_framed(
            message.content, first=index == 0, last=index == len(record.message_ids) - 1,
            head_len=record.head_len, tail_len=record.tail_len,
        )
        room = rules.editable_room(message.content, words)
        view = ManageView(self.bot, self.service, record, message_id=message.id, words=words,
                          room=room, owner_id=interaction.user.id)
        question = (tr("This is your reposted post. What would you like to do?")
                    if interaction.user.id == record.member_id else
                    tr("This is <@{member_id}>'s reposted post. What would you like to do?",
                       member_id=record.member_id))
        await reply_ephemeral(
            interaction, question,
            view=view,
        )

    async def about(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Who wrote it, who reposted it, and when (ephemeral)."""
        record = await self._record_for(message)
        await reply_ephemeral(interaction, rules.about(
            member_id=record.member_id, moderator_id=record.moderator_id,
            created_at=record.published_at or record.created_at, source=record.source,
            mode=record.mode, edited_at=record.edited_at,
        ))


async def setup(bot: StewardBot) -> None:
    """Add the cog with the service the composition root built."""
    await bot.add_cog(Repost(bot, bot.services.repost))
