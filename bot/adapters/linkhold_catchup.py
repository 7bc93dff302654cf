"""Link holds after downtime: read what was posted after each server's mark (within a request
budget) and hand it to the adapter's entry points, plus thread names made while away and
AutoMod alerts of blocks that happened meanwhile.

A mixin of `bot.adapters.linkhold.LinkHoldAdapter`, which provides the entry points below.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from bot.adapters.linkhold_facts import app_author, is_member_post
from bot.domain import holds as rules
from bot.routing import is_app_post
from bot.services.linkhold import CatchupPlan, CatchupReport, LinkHoldService

log = logging.getLogger(__name__)

Postable = discord.TextChannel | discord.Thread


class HistoryCatchup:
    """`catch_up` for the link-hold adapter (the `HoldActions.catch_up` port)."""

    _client: discord.Client
    on_alert: Callable[[discord.Message], Awaitable[bool]] | None

    # Provided by the adapter:
    @property
    def service(self) -> LinkHoldService:
        raise NotImplementedError

    async def consider(self, message: discord.Message, *, edited: bool = False,
                       member: discord.Member | None = None, count_post: bool = True,
                       for_user: discord.abc.User | None = None) -> bool:
        raise NotImplementedError

    async def _member(self, guild: discord.Guild, author: discord.abc.User | discord.Object
                      ) -> discord.Member | None:
        raise NotImplementedError

    async def _consider_thread(self, thread: discord.Thread, *, renamed: bool) -> bool:
        raise NotImplementedError

    async def catch_up(self, plan: CatchupPlan) -> CatchupReport:
        """Read what was posted after each guild's mark, within the plan's request budget."""
        limits = plan.limits
        budget = limits.request_budget
        channels = messages = held = 0
        out_of_budget = False
        for guild in self._client.guilds:
            after = plan.after.get(guild.id)
            if after is None:
                continue
            me = guild.me
            held += await self._catch_up_thread_names(guild, after)
            members: dict[int, discord.Member | None] = {}
            readable: list[Postable] = [*guild.text_channels, *guild.threads]
            candidates = [c for c in readable if (c.last_message_id or 0) > after
                          or (isinstance(c, discord.Thread) and c.id > after)]
            for channel in candidates:
                perms = channel.permissions_for(me)
                if not (perms.view_channel and perms.read_message_history):
                    continue
                if budget <= 0:
                    out_of_budget = True
                    break
                channels += 1
                fetched = 0
                try:
                    async for message in channel.history(
                        limit=min(limits.per_channel, budget * 100),
                        after=discord.Object(after), oldest_first=True,
                    ):
                        fetched += 1
                        messages += 1
                        self.service.saw(guild.id, message.id)
                        if (message.type == discord.MessageType.auto_moderation_action
                                and self.on_alert is not None):
                            if await self.on_alert(message):  # a block while Steward was away
                                held += 1
                            continue
                        user: discord.abc.User | None = message.author
                        app = message.author.bot or message.webhook_id is not None
                        if app:  # only a user-installed app's post for a member counts
                            user = (app_author(message, me.id)
                                    if is_app_post(message) else None)
                        if user is None or not is_member_post(message, app=app):
                            continue
                        if user.id not in members:
                            member = guild.get_member(user.id)
                            if member is None:
                                budget -= 1
                                member = await self._member(guild, user)
                            members[user.id] = member
                        if await self.consider(message, member=members[user.id],
                                               count_post=False,
                                               for_user=user if app else None):
                            held += 1
                except discord.HTTPException as exc:
                    log.warning("catch-up could not read channel %s: %s", channel.id, exc.code)
                budget -= max(1, -(-fetched // 100))
            if out_of_budget:
                break
        if out_of_budget:
            log.warning("catch-up stopped at its request budget (%d requests)",
                        limits.request_budget)
        return CatchupReport(channels, messages, held, limits.request_budget - budget,
                             out_of_budget)

    async def _catch_up_thread_names(self, guild: discord.Guild, after: int) -> int:
        """Check the names of text-channel threads created after the mark (while Steward was
        away) like new threads; returns how many were held.

        The threads are the ones Discord sent on connect (every active thread Steward can see,
        the same list as GET /guilds/{id}/threads/active), so this costs no request of the
        budget. Forum posts' titles are checked with their starter messages by the history
        scan. A rename made while away can't be told from an older name, so only new threads
        are checked."""
        held = 0
        for thread in list(guild.threads):
            created = thread.created_at or discord.utils.snowflake_time(thread.id)
            if (thread.owner_id is None or isinstance(thread.parent, discord.ForumChannel)
                    or rules.snowflake_at(created) <= after):
                continue
            if await self._consider_thread(thread, renamed=False):
                held += 1
        return held
