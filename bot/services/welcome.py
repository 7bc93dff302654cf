"""Welcomes: greeting new members once, pointing them to support groups, pacing join bursts.

Flow of a join: `on_join` -> (waits in `welcome_pending` while Membership Screening or
Onboarding is incomplete) -> `_ready` -> greeted at once, or added to the guild's burst batch
(a `ready` row due at the window's end). One background loop greets whatever falls due
(screening fallbacks and batches), reading the due times from the database, so a restart in
between still greets everyone. `welcome_records` is claimed before a welcome is sent: a member
is never greeted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot import messaging
from bot.clock import Clock
from bot.db.welcome import DuplicateGroup, PendingJoin, SupportGroup, WelcomeRepository
from bot.domain import welcome as rules
from bot.domain.authority import group_role_refusal
from bot.domain.templates import TemplateError, defuse_mass_mentions
from bot.domain.text import MESSAGE_LIMIT, truncate
from bot.errors import BotMissingPermissions, InvalidInput, NotFound
from bot.permissions import is_moderator
from config.guild import CoreSettings, GuildConfig, LinkHoldSettings

if TYPE_CHECKING:
    from bot.app import StewardBot

log = logging.getLogger(__name__)

PICKER_LABEL = "Find your support group"
SAFETY_NET = timedelta(minutes=1)  # a single welcome's row is picked up if the send never ran
IDLE_WAKE = timedelta(hours=6)  # the loop also wakes this often to purge old records
SUGGESTION_RETENTION = timedelta(days=366)
RETRY_AFTER = timedelta(minutes=1)
LATE_SCREENING = timedelta(days=1)  # screening done for a join Steward missed: still greet
SEEN_EVERY = timedelta(minutes=5)  # how often "Steward is running here" is saved per guild

# Builds the "Find your support group" button row for a guild (set by the cog).
ViewFactory = Callable[[int], discord.ui.View]


@dataclass(slots=True)
class _GuildGroups:
    groups: list[SupportGroup]
    facts: list[rules.GroupFacts]
    matcher: rules.KeywordMatcher
    channels: frozenset[int]


@dataclass(frozen=True, slots=True)
class PickerState:
    """What the picker shows a member: the groups, which they have, and their interests."""

    groups: list[rules.GroupFacts]
    chosen: frozenset[int]
    interests: list[rules.GroupFacts]


@dataclass(frozen=True, slots=True)
class PickResult:
    """The outcome of a picker submission."""

    chosen: list[rules.GroupFacts]
    added: list[int]
    removed: list[int]
    skipped_unsafe: list[int] = field(default_factory=list)


def role_facts(role: discord.Role) -> rules.RoleFacts:
    """A role as the safety rules see it."""
    return rules.RoleFacts(role.id, role.position, role.permissions.value, role.managed,
                           role.is_default())


class WelcomeService:
    """Greets members once, manages the group directory, suggests groups to newcomers."""

    def __init__(self, bot: StewardBot, repository: WelcomeRepository, clock: Clock) -> None:
        self.bot = bot
        self.repository = repository
        self._clock = clock
        self._groups: dict[int, _GuildGroups] = {}
        self._bursts: dict[int, rules.BurstTracker] = {}
        self._wake = asyncio.Event()
        self._sleeping_until: datetime | None = None
        self._view_factory: ViewFactory | None = None
        self._loop_task: asyncio.Task[Any] | None = None
        self._seen_task: asyncio.Task[Any] | None = None
        self.caught_up = asyncio.Event()  # set once the startup catch-up has run
        self.last_catchup: dict[int, rules.CatchupPlan] = {}
        self.stats = {"messages": 0, "greeted": 0, "bursts": 0}

    # --- lifecycle

    def set_view_factory(self, factory: ViewFactory) -> None:
        """How to build the picker button for a welcome message."""
        self._view_factory = factory

    def start(self) -> None:
        """Start the loop that greets pending joins when they fall due."""
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = self.bot.background.spawn(self._run(), name="welcome-due-loop",
                                                         daemon=True)
        if self._seen_task is None or self._seen_task.done():
            self._seen_task = self.bot.background.spawn(self._catch_up_then_keep_seen(),
                                                        name="welcome-catch-up", daemon=True)

    def stop(self) -> None:
        """Stop the loop (extension unload)."""
        for task in (self._loop_task, self._seen_task):
            if task is not None:
                task.cancel()
        self._loop_task = self._seen_task = None

    def _wake_for(self, when: datetime) -> None:
        if self._sleeping_until is None or when < self._sleeping_until:
            self._wake.set()

    async def _run(self) -> None:
        await self.bot.ready_once.wait()
        last_purge: datetime | None = None
        while True:
            self._wake.clear()
            now = self._clock.now()
            try:
                await self.process_due(now)
                if last_purge is None or now - last_purge >= IDLE_WAKE:
                    await self.repository.purge_suggestions(now - SUGGESTION_RETENTION)
                    last_purge = now
                upcoming = await self.repository.next_due()
            except Exception:
                log.exception("welcome loop failed; retrying in a minute")
                await self._sleep(now + RETRY_AFTER)
                continue
            until = now + IDLE_WAKE
            if upcoming is not None:
                until = min(until, max(upcoming, now))
            if until <= now:
                continue
            await self._sleep(until)

    async def _sleep(self, until: datetime) -> None:
        self._sleeping_until = until
        sleeper = asyncio.ensure_future(self._clock.sleep_until(until))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._sleeping_until = None

    async def process_due(self, now: datetime) -> None:
        """Greet screening fallbacks and flush burst batches that are due at `now`."""
        due = await self.repository.due(now)
        batches: dict[int, list[PendingJoin]] = {}
        for row in due:
            if row.status == "screening":
                guild = self.bot.get_guild(row.guild_id)
                member = guild.get_member(row.member_id) if guild else None
                if member is None:
                    await self.repository.remove_pending(row.guild_id, row.member_id)
                    continue
                log.info("screening timeout for member %s of guild %s; greeting anyway",
                         row.member_id, row.guild_id)
                await self._ready(member, now)
            else:
                batches.setdefault(row.guild_id, []).append(row)
        for guild_id, rows in batches.items():
            await self.flush(guild_id, [r.member_id for r in rows])

    # --- catching up on joins missed while offline

    async def _catch_up_then_keep_seen(self) -> None:
        await self.bot.ready_once.wait()
        try:
            seen = await self.repository.last_seen()
            now = self._clock.now()
            for guild in list(self.bot.guilds):
                try:
                    await self.catch_up(guild, seen.get(guild.id), now)
                except Exception:
                    log.exception("welcome catch-up failed in guild %s", guild.id)
            await self._save_seen(now)
        finally:
            self.caught_up.set()
        while True:
            now = self._clock.now()
            await self._clock.sleep_until(now + SEEN_EVERY)
            await self._save_seen(self._clock.now())

    async def _save_seen(self, now: datetime) -> None:
        try:
            await self.repository.save_last_seen([g.id for g in self.bot.guilds], now)
        except Exception:
            log.exception("could not save when Steward was last seen; retrying later")

    async def catch_up(self, guild: discord.Guild, last_seen: datetime | None,
                       now: datetime) -> rules.CatchupPlan:
        """Welcome members who joined while Steward was offline (bounded; see rules)."""
        config = self.bot.guild_settings.get(guild.id).welcome
        if last_seen is None or not config.enabled:
            return rules.CatchupPlan((), 0, 0)
        missed = {m.id: m for m in guild.members
                  if not m.bot and m.joined_at is not None and m.joined_at > last_seen
                  and not m.flags.did_rejoin}
        known = await self.repository.known(guild.id, missed)
        plan = rules.plan_catchup(
            [(m.id, m.joined_at) for m in missed.values()
             if m.id not in known and m.joined_at is not None],
            last_seen=last_seen, now=now)
        self.last_catchup[guild.id] = plan
        for member_id in plan.greet:
            member = missed[member_id]
            if member.pending or (member.flags.started_onboarding
                                  and not member.flags.completed_onboarding):
                # Greeted once screening/onboarding completes (or after the usual fallback).
                due = rules.screening_deadline(now, config.screening_timeout_minutes)
                await self.repository.add_pending(guild.id, member_id, now, "screening", due)
                self._wake_for(due)
            else:
                await self._ready(member, now)
        if plan.greet or plan.not_greeted:
            log.info("welcome catch-up in guild %s: %d to greet, %d left ungreeted",
                     guild.id, len(plan.greet), plan.not_greeted)
        if plan.not_greeted:
            await self.bot.audit.record(guild.id, None, "welcome.catchup_skipped", None, {
                "not_greeted": plan.not_greeted,
                "why": (f"{plan.not_greeted} member(s) joined while I was offline and were "
                        f"not welcomed: I greet at most {rules.CATCHUP_MAX_MEMBERS} late "
                        "joins, from the last "
                        f"{int(rules.CATCHUP_MAX_AGE.total_seconds() // 3600)} hours. "
                        "/welcome resend member: can greet someone."),
            })
        return plan

    # --- groups

    async def groups(self, guild_id: int) -> list[SupportGroup]:
        """A guild's directory (cached)."""
        return (await self._guild_groups(guild_id)).groups

    async def _guild_groups(self, guild_id: int) -> _GuildGroups:
        cached = self._groups.get(guild_id)
        if cached is None:
            groups = await self.repository.groups(guild_id)
            facts = [g.facts() for g in groups]
            cached = _GuildGroups(groups, facts, rules.KeywordMatcher(facts),
                                  frozenset(g.channel_id for g in groups))
            self._groups[guild_id] = cached
        return cached

    def check_group_role(self, role: discord.Role, actor: discord.Member) -> None:
        """Raise InvalidInput unless `role` is safe for members to give themselves."""
        guild = role.guild
        me = guild.me
        problem = rules.group_role_problem(
            role_facts(role),
            bot_top_position=me.top_role.position if me else 0,
            actor_top_position=actor.top_role.position,
            actor_is_owner=guild.owner_id == actor.id,
        )
        core, holds = self._power_settings(guild.id)
        problem = problem or group_role_refusal(
            role.id, moderator_roles=core.moderator_roles, exempt_roles=holds.exempt_roles)
        if problem:
            raise InvalidInput(f"I can't use {role.mention} as a group role: {problem}")

    def _power_settings(self, guild_id: int) -> tuple[CoreSettings, LinkHoldSettings]:
        config = self.bot.guild_settings.get(guild_id)
        return config.core, config.linkhold

    async def add_group(
        self, guild_id: int, actor: discord.Member, name: str,
        channel: discord.abc.GuildChannel, description: str = "", keywords: str = "",
        role: discord.Role | None = None,
    ) -> SupportGroup:
        """Add a group to the directory (admins; the role is checked for safety)."""
        try:
            clean_name = rules.clean_group_name(name)
            words = rules.parse_keywords(keywords)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        _check_channel(channel)
        if role is not None:
            self.check_group_role(role, actor)
        try:
            group = await self.repository.add_group(
                guild_id, clean_name, channel.id, rules.clean_description(description), words,
                role.id if role else None, self._clock.now())
        except DuplicateGroup:
            raise InvalidInput(f"There is already a group called {clean_name}.") from None
        self._groups.pop(guild_id, None)
        await self.bot.audit.record(guild_id, actor.id, "welcome.group_added",
                                    details={"group": group.name, "channel": f"<#{channel.id}>",
                                             "role": f"<@&{role.id}>" if role else None})
        return group

    async def find_group(self, guild_id: int, name: str) -> SupportGroup:
        """The group by name, or NotFound with a helpful message."""
        group = await self.repository.group_named(guild_id, name)
        if group is None:
            raise NotFound(f"There is no group called {name!r}. `/groups` lists them.")
        return group

    async def edit_group(
        self, guild_id: int, actor: discord.Member, name: str, *, new_name: str | None = None,
        channel: discord.abc.GuildChannel | None = None, description: str | None = None,
        keywords: str | None = None, role: discord.Role | None = None, clear_role: bool = False,
    ) -> SupportGroup:
        """Change some of a group's fields (admins)."""
        group = await self.find_group(guild_id, name)
        try:
            clean_name = rules.clean_group_name(new_name) if new_name else group.name
            words = rules.parse_keywords(keywords) if keywords is not None else group.keywords
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if channel is not None:
            _check_channel(channel)
        if role is not None:
            self.check_group_role(role, actor)
        role_id = None if clear_role else (role.id if role else group.role_id)
        changed = SupportGroup(
            group.id, guild_id, clean_name, channel.id if channel else group.channel_id,
            rules.clean_description(description) if description is not None
            else group.description, words, role_id)
        try:
            await self.repository.update_group(changed)
        except DuplicateGroup:
            raise InvalidInput(f"There is already a group called {clean_name}.") from None
        self._groups.pop(guild_id, None)
        await self.bot.audit.record(guild_id, actor.id, "welcome.group_edited",
                                    details={"group": changed.name})
        return changed

    async def remove_group(self, guild_id: int, actor: discord.Member, name: str) -> SupportGroup:
        """Remove a group from the directory (its role stays on members)."""
        group = await self.find_group(guild_id, name)
        await self.repository.remove_group(guild_id, group.id)
        self._groups.pop(guild_id, None)
        await self.bot.audit.record(guild_id, actor.id, "welcome.group_removed",
                                    details={"group": group.name})
        return group

    async def autocomplete(self, guild_id: int, current: str) -> list[str]:
        """Group names starting with (then containing) what was typed, at most 25."""
        needle = current.casefold().strip()
        names = [g.name for g in await self.groups(guild_id)]
        starts = [n for n in names if n.casefold().startswith(needle)]
        contains = [n for n in names if needle in n.casefold() and n not in starts]
        return (starts + contains)[:25]

    # --- joins

    async def on_join(self, member: discord.Member) -> None:
        """A member joined: greet, wait for screening, or note a rejoin."""
        guild = member.guild
        config = self.bot.guild_settings.get(guild.id).welcome
        if member.bot or not config.enabled:
            return
        record = await self.repository.record(guild.id, member.id)
        facts = rules.JoinFacts(member.bot, bool(member.pending), member.flags.did_rejoin,
                                record is not None, member.flags.started_onboarding,
                                member.flags.completed_onboarding)
        action = rules.join_action(facts, enabled=config.enabled)
        now = self._clock.now()
        if action == "skip_rejoin":
            log.info("member %s rejoined guild %s; no second welcome", member.id, guild.id)
            return
        if action == "wait":
            due = rules.screening_deadline(now, config.screening_timeout_minutes)
            await self.repository.add_pending(guild.id, member.id, now, "screening", due)
            self._wake_for(due)
            return
        if action == "greet":
            await self._ready(member, now)

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Rules Screening or Onboarding completed: greet the member now."""
        if after.bot:
            return
        done = rules.screening_done(
            was_pending=bool(before.pending), pending=bool(after.pending),
            onboarding_before=before.flags.completed_onboarding,
            onboarding_now=after.flags.completed_onboarding)
        if not done:
            return
        now = self._clock.now()
        row = await self.repository.pending(after.guild.id, after.id)
        if row is None:
            # Joined while Steward was offline: greet if recent and never welcomed.
            joined = after.joined_at
            if (not self.bot.guild_settings.get(after.guild.id).welcome.enabled
                    or joined is None or now - joined > LATE_SCREENING
                    or after.flags.did_rejoin
                    or await self.repository.record(after.guild.id, after.id) is not None):
                return
        elif row.status != "screening":
            return
        await self._ready(after, now)

    async def on_leave(self, guild_id: int, member_id: int) -> None:
        """A member left: if not greeted yet, they won't be."""
        if await self.repository.remove_pending(guild_id, member_id):
            log.info("member %s left guild %s before their welcome", member_id, guild_id)

    async def _ready(self, member: discord.Member, now: datetime) -> None:
        guild_id = member.guild.id
        config = self.bot.guild_settings.get(guild_id).welcome
        window = timedelta(seconds=config.burst_window_seconds)
        tracker = self._bursts.get(guild_id)
        if tracker is None:
            tracker = self._bursts[guild_id] = rules.BurstTracker(config.burst_threshold, window)
        else:
            tracker.reconfigure(config.burst_threshold, window)
        decision = tracker.record(now)
        if decision.now:
            await self.repository.add_pending(guild_id, member.id, now, "ready",
                                              now + SAFETY_NET)
            await self.greet(member, how="single")
            return
        assert decision.flush_at is not None
        await self.repository.add_pending(guild_id, member.id, now, "ready", decision.flush_at)
        self._wake_for(decision.flush_at)

    # --- sending

    def _values(self, guild: discord.Guild, config: GuildConfig,
                groups: Sequence[rules.GroupFacts]) -> rules.WelcomeValues:
        rules_channel = config.core.rules_channel
        link_days = config.linkhold.hold_days if config.linkhold.enabled else None
        return rules.WelcomeValues(
            server=guild.name,
            member_count=guild.member_count or len(guild.members),
            groups=rules.directory_lines(groups),
            rules=f"<#{rules_channel}>" if rules_channel else "the server rules",
            link_days=link_days or None,
        )

    def welcome_channel(self, guild: discord.Guild) -> discord.TextChannel | None:
        """The configured welcome channel, else the server's system channel."""
        channel_id = self.bot.guild_settings.get(guild.id).welcome.channel
        channel = guild.get_channel(channel_id) if channel_id else guild.system_channel
        return channel if isinstance(channel, discord.TextChannel) else None

    async def render_single(self, member: discord.Member) -> str:
        """The welcome text for one member (their known interests first)."""
        config = self.bot.guild_settings.get(member.guild.id)
        facts = (await self._guild_groups(member.guild.id)).facts
        role_ids = [r.id for r in member.roles]
        mine = rules.groups_with_roles(facts, role_ids)
        ordered = mine + [g for g in facts if g not in mine]
        values = self._values(member.guild, config, ordered)
        template = config.welcome.template or rules.default_template(
            link_days=values.link_days, has_groups=bool(facts))
        text = rules.render_welcome(template, rules.member_values(
            values, member.mention, member.display_name))
        if mine:
            lines = "\n".join(rules.interest_lines(mine))
            text = truncate(defuse_mass_mentions(text + "\n" + lines), MESSAGE_LIMIT)
        return text

    async def render_burst(self, guild: discord.Guild, member_ids: Sequence[int]) -> str:
        """The welcome text greeting several members at once."""
        config = self.bot.guild_settings.get(guild.id)
        facts = (await self._guild_groups(guild.id)).facts
        values = self._values(guild, config, facts)
        template = config.welcome.burst_template or rules.default_burst_template(
            link_days=values.link_days)
        return rules.render_welcome(
            template, rules.burst_values(values, [f"<@{m}>" for m in member_ids]))

    def _view(self, guild_id: int) -> discord.ui.View | None:
        return self._view_factory(guild_id) if self._view_factory else None

    async def greet(self, member: discord.Member, *, how: str = "single",
                    dm_allowed: bool = True) -> bool:
        """Welcome one member (claimed first, so never twice); True when claimed."""
        guild = member.guild
        config = self.bot.guild_settings.get(guild.id).welcome
        claimed = await self.repository.claim(guild.id, [member.id], how, self._clock.now())
        if not claimed:
            return False
        self.stats["greeted"] += 1
        text = await self.render_single(member)
        channel = self.welcome_channel(guild)
        if channel is not None:
            message = await self._post(guild, channel, text, [member.id])
            if message is not None:
                await self.repository.set_message(guild.id, [member.id], channel.id, message.id)
        if config.dm and dm_allowed:
            await self._dm(member, text)
        return True

    async def flush(self, guild_id: int, member_ids: Sequence[int]) -> list[int]:
        """Greet a burst batch: members still here, not welcomed before, <= 20 per message."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:  # Steward left the server (or it is gone): nobody to greet there
            for member_id in member_ids:
                await self.repository.remove_pending(guild_id, member_id)
            return []
        present: list[discord.Member] = []
        for member_id in member_ids:
            member = guild.get_member(member_id)
            if member is None:
                await self.repository.remove_pending(guild_id, member_id)
            else:
                present.append(member)
        if len(present) == 1:
            # A batch of one is just a welcome (still no DM: it came during a burst).
            greeted = await self.greet(present[0], how="single", dm_allowed=False)
            return [present[0].id] if greeted else []
        claimed = await self.repository.claim(guild_id, [m.id for m in present], "burst",
                                              self._clock.now())
        if not claimed:
            return []
        self.stats["greeted"] += len(claimed)
        self.stats["bursts"] += 1
        channel = self.welcome_channel(guild)
        if channel is None:
            return claimed
        # Rate limits can hold later messages back; whoever leaves meanwhile isn't mentioned.
        remaining = list(claimed)
        sent: list[int] = []
        while remaining:
            chunk: list[int] = []
            gone: list[int] = []
            while remaining and len(chunk) < rules.MAX_BURST_MENTIONS:
                member_id = remaining.pop(0)
                (chunk if guild.get_member(member_id) is not None else gone).append(member_id)
            if gone:
                await self.repository.unclaim(guild_id, gone)
            if not chunk:
                continue
            text = await self.render_burst(guild, chunk)
            message = await self._post(guild, channel, text, chunk)
            if message is not None:
                await self.repository.set_message(guild_id, chunk, channel.id, message.id)
            sent += chunk
        log.info("burst welcome for %d members in guild %s", len(sent), guild_id)
        return sent

    async def _post(self, guild: discord.Guild, channel: discord.TextChannel, text: str,
                    ping: Sequence[int]) -> discord.Message | None:
        view = self._view(guild.id)
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        try:
            message = await messaging.send(channel, text,
                                           allowed_mentions=messaging.ping_only(*ping), **kwargs)
        except discord.HTTPException as exc:
            missing = isinstance(exc, discord.Forbidden)
            log.warning("welcome in channel %s of guild %s failed: %s", channel.id, guild.id,
                        exc.code)
            self._count("failed", len(ping))
            await self.bot.audit.record(
                guild.id, None, "welcome.failed", ping[0] if len(ping) == 1 else None,
                {"channel": f"<#{channel.id}>", "members": len(ping),
                 "problem": ("I'm missing Send Messages or View Channel there (Discord error "
                             f"{exc.code}). Fix the channel permissions; /welcome resend "
                             "can greet someone again.") if missing
                 else f"Discord error {exc.status}/{exc.code}"})
            return None
        self.stats["messages"] += 1
        self._count("sent", len(ping))
        return message

    def _count(self, outcome: str, members: int) -> None:
        """Feed the `welcomes` metric (a no-op unless metrics are enabled)."""
        metrics = self.bot.services.metrics
        if metrics is not None:
            metrics.inc("welcomes", members, outcome=outcome)

    async def _dm(self, member: discord.Member, text: str) -> None:
        view = self._view(member.guild.id)
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        try:
            await messaging.send(member, text, **kwargs)
            self.stats["messages"] += 1
        except discord.Forbidden:
            log.info("member %s of guild %s does not accept DMs; welcome DM skipped", member.id,
                     member.guild.id)
        except discord.HTTPException as exc:
            log.warning("welcome DM to member %s failed: %s", member.id, exc.code)

    async def resend(self, member: discord.Member, actor: discord.Member) -> discord.Message:
        """Post a member's welcome again (moderators), whatever the records say."""
        guild = member.guild
        channel = self.welcome_channel(guild)
        if channel is None:
            raise InvalidInput("There is no welcome channel. An admin can set one with "
                               "/welcome settings channel:.")
        await self.repository.claim(guild.id, [member.id], "resend", self._clock.now())
        text = await self.render_single(member)
        view = self._view(guild.id)
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        try:
            message = await messaging.send(channel, text,
                                           allowed_mentions=messaging.ping_only(member),
                                           **kwargs)
        except discord.Forbidden:
            raise BotMissingPermissions(
                f"I can't post in {channel.mention}: I need View Channel and Send Messages "
                "there.") from None
        await self.repository.set_message(guild.id, [member.id], channel.id, message.id,
                                          how="resend")
        await self.bot.audit.record(guild.id, actor.id, "welcome.resent", member.id,
                                    {"jump": message.jump_url})
        return message

    # --- suggestions

    async def suggest(self, message: discord.Message) -> bool:
        """Router handler: point a newcomer's on-topic post to its group, once per group."""
        guild = message.guild
        author = message.author
        if guild is None or not isinstance(author, discord.Member):
            return False
        config = self.bot.guild_settings.get(guild.id)
        settings = config.welcome
        if not settings.suggestions or author.joined_at is None:
            return False
        now = self._clock.now()
        if now - author.joined_at > timedelta(days=settings.suggest_days):
            return False
        state = await self._guild_groups(guild.id)
        channel = message.channel
        parent_id = getattr(channel, "parent_id", None)
        if channel.id in state.channels or parent_id in state.channels:
            return False
        hits = state.matcher.match(message.content)
        if not hits or is_moderator(author, config.core):
            return False
        by_id = {g.id: g for g in state.facts}
        following = {r.id for r in author.roles}
        for group_id in hits:
            group = by_id[group_id]
            if group.role_id is not None and group.role_id in following:
                continue  # they already follow it
            if not await self.repository.claim_suggestion(guild.id, author.id, group_id, now):
                continue
            try:
                await messaging.send(
                    channel, rules.suggestion_text(group),  # type: ignore[arg-type]
                    reference=message.to_reference(fail_if_not_exists=False),
                    mention_author=False)
                self.stats["messages"] += 1
            except discord.HTTPException as exc:
                log.warning("group suggestion in channel %s failed: %s", channel.id, exc.code)
            log.info("suggested group %s to member %s in guild %s", group_id, author.id,
                     guild.id)
            break
        return False

    # --- the picker

    async def picker_state(self, member: discord.Member) -> PickerState:
        """The groups to show a member, pre-filled from the group roles they have."""
        facts = (await self._guild_groups(member.guild.id)).facts
        mine = rules.groups_with_roles(facts, [r.id for r in member.roles])
        return PickerState(facts, frozenset(g.id for g in mine), mine)

    async def apply_choice(self, member: discord.Member, chosen: set[int],
                           shown: set[int]) -> PickResult:
        """Give and remove group roles after a picker submission."""
        guild = member.guild
        facts = (await self._guild_groups(guild.id)).facts
        plan = rules.plan_roles(facts, chosen, [r.id for r in member.roles], shown)
        me = guild.me
        bot_top = me.top_role.position if me else 0
        safe_add: list[discord.Role] = []
        safe_remove: list[discord.Role] = []
        skipped: list[int] = []
        core, holds = self._power_settings(guild.id)
        powerful: list[int] = []
        for role_id, bucket in [(r, safe_add) for r in plan.add] + [
                (r, safe_remove) for r in plan.remove]:
            role = guild.get_role(role_id)
            if role is None:
                skipped.append(role_id)
                continue
            # A group role that has since been given Steward powers is never handed out.
            if bucket is safe_add and group_role_refusal(
                    role_id, moderator_roles=core.moderator_roles,
                    exempt_roles=holds.exempt_roles):
                powerful.append(role_id)
                continue
            # Re-checked at use: a role may have gained permissions since it was saved.
            problem = rules.group_role_problem(role_facts(role), bot_top_position=bot_top,
                                               actor_top_position=bot_top, actor_is_owner=True)
            if problem and bucket is safe_add:
                skipped.append(role_id)
                continue
            bucket.append(role)
        if skipped:
            await self.bot.audit.record(guild.id, None, "welcome.role_unsafe", member.id,
                                        {"roles": ", ".join(f"<@&{r}>" for r in skipped),
                                         "problem": "group role missing or no longer safe; "
                                                    "not given"})
        if powerful:
            await self.bot.audit.record(guild.id, None, "welcome.role_has_powers", member.id,
                                        {"roles": ", ".join(f"<@&{r}>" for r in powerful),
                                         "problem": "group role has Steward powers (moderator "
                                                    "or exempt role); not given"})
            skipped.extend(powerful)
        try:
            if safe_add:
                await member.add_roles(*safe_add, reason="support group picked")
            if safe_remove:
                await member.remove_roles(*safe_remove, reason="support group unpicked")
        except discord.Forbidden as exc:
            await self.bot.audit.record(
                guild.id, None, "welcome.roles_failed", member.id,
                {"problem": f"I couldn't change group roles (Discord error {exc.code}). "
                            "I need Manage Roles, and the group roles must be below my "
                            "highest role."})
            raise BotMissingPermissions(
                "I couldn't change your group roles because I'm missing a permission. "
                "I've let the moderators know; your choice wasn't saved.") from None
        by_id = {g.id: g for g in facts}
        return PickResult([by_id[i] for i in sorted(chosen, key=list(by_id).index)
                           if i in by_id], [r.id for r in safe_add],
                          [r.id for r in safe_remove], skipped)

    # --- preview

    async def preview(self, member: discord.Member, *, burst: bool = False) -> str:
        """What a welcome for `member` (or a burst including them) would look like now."""
        if burst:
            return await self.render_burst(member.guild, [member.id])
        return await self.render_single(member)


def _check_channel(channel: discord.abc.GuildChannel) -> None:
    if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
        raise InvalidInput("A group meets in a text channel or a forum.")


def check_template(template: str, *, burst: bool) -> str:
    """A template that validates, or InvalidInput listing the valid placeholders."""
    try:
        rules.validate_template(template, burst=burst)
    except TemplateError as exc:
        problem = str(exc)
        if "valid ones are" not in problem:
            names = rules.BURST_PLACEHOLDERS if burst else rules.PLACEHOLDERS
            problem += "; valid ones are: " + ", ".join("{" + n + "}" for n in sorted(names))
        raise InvalidInput(f"That template can't be used: {problem}") from None
    return template
