"""The Discord side of reposting: facts about the destination and member, and the REST calls.

Implements `bot.services.repost_ports.RepostActions`. Keeps the bot's webhook per parent
channel (found again by listing after a restart, recreated when someone deleted it), reads
recent history to find a copy an unclear failure may have left, and removes duplicates.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from datetime import datetime
from typing import Any

import aiohttp
import discord

from bot import messaging
from bot.db.reposts import RepostRecord
from bot.errors import BotMissingPermissions, InvalidInput, NotFound, StewardError
from bot.i18n import tr
from bot.services.repost_ports import (
    AuthorFacts,
    DestinationFacts,
    DmOutcome,
    Part,
    Posted,
    PostTarget,
    StoredAttachment,
    UnclearFailure,
    WebhookUnusable,
)

log = logging.getLogger(__name__)

WEBHOOK_NAME = "Steward reposts"
# discord.py sleeps at least 1 s before retrying a 5xx; a send that took longer may have
# been retried after Discord had already created the message.
INTERNAL_RETRY_HINT = 0.9
HISTORY_WINDOW = 50
UNCLEAR = (discord.DiscordServerError, asyncio.TimeoutError, aiohttp.ClientError)

Channel = discord.TextChannel | discord.Thread | discord.ForumChannel
Parent = discord.TextChannel | discord.ForumChannel


def _files(files: tuple[StoredAttachment, ...]) -> list[discord.File]:
    return [discord.File(io.BytesIO(f.data), filename=f.filename) for f in files]


def _mentions(part: Part) -> discord.AllowedMentions:
    if part.ping_member_id is not None:
        return messaging.ping_only(part.ping_member_id)
    return messaging.NOBODY


class DiscordRepostActions:
    """Carries reposts out on Discord for `RepostService`."""

    def __init__(self, client: discord.Client, *, attempt_timeout: float = 60.0) -> None:
        self.client = client
        self.attempt_timeout = attempt_timeout
        self._hooks: dict[int, discord.Webhook] = {}
        self._hook_locks: dict[int, asyncio.Lock] = {}

    # ------------------------------------------------------------------ facts

    def _guild(self, guild_id: int) -> discord.Guild:
        guild = self.client.get_guild(guild_id)
        if guild is None:
            raise NotFound(tr("I'm not in that server any more."))
        return guild

    async def _channel(self, guild: discord.Guild, channel_id: int) -> Channel:
        channel = guild.get_channel_or_thread(channel_id)
        if channel is None:
            try:
                fetched = await self.client.fetch_channel(channel_id)
            except (discord.NotFound, discord.Forbidden):
                raise NotFound(tr("I couldn't find that channel or thread.")) from None
            channel = fetched if isinstance(fetched, discord.abc.GuildChannel | discord.Thread) \
                else None
        if not isinstance(channel, Channel):
            raise InvalidInput(tr("I can only repost into text channels, threads and forums."))
        if channel.guild.id != guild.id:
            raise InvalidInput(tr("That channel is in another server."))
        return channel

    async def destination(self, guild_id: int, channel_id: int) -> DestinationFacts:
        """The destination's facts; raises NotFound/InvalidInput when it can't take a repost."""
        guild = self._guild(guild_id)
        channel = await self._channel(guild, channel_id)
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        if not isinstance(parent, Parent):
            raise InvalidInput(tr("I can only repost into text channels, threads and forums."))
        me = guild.me
        perms = channel.permissions_for(me)
        thread = isinstance(channel, discord.Thread)
        return DestinationFacts(
            channel_id=channel.id, parent_id=parent.id,
            kind="thread" if thread else (
                "forum" if isinstance(channel, discord.ForumChannel) else "text"),
            can_view=perms.view_channel,
            can_send=perms.send_messages_in_threads if thread else perms.send_messages,
            can_attach=perms.attach_files,
            can_manage_webhooks=parent.permissions_for(me).manage_webhooks,
            filesize_limit=guild.filesize_limit,
        )

    async def _member(self, guild: discord.Guild, member_id: int
                      ) -> discord.Member | discord.User | None:
        member = guild.get_member(member_id)
        if member is not None:
            return member
        try:
            return await guild.fetch_member(member_id)
        except discord.HTTPException:
            pass
        try:
            return await self.client.fetch_user(member_id)
        except discord.HTTPException:
            return None

    async def author(self, guild_id: int, member_id: int) -> AuthorFacts | None:
        """The member (or, if they left, the user); None when Discord doesn't know them."""
        member = await self._member(self._guild(guild_id), member_id)
        if member is None:
            return None
        return AuthorFacts(display_name=member.display_name,
                           avatar_url=member.display_avatar.url,
                           in_guild=isinstance(member, discord.Member))

    # ------------------------------------------------------------------ webhook

    async def _webhook(self, parent_id: int, guild_id: int, *, fresh: bool = False
                       ) -> discord.Webhook:
        """The bot's webhook in the parent: cached, found again by listing, or created."""
        if fresh:
            self._hooks.pop(parent_id, None)
        cached = self._hooks.get(parent_id)
        if cached is not None:
            return cached
        async with self._hook_locks.setdefault(parent_id, asyncio.Lock()):
            cached = self._hooks.get(parent_id)
            if cached is not None:
                return cached
            parent = await self._channel(self._guild(guild_id), parent_id)
            assert isinstance(parent, Parent)
            me = self.client.user
            try:
                hooks = await parent.webhooks()
                mine = [
                    h for h in hooks
                    if h.token and h.type is discord.WebhookType.incoming
                    and h.user is not None and me is not None and h.user.id == me.id
                ]
                hook = mine[0] if mine else await parent.create_webhook(
                    name=WEBHOOK_NAME, reason=tr("Reposting members' words in their name")
                )
            except discord.Forbidden as exc:
                raise WebhookUnusable(tr("Discord refused the webhook ({code})",
                                         code=exc.code)) from exc
            except discord.HTTPException as exc:
                if exc.status >= 500:
                    raise
                raise WebhookUnusable(tr("couldn't set up a webhook ({code})",
                                         code=exc.code)) from exc
            self._hooks[parent_id] = hook
            log.info("using webhook %s in channel %s", hook.id, parent_id)
            return hook

    async def execute_webhook(self, target: PostTarget, part: Part, username: str,
                              avatar_url: str | None) -> Posted:
        """Post through the bot's webhook (remade once on 10015)."""
        hook = await self._webhook(target.parent_id, target.guild_id)
        recreated = False
        while True:
            started = time.monotonic()
            try:
                message = await asyncio.wait_for(
                    self._execute(hook, target, part, username, avatar_url),
                    timeout=self.attempt_timeout,
                )
            except discord.NotFound as exc:
                if exc.code == 10015 and not recreated:  # Unknown Webhook: deleted by someone
                    log.info("webhook %s was deleted; creating a new one", hook.id)
                    hook = await self._webhook(target.parent_id, target.guild_id, fresh=True)
                    recreated = True
                    continue
                raise WebhookUnusable(tr("the webhook call failed ({code})",
                                         code=exc.code)) from exc
            except discord.Forbidden as exc:
                raise WebhookUnusable(tr("Discord refused the webhook ({code})",
                                         code=exc.code)) from exc
            except UNCLEAR as exc:
                raise UnclearFailure(exc) from exc
            except discord.HTTPException as exc:
                if exc.status == 400 and exc.code == 50035:  # e.g. a name Discord won't take
                    raise WebhookUnusable(tr("Discord rejected the post ({code})",
                                             code=exc.code)) from exc
                raise
            return Posted(message.id, webhook_id=hook.id,
                          maybe_duplicated=time.monotonic() - started >= INTERNAL_RETRY_HINT)

    async def _execute(self, hook: discord.Webhook, target: PostTarget, part: Part,
                       username: str, avatar_url: str | None) -> discord.WebhookMessage:
        kwargs: dict[str, Any] = {
            "content": part.text or None,
            "username": username,
            "avatar_url": avatar_url if avatar_url is not None else discord.utils.MISSING,
            "allowed_mentions": _mentions(part),
            "files": _files(part.files),
            "wait": True,
        }
        if target.new_forum_post:
            kwargs["thread_name"] = target.forum_title
            kwargs["applied_tags"] = self._tags(target)
        elif target.thread_id is not None:
            kwargs["thread"] = discord.Object(target.thread_id)
        message: discord.WebhookMessage = await hook.send(**kwargs)
        return message

    def _tags(self, target: PostTarget) -> list[discord.ForumTag]:
        guild = self.client.get_guild(target.guild_id)
        forum = guild.get_channel(target.parent_id) if guild else None
        if not isinstance(forum, discord.ForumChannel):
            return []
        wanted = set(target.forum_tag_ids)
        return [t for t in forum.available_tags if t.id in wanted][:5]

    # ------------------------------------------------------------------ as the bot

    async def _thread(self, thread_id: int) -> discord.Thread:
        fetched = await self.client.fetch_channel(thread_id)
        if not isinstance(fetched, discord.Thread):
            raise NotFound(tr("The thread for this repost is gone."))
        return fetched

    async def create_forum_post(self, target: PostTarget, part: Part) -> Posted:
        """Start a forum post as the bot."""
        forum = self._guild(target.guild_id).get_channel(target.parent_id)
        assert isinstance(forum, discord.ForumChannel)
        created = await forum.create_thread(
            name=target.forum_title, content=part.text or None, files=_files(part.files),
            applied_tags=self._tags(target), allowed_mentions=_mentions(part),
            reason=tr("Repost on a member's behalf"),
        )
        return Posted(created.message.id, thread_id=created.thread.id)

    async def send_as_bot(self, target: PostTarget, part: Part) -> Posted:
        """Send as the bot with the part's nonce (Discord drops a repeat)."""
        guild = self._guild(target.guild_id)
        channel: discord.abc.Messageable
        if target.thread_id is not None:
            thread = guild.get_thread(target.thread_id)
            channel = thread if thread is not None else await self._thread(target.thread_id)
        else:
            found = guild.get_channel(target.channel_id)
            assert isinstance(found, discord.TextChannel)
            channel = found
        try:
            message = await asyncio.wait_for(
                messaging.send(channel, part.text or None, allowed_mentions=_mentions(part),
                               files=_files(part.files), nonce=part.nonce),
                timeout=self.attempt_timeout,
            )
        except UNCLEAR as exc:
            raise UnclearFailure(exc) from exc
        return Posted(message.id)

    # ------------------------------------------------------------------ copies

    async def _history_channel(self, target: PostTarget) -> discord.abc.Messageable | None:
        guild = self._guild(target.guild_id)
        if target.thread_id is not None:
            thread = guild.get_thread(target.thread_id)
            if thread is not None:
                return thread
            try:
                fetched = await self.client.fetch_channel(target.thread_id)
            except discord.HTTPException:
                return None
            return fetched if isinstance(fetched, discord.Thread) else None
        if target.is_forum:
            return None
        channel = guild.get_channel(target.channel_id)
        return channel if isinstance(channel, discord.TextChannel) else None

    async def find_webhook_copies(self, target: PostTarget, text: str, since: datetime
                                  ) -> list[int]:
        """Ids (oldest first) of our webhook's messages with exactly `text` since `since`."""
        try:  # after a restart the cache is empty: find the webhook again by listing
            hook = await self._webhook(target.parent_id, target.guild_id)
        except (WebhookUnusable, discord.HTTPException):
            return []
        after = discord.utils.time_snowflake(since)
        if target.new_forum_post:
            forum = self._guild(target.guild_id).get_channel(target.parent_id)
            if not isinstance(forum, discord.ForumChannel):
                return []
            return sorted(t.id for t in forum.threads
                          if t.owner_id == hook.id and t.name == target.forum_title
                          and t.id > after)
        channel = await self._history_channel(target)
        if channel is None:
            return []
        found: list[int] = []
        try:
            async for message in channel.history(limit=HISTORY_WINDOW,
                                                 after=discord.Object(after)):
                if message.author.id == hook.id and message.content == text:
                    found.append(message.id)
        except discord.HTTPException as exc:
            log.warning("could not read history to check for a copy: %s", exc.code)
        return found

    async def remove_webhook_copy(self, target: PostTarget, message_id: int) -> None:
        """Remove a duplicate our webhook made (the whole post for a new forum post)."""
        hook = self._hooks.get(target.parent_id)
        try:
            if target.new_forum_post:
                thread = self._guild(target.guild_id).get_thread(message_id)
                if thread is not None:
                    await thread.delete()
                return
            if hook is None:
                return
            thread_arg = (discord.Object(target.thread_id) if target.thread_id is not None
                          else discord.utils.MISSING)
            await hook.delete_message(message_id, thread=thread_arg)
        except discord.HTTPException as exc:
            log.warning("could not remove duplicate %s: %s", message_id, exc.code)

    # ------------------------------------------------------------------ telling the member

    async def add_to_thread(self, thread_id: int, member_id: int) -> None:
        """Webhook posts don't add the member to the thread; the bot does, so they follow it."""
        try:
            thread = await self._thread(thread_id)
            await thread.add_user(discord.Object(member_id))
        except (discord.HTTPException, StewardError) as exc:
            log.info("could not add member %s to thread %s: %s", member_id, thread_id,
                     getattr(exc, "code", exc))

    async def dm(self, guild_id: int, member_id: int, text: str) -> DmOutcome:
        """DM the member: sent, closed (403) or failed."""
        member = await self._member(self._guild(guild_id), member_id)
        if member is None:
            return "failed"
        try:
            await messaging.send(member, text)
            return "sent"
        except discord.Forbidden as exc:
            log.info("member %s has DMs closed (%s); telling them in the channel", member_id,
                     exc.code)
            return "closed"
        except discord.HTTPException as exc:
            log.warning("DM to member %s failed: %s", member_id, exc.code)
            return "failed"

    async def tell_in_channel(self, guild_id: int, channel_id: int, member_id: int,
                              text: str) -> bool:
        """Post in the channel pinging only the member."""
        try:
            guild = self._guild(guild_id)
            channel = guild.get_channel_or_thread(channel_id) or await self._thread(channel_id)
            assert isinstance(channel, discord.TextChannel | discord.Thread)
            await messaging.send(channel, text, allowed_mentions=messaging.ping_only(member_id))
            return True
        except (discord.HTTPException, StewardError, AssertionError) as exc:
            log.warning("could not tell member %s in channel %s: %s", member_id, channel_id,
                        getattr(exc, "code", exc))
            return False

    # ------------------------------------------------------------------ after publishing

    async def _record_channel(self, record: RepostRecord
                              ) -> discord.TextChannel | discord.Thread:
        channel_id = record.channel_id or record.destination_id
        guild = self.client.get_guild(record.guild_id)
        channel = guild.get_channel_or_thread(channel_id) if guild else None
        if channel is None:
            try:
                fetched = await self.client.fetch_channel(channel_id)
            except discord.HTTPException:
                raise NotFound(tr("The channel of this repost is gone.")) from None
            channel = fetched if isinstance(fetched, discord.TextChannel | discord.Thread) \
                else None
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise NotFound(tr("The channel of this repost is gone."))
        return channel

    async def _record_hook(self, record: RepostRecord,
                           channel: discord.TextChannel | discord.Thread) -> discord.Webhook:
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        if not isinstance(parent, Parent):
            raise NotFound(tr("The channel of this repost is gone."))
        try:
            hook = await self._webhook(parent.id, record.guild_id)
        except WebhookUnusable:
            raise BotMissingPermissions(tr("I need Manage Webhooks there to change this copy.")) \
                from None
        if hook.id != record.webhook_id:
            raise NotFound(tr("The webhook that posted this copy was deleted, so I can't edit it. "
                           "You can delete it and repost it instead."))
        return hook

    async def part_text(self, record: RepostRecord, message_id: int) -> str:
        """The current text of one part."""
        channel = await self._record_channel(record)
        try:
            message = await channel.fetch_message(message_id)
        except discord.NotFound:
            raise NotFound(tr("That message is gone.")) from None
        return message.content

    async def edit_part(self, record: RepostRecord, message_id: int, text: str) -> int:
        """Replace one part's text (through the webhook that posted it, or as the bot)."""
        channel = await self._record_channel(record)
        if record.mode == "webhook":
            hook = await self._record_hook(record, channel)
            thread = (discord.Object(channel.id) if isinstance(channel, discord.Thread)
                      else discord.utils.MISSING)
            await hook.edit_message(message_id, content=text,
                                    allowed_mentions=messaging.NOBODY, thread=thread)
        else:
            await channel.get_partial_message(message_id).edit(
                content=text, allowed_mentions=messaging.NOBODY)
        return channel.id

    async def delete_post(self, record: RepostRecord) -> None:
        """Remove every part (the whole forum post when the repost created it)."""
        try:
            channel = await self._record_channel(record)
        except NotFound:
            return
        if record.created_thread and isinstance(channel, discord.Thread):
            try:
                await channel.delete()
                return
            except discord.HTTPException as exc:
                log.warning("could not delete thread %s: %s", channel.id, exc.code)
        await self._delete_parts(record, channel)

    async def _delete_parts(self, record: RepostRecord,
                            channel: discord.TextChannel | discord.Thread) -> None:
        hook: discord.Webhook | None = None
        if record.mode == "webhook":
            try:
                hook = await self._record_hook(record, channel)
            except StewardError:
                hook = None
        thread = (discord.Object(channel.id) if isinstance(channel, discord.Thread)
                  else discord.utils.MISSING)
        for message_id in record.message_ids:
            try:
                if hook is not None:
                    await hook.delete_message(message_id, thread=thread)
                else:
                    await channel.get_partial_message(message_id).delete()
            except discord.NotFound:
                continue
            except discord.Forbidden as exc:
                raise BotMissingPermissions(
                    tr("I need Manage Messages there to delete this copy.")) from exc
