"""The composition root: the one place that builds repositories and services and wires them.

`StewardBot.setup_hook` calls `build()` once the database is open; cogs receive what they need
from the returned `Services` in their `setup()` (`bot.services.linkhold`, ...). Nothing else
constructs a repository or a service, and nothing depends on the order extensions load in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.adapters.care import CareAdapter
from bot.adapters.followups import FollowupAdapter
from bot.adapters.linkhold import LinkHoldAdapter
from bot.adapters.repost import DiscordRepostActions
from bot.adapters.scheduler import classify_discord_error
from bot.db.audit import AuditRepository
from bot.db.care import CareRepository
from bot.db.doctor import DoctorRepository
from bot.db.followups import FollowupRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.hold_members import HighWaterRepository, PostCountRepository, TrustRepository
from bot.db.holds import HoldRepository
from bot.db.reminders import ReminderRepository
from bot.db.reposts import RepostRepository
from bot.db.settings_stamps import SettingsStampRepository
from bot.db.welcome import WelcomeRepository
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.care import CareService
from bot.services.config_io import ExternalChanges
from bot.services.doctor import DoctorService
from bot.services.followups import FollowupService
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import LinkHoldService, PublishRequest, Repositories
from bot.services.privacy import PrivacyService, load_or_create_key
from bot.services.repost import RepostRequest, RepostResult, RepostService, StoredAttachment
from bot.services.scheduler import Scheduler
from bot.services.welcome import WelcomeService

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
    linkhold_discord: LinkHoldAdapter
    followups: FollowupService
    followups_adapter: FollowupAdapter
    welcome: WelcomeService
    care: CareService
    care_adapter: CareAdapter


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
                          max_per_second=REMINDERS_PER_SECOND, classify=classify_discord_error)

    # --- repost
    repost = RepostService(RepostRepository(db), clock, DiscordRepostActions(bot),
                           settings=settings, audit=audit, metrics=metrics)
    privacy.register_tables("repost")  # /privacy forget: reposts of (or by) the member

    # --- linkhold
    async def publish_held(request: PublishRequest) -> RepostResult:
        return await repost.publish(RepostRequest(
            guild_id=request.guild_id, member_id=request.member_id, content=request.content,
            destination_id=request.destination_id, moderator_id=request.moderator_id,
            reason=request.reason, source=request.source,
            attachments=tuple(StoredAttachment(f.filename, f.data, f.content_type)
                              for f in request.attachments),
            not_kept=request.not_kept, reply_to_url=request.reply_to_url,
            notice=request.notice, forum_title=request.forum_title,
            forum_tag_ids=request.forum_tag_ids,
        ))

    linkhold_discord = LinkHoldAdapter(bot, settings, clock)
    linkhold = LinkHoldService(
        Repositories(HoldRepository(db), TrustRepository(db), PostCountRepository(db),
                     HighWaterRepository(db)),
        settings, clock, linkhold_discord, publish_held,
        audit=audit, background=bot.background, metrics=metrics, checkpoint=db.checkpoint,
    )
    linkhold_discord.serve(linkhold)
    # /privacy forget and the retention job (then a WAL checkpoint)
    privacy.register_tables("linkhold", purge=linkhold.purge_expired,
                            before=linkhold.forget_member)
    doctor.add_probe("linkhold", linkhold.probe)  # held posts waiting, holds stuck part-way

    # --- repost, once link-hold exists: members' edits of a repost follow the hold policy
    repost.link_gate = linkhold.would_hold

    # --- care (before followups: a member in a quiet window gets no automated ping)
    care_adapter = CareAdapter(bot)
    care = CareService(CareRepository(db), settings, clock, care_adapter, audit=audit)
    care_adapter.serve(care)
    # /privacy forget (their cards blanked, alerts deleted); purged after link-hold retention
    privacy.register_tables("care", purge=care.purge_expired, before=care.forget_member)

    # --- followups
    followups_adapter = FollowupAdapter(bot, repost)  # the OP of a repost: its records
    followups = FollowupService(FollowupRepository(db), scheduler, clock,
                                discord=followups_adapter, settings=settings, audit=audit,
                                opt_outs=privacy, metrics=metrics, tasks=bot.background,
                                quiet_until=care.quiet_until)
    # /privacy forget; "no pings" is kept as a hashed opt-out
    privacy.register_tables("followups", opt_outs=privacy.followup_opt_outs)
    doctor.add_probe("followups", followups.probe)  # reminders failing or stuck overdue

    # --- welcome
    welcome = WelcomeService(bot, WelcomeRepository(db), clock)
    privacy.register_tables("welcome")  # welcome records, pending joins, suggestions

    async def group_roles(guild_id: int) -> list[tuple[str, int]]:
        return [(f"welcome group {g.name}", g.role_id)
                for g in await welcome.groups(guild_id) if g.role_id is not None]

    doctor.add_group_roles("welcome", group_roles)

    return Services(
        settings=settings, audit=audit, metrics=metrics, privacy=privacy, doctor=doctor,
        external=external, scheduler=scheduler, repost=repost, linkhold=linkhold,
        linkhold_discord=linkhold_discord, followups=followups,
        followups_adapter=followups_adapter, welcome=welcome, care=care,
        care_adapter=care_adapter,
    )
