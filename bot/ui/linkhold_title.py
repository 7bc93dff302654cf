"""Approving a forum post Discord's AutoMod blocked (issue 14): the block does not carry the
title the member typed, so the moderator gives one, starting from a neutral "Shared for <name>"
(the first line of a story can name a diagnosis)."""

from __future__ import annotations

from collections.abc import Callable

import discord

from bot.db.holds import Hold
from bot.domain.repost import neutral_title
from bot.i18n import tr
from bot.interactions import StewardModal
from bot.messaging import reply_ephemeral
from bot.permissions import require_may_publish_hold
from bot.services.linkhold import Decision
from bot.ui.access import checked_moderator, services


class ForumTitleModal(StewardModal):
    """Ask for the title of a blocked forum post, then approve it (and trust, if asked)."""

    def __init__(self, hold: Hold, guild: discord.Guild, action: str,
                 describe: Callable[[Decision], str]) -> None:
        super().__init__(title=tr("Approve hold #{id}", id=hold.id), timeout=600)
        self.hold_id = hold.id
        self.trust = action == "trust"  # the card's "Approve & trust"
        self.describe = describe  # the queue card's confirmation (bot.ui.linkhold)
        member = guild.get_member(hold.member_id)
        member_name = member.display_name if member is not None else None
        self.title_input: discord.ui.TextInput[ForumTitleModal] = discord.ui.TextInput(
            style=discord.TextStyle.short, required=False, max_length=100,
            default=neutral_title(member_name),
        )
        self.add_item(discord.ui.Label(
            text=tr("Forum post title"),
            description=tr("AutoMod didn't pass on the title they typed; avoid health details"),
            component=self.title_input))

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator again, then approve with the title."""
        moderator = checked_moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = services(interaction).linkhold
        held = await service.get_for_review(moderator.guild.id, self.hold_id)
        await require_may_publish_hold(moderator, held.channel_id, held.parent_id)
        decision = await service.approve(
            moderator.guild.id, self.hold_id, moderator.id, trust=self.trust,
            title=(self.title_input.value or "").strip() or None)
        await reply_ephemeral(interaction, self.describe(decision))
