"""Link holds on Discord: messages and members -> the service's facts, and its `HoldActions`
carried out (delete, DM, notices, queue cards, timeouts and bans, history reads after downtime).

The router handler `on_message` runs for every guild message: it asks the pure fast-path rule
(`bot.domain.holds.needs_check`) first, from cached settings and the join date the gateway
sent, so an established member's message never reaches the service. The facts are built in
`bot.adapters.linkhold_facts` (one builder per kind); thread names arrive through
`on_thread_create` / `on_thread_rename`, user-installed apps' posts through the router.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import discord

from bot import messaging
from bot.adapters.linkhold_catchup import HistoryCatchup
from bot.adapters.linkhold_facts import (
    app_author,
    channel_ids,
    is_member_post,
    member_facts,
    post_facts,
    thread_facts,
)
from bot.clock import Clock
from bot.db.holds import Hold
from bot.domain import holds as rules
from bot.i18n import N_
from bot.permissions import is_moderator
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import (
    LinkHoldService,
    QueueCard,
    Someone,
)
from bot.services.linkhold_ports import Action, Delivery, PunishOutcome, Removal
from bot.ui.language import language_for_member, speaking_server
from bot.ui.linkhold import (
    card_embed,
    card_layout,
    forgotten_embed,
    forgotten_layout,
    hold_controls,
)
from bot.ui.linkhold_previews import preview_files, previewed

log = logging.getLogger(__name__)

BAN_DELETE_SECONDS = 24 * 3600
UNKNOWN_MEMBER = 10007
REMOVE_REASON = N_("Steward: held a new member's link post for moderator review")

Postable = discord.TextChannel | discord.Thread


class LinkHoldAdapter(HistoryCatchup):
    """Entry points from the gateway, and the service's `HoldActions` on Discord."""

    def __init__(self, client: discord.Client, settings: GuildSettingsService, clock: Clock
                 ) -> None:
        self._client = client
        self._settings = settings
        self._clock = clock
        self._service: LinkHoldService | None = None
        # Alert messages of AutoMod blocks read after downtime (bot.adapters.automod).
        self.on_alert: Callable[[discord.Message], Awaitable[bool]] | None = None

    def serve(self, service: LinkHoldService) -> None:
        """Hand messages to `service` (built after this adapter, which it uses)."""
        self._service = service

    @property
    def service(self) -> LinkHoldService:
        """The service this adapter feeds."""
        assert self._service is not None, "serve() was not called"
        return self._service

    # --- entry points -------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> bool:
        """Router handler: hold the post if a new member's links need review (True if held)."""
        guild = message.guild
        if guild is None:
            return False
        service = self.service
        service.saw(guild.id, message.id)
        author = message.author
        joined = author.joined_at if isinstance(author, discord.Member) else None
        if not rules.needs_check(self._settings.get(guild.id).linkhold, joined,
                                 self._clock.now()):
            return False
        if author.bot:  # the router lets only user-installed apps' posts through
            return await self._on_app_post(message, guild)
        if not is_member_post(message):
            return False  # Discord's system messages (joins, pins, thread created...)
        return await self.consider(message)

    async def _on_app_post(self, message: discord.Message, guild: discord.Guild) -> bool:
        """A user-installed app's post: the member who ran the command is the author."""
        me = self._client.user
        user = app_author(message, me.id if me is not None else None)
        if user is None or not is_member_post(message, app=True):
            return False
        member = guild.get_member(user.id)
        joined = member.joined_at if member is not None else None
        if not rules.needs_check(self._settings.get(guild.id).linkhold, joined,
                                 self._clock.now()):
            return False
        return await self.consider(message, member=member, for_user=user)

    async def on_thread_create(self, thread: discord.Thread) -> bool:
        """A new text-channel thread: its name is its owner's words (True if held). A forum
        post's title is checked with its starter message instead."""
        if isinstance(thread.parent, discord.ForumChannel):
            return False
        return await self._consider_thread(thread, renamed=False)

    async def on_thread_rename(self, before: str, thread: discord.Thread) -> bool:
        """A thread (a forum post) was renamed: a link put in its title is held (True if)."""
        if before == thread.name:
            return False
        return await self._consider_thread(thread, renamed=True)

    async def _consider_thread(self, thread: discord.Thread, *, renamed: bool) -> bool:
        guild = thread.guild
        owner_id = thread.owner_id
        if owner_id is None:
            return False
        member = guild.get_member(owner_id)
        joined = member.joined_at if member is not None else None
        now = self._clock.now()
        if not rules.needs_check(self._settings.get(guild.id).linkhold, joined, now):
            return False
        if member is None:
            member = await self._member(guild, discord.Object(owner_id))
        author = self.someone(guild, owner_id, member, thread,
                              is_bot=member.bot if member is not None else False)
        # A new thread's name is keyed by the thread; a rename is its own post (a thread can
        # be renamed more than once), keyed by its moment and words.
        key = rules.rename_key(thread.name, now) if renamed else thread.id
        return await self.service.consider(thread_facts(thread, renamed=renamed, key=key), author,
                                           count_post=False)

    async def on_edit(self, message: discord.Message) -> bool:
        """A message was edited (raw event): a new member editing a link in is held the same."""
        if message.guild is None or message.author.bot or message.webhook_id is not None:
            return False
        if message.edited_at is None:
            return False  # embed unfurls and other non-edits
        if not self._settings.get(message.guild.id).linkhold.enabled:
            return False
        return await self.consider(message, edited=True)

    async def on_member_remove(self, guild_id: int, member_id: int) -> None:
        """A member left: close their pending holds."""
        await self.service.member_left(guild_id, member_id)

    async def consider(
        self,
        message: discord.Message,
        *,
        edited: bool = False,
        member: discord.Member | None = None,
        count_post: bool = True,
        for_user: discord.abc.User | None = None,
    ) -> bool:
        """Build the facts of one message and hand them to the service (True if held).
        `for_user`: the member a user-installed app posted it for (the author who counts)."""
        guild = message.guild
        assert guild is not None
        user = for_user or message.author
        if member is None:
            member = await self._member(guild, user)
        author = self.someone(guild, user.id, member, message.channel, is_bot=user.bot)
        facts = post_facts(message, edited=edited,
                           author_id=for_user.id if for_user is not None else None)
        return await self.service.consider(facts, author, count_post=count_post)

    def someone(self, guild: discord.Guild, user_id: int, member: discord.Member | None,
                channel: object = None, *, is_bot: bool = False) -> Someone:
        """A member's facts (with the moderator check in `channel`, when given)."""
        moderator = False
        if member is not None:
            core = self._settings.get(guild.id).core
            perms = (channel.permissions_for(member)
                     if isinstance(channel, discord.abc.GuildChannel | discord.Thread) else None)
            moderator = is_moderator(member, core, perms)
        facts = member_facts(guild, user_id, member, moderator=moderator, is_bot=is_bot)
        return Someone(facts, member.display_name if member is not None else None)

    async def _member(self, guild: discord.Guild, author: discord.abc.User | discord.Object
                      ) -> discord.Member | None:
        if isinstance(author, discord.Member):
            return author
        cached = guild.get_member(author.id)
        if cached is not None:
            return cached
        try:
            return await guild.fetch_member(author.id)
        except discord.HTTPException:
            return None

    # --- HoldActions: lookups -------------------------------------------------------------------

    def guild_ids(self) -> list[int]:
        """The servers Steward is in."""
        return [g.id for g in self._client.guilds]

    def guild_name(self, guild_id: int) -> str | None:
        """The server's name (None: not in that server)."""
        guild = self._client.get_guild(guild_id)
        return guild.name if guild is not None else None

    async def member(self, guild_id: int, member_id: int,
                     channel_id: int | None = None) -> Someone | None:
        """A member's facts (cache, else Discord); None when Steward isn't in that server."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return None
        member = await self._member(guild, discord.Object(member_id))
        channel = guild.get_channel_or_thread(channel_id) if channel_id else None
        return self.someone(guild, member_id, member, channel)

    def channel_ids(self, guild_id: int, channel_id: int) -> tuple[int, ...]:
        """A channel with its parent and category (just itself when not cached)."""
        guild = self._client.get_guild(guild_id)
        channel = guild.get_channel_or_thread(channel_id) if guild is not None else None
        return channel_ids(channel) if channel is not None else (channel_id,)

    async def still_member(self, guild_id: int, member_id: int) -> bool:
        """False only when Discord says the member is unknown (they left)."""
        guild = self._client.get_guild(guild_id)
        if guild is None or guild.get_member(member_id) is not None:
            return True
        try:
            await self._client.http.get_member(guild_id, member_id)
        except discord.NotFound as exc:
            return exc.code != UNKNOWN_MEMBER
        except discord.HTTPException as exc:
            log.info("could not check member %s of guild %s: %s", member_id, guild_id,
                     exc.status)
        return True

    async def fetch_file(self, url: str) -> bytes | None:
        """Download an attachment (None: the download failed)."""
        try:
            return await self._client.http.get_from_cdn(url)
        except (discord.HTTPException, OSError):
            return None

    # --- HoldActions: changes ---------------------------------------------------------------------

    async def remove_post(self, guild_id: int, channel_id: int, message_id: int, *,
                          forum: bool) -> Removal:
        """Delete the held message (a held forum starter: its whole thread)."""
        try:
            if forum:
                await self._client.http.delete_channel(channel_id, reason=REMOVE_REASON)
            else:
                await self._client.http.delete_message(channel_id, message_id,
                                                       reason=REMOVE_REASON)
        except discord.NotFound:
            return "gone"
        except discord.HTTPException as exc:
            log.warning("could not remove held message %s in channel %s (guild %s): %s %s",
                        message_id, channel_id, guild_id, exc.status, exc.code)
            return "failed"
        return "removed"

    async def rename_thread(self, guild_id: int, thread_id: int, name: str) -> Removal:
        """Rename a thread whose name was held (its links taken out; its posts stay)."""
        try:
            await self._client.http.edit_channel(thread_id, reason=REMOVE_REASON, name=name)
        except discord.NotFound:
            return "gone"
        except discord.HTTPException as exc:
            log.warning("could not rename thread %s (guild %s): %s %s",
                        thread_id, guild_id, exc.status, exc.code)
            return "failed"
        return "removed"

    def member_language(self, guild_id: int, member_id: int) -> str:
        """The language for a DM to this member (theirs when known, else the server's)."""
        return language_for_member(self._client, guild_id, member_id)

    async def send_dm(self, member_id: int, text: str) -> bool:
        """DM a member; False when their DMs are closed (50007) or the DM failed."""
        try:
            user = self._client.get_user(member_id) or await self._client.fetch_user(member_id)
            await messaging.send(user, text)
        except discord.HTTPException as exc:
            log.info("could not DM member %s (code %s)", member_id, exc.code)
            return False
        return True

    async def post_notice(self, guild_id: int, channel_id: int | None, member_id: int,
                          text: str, *, or_system_channel: bool) -> tuple[int, int] | None:
        """Post a notice pinging only the member; returns (channel id, message id)."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return None
        target: object = guild.get_channel_or_thread(channel_id) if channel_id else None
        if target is None and or_system_channel:
            target = guild.system_channel
        if not isinstance(target, Postable):
            return None
        try:
            notice = await messaging.send(target, text,
                                          allowed_mentions=messaging.ping_only(member_id))
        except discord.HTTPException as exc:
            log.warning("could not post the hold notice in channel %s: %s", target.id, exc.code)
            return None
        return target.id, notice.id

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete one of Steward's messages (a notice); failures are only logged."""
        try:
            await self._client.http.delete_message(channel_id, message_id)
        except discord.HTTPException as exc:
            log.info("could not delete message %s: %s", message_id, exc.code)

    def _joined(self, hold: Hold) -> datetime | None:
        guild = self._client.get_guild(hold.guild_id)
        member = guild.get_member(hold.member_id) if guild is not None else None
        return member.joined_at if member is not None else None

    async def post_card(self, channel_id: int, card: QueueCard) -> int | None:
        """Post a queue card (Components V2; held images uploaded behind a spoiler when
        Steward may Attach Files there); returns its message id (None: channel unusable)."""
        channel = self._client.get_channel(channel_id)
        if not isinstance(channel, Postable):
            return None
        joined = self._joined(card.hold)
        files = preview_files(card) if channel.permissions_for(channel.guild.me).attach_files \
            else []
        with speaking_server(self._client, card.hold.guild_id):
            layout = card_layout(card, joined, preview=bool(files))
        try:
            sent = await channel.send(view=layout, files=files, allowed_mentions=messaging.NOBODY)
        except discord.HTTPException as exc:
            log.warning("could not post hold %s to the queue channel %s: %s",
                        card.hold.id, channel.id, exc.code)
            return None
        return sent.id

    async def edit_card(self, card: QueueCard) -> None:
        """Re-render a posted queue card (its images stay while it previews them; a purged
        card drops them; a card posted without them is edited without them on a 400)."""
        hold, joined = card.hold, self._joined(card.hold)
        keep: dict[str, Any] = {} if previewed(card) else {"attachments": []}
        with speaking_server(self._client, hold.guild_id):
            plain = card_layout(card, joined, preview=False)
            layout = card_layout(card, joined)
            fallback = {"embed": card_embed(card, joined),
                        "view": hold_controls(hold, card.active)}
        await self._edit_card(hold, layout, keep, "update",
                              fallbacks=[({"view": plain, "content": None, "embeds": [],
                                           "attachments": []}), fallback])

    async def blank_card(self, hold: Hold) -> None:
        """Replace a forgotten member's queue card with a note: no buttons, no images (the
        hold itself is deleted next)."""
        with speaking_server(self._client, hold.guild_id):
            layout, embed = forgotten_layout(hold), forgotten_embed(hold)
        await self._edit_card(hold, layout, {"attachments": []}, "blank",
                              fallbacks=[{"embed": embed, "view": None, "attachments": []}])

    async def _edit_card(self, hold: Hold, layout: discord.ui.LayoutView,
                         extra: dict[str, Any], what: str,
                         fallbacks: Sequence[dict[str, Any]]) -> None:
        """Edit a card into `layout`; on a 400 try each fallback in turn (a card without its
        previews; a card from before Components V2 that Discord won't convert: an embed)."""
        assert hold.queue_channel_id is not None and hold.queue_message_id is not None
        message = self._client.get_partial_messageable(
            hold.queue_channel_id, guild_id=hold.guild_id).get_partial_message(
            hold.queue_message_id)
        for attempt in [{"content": None, "embeds": [], "view": layout, **extra}, *fallbacks]:
            try:
                await message.edit(**attempt)
                return
            except discord.HTTPException as exc:
                if exc.status != 400 or attempt is fallbacks[-1]:
                    log.warning("could not %s the queue message of hold %s: %s", what,
                                hold.id, exc.code)
                    return

    async def post_text(self, channel_ids: Sequence[int], text: str) -> Delivery:
        """Post `text` (pinging nobody) in the first of these channels that exists."""
        for channel_id in channel_ids:
            channel = self._client.get_channel(channel_id)
            if isinstance(channel, Postable):
                try:
                    await messaging.send(channel, text)
                except discord.HTTPException as exc:
                    log.warning("could not post in channel %s: %s", channel_id, exc.code)
                    return "failed"
                return "sent"
        return "nowhere"

    async def ping_reviewers(self, guild_id: int, channel_id: int, card_message_id: int,
                             role_id: int, text: str) -> int | None:
        """Reply to a queue card pinging exactly `role_id` (never @everyone, users or the
        card's author); None when it could not be sent."""
        if role_id == guild_id:
            return None
        channel = self._client.get_partial_messageable(channel_id, guild_id=guild_id)
        mentions = discord.AllowedMentions(everyone=False, users=False,
                                           roles=[discord.Object(role_id)], replied_user=False)
        reference = discord.MessageReference(message_id=card_message_id, channel_id=channel_id,
                                             guild_id=guild_id, fail_if_not_exists=False)
        try:
            sent = await messaging.send(channel, text, allowed_mentions=mentions,
                                        reference=reference)
        except discord.HTTPException as exc:
            log.warning("could not ping the reviewers in channel %s: %s %s", channel_id,
                        exc.status, exc.code)
            return None
        return sent.id

    async def punish(self, guild_id: int, member_id: int, action: Action, until: datetime,
                     reason: str) -> PunishOutcome:
        """Time a member out until `until`, or ban them (deleting their last day of messages)."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return "left"
        try:
            if action == "timeout":
                member = await self._member(guild, discord.Object(member_id))
                if member is None:
                    return "left"
                await member.timeout(until, reason=reason)
            else:
                await guild.ban(discord.Object(member_id), reason=reason,
                                delete_message_seconds=BAN_DELETE_SECONDS)
        except discord.Forbidden:
            return "forbidden"
        except discord.HTTPException as exc:
            return exc.status
        return "done"
