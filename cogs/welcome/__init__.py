"""Welcomes that point new members to the right support groups (extension entry point)."""

from __future__ import annotations

from bot.app import StewardBot
from cogs.welcome._commands import WelcomeCog


async def setup(bot: StewardBot) -> None:
    """Add the cog with the service the composition root built."""
    await bot.add_cog(WelcomeCog(bot, bot.services.welcome))
