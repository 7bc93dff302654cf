"""Zero exposure (issue 14): Discord's AutoMod blocks new members' links, Steward decides who
is trusted and turns every block into a normal hold.

Three jobs, no Discord here (`AutomodPort`, implemented by `bot.adapters.automod`):

* **The trusted role.** When a member joins, their join date is stored and one promotion is
  scheduled on the shared durable scheduler (kind `linkhold.promote`) for the moment they pass
  the hold period (`bot.domain.automod.promotion_due`); when it fires the role is given. A
  member who still needs posts (`min_posts`) is asked again when a post is counted. `/linkhold
  trust` gives the role, `/linkhold untrust` takes it (through `TrustHooks`). At startup the
  stored join dates are reconciled in bounded batches (no member list is requested).
* **One owned AutoMod rule** per server with `linkhold.automod` on, kept equal to
  `build_rule(settings)`: created when missing, patched when it differs, re-created when
  someone deleted it, never duplicated (found again by `is_owned` after a restart), and rules
  Steward did not make are never touched.
* **Blocks become holds**: `blocked()` hands the block to the link-hold service (one hold per
  block, keyed by the alert message).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.clock import Clock
from bot.db.promotions import PromotionRepository
from bot.db.reminders import NewReminder
from bot.domain import automod as rule_domain
from bot.domain import holds as rules
from bot.domain.doctor import Finding, automod_findings
from bot.i18n import N_, speaking, tr
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import BlockFacts, LinkHoldService, Someone
from bot.services.scheduler import Delivery, Done, RetryLater, Scheduler
from config.guild import GuildConfig

log = logging.getLogger(__name__)

PROMOTE_KIND = "linkhold.promote"
RECONCILE_BATCH = 200
ROLE_REASON = N_("Steward: passed the new-member hold period")
UNTRUST_REASON = N_("Steward: a moderator stopped trusting this member")

RoleOutcome = Literal["done", "left", "forbidden", "missing"] | int
SyncOutcome = Literal["created", "updated", "unchanged", "deleted", "off", "forbidden",
                      "refused", "failed"]

# The settings the rule is built from: a change to one of these re-syncs it.
_RULE_FIELDS = ("automod", "enabled", "allowlist", "trusted_role", "exempt_roles",
                "ignored_channels", "queue_channel")


class AutomodError(Exception):
    """Discord refused a rule request: `status` 403 (Manage Server missing), 400 (limits)."""

    def __init__(self, status: int, code: int = 0, text: str = "") -> None:
        super().__init__(f"{status} {code} {text}")
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class MemberNow:
    """A member as the Discord cache knows them (for promotions)."""

    joined_at: datetime | None
    role_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class RoleCheck:
    """Can Steward hand out the trusted role (for the doctor)."""

    exists: bool
    position: int
    managed: bool
    bot_top_position: int
    manage_roles: bool
    manage_guild: bool


class AutomodPort(Protocol):
    """What the service needs from Discord (`bot.adapters.automod.AutomodAdapter`)."""

    def bot_user_id(self) -> int | None:
        """Steward's own user id (None before login)."""

    def guild_ids(self) -> list[int]:
        """The servers Steward is in."""

    async def list_rules(self, guild_id: int) -> list[dict[str, Any]]:
        """The server's AutoMod rules (AutomodError on 403/4xx)."""

    async def create_rule(self, guild_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a rule; returns it."""

    async def edit_rule(self, guild_id: int, rule_id: int,
                        payload: dict[str, Any]) -> dict[str, Any]:
        """PATCH a rule; returns it."""

    async def delete_rule(self, guild_id: int, rule_id: int) -> None:
        """DELETE a rule (already gone is fine)."""

    def member(self, guild_id: int, member_id: int) -> MemberNow | None:
        """A cached member (None: not cached, or not in the server)."""

    async def still_member(self, guild_id: int, member_id: int) -> bool:
        """False only when Discord says the member left."""

    async def add_role(self, guild_id: int, member_id: int, role_id: int,
                       reason: str) -> RoleOutcome:
        """Give a role: done, left, forbidden (permission or hierarchy), missing (no such
        role) or an HTTP status."""

    async def remove_role(self, guild_id: int, member_id: int, role_id: int,
                          reason: str) -> RoleOutcome:
        """Take a role away (same outcomes)."""

    def role_check(self, guild_id: int, role_id: int | None) -> RoleCheck | None:
        """The trusted role and Steward's rights (None: not in the server)."""

    def language(self, guild_id: int) -> str:
        """The server's language (the rule's name and block message speak it)."""

    def cached_joins(self, guild_id: int, role_id: int) -> list[tuple[int, datetime]]:
        """(member id, join date) of cached members (not bots) without `role_id`; no request
        is made (discord.py's own cache)."""


@dataclass(slots=True)
class GuildState:
    """What the service knows about one server's rule and role (for the doctor)."""

    rule_id: int | None = None
    sync: SyncOutcome | None = None
    refused: str | None = None
    role_failure: RoleOutcome | None = None
    truncated: list[str] = field(default_factory=list)


class AutomodService:
    """The trusted role, the owned AutoMod rule, and blocks turned into holds."""

    def __init__(self, promotions: PromotionRepository, settings: GuildSettingsService,
                 clock: Clock, port: AutomodPort, scheduler: Scheduler,
                 linkhold: LinkHoldService, *, audit: AuditService,
                 batch: int = RECONCILE_BATCH) -> None:
        self.promotions = promotions
        self._settings = settings
        self._clock = clock
        self._port = port
        self._scheduler = scheduler
        self._linkhold = linkhold
        self._audit = audit
        self._batch = batch
        self._state: dict[int, GuildState] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._synthetic = 0
        self.ready = asyncio.Event()  # set once start() has synced rules and promotions
        scheduler.register(PROMOTE_KIND, self._on_promotion)
        settings.on_change(self._settings_changed)
        linkhold.trust_hooks = self

    def state(self, guild_id: int) -> GuildState:
        """What is known about a server's rule and role."""
        return self._state.setdefault(guild_id, GuildState())

    # --- the rule ---------------------------------------------------------------------------

    def spec(self, guild_id: int) -> rule_domain.RuleSpec:
        """The rule these settings call for, worded in the server's language."""
        config = self._settings.get(guild_id)
        facts = rule_domain.RuleFacts.from_settings(
            config.linkhold, config.core.moderator_roles, config.linkhold.trusted_role)
        with speaking(self._port.language(guild_id)):
            return rule_domain.build_rule(facts)

    async def sync_rule(self, guild_id: int) -> SyncOutcome:
        """Make Discord's rules say what the settings say (one rule, Steward's own)."""
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock:
            outcome = await self._sync(guild_id)
        self.state(guild_id).sync = outcome
        return outcome

    async def _sync(self, guild_id: int) -> SyncOutcome:
        state = self.state(guild_id)
        me = self._port.bot_user_id()
        config = self._settings.get(guild_id).linkhold
        if me is None:
            return "failed"
        state.refused = None
        try:
            owned = [r for r in await self._port.list_rules(guild_id)
                     if rule_domain.is_owned(r, me)]
            # The one Steward keeps: the one it knew, else the oldest. Extras are its own
            # leftovers (a crash between create and record), so they go.
            owned.sort(key=lambda r: (int(r["id"]) != state.rule_id, int(r["id"])))
            keep, extras = (owned[0], owned[1:]) if owned else (None, [])
            for extra in extras:
                await self._port.delete_rule(guild_id, int(extra["id"]))
            if not config.automod:
                state.rule_id = None
                state.truncated = []
                if keep is None:
                    return "off"
                await self._port.delete_rule(guild_id, int(keep["id"]))
                log.info("deleted Steward's AutoMod rule in guild %s", guild_id)
                return "deleted"
            spec = self.spec(guild_id)
            state.truncated = spec.truncated.explain()
            payload = rule_domain.rule_payload(spec)
            if keep is None:
                made = await self._port.create_rule(guild_id, payload)
                state.rule_id = int(made["id"])
                # A create retried after a lost answer (5xx) can leave a twin: look once.
                for twin in await self._port.list_rules(guild_id):
                    if rule_domain.is_owned(twin, me) and int(twin["id"]) != state.rule_id:
                        await self._port.delete_rule(guild_id, int(twin["id"]))
                log.info("created Steward's AutoMod rule %s in guild %s", made["id"], guild_id)
                return "created"
            state.rule_id = int(keep["id"])
            if not rule_domain.differs(keep, spec):
                return "unchanged"
            await self._port.edit_rule(guild_id, int(keep["id"]), payload)
            return "updated"
        except AutomodError as exc:
            if exc.status == 403:
                state.refused = "manage_guild"
                log.warning("no Manage Server in guild %s: AutoMod rule not kept", guild_id)
                return "forbidden"
            state.refused = str(exc)
            log.warning("Discord refused Steward's AutoMod rule in guild %s: %s", guild_id, exc)
            return "refused" if 400 <= exc.status < 500 else "failed"

    async def _settings_changed(self, guild_id: int, old: GuildConfig, new: GuildConfig) -> None:
        rule_changed = any(getattr(old.linkhold, f) != getattr(new.linkhold, f)
                           for f in _RULE_FIELDS) or (
            old.core.moderator_roles != new.core.moderator_roles) or (
            old.core.language != new.core.language)
        try:
            if rule_changed and (old.linkhold.automod or new.linkhold.automod):
                await self.sync_rule(guild_id)
        except Exception:
            log.exception("could not sync the AutoMod rule of guild %s", guild_id)
        if new.linkhold.trusted_role != old.linkhold.trusted_role \
                or new.linkhold.hold_days != old.linkhold.hold_days:
            try:
                await self.seed_from_cache(guild_id)
                await self.reconcile([guild_id])
            except Exception:
                log.exception("could not plan the promotions of guild %s", guild_id)

    async def rule_deleted(self, guild_id: int, rule_id: int) -> None:
        """Someone deleted a rule: Steward's own comes back while `automod` is on."""
        state = self.state(guild_id)
        if rule_id == state.rule_id and self._settings.get(guild_id).linkhold.automod:
            log.info("Steward's AutoMod rule in guild %s was deleted; re-creating it", guild_id)
            state.rule_id = None
            await self.sync_rule(guild_id)

    async def rule_updated(self, guild_id: int, rule: Mapping[str, Any]) -> None:
        """Someone edited a rule: Steward's own is put back as the settings say."""
        me = self._port.bot_user_id()
        if me is None or not rule_domain.is_owned(rule, me):
            return
        if self._settings.get(guild_id).linkhold.automod and rule_domain.differs(
                rule, self.spec(guild_id)):
            await self.sync_rule(guild_id)

    # --- blocks -----------------------------------------------------------------------------

    def is_ours(self, guild_id: int, rule_id: int | None = None,
                rule_name: str | None = None) -> bool:
        """Whether a block came from Steward's rule (by id from the event, by name from an
        alert message)."""
        if rule_id is not None and rule_id == self.state(guild_id).rule_id:
            return True
        return rule_domain.is_steward_rule_name(rule_name)

    def synthetic_key(self) -> int:
        """A key for a block without an alert message: an id of this moment (ids made by
        Discord at the same millisecond differ in their low bits)."""
        self._synthetic = (self._synthetic + 1) % 4096
        return rules.snowflake_at(self._clock.now()) + (0x3FF000 | self._synthetic)

    async def blocked(self, block: BlockFacts, author: Someone | None) -> bool:
        """A block by Steward's rule becomes a hold; False when it already is one."""
        return await self._linkhold.hold_blocked(block, author) is not None

    # --- the trusted role -------------------------------------------------------------------

    async def member_joined(self, guild_id: int, member_id: int, joined_at: datetime) -> None:
        """Store the join date and schedule the promotion."""
        if not self._settings.get(guild_id).linkhold.enabled:
            return
        await self.promotions.remember(guild_id, member_id, joined_at)
        await self._plan(guild_id, member_id, joined_at, None, frozenset())

    async def member_left(self, guild_id: int, member_id: int) -> None:
        """Nothing to promote any more (a pending reminder closes itself)."""
        await self.promotions.forget(guild_id, member_id)

    async def counted(self, guild_id: int, member_id: int) -> None:
        """TrustHooks: a post was counted; with `min_posts` that can be the moment."""
        settings = self._settings.get(guild_id).linkhold
        if settings.trusted_role is None or not settings.min_posts:
            return
        waiting = await self.promotions.get(guild_id, member_id)
        if waiting is not None:
            now = self._port.member(guild_id, member_id)
            await self._plan(guild_id, member_id, waiting.joined_at, waiting.due_at,
                             now.role_ids if now else frozenset())

    async def trusted(self, guild_id: int, member_id: int, by: int | None) -> None:
        """TrustHooks: `/linkhold trust` (or Approve & trust) gives the role at once."""
        await self.promote(guild_id, member_id)

    async def untrusted(self, guild_id: int, member_id: int, by: int | None) -> None:
        """TrustHooks: `/linkhold untrust` takes the role away."""
        role = self._settings.get(guild_id).linkhold.trusted_role
        if role is None:
            return
        outcome = await self._port.remove_role(guild_id, member_id, role, UNTRUST_REASON)
        self._role_outcome(guild_id, outcome)

    async def promote(self, guild_id: int, member_id: int) -> RoleOutcome | None:
        """Give the trusted role now (None: no trusted role is set)."""
        role = self._settings.get(guild_id).linkhold.trusted_role
        if role is None:
            return None
        outcome = await self._port.add_role(guild_id, member_id, role, ROLE_REASON)
        self._role_outcome(guild_id, outcome)
        if outcome == "done":
            if await self.promotions.promoted(guild_id, member_id, self._clock.now()):
                await self._audit.record(guild_id, None, "member.promoted", member_id,
                                         {"role": f"<@&{role}>"}, post=False)
        elif outcome == "left":
            await self.promotions.forget(guild_id, member_id)
        return outcome

    def _role_outcome(self, guild_id: int, outcome: RoleOutcome) -> None:
        state = self.state(guild_id)
        if outcome in ("done", "left"):
            state.role_failure = None
        else:
            state.role_failure = outcome
            log.warning("could not change the trusted role in guild %s: %s", guild_id, outcome)

    async def _plan(self, guild_id: int, member_id: int, joined_at: datetime,
                    scheduled: datetime | None, role_ids: frozenset[int], *,
                    at_once: bool = True) -> None:
        """Promote now, schedule the promotion, or wait for posts. `at_once` False: a
        promotion due now goes through the scheduler too (paced: a startup or a new trusted
        role can make thousands due at once)."""
        settings = self._settings.get(guild_id).linkhold
        role = settings.trusted_role
        if role is None:
            return
        if role in role_ids:
            await self.promotions.promoted(guild_id, member_id, self._clock.now())
            return
        now = self._clock.now()
        due = rule_domain.promotion_due(
            joined_at, rules.snowflake_time(member_id),
            self._linkhold.accepted_posts(guild_id, member_id),
            rules.HoldPolicy.from_settings(settings), now)
        if due is None:
            await self.promotions.set_due(guild_id, member_id, None)
        elif due <= now and at_once:
            await self.promote(guild_id, member_id)
        elif due <= now and scheduled is not None and scheduled <= now:
            return  # already queued on the scheduler
        elif due != scheduled:
            due = max(due, now)
            await self._scheduler.schedule(NewReminder(
                guild_id=guild_id, kind=PROMOTE_KIND, channel_id=0, member_id=member_id,
                due_at=due, note="trusted role"))
            await self.promotions.set_due(guild_id, member_id, due)

    async def _on_promotion(self, delivery: Delivery) -> Done:
        reminder = delivery.reminder
        guild_id, member_id = reminder.guild_id, reminder.member_id
        if member_id is None:
            return Done.closed(tr("no member"))
        waiting = await self.promotions.get(guild_id, member_id)
        if waiting is None:
            return Done.stood_down(tr("already promoted or left"))
        if waiting.due_at is not None and waiting.due_at != reminder.due_at:
            return Done.stood_down("rescheduled")  # a later plan replaced this one
        cached = self._port.member(guild_id, member_id)
        if cached is None and not await self._port.still_member(guild_id, member_id):
            await self.promotions.forget(guild_id, member_id)
            return Done.closed("member_left")
        await self.promotions.set_due(guild_id, member_id, None)
        await self._plan(guild_id, member_id, waiting.joined_at, None,
                         cached.role_ids if cached else frozenset())
        outcome = self.state(guild_id).role_failure
        if isinstance(outcome, int) and (outcome == 429 or outcome >= 500):
            raise RetryLater(tr("role change failed: {outcome}", outcome=outcome))
        return Done.sent(None)

    async def reconcile(self, guild_ids: Sequence[int] | None = None) -> int:
        """Plan every stored waiting member, a batch at a time; returns how many were read."""
        wanted = set(guild_ids) if guild_ids is not None else None
        after: tuple[int, int] | None = None
        seen = 0
        while True:
            batch = await self.promotions.waiting_batch(after, self._batch)
            if not batch:
                return seen
            for waiting in batch:
                if wanted is not None and waiting.guild_id not in wanted:
                    continue
                seen += 1
                cached = self._port.member(waiting.guild_id, waiting.member_id)
                try:
                    await self._plan(waiting.guild_id, waiting.member_id, waiting.joined_at,
                                     waiting.due_at, cached.role_ids if cached else frozenset(),
                                     at_once=False)
                except Exception:
                    log.exception("could not plan the promotion of member %s",
                                  waiting.member_id)
            after = (batch[-1].guild_id, batch[-1].member_id)
            await asyncio.sleep(0)  # let the gateway breathe between batches

    async def seed_from_cache(self, guild_id: int) -> int:
        """Store the join dates of cached members who lack the trusted role (members who
        joined before it was set, or while Steward was away), a batch at a time."""
        role = self._settings.get(guild_id).linkhold.trusted_role
        if role is None or not self._settings.get(guild_id).linkhold.enabled:
            return 0
        joins = self._port.cached_joins(guild_id, role)
        for start in range(0, len(joins), self._batch):
            await self.promotions.remember_many(guild_id, joins[start:start + self._batch])
            await asyncio.sleep(0)
        return len(joins)

    async def start(self) -> None:
        """Once connected: keep each server's rule, then reconcile promotions."""
        for guild_id in self._port.guild_ids():
            if self._settings.get(guild_id).linkhold.automod:
                try:
                    await self.sync_rule(guild_id)
                except Exception:
                    log.exception("could not sync the AutoMod rule of guild %s", guild_id)
            try:
                await self.seed_from_cache(guild_id)
            except Exception:
                log.exception("could not read the members of guild %s", guild_id)
        await self.reconcile()
        self.ready.set()

    # --- the doctor -------------------------------------------------------------------------

    async def probe(self, guild_id: int) -> list[Finding]:
        """Doctor probe: the trusted role can't be given, or the rule can't be kept."""
        settings = self._settings.get(guild_id).linkhold
        state = self.state(guild_id)
        check = self._port.role_check(guild_id, settings.trusted_role)
        if check is None:
            return []
        return automod_findings(
            automod_on=settings.automod, trusted_role=settings.trusted_role,
            role_exists=check.exists, role_position=check.position, role_managed=check.managed,
            bot_top_position=check.bot_top_position, manage_roles=check.manage_roles,
            manage_guild=check.manage_guild, rule_refused=(
                state.refused if state.sync in ("refused", "forbidden") else None),
            truncated=tuple(state.truncated) if settings.automod else (),
        )
