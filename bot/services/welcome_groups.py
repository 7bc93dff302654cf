"""Support groups: the directory, the picker's role changes, and keyword suggestions."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock
from bot.db.welcome import DuplicateGroup, SupportGroup, WelcomeRepository
from bot.domain import welcome as rules
from bot.domain.audit import said
from bot.domain.authority import group_role_refusal
from bot.domain.welcome_facts import MemberFacts, MessageFacts
from bot.errors import BotMissingPermissions, InvalidInput, NotFound
from bot.i18n import N_, tr
from bot.services.welcome_ports import (
    Audit,
    DoNotTag,
    QuietUntil,
    RolesRefused,
    Settings,
    WelcomeDiscord,
    nobody_marked,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GuildGroups:
    """A guild's directory as loaded once: groups, their facts, the keyword matcher."""

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


class SupportGroups:
    """The group directory (cached per guild), the picker and group suggestions."""

    def __init__(self, repository: WelcomeRepository, discord: WelcomeDiscord,
                 settings: Settings, audit: Audit, clock: Clock, *,
                 quiet_until: QuietUntil, do_not_tag: DoNotTag = nobody_marked) -> None:
        self.repository = repository
        self._quiet_until = quiet_until
        self._do_not_tag = do_not_tag
        self._discord = discord
        self._settings = settings
        self._audit = audit
        self._clock = clock
        self._cache: dict[int, GuildGroups] = {}

    async def groups(self, guild_id: int) -> list[SupportGroup]:
        """A guild's directory (cached)."""
        return (await self.directory(guild_id)).groups

    async def directory(self, guild_id: int) -> GuildGroups:
        """A guild's directory with its facts and keyword matcher (cached until a change)."""
        cached = self._cache.get(guild_id)
        if cached is None:
            groups = await self.repository.groups(guild_id)
            facts = [g.facts() for g in groups]
            cached = GuildGroups(groups, facts, rules.KeywordMatcher(facts),
                                 frozenset(g.channel_id for g in groups))
            self._cache[guild_id] = cached
        return cached

    # --- the directory (admins)

    def check_group_role(self, guild_id: int, role: rules.RoleFacts,
                         actor: MemberFacts) -> None:
        """Raise InvalidInput unless `role` is safe for members to give themselves."""
        guild = self._discord.guild(guild_id)
        problem = rules.group_role_problem(
            role,
            bot_top_position=guild.bot_top_position if guild else 0,
            actor_top_position=actor.top_role_position,
            actor_is_owner=actor.is_owner,
        ) or self._power_refusal(guild_id, role.id)
        if problem:
            raise InvalidInput(tr("I can't use <@&{id}> as a group role: {problem}",
                                  id=role.id, problem=problem))

    def _power_refusal(self, guild_id: int, role_id: int) -> str | None:
        """Why a role with Steward powers (moderator or exempt role) can't be a group role."""
        config = self._settings.get(guild_id)
        return group_role_refusal(role_id, moderator_roles=config.core.moderator_roles,
                                  exempt_roles=config.linkhold.exempt_roles)

    async def add_group(
        self, guild_id: int, actor: MemberFacts, name: str, channel_id: int,
        description: str = "", keywords: str = "", role: rules.RoleFacts | None = None,
    ) -> SupportGroup:
        """Add a group to the directory (admins; the role is checked for safety)."""
        try:
            clean_name = rules.clean_group_name(name)
            words = rules.parse_keywords(keywords)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if role is not None:
            self.check_group_role(guild_id, role, actor)
        try:
            group = await self.repository.add_group(
                guild_id, clean_name, channel_id, rules.clean_description(description), words,
                role.id if role else None, self._clock.now())
        except DuplicateGroup:
            raise InvalidInput(tr("There is already a group called {clean_name}.",
                                  clean_name=clean_name)) from None
        self._cache.pop(guild_id, None)
        await self._audit.record(guild_id, actor.id, "welcome.group_added",
                                 details={"group": group.name, "channel": f"<#{channel_id}>",
                                          "role": f"<@&{role.id}>" if role else None})
        return group

    async def find_group(self, guild_id: int, name: str) -> SupportGroup:
        """The group by name, or NotFound with a helpful message."""
        group = await self.repository.group_named(guild_id, name)
        if group is None:
            raise NotFound(tr("There is no group called {name}. `/groups` lists them.",
                              name=repr(name)))
        return group

    async def edit_group(
        self, guild_id: int, actor: MemberFacts, name: str, *, new_name: str | None = None,
        channel_id: int | None = None, description: str | None = None,
        keywords: str | None = None, role: rules.RoleFacts | None = None,
        clear_role: bool = False,
    ) -> SupportGroup:
        """Change some of a group's fields (admins)."""
        group = await self.find_group(guild_id, name)
        try:
            clean_name = rules.clean_group_name(new_name) if new_name else group.name
            words = rules.parse_keywords(keywords) if keywords is not None else group.keywords
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if role is not None:
            self.check_group_role(guild_id, role, actor)
        role_id = None if clear_role else (role.id if role else group.role_id)
        changed = SupportGroup(
            group.id, guild_id, clean_name, channel_id or group.channel_id,
            rules.clean_description(description) if description is not None
            else group.description, words, role_id)
        try:
            await self.repository.update_group(changed)
        except DuplicateGroup:
            raise InvalidInput(tr("There is already a group called {clean_name}.",
                                  clean_name=clean_name)) from None
        self._cache.pop(guild_id, None)
        await self._audit.record(guild_id, actor.id, "welcome.group_edited",
                                 details={"group": changed.name})
        return changed

    async def remove_group(self, guild_id: int, actor_id: int, name: str) -> SupportGroup:
        """Remove a group from the directory (its role stays on members)."""
        group = await self.find_group(guild_id, name)
        await self.repository.remove_group(guild_id, group.id)
        self._cache.pop(guild_id, None)
        await self._audit.record(guild_id, actor_id, "welcome.group_removed",
                                 details={"group": group.name})
        return group

    async def autocomplete(self, guild_id: int, current: str) -> list[str]:
        """Group names starting with (then containing) what was typed, at most 25."""
        needle = current.casefold().strip()
        names = [g.name for g in await self.groups(guild_id)]
        starts = [n for n in names if n.casefold().startswith(needle)]
        contains = [n for n in names if needle in n.casefold() and n not in starts]
        return (starts + contains)[:25]

    # --- the picker (members)

    async def picker_state(self, member: MemberFacts) -> PickerState:
        """The groups to show a member, pre-filled from the group roles they have."""
        facts = (await self.directory(member.guild_id)).facts
        mine = rules.groups_with_roles(facts, member.role_ids)
        return PickerState(facts, frozenset(g.id for g in mine), mine)

    async def apply_choice(self, member: MemberFacts, chosen: set[int],
                           shown: set[int]) -> PickResult:
        """Give and remove group roles after a picker submission."""
        guild_id = member.guild_id
        facts = (await self.directory(guild_id)).facts
        plan = rules.plan_roles(facts, chosen, member.role_ids, shown)
        guild = self._discord.guild(guild_id)
        bot_top = guild.bot_top_position if guild else 0
        safe_add: list[int] = []
        safe_remove: list[int] = []
        skipped: list[int] = []
        powerful: list[int] = []
        for role_id, adding in [(r, True) for r in plan.add] + [(r, False) for r in plan.remove]:
            role = self._discord.role(guild_id, role_id)
            if role is None:
                skipped.append(role_id)
                continue
            # A group role that has since been given Steward powers is never handed out.
            if adding and self._power_refusal(guild_id, role_id):
                powerful.append(role_id)
                continue
            # Re-checked at use: a role may have gained permissions since it was saved.
            problem = rules.group_role_problem(role, bot_top_position=bot_top,
                                               actor_top_position=bot_top, actor_is_owner=True)
            if problem and adding:
                skipped.append(role_id)
                continue
            (safe_add if adding else safe_remove).append(role_id)
        if skipped:
            await self._audit.record(guild_id, None, "welcome.role_unsafe", member.id,
                                     {"roles": ", ".join(f"<@&{r}>" for r in skipped),
                                      "problem": said(N_("The group role is missing or no "
                                                         "longer safe, so I didn't give it."))})
        if powerful:
            await self._audit.record(guild_id, None, "welcome.role_has_powers", member.id,
                                     {"roles": ", ".join(f"<@&{r}>" for r in powerful),
                                      "problem": said(N_(
                                          "The group role has Steward powers (a moderator or "
                                          "exempt role), so I didn't give it."))})
            skipped.extend(powerful)
        try:
            await self._discord.change_roles(guild_id, member.id, safe_add, safe_remove)
        except RolesRefused as exc:
            await self._audit.record(
                guild_id, None, "welcome.roles_failed", member.id,
                {"problem": said(N_("I couldn't change group roles (Discord error {code}). "
                                    "I need Manage Roles, and the group roles must be below "
                                    "my highest role."), code=exc.code)})
            raise BotMissingPermissions(
                tr("I couldn't change your group roles because I'm missing a permission. "
                "I've let the moderators know; your choice wasn't saved.")) from None
        order = [g.id for g in facts]
        by_id = {g.id: g for g in facts}
        return PickResult([by_id[i] for i in sorted(chosen, key=order.index) if i in by_id],
                          safe_add, safe_remove, skipped)

    # --- suggestions

    async def suggest(self, message: MessageFacts) -> str | None:
        """The pointer to reply to a newcomer's on-topic post with (claimed: once per group)."""
        config = self._settings.get(message.guild_id)
        settings = config.welcome
        joined = message.author_joined_at
        if not settings.suggestions or joined is None:
            return None
        now = self._clock.now()
        if now - joined > timedelta(days=settings.suggest_days):
            return None
        state = await self.directory(message.guild_id)
        if message.channel_id in state.channels or message.parent_id in state.channels:
            return None
        hits = state.matcher.match(message.content)
        if not hits:
            return None
        author = self._discord.member(message.guild_id, message.author_id)
        if author is None or author.is_moderator:
            return None
        if await self._do_not_tag(message.guild_id, author.id):
            return None
        if await self._quiet_until(message.guild_id, author.id) is not None:
            log.info("no group suggestion for member %s of guild %s: in a quiet window",
                     author.id, message.guild_id)
            return None
        by_id = {g.id: g for g in state.facts}
        for group_id in hits:
            group = by_id[group_id]
            if group.role_id is not None and group.role_id in author.role_ids:
                continue  # they already follow it
            if not await self.repository.claim_suggestion(message.guild_id, author.id,
                                                          group_id, now):
                continue
            log.info("suggested group %s to member %s in guild %s", group_id, author.id,
                     message.guild_id)
            return rules.suggestion_text(group)
        return None
