"""New-member link holds: the router handler, raw edits, persistent buttons and `/linkhold`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.routing import PRIORITY_LINKHOLD
from bot.ui.linkhold import HoldButton
from cogs.linkhold._commands import LinkHoldCommands

if TYPE_CHECKING:
    from bot.app import StewardBot

log = logging.getLogger(__name__)


class LinkHold(LinkHoldCommands):
    """Holds new members' link posts; see `bot.services.linkhold` and `bot.adapters.linkhold`."""

    async def cog_load(self) -> None:
        """Load state, take the message route, register the persistent buttons."""
        await self.service.load()
        self.bot.router.add("linkhold", self.adapter.on_message, priority=PRIORITY_LINKHOLD,
                            app_posts=True)
        self.bot.edit_router.add("linkhold", self.adapter.on_edit, priority=PRIORITY_LINKHOLD)
        self.bot.add_dynamic_items(HoldButton)
        if self.bot.is_ready():
            self._start()

    async def cog_unload(self) -> None:
        """Give the route back and save what must survive a restart."""
        self.bot.router.remove("linkhold")
        self.bot.edit_router.remove("linkhold")
        self.bot.remove_dynamic_items(HoldButton)
        await self.service.stop()

    def _start(self) -> None:
        self.bot.background.spawn(self.service.start(), name="linkhold-start")
        self.bot.background.spawn(self.automod.start(), name="automod-start")

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Once connected: finish interrupted holds and catch up on missed messages."""
        self._start()

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """A new thread: a link in a new member's thread name is held."""
        try:
            await self.adapter.on_thread_create(thread)
        except Exception:
            log.exception("could not check new thread %s", thread.id)

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        """A thread renamed (a forum post's title edited): a link put in is held."""
        if before.name == after.name:
            return
        try:
            await self.adapter.on_thread_rename(before.name, after)
        except Exception:
            log.exception("could not check renamed thread %s", after.id)

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """A member left (raw, so uncached members count): close their pending holds."""
        try:
            await self.adapter.on_member_remove(payload.guild_id, payload.user.id)
            await self.automod.member_left(payload.guild_id, payload.user.id)
        except Exception:
            log.exception("could not close the holds of member %s who left guild %s",
                          payload.user.id, payload.guild_id)

    # --- AutoMod and the trusted role (bot.adapters.automod) ----------------------------------

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """A member joined: their promotion to the trusted role is scheduled."""
        try:
            await self.automod_discord.on_member_join(member)
        except Exception:
            log.exception("could not schedule the promotion of member %s", member.id)

    @commands.Cog.listener()
    async def on_automod_action(self, execution: discord.AutoModAction) -> None:
        """AutoMod blocked a post: Steward's rule's blocks become holds."""
        try:
            await self.automod_discord.on_automod_action(execution)
        except Exception:
            log.exception("could not hold the post AutoMod blocked in guild %s",
                          execution.guild_id)

    @commands.Cog.listener()
    async def on_automod_rule_delete(self, rule: discord.AutoModRule) -> None:
        """A rule was deleted: Steward's own is re-created."""
        try:
            await self.automod_discord.on_rule_delete(rule)
        except Exception:
            log.exception("could not re-create the AutoMod rule of guild %s", rule.guild.id)

    @commands.Cog.listener()
    async def on_automod_rule_update(self, rule: discord.AutoModRule) -> None:
        """A rule was edited: Steward's own is put back as the settings say."""
        try:
            await self.automod_discord.on_rule_update(rule)
        except Exception:
            log.exception("could not check the AutoMod rule of guild %s", rule.guild.id)


async def setup(bot: StewardBot) -> None:
    """Add the cog with the service the composition root built."""
    await bot.add_cog(LinkHold(bot, bot.services.linkhold, bot.services.linkhold_discord))
