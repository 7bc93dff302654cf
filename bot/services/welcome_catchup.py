"""Joins missed while Steward was offline: greeted on start (bounded), and "last seen" kept.

Every few minutes Steward notes, per guild, that it is running; on the next start everyone
who joined after that moment (and within the limits of `plan_catchup`) is greeted late.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.db.welcome import WelcomeRepository
from bot.domain import welcome as rules
from bot.domain.audit import said
from bot.domain.welcome_facts import MemberFacts
from bot.i18n import N_
from bot.services.welcome_ports import Audit, Settings, WelcomeDiscord

log = logging.getLogger(__name__)

SEEN_EVERY = timedelta(minutes=5)  # how often "Steward is running here" is saved per guild
PURGE_EVERY = timedelta(hours=6)  # how often old suggestion records are purged
SUGGESTION_RETENTION = timedelta(days=366)


class Joins(Protocol):
    """Where a late join goes: greeted (or batched), or held until screening completes."""

    async def ready(self, member: MemberFacts, now: datetime) -> None:
        """Greet now or add to the burst batch."""
        ...

    async def wait_for_screening(self, guild_id: int, member_id: int, now: datetime) -> None:
        """Hold the welcome until screening completes (or the fallback falls due)."""
        ...


class CatchUp:
    """The start-up catch-up and the "last seen" heartbeat (also purges old suggestions)."""

    def __init__(self, repository: WelcomeRepository, discord: WelcomeDiscord,
                 settings: Settings, audit: Audit, clock: Clock, joins: Joins) -> None:
        self.repository = repository
        self._discord = discord
        self._settings = settings
        self._audit = audit
        self._clock = clock
        self._joins = joins
        self.caught_up = asyncio.Event()  # set once the startup catch-up has run
        self.last_catchup: dict[int, rules.CatchupPlan] = {}

    async def run(self) -> None:
        """Catch up in every guild, then keep saving "last seen" (runs until cancelled)."""
        try:
            seen = await self.repository.last_seen()
            now = self._clock.now()
            for guild_id in self._discord.guild_ids():
                try:
                    await self.catch_up(guild_id, seen.get(guild_id), now)
                except Exception:
                    log.exception("welcome catch-up failed in guild %s", guild_id)
            await self.save_seen(now)
        finally:
            self.caught_up.set()
        last_purge: datetime | None = None
        while True:
            now = self._clock.now()
            if last_purge is None or now - last_purge >= PURGE_EVERY:
                try:
                    await self.repository.purge_suggestions(now - SUGGESTION_RETENTION)
                except Exception:
                    log.exception("could not purge old group suggestions; retrying later")
                last_purge = now
            await self._clock.sleep_until(now + SEEN_EVERY)
            await self.save_seen(self._clock.now())

    async def save_seen(self, now: datetime) -> None:
        """Note that Steward runs in its guilds at `now` (errors are logged, not raised)."""
        try:
            await self.repository.save_last_seen(self._discord.guild_ids(), now)
        except Exception:
            log.exception("could not save when Steward was last seen; retrying later")

    async def catch_up(self, guild_id: int, last_seen: datetime | None,
                       now: datetime) -> rules.CatchupPlan:
        """Welcome members who joined while Steward was offline (bounded; see rules)."""
        config = self._settings.get(guild_id).welcome
        if last_seen is None or not config.enabled:
            return rules.CatchupPlan((), 0, 0)
        missed = {m.id: m for m in self._discord.joined_since(guild_id, last_seen)
                  if not m.is_bot and not m.did_rejoin}
        known = await self.repository.known(guild_id, missed)
        plan = rules.plan_catchup(
            [(m.id, m.joined_at) for m in missed.values()
             if m.id not in known and m.joined_at is not None],
            last_seen=last_seen, now=now)
        self.last_catchup[guild_id] = plan
        for member_id in plan.greet:
            member = missed[member_id]
            if member.in_screening:
                # Greeted once screening/onboarding completes (or after the usual fallback).
                await self._joins.wait_for_screening(guild_id, member_id, now)
            else:
                await self._joins.ready(member, now)
        if plan.greet or plan.not_greeted:
            log.info("welcome catch-up in guild %s: %d to greet, %d left ungreeted",
                     guild_id, len(plan.greet), plan.not_greeted)
        if plan.not_greeted:
            await self._audit.record(guild_id, None, "welcome.catchup_skipped", None, {
                "not_greeted": plan.not_greeted,
                "why": said(N_("Members who joined while I was offline and were not welcomed: "
                               "{count}. I greet at most {most} late joins, from the last "
                               "{hours} hours. /welcome resend member: can greet someone."),
                            count=plan.not_greeted, most=rules.CATCHUP_MAX_MEMBERS,
                            hours=int(rules.CATCHUP_MAX_AGE.total_seconds() // 3600)),
            })
        return plan
