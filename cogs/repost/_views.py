"""The ephemeral "Manage my reposted post" panel: edit or delete one's reposted copy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.errors import StewardError
from bot.interactions import StewardView
from bot.services.repost import RepostRecord, RepostService
from cogs.repost._modals import EditModal

if TYPE_CHECKING:
    from bot.app import StewardBot

NOT_YOURS = "Only the member this was shared for, or a moderator, can change it."


class ManageView(StewardView):
    """Edit (opens a modal) or delete (asks once more) a repost."""

    def __init__(
        self, bot: StewardBot, service: RepostService, record: RepostRecord, *,
        message_id: int, words: str, room: int, owner_id: int,
    ) -> None:
        super().__init__(timeout=10 * 60)
        self.bot = bot
        self.service = service
        self.record = record
        self.message_id = message_id
        self.words = words
        self.room = room
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the person who opened the panel uses it (it is ephemeral anyway)."""
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="Edit", style=discord.ButtonStyle.primary)
    async def edit(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        """Open the edit modal (cached check only; the modal re-checks on submit)."""
        if not self.service.may_manage(self.record, interaction.user):
            raise StewardError(NOT_YOURS)
        await interaction.response.send_modal(EditModal(
            self.bot, self.service, repost_id=self.record.id, message_id=self.message_id,
            words=self.words, room=self.room,
        ))

    @discord.ui.button(label="Delete", style=discord.ButtonStyle.danger)
    async def delete(self, interaction: discord.Interaction, _: discord.ui.Button[Any]
                     ) -> None:
        """Ask once more before deleting."""
        if not self.service.may_manage(self.record, interaction.user):
            raise StewardError(NOT_YOURS)
        parts = len(self.record.message_ids)
        what = "the whole forum post" if self.record.created_thread else (
            f"all {parts} messages of this copy" if parts > 1 else "this copy")
        await interaction.response.edit_message(
            content=f"Delete {what}? This can't be undone.",
            view=ConfirmDeleteView(self.service, self.record, owner_id=self.owner_id),
        )


class ConfirmDeleteView(StewardView):
    """"Yes, delete it" / "Keep it"."""

    def __init__(self, service: RepostService, record: RepostRecord, *, owner_id: int) -> None:
        super().__init__(timeout=5 * 60)
        self.service = service
        self.record = record
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the person who opened the panel."""
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="Yes, delete it", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]
                      ) -> None:
        """Re-check, then delete every part."""
        await interaction.response.defer()
        record = await self.service.get(self.record.id)
        if record is None or record.status != "published":
            raise StewardError("This repost was already removed.")
        if not self.service.may_manage(record, interaction.user):
            raise StewardError(NOT_YOURS)
        await self.service.delete(record, interaction.user.id)
        await interaction.edit_original_response(content="Deleted.", view=None)

    @discord.ui.button(label="Keep it", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        """Leave it as it is."""
        await interaction.response.edit_message(content="Kept as it is.", view=None)
