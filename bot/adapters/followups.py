"""Follow-ups on Discord: messages and channels -> the domain's facts; the service's actions.

The facts are built here and only here, one builder per kind: `seen_message` (a message where
an answer may come), `forum_post` (a new forum post, for automatic check-ins), `place_of` (a
channel or thread), `question` (what a moderator asks about) and `op_facts` (who the original
poster is: the thread owner or the replied-to author, or the member a repost was published
for). `FollowupAdapter` implements the service's `FollowupDiscord` port. "Gone" is decided
only from Discord's answers to a fetch (10007 Unknown Member, 10003 Unknown Channel), never
from discord.py's cache, which misses uncached members and archived threads.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Protocol

import discord

from bot import messaging
from bot.domain import followups as rules
from bot.domain.followups import QuestionFacts, SeenMessage
from bot.errors import BotMissingPermissions, InvalidInput, NotFound
from bot.i18n import tr
from bot.services.followups import ForumPost
from bot.services.followups_ports import NoAccess, Place, PlaceGone, Question
from bot.ui.followups import notify_view, stop_custom_id, stop_view

log = logging.getLogger(__name__)

UNKNOWN_MEMBER = 10007
UNKNOWN_CHANNEL = 10003
HISTORY_SCAN_LIMIT = 500  # messages read to find an answer, or the replies to a forum post
OWN_MESSAGE_SCAN_LIMIT = 100  # recent messages read to find our own earlier send

Postable = discord.TextChannel | discord.Thread


class RepostRecord(Protocol):
    """A post Steward published for a member."""

    @property
    def member_id(self) -> int:
        """Whose words they are."""
        ...


class RepostLookup(Protocol):
    """The repost service's records (bot.services.repost)."""

    async def find_by_message(self, message_id: int) -> RepostRecord | None:
        """The repost one of whose parts is `message_id` (or whose created thread it is)."""
        ...


# --- facts -----------------------------------------------------------------------------------


def seen_message(message: discord.Message) -> SeenMessage:
    """A message where an answer may come."""
    reply_to = message.reference.message_id if message.reference is not None else None
    return SeenMessage(message.id, message.channel.id, message.author.id, reply_to)


def forum_post(message: discord.Message) -> ForumPost | None:
    """The starter message of a new thread (a forum post), or None for any other message."""
    channel = message.channel
    if (not isinstance(channel, discord.Thread) or message.id != channel.id
            or message.guild is None or channel.parent_id is None):
        return None
    return ForumPost(message.guild.id, channel.id, channel.parent_id, message.author.id)


def place_of(channel: object) -> Place:
    """A channel or thread as this object shows it."""
    if isinstance(channel, discord.Thread):
        return Place(channel.id, is_thread=True, locked=bool(channel.locked),
                     archived=bool(channel.archived))
    channel_id = getattr(channel, "id", 0)
    return Place(int(channel_id), postable=isinstance(channel, discord.TextChannel))


def question(message: discord.Message) -> Question:
    """What a moderator asks the original poster about."""
    assert message.guild is not None
    return Question(
        guild_id=message.guild.id, message_id=message.id, place=place_of(message.channel),
        author_id=message.author.id,
        by_member=not message.author.bot and message.webhook_id is None,
        content=message.content or "", jump_url=message.jump_url,
    )


