"""Care: the router handler for posts that read as distress, the card's buttons, and `/care`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.routing import PRIORITY_CARE
from bot.ui.care import CareButton
from cogs.care._commands import CareCommands

if TYPE_CHECKING:
    from bot.app import StewardBot

log = logging.getLogger(__name__)


class Care(CareCommands):
    """Distress comes first; see `bot.services.care` and `bot.adapters.care`."""

    async def cog_load(self) -> None:
        """Take the message route and register the persistent buttons."""
        self.bot.router.add("care", self.adapter.on_message, priority=PRIORITY_CARE)
        # An edit that adds distress ("I can't go on") alerts like a post.
        self.bot.edit_router.add("care", self.adapter.on_edit, priority=PRIORITY_CARE)
        self.bot.add_dynamic_items(CareButton)

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        """A thread renamed (a forum post's title edited to "I can't go on") alerts too."""
        if before.name == after.name:
            return
        try:
            await self.adapter.on_thread_rename(after)
        except Exception:
            log.exception("could not check renamed thread %s", after.id)

    async def cog_unload(self) -> None:
        """Give the route and the buttons back."""
        self.bot.router.remove("care")
        self.bot.edit_router.remove("care")
        self.bot.remove_dynamic_items(CareButton)


async def setup(bot: StewardBot) -> None:
    """Add the cog with what the composition root built."""
    await bot.add_cog(Care(bot, bot.services.care, bot.services.care_adapter))
