"""Care: the router handler for posts that read as distress, the card's buttons, and `/care`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.routing import PRIORITY_CARE
from bot.ui.care import CareButton
from cogs.care._commands import CareCommands

if TYPE_CHECKING:
    from bot.app import StewardBot


class Care(CareCommands):
    """Distress comes first; see `bot.services.care` and `bot.adapters.care`."""

    async def cog_load(self) -> None:
        """Take the message route and register the persistent buttons."""
        self.bot.router.add("care", self.adapter.on_message, priority=PRIORITY_CARE)
        # An edit that adds distress ("I can't go on") alerts like a post.
        self.bot.edit_router.add("care", self.adapter.on_edit, priority=PRIORITY_CARE)
        self.bot.add_dynamic_items(CareButton)

    async def cog_unload(self) -> None:
        """Give the route and the buttons back."""
        self.bot.router.remove("care")
        self.bot.edit_router.remove("care")
        self.bot.remove_dynamic_items(CareButton)


async def setup(bot: StewardBot) -> None:
    """Add the cog with what the composition root built."""
    await bot.add_cog(Care(bot, bot.services.care, bot.services.care_adapter))