class FollowupAdapter:
    """discord.py for follow-ups: the `FollowupDiscord` port, and the facts that need Discord."""

    def __init__(self, client: discord.Client, reposts: RepostLookup) -> None:
        self.client = client
        self.reposts = reposts

    @property
    def bot_user_id(self) -> int | None:
        """Steward's own user id, once connected."""
        return self.client.user.id if self.client.user else None

    # --- facts that need a lookup

    async def op_facts(self, message: discord.Message) -> QuestionFacts:
        """Who the original poster of a question could be (rules.find_op decides)."""
        channel = message.channel
        bot_id = self.bot_user_id or 0
        if isinstance(channel, discord.Thread):
            reposted = await self._reposted_member(channel.id)
            owner = channel.owner_id
            is_app = (owner == bot_id or reposted is not None
                      or await self._posted_by_webhook(channel))
            return QuestionFacts(
                in_thread=True, thread_owner_id=owner, replied_author_id=None,
                candidate_is_app=is_app, reposted_member_id=reposted,
                question_author_id=message.author.id,
            )
        replied = await self._replied_message(message)
        reposted = await self._reposted_member(replied.id) if replied is not None else None
        is_app = replied is not None and (
            replied.webhook_id is not None or replied.author.id == bot_id
            or reposted is not None
        )
        return QuestionFacts(
            in_thread=False, thread_owner_id=None,
            replied_author_id=replied.author.id if replied is not None else None,
            candidate_is_app=is_app, reposted_member_id=reposted,
            question_author_id=message.author.id,
        )

    async def _reposted_member(self, message_id: int) -> int | None:
        record = await self.reposts.find_by_message(message_id)
        return None if record is None else record.member_id

    async def _posted_by_webhook(self, thread: discord.Thread) -> bool:
        """A forum post a webhook started (its owner is then the webhook, not a member)."""
        if not isinstance(thread.parent, discord.ForumChannel) or thread.owner is not None:
            return False  # webhooks start threads only in forums; a cached owner is a member
        starter = thread.starter_message
        if starter is None:
            try:
                starter = await thread.fetch_message(thread.id)
            except discord.HTTPException:
                return False
        return starter.webhook_id is not None

    @staticmethod
    async def _replied_message(message: discord.Message) -> discord.Message | None:
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        if isinstance(reference.resolved, discord.Message):
            return reference.resolved
        try:
            return await message.channel.fetch_message(reference.message_id)
        except discord.NotFound:
            return None

    async def fetch_question(self, guild_id: int, link: str) -> discord.Message:
        """The message a link points at, in this guild."""
        parsed = rules.parse_message_link(link)
        if parsed is None:
            raise InvalidInput(tr("Please paste a message link (right-click the message → "
                               "Copy Message Link)."))
        if parsed.guild_id != guild_id:
            raise InvalidInput(tr("That message link is from another server."))
        try:
            channel = await self.client.fetch_channel(parsed.channel_id)
            if not isinstance(channel, Postable):
                raise InvalidInput(tr("That link isn't to a message in a text channel or thread."))
            return await channel.fetch_message(parsed.message_id)
        except discord.NotFound:
            raise NotFound(tr("I couldn't find that message. It may have been deleted.")) from None
        except discord.Forbidden:
            raise BotMissingPermissions(tr("I can't read that channel.")) from None

    # --- the port: reading

    def _messageable(self, channel_id: int) -> discord.abc.Messageable:
        cached = self.client.get_channel(channel_id)
        if isinstance(cached, Postable):
            return cached
        return self.client.get_partial_messageable(channel_id)

    async def member_present(self, guild_id: int, user_id: int) -> bool:
        """Asks Discord (not the cache): False only on 10007 Unknown Member."""
        try:
            await self.client.http.get_member(guild_id, user_id)
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MEMBER:
                return False
            raise
        return True

    async def place(self, channel_id: int) -> Place | None:
        """The channel as Discord sees it now; None when Discord says it is gone."""
        try:
            channel = await self.client.fetch_channel(channel_id)
        except discord.NotFound as exc:
            if exc.code in (UNKNOWN_CHANNEL, 0):
                return None
            raise
        except discord.Forbidden:
            raise NoAccess from None
        return place_of(channel)

    async def history_after(self, channel_id: int, after_id: int) -> AsyncIterator[SeenMessage]:
        """Messages after `after_id`, oldest first (at most HISTORY_SCAN_LIMIT)."""
        channel = self._messageable(channel_id)
        async for message in channel.history(limit=HISTORY_SCAN_LIMIT, oldest_first=True,
                                             after=discord.Object(after_id)):
            yield seen_message(message)

    async def reply_authors(self, channel_id: int) -> list[int]:
        """Authors of the replies to a forum post, oldest first, bots and webhooks left out."""
        channel = self._messageable(channel_id)
        return [m.author.id async for m in channel.history(
            limit=HISTORY_SCAN_LIMIT, oldest_first=True, after=discord.Object(channel_id))
            if not m.author.bot and m.webhook_id is None]

    async def find_reminder_message(self, channel_id: int, reminder_id: int) -> int | None:
        """Our message for `reminder_id` among the channel's recent messages (crash recovery)."""
        marker = stop_custom_id(reminder_id)
        me = self.bot_user_id or 0
        try:
            async for message in self._messageable(channel_id).history(
                    limit=OWN_MESSAGE_SCAN_LIMIT):
                if message.author.id == me and _has_component(message, marker):
                    return message.id
        except discord.Forbidden:
            log.warning("reminder %s: can't read history to check for an earlier send",
                        reminder_id)
        return None

    # --- the port: acting

    async def reopen(self, channel_id: int) -> None:
        """Unarchive a thread (for the one message about to be posted)."""
        await self.client.http.edit_channel(channel_id, archived=False)

    async def post_ask(self, channel_id: int, text: str, op_id: int, followup_id: int) -> int:
        """The tag under a question: pings only the OP, carries "Notify me when they reply"."""
        message = await messaging.send(self._messageable(channel_id), text,
                                       allowed_mentions=messaging.ping_only(op_id),
                                       view=notify_view(followup_id))
        return message.id

    async def post_tag(self, channel_id: int, text: str, member_id: int,
                       reminder_id: int) -> int:
        """A check-in or reminder: pings only the member, carries "Please don't remind me"."""
        try:
            # Same nonce on every attempt: Discord returns the first message instead of
            # posting again when a retry follows a send whose answer was lost (minutes only).
            message = await messaging.send(self._messageable(channel_id), text,
                                           view=stop_view(reminder_id),
                                           allowed_mentions=messaging.ping_only(member_id),
                                           nonce=f"steward-r{reminder_id}")
        except discord.Forbidden:
            raise NoAccess from None
        except discord.NotFound:
            raise PlaceGone from None
        return message.id

    async def dm(self, user_id: int, text: str) -> bool:
        """DM a member (pinging nobody); False when Discord refuses (e.g. 50007 closed DMs)."""
        try:
            user = await self.client.fetch_user(user_id)
            await messaging.send(user, text)
        except discord.HTTPException as exc:
            log.info("could not DM subscriber %s (%s); pinging in the thread instead",
                     user_id, exc.code)
            return False
        return True

    async def post_notice(self, channel_id: int, text: str, ping_ids: list[int]) -> None:
        """Post pinging exactly `ping_ids`; a channel that is gone or a refusal is logged."""
        channel = self.client.get_channel(channel_id)
        if not isinstance(channel, Postable):
            try:
                fetched = await self.client.fetch_channel(channel_id)
            except discord.HTTPException:
                return
            if not isinstance(fetched, Postable):
                return
            channel = fetched
        try:
            await messaging.send(channel, text, allowed_mentions=messaging.ping_only(*ping_ids))
        except discord.HTTPException as exc:
            log.warning("could not post a reply notice in channel %s (%s)", channel_id, exc.code)


def _has_component(message: discord.Message, custom_id: str) -> bool:
    for row in message.components:
        for child in getattr(row, "children", ()):
            if getattr(child, "custom_id", None) == custom_id:
                return True
    return False
