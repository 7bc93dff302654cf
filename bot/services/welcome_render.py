"""The words of a welcome: one member's (interests first) or a burst's, from the templates."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import welcome as rules
from bot.domain.templates import FALLBACK_ACTION, defuse_mass_mentions, render_or_default
from bot.domain.text import MESSAGE_LIMIT, truncate
from bot.domain.welcome_facts import GuildFacts, MemberFacts
from bot.i18n import current_language, tr
from bot.services.welcome_groups import SupportGroups
from bot.services.welcome_ports import Audit, Settings
from config.guild import GuildConfig


class WelcomeRenderer:
    """Renders welcome texts from a guild's settings and its group directory.

    A saved template that fails at send time gives way to the default, and the mod log says
    so (`template.fallback`): a member is never left unwelcomed by a broken template.
    """

    def __init__(self, settings: Settings, groups: SupportGroups, audit: Audit) -> None:
        self._settings = settings
        self._groups = groups
        self._audit = audit

    async def _fell_back(self, guild_id: int, setting: str, member_id: int | None,
                         report: bool) -> None:
        if report:
            await self._audit.record(guild_id, None, FALLBACK_ACTION, member_id,
                                     {"setting": setting})

    def _values(self, guild: GuildFacts, config: GuildConfig,
                groups: Sequence[rules.GroupFacts]) -> rules.WelcomeValues:
        rules_channel = config.core.rules_channel
        link_days = config.linkhold.hold_days if config.linkhold.enabled else None
        return rules.WelcomeValues(
            server=guild.name,
            member_count=guild.member_count,
            groups=rules.directory_lines(groups),
            rules=f"<#{rules_channel}>" if rules_channel else tr("the server rules"),
            link_days=link_days or None,
        )

    async def single(self, guild: GuildFacts, member: MemberFacts, *,
                     report: bool = True) -> str:
        """The welcome text for one member (their known interests first); `report=False`
        (a preview) records no fallback."""
        config = self._settings.get(guild.id)
        facts = (await self._groups.directory(guild.id)).facts
        mine = rules.groups_with_roles(facts, member.role_ids)
        ordered = mine + [g for g in facts if g not in mine]
        values = self._values(guild, config, ordered)
        default = rules.default_template(link_days=values.link_days, has_groups=bool(facts))
        template = (config.welcome.language_templates.get(current_language())
                    or config.welcome.template)
        text, failed = render_or_default(template, default, rules.member_values(
            values, member.mention, member.display_name))
        if failed:
            await self._fell_back(guild.id, "welcome.template", member.id, report)
        if mine:
            lines = "\n".join(rules.interest_lines(mine))
            text = truncate(defuse_mass_mentions(text + "\n" + lines), MESSAGE_LIMIT)
        return text

    async def burst(self, guild: GuildFacts, member_ids: Sequence[int], *,
                    report: bool = True) -> str:
        """The welcome text greeting several members at once."""
        config = self._settings.get(guild.id)
        facts = (await self._groups.directory(guild.id)).facts
        values = self._values(guild, config, facts)
        default = rules.default_burst_template(link_days=values.link_days)
        template = (config.welcome.language_burst_templates.get(current_language())
                    or config.welcome.burst_template)
        text, failed = render_or_default(template, default,
                                         rules.burst_values(values,
                                                            [f"<@{m}>" for m in member_ids]))
        if failed:
            await self._fell_back(guild.id, "welcome.burst_template", None, report)
        return text
