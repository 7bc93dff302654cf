"""The composition root: the one place that builds repositories and services and wires them.

`StewardBot.setup_hook` calls `build()` once the database is open; cogs receive what they need
from the returned `Services` in their `setup()` (`bot.services.linkhold`, ...). Nothing else
constructs a repository or a service, and nothing depends on the order extensions load in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import discord

from bot.adapters.automod import AutomodAdapter
from bot.adapters.care import CareAdapter
from bot.adapters.doctor import DiscordGuildReader, DoctorReportPoster
from bot.adapters.followups import FollowupAdapter
from bot.adapters.linkhold import LinkHoldAdapter
from bot.adapters.modlog import ModLogPoster
from bot.adapters.repost import DiscordRepostActions
from bot.adapters.scheduler import classify_discord_error
from bot.adapters.welcome import DiscordWelcome
from bot.clock import Clock
from bot.db import Database
from bot.db.audit import AuditRepository
from bot.db.care import CareRepository, DoNotTagRepository
from bot.db.doctor import DoctorRepository
from bot.db.followups import FollowupRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.hold_members import HighWaterRepository, PostCountRepository, TrustRepository
from bot.db.holds import HoldRepository
from bot.db.promotions import PromotionRepository
from bot.db.reminders import Claims, ReminderRepository
from bot.db.reposts import RepostRepository
from bot.db.settings_stamps import SettingsStampRepository
from bot.db.welcome import WelcomeRepository
from bot.domain.shards import Shards
from bot.metrics import Metrics
from bot.services.audit import AuditService
from bot.services.automod import AutomodService
from bot.services.care import CareService
from bot.services.config_io import ExternalChanges
from bot.services.doctor import DoctorService
from bot.services.followups import FollowupService
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import LinkHoldService, Repositories
from bot.services.privacy import PrivacyService, load_or_create_key
from bot.services.repost import RepostService
from bot.services.scheduler import Scheduler
from bot.services.scheduler_language import SpeakingScheduler
from bot.services.welcome import WelcomeService
from bot.tasks import BackgroundTasks
from bot.ui.welcome import welcome_view
from config.settings import Settings

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
    automod: AutomodService
    automod_adapter: AutomodAdapter


class Host(Protocol):
    """What `build()` needs of the running bot (`bot.app.StewardBot` is one)."""

    @property
    def db(self) -> Database:
        """The open database."""

    @property
    def clock(self) -> Clock:
        """The clock."""

    @property
    def settings(self) -> Settings:
        """Deploy-time settings."""

    @property
    def background(self) -> BackgroundTasks:
        """Background work."""

    @property
    def ownership(self) -> Shards:
        """The shards (servers) this process owns."""

    def get_guild(self, id: int, /) -> discord.Guild | None:
        """A cached guild."""

    def get_channel(self, id: int, /) -> (discord.abc.GuildChannel | discord.Thread
                                          | discord.abc.PrivateChannel | None):
        """A cached channel or thread."""


async def build(host: Host, client: discord.Client) -> Services:
    """Build every repository, service and adapter for `host` (its database is open).

    `client` is the Discord connection the feature adapters work through (the running
    `StewardBot` is both).
    """
    db, clock = host.db, host.clock
    audit = AuditService(AuditRepository(db), clock)
    settings = GuildSettingsService(GuildSettingsRepository(db), clock, audit)
    await settings.load_all()
    audit.set_mod_log_sink(ModLogPoster(host, settings).post)
    metrics = Metrics(enabled=host.settings.metrics_port is not None)
    privacy = PrivacyService(db, clock, load_or_create_key(db.path,
                                                            key_file=host.settings.key_file))
    doctor = DoctorService(DoctorRepository(db), settings, clock,
                           reader=DiscordGuildReader(host),
                           poster=DoctorReportPoster(host))
    external = ExternalChanges(SettingsStampRepository(db), GuildSettingsRepository(db),
                               settings, clock)
    # Sharded: only the owned servers' reminders, claimed with a lease; the pace is this
    # process's share of the REST budget (bot.ratelimit).
    shards = host.ownership
    claims = Claims(shards, timedelta(seconds=host.settings.claim_lease_seconds))
    budget = host.settings.rest_budget or shards.rest_budget()
    scheduler = SpeakingScheduler(ReminderRepository(db, claims), clock, host.background,
                                  max_per_second=max(1.0, REMINDERS_PER_SECOND * budget / 50),
                                  classify=classify_discord_error,
                                  language_of=getattr(host, "language_of", None))

    # --- repost
    repost = RepostService(RepostRepository(db), clock, DiscordRepostActions(client),
                           settings=settings, audit=audit, metrics=metrics)
    privacy.register_tables("repost")  # /privacy forget: reposts of (or by) the member

    # --- linkhold
    linkhold_discord = LinkHoldAdapter(client, settings, clock)
    linkhold = LinkHoldService(
        Repositories(HoldRepository(db), TrustRepository(db), PostCountRepository(db),
                     HighWaterRepository(db)),
        settings, clock, linkhold_discord, repost.publish,
        audit=audit, background=host.background, metrics=metrics, checkpoint=db.checkpoint,
        scheduler=scheduler,  # the one reviewer ping per waiting hold
    )
    linkhold_discord.serve(linkhold)
    linkhold.owns = shards.owns  # sharded: upkeep (review reminders, purges) of its servers
    # /privacy forget and the retention job (then a WAL checkpoint)
    privacy.register_tables("linkhold", purge=linkhold.purge_expired,
                            before=linkhold.forget_member)
    doctor.add_probe("linkhold", linkhold.probe)  # held posts waiting, holds stuck part-way

    # --- AutoMod and the trusted role (issue 14): blocks become holds, promotions scheduled
    automod_adapter = AutomodAdapter(client, settings, linkhold_discord)
    automod = AutomodService(PromotionRepository(db), settings, clock, automod_adapter,
                             scheduler, linkhold, audit=audit)
    automod_adapter.serve(automod)
    doctor.add_probe("automod", automod.probe)  # trusted role can't be given, rule refused

    # --- repost, once link-hold exists: members' edits of a repost follow the hold policy
    repost.link_gate = linkhold.would_hold

    # --- care (before followups: a member in a quiet window gets no automated ping)
    care_adapter = CareAdapter(client)
    care = CareService(CareRepository(db), settings, clock, care_adapter, audit=audit,
                       marks=DoNotTagRepository(db), opt_outs=privacy)
    care_adapter.serve(care)
    repost.do_not_tag = care.do_not_tag  # a marked member's repost pings and tells nobody
    # A held post that reads as distress: no automated notice, one care alert linking to its
    # queue card (the link gate consumed the message, so it asks care itself).
    linkhold.care = care
    care.held_card = linkhold.card_url
    # /privacy forget (their cards blanked, alerts deleted); purged after link-hold retention
    privacy.register_tables("care", purge=care.purge_expired, before=care.forget_member)

    # --- followups
    followups_adapter = FollowupAdapter(client, repost)  # the OP of a repost: its records
    followups = FollowupService(FollowupRepository(db), scheduler, clock,
                                discord=followups_adapter, settings=settings, audit=audit,
                                opt_outs=privacy, metrics=metrics, tasks=host.background,
                                quiet_until=care.quiet_until, do_not_tag=care.do_not_tag)
    care.on_mark(followups.member_marked)  # their open follow-ups close quietly
    # /privacy forget; "no pings" is kept as a hashed opt-out
    privacy.register_tables("followups", opt_outs=privacy.followup_opt_outs)
    doctor.add_probe("followups", followups.probe)  # reminders failing or stuck overdue

    # --- welcome
    # The adapter reads Discord's cache and sends; the picker button rides on every welcome.
    welcome_discord = DiscordWelcome(client, settings, view=welcome_view)
    # The shared scheduler is welcome's timer too (screening fallbacks, burst windows).
    # Care's quiet window: no group suggestion (or other automated message) to a quiet member.
    welcome = WelcomeService(WelcomeRepository(db), welcome_discord, settings, audit, metrics,
                             scheduler, clock, quiet_until=care.quiet_until,
                             do_not_tag=care.do_not_tag)
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
        care_adapter=care_adapter, automod=automod, automod_adapter=automod_adapter,
    )
