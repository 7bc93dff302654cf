"""Follow-ups that tag the original poster, and scheduled reminders (extension entry point)."""

from __future__ import annotations

from bot.app import StewardBot
from cogs.followups._commands import FollowupCog


async def setup(bot: StewardBot) -> None:
    """Add the cog with the service the composition root built."""
    await bot.add_cog(FollowupCog(bot, bot.services.followups,
                                  bot.services.followups_adapter))
