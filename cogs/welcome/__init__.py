"""Welcomes that point new members to the right support groups (extension entry point)."""

from __future__ import annotations

from bot.app import StewardBot
from bot.db.welcome import WelcomeRepository
from bot.services.doctor import DoctorService
from bot.services.privacy import PrivacyService
from bot.services.welcome import WelcomeService
from cogs.welcome._commands import WelcomeCog


async def setup(bot: StewardBot) -> None:
    """Build the welcome service, provide it, and load the cog."""
    service = bot.services.provide(WelcomeService(bot, WelcomeRepository(bot.db), bot.clock))
    await bot.add_cog(WelcomeCog(bot, service))
    privacy = bot.services.find(PrivacyService)
    if privacy is not None:  # /privacy forget: welcome records, pending joins, suggestions
        privacy.register_tables("welcome")
    doctor = bot.services.find(DoctorService)
    if doctor is not None:

        async def group_roles(guild_id: int) -> list[tuple[str, int]]:
            return [(f"welcome group {g.name}", g.role_id)
                    for g in await service.groups(guild_id) if g.role_id is not None]

        doctor.add_group_roles("welcome", group_roles)
