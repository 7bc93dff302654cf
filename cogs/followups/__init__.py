"""Follow-ups that tag the original poster, and scheduled reminders (extension entry point)."""

from __future__ import annotations

from bot.app import StewardBot
from bot.db.followups import FollowupRepository, ReminderRepository
from bot.services.doctor import DoctorService
from bot.services.followups import FollowupService
from bot.services.privacy import PrivacyService
from bot.services.scheduler import Scheduler
from cogs.followups._commands import FollowupCog


async def setup(bot: StewardBot) -> None:
    """Build the scheduler and the follow-up service, provide them, and load the cog."""
    # About three requests per delivery: 15 a second stays under Discord's ~50 requests/s.
    scheduler = bot.services.provide(Scheduler(
        ReminderRepository(bot.db), bot.clock, bot.background, max_per_second=15))
    service = bot.services.provide(
        FollowupService(bot, FollowupRepository(bot.db), scheduler, bot.clock))
    await bot.add_cog(FollowupCog(bot, service))
    privacy = bot.services.find(PrivacyService)
    if privacy is not None:  # /privacy forget; "no pings" is kept as a hashed opt-out
        privacy.register_tables("followups", opt_outs=privacy.followup_opt_outs)
    doctor = bot.services.find(DoctorService)
    if doctor is not None:  # reminders failing, reminders stuck overdue
        doctor.add_probe("followups", service.probe)
