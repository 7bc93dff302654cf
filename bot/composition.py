"""The composition root: the one place that builds repositories and services and wires them.

`StewardBot.setup_hook` calls `build()` once the database is open; cogs receive what they need
from the returned `Services` in their `setup()` (`bot.services.linkhold`, ...). Nothing else
constructs a repository or a service, and nothing depends on the order extensions load in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.adapters.welcome import DiscordWelcome
from bot.db.audit import AuditRepository
from bot.db.doctor import DoctorRepository
from bot.db.followups import FollowupRepository, ReminderRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.reposts import RepostRepository
from bot.db.settings_stamps import SettingsStampRepository
from bot.db.welcome import WelcomeRepository
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.config_io import ExternalChanges
from bot.services.doctor import DoctorService
from bot.services.followups import FollowupService
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import LinkHoldService
from bot.services.privacy import PrivacyService, load_or_create_key
from bot.services.repost import RepostService
from bot.services.scheduler import Scheduler
from bot.services.welcome import WelcomeService
from bot.ui.welcome import welcome_view

if TYPE_CHECKING:
    from bot.app import StewardBot

# About three requests per delivery: 15 a second stays under Discord's ~50 requests/s.
REMINDERS_PER_SECOND = 15


@dataclass(slots=True)
class Services:
    """Every service of one running bot, built once by `build()`."""

    settings: GuildSettingsService
    audit: AuditService
    metrics: Metrics
    privacy: PrivacyService
    doctor: DoctorService
    external: ExternalChanges
    scheduler: Scheduler
    repost: RepostService
    linkhold: LinkHoldService
    followups: FollowupService
    welcome: WelcomeService


async def build(bot: StewardBot) -> Services:
    """Build every repository and service for `bot` (its database is open) and wire them."""
    db, clock = bot.db, bot.clock
    settings = GuildSettingsService(GuildSettingsRepository(db), clock)
    await settings.load_all()
    audit = AuditService(AuditRepository(db), clock)
    metrics = Metrics(enabled=bot.settings.metrics_port is not None)
    privacy = PrivacyService(db, clock, load_or_create_key(db.path))
    doctor = DoctorService(DoctorRepository(db), settings, clock)
    external = ExternalChanges(SettingsStampRepository(db), GuildSettingsRepository(db),
                               settings, clock)
    scheduler = Scheduler(ReminderRepository(db), clock, bot.background,
                          max_per_second=REMINDERS_PER_SECOND)

    # --- repost
    repost = RepostService(bot, RepostRepository(db), clock)
    privacy.register_tables("repost")  # /privacy forget: reposts of (or by) the member

    # --- linkhold
    linkhold = LinkHoldService(bot, clock)
    # /privacy forget and the retention job (then a WAL checkpoint)
    privacy.register_tables("linkhold", purge=linkhold.purge_expired,
                            before=linkhold.forget_member)
    doctor.add_probe("linkhold", linkhold.probe)  # held posts waiting, holds stuck part-way

    # --- followups
    followups = FollowupService(bot, FollowupRepository(db), scheduler, clock)
    # /privacy forget; "no pings" is kept as a hashed opt-out
    privacy.register_tables("followups", opt_outs=privacy.followup_opt_outs)
    doctor.add_probe("followups", followups.probe)  # reminders failing or stuck overdue

    # --- welcome
    # The adapter reads Discord's cache and sends; the picker button rides on every welcome.
    welcome_discord = DiscordWelcome(bot, settings, view=welcome_view)
    # The shared scheduler is welcome's timer too (screening fallbacks, burst windows).
    welcome = WelcomeService(WelcomeRepository(db), welcome_discord, settings, audit, metrics,
                             scheduler, clock)
    privacy.register_tables("welcome")  # welcome records, pending joins, suggestions

    async def group_roles(guild_id: int) -> list[tuple[str, int]]:
        return [(f"welcome group {g.name}", g.role_id)
                for g in await welcome.groups(guild_id) if g.role_id is not None]

    doctor.add_group_roles("welcome", group_roles)

    return Services(
        settings=settings, audit=audit, metrics=metrics, privacy=privacy, doctor=doctor,
        external=external, scheduler=scheduler, repost=repost, linkhold=linkhold,
        followups=followups, welcome=welcome,
    )
