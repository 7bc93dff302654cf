"""AutoMod and the trusted role on Discord: the `AutomodPort` of `bot.services.automod`
(rule routes, role changes, the member cache) and the entry points that turn gateway events
and alert messages into the service's facts.

A block reaches Steward twice: as AUTO_MODERATION_ACTION_EXECUTION (one per action of the
rule) and as the alert message (type 24 AUTO_MODERATION_ACTION) in the queue channel. Both
are keyed by the alert message's id, so they make one hold; the alert alone is what is left
of a block that happened while Steward was offline (read by the link-hold catch-up).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import discord

from bot.adapters.linkhold import LinkHoldAdapter
from bot.i18n import N_
from bot.services.automod import AutomodError, AutomodService, MemberNow, RoleCheck, RoleOutcome
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import BlockFacts, Someone
from bot.ui.language import language_for

log = logging.getLogger(__name__)

UNKNOWN_MEMBER = 10007
UNKNOWN_ROLE = 10011
RULE_REASON = N_("Steward: keep the new-member link rule in sync with /linkhold settings")


class AutomodAdapter:
    """Discord side of the trusted role, the owned AutoMod rule and blocked posts."""

    def __init__(self, client: discord.Client, settings: GuildSettingsService,
                 linkhold: LinkHoldAdapter) -> None:
        self._client = client
        self._settings = settings
        self._linkhold = linkhold
        self._service: AutomodService | None = None

    def serve(self, service: AutomodService) -> None:
        """Hand events to `service` (built after this adapter, which it uses)."""
        self._service = service
        self._linkhold.on_alert = self.on_alert_message

    @property
    def service(self) -> AutomodService:
        """The service this adapter feeds."""
        assert self._service is not None, "serve() was not called"
        return self._service

    # --- entry points -------------------------------------------------------------------------

    async def on_member_join(self, member: discord.Member) -> None:
        """A member joined: store the join date, schedule their promotion."""
        if member.bot or member.joined_at is None:
            return
        await self.service.member_joined(member.guild.id, member.id, member.joined_at)

    async def on_automod_action(self, execution: discord.AutoModAction) -> bool:
        """An action of a rule ran; a block by Steward's rule becomes a hold (True if new)."""
        service = self.service
        guild_id = execution.guild_id
        if not service.is_ours(guild_id, rule_id=execution.rule_id):
            # Right after a start the rule may not be known yet: look once.
            if (service.state(guild_id).rule_id is not None
                    or not self._settings.get(guild_id).linkhold.automod):
                return False
            await service.sync_rule(guild_id)
            if not service.is_ours(guild_id, rule_id=execution.rule_id):
                return False
        kind = execution.action.type
        alert = execution.alert_system_message_id
        if kind == discord.AutoModRuleActionType.block_message:
            # The alert action's event follows with the alert's id; only a rule without one
            # (no queue channel) is held from the block action itself.
            if self._settings.get(guild_id).linkhold.queue_channel is not None:
                return False
        elif kind != discord.AutoModRuleActionType.send_alert_message:
            return False
        if execution.channel_id is None:
            return False
        if not execution.content:
            log.warning("AutoMod blocked a post in guild %s but its text did not arrive "
                        "(Message Content intent?)", guild_id)
            return False
        key = alert if alert is not None else service.synthetic_key()
        block = self._block(guild_id, execution.channel_id, execution.user_id,
                            execution.content, key, execution.matched_content or "")
        return await service.blocked(block, await self._someone(guild_id, execution.user_id))

    async def on_alert_message(self, message: discord.Message) -> bool:
        """An alert message (type 24) read after downtime: the block it reports becomes a hold
        unless the live event already made one (True if new)."""
        guild = message.guild
        if guild is None or message.type != discord.MessageType.auto_moderation_action:
            return False
        facts = alert_facts(message)
        if facts is None:
            return False
        rule_name, channel_id, content, matched = facts
        if not self.service.is_ours(guild.id, rule_name=rule_name) or not content:
            return False
        block = self._block(guild.id, channel_id, message.author.id, content, message.id,
                            matched)
        return await self.service.blocked(block, await self._someone(guild.id,
                                                                     message.author.id))

    async def on_rule_delete(self, rule: discord.AutoModRule) -> None:
        """A rule was deleted: Steward's own comes back."""
        await self.service.rule_deleted(rule.guild.id, rule.id)

    async def on_rule_update(self, rule: discord.AutoModRule) -> None:
        """A rule changed: Steward's own is put back as the settings say."""
        me = self.bot_user_id()
        if me is None or rule.creator_id != me:
            return
        rules = await self.list_rules(rule.guild.id)
        for found in rules:
            if int(found["id"]) == rule.id:
                await self.service.rule_updated(rule.guild.id, found)

    def _block(self, guild_id: int, channel_id: int, member_id: int, content: str, key: int,
               matched: str) -> BlockFacts:
        guild = self._client.get_guild(guild_id)
        channel = guild.get_channel_or_thread(channel_id) if guild is not None else None
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        if isinstance(channel, discord.ForumChannel):  # a blocked forum post: no thread was
            parent = channel.id  # made, and the event does not carry the title they typed
        return BlockFacts(guild_id=guild_id, channel_id=channel_id, member_id=member_id,
                          content=content, key=key, matched=matched, parent_id=parent)

    async def _someone(self, guild_id: int, member_id: int) -> Someone | None:
        return await self._linkhold.member(guild_id, member_id)

    # --- AutomodPort: rules -------------------------------------------------------------------

    def bot_user_id(self) -> int | None:
        """Steward's own user id."""
        user = self._client.user
        return user.id if user is not None else None

    def guild_ids(self) -> list[int]:
        """The servers Steward is in."""
        return [g.id for g in self._client.guilds]

    async def list_rules(self, guild_id: int) -> list[dict[str, Any]]:
        """The server's AutoMod rules."""
        try:
            return [dict(r) for r in
                    await self._client.http.get_auto_moderation_rules(guild_id)]
        except discord.HTTPException as exc:
            raise AutomodError(exc.status, exc.code, exc.text) from None

    async def create_rule(self, guild_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Create Steward's rule."""
        try:
            return dict(await self._client.http.create_auto_moderation_rule(
                guild_id, reason=RULE_REASON, **payload))
        except discord.HTTPException as exc:
            raise AutomodError(exc.status, exc.code, exc.text) from None

    async def edit_rule(self, guild_id: int, rule_id: int,
                        payload: dict[str, Any]) -> dict[str, Any]:
        """Update Steward's rule (its trigger type can't change, so it isn't sent)."""
        body = {k: v for k, v in payload.items() if k != "trigger_type"}
        try:
            return dict(await self._client.http.edit_auto_moderation_rule(
                guild_id, rule_id, reason=RULE_REASON, **body))
        except discord.HTTPException as exc:
            raise AutomodError(exc.status, exc.code, exc.text) from None

    async def delete_rule(self, guild_id: int, rule_id: int) -> None:
        """Delete one of Steward's rules (already gone is fine)."""
        try:
            await self._client.http.delete_auto_moderation_rule(guild_id, rule_id,
                                                                reason=RULE_REASON)
        except discord.NotFound:
            return
        except discord.HTTPException as exc:
            raise AutomodError(exc.status, exc.code, exc.text) from None

    # --- AutomodPort: members and roles -------------------------------------------------------

    def member(self, guild_id: int, member_id: int) -> MemberNow | None:
        """A cached member."""
        guild = self._client.get_guild(guild_id)
        member = guild.get_member(member_id) if guild is not None else None
        if member is None:
            return None
        return MemberNow(member.joined_at, frozenset(r.id for r in member.roles))

    async def still_member(self, guild_id: int, member_id: int) -> bool:
        """False only when Discord says the member left."""
        return await self._linkhold.still_member(guild_id, member_id)

    async def add_role(self, guild_id: int, member_id: int, role_id: int,
                       reason: str) -> RoleOutcome:
        """Give a role (one PUT, no member fetch)."""
        return await self._role(self._client.http.add_role, guild_id, member_id, role_id,
                                reason)

    async def remove_role(self, guild_id: int, member_id: int, role_id: int,
                          reason: str) -> RoleOutcome:
        """Take a role away."""
        return await self._role(self._client.http.remove_role, guild_id, member_id, role_id,
                                reason)

    async def _role(self, call: Any, guild_id: int, member_id: int, role_id: int,
                    reason: str) -> RoleOutcome:
        try:
            await call(guild_id, member_id, role_id, reason=reason)
        except discord.Forbidden:
            return "forbidden"
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_ROLE:
                return "missing"
            return "left"
        except discord.HTTPException as exc:
            return exc.status
        return "done"

    def language(self, guild_id: int) -> str:
        """The server's language (its setting, else its preferred locale)."""
        return language_for(self._client, guild_id)

    def cached_joins(self, guild_id: int, role_id: int) -> list[tuple[int, datetime]]:
        """(member id, join date) of cached members without the role (no request)."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return []
        return [(m.id, m.joined_at) for m in guild.members
                if not m.bot and m.joined_at is not None and m.get_role(role_id) is None]

    def role_check(self, guild_id: int, role_id: int | None) -> RoleCheck | None:
        """The trusted role and Steward's rights in the server."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return None
        me = guild.me
        role = guild.get_role(role_id) if role_id is not None else None
        perms = me.guild_permissions
        return RoleCheck(
            exists=role is not None, position=role.position if role is not None else 0,
            managed=role.managed if role is not None else False,
            bot_top_position=me.top_role.position,
            manage_roles=perms.manage_roles, manage_guild=perms.manage_guild)


def alert_facts(message: discord.Message) -> tuple[str, int, str, str] | None:
    """(rule name, channel id, blocked content, matched text) from an alert's embed."""
    for embed in message.embeds:
        fields = {f.name: f.value or "" for f in embed.fields}
        channel = fields.get("channel_id", "")
        if "rule_name" in fields and channel.isdigit():
            return (fields["rule_name"], int(channel), embed.description or "",
                    fields.get("keyword_matched_content", ""))
    return None
