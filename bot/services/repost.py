"""Reposting a member's words for them: publish, notify once, edit, delete, look up.

`RepostService.publish` is the one way Steward posts on a member's behalf (moderator reposts and
link-hold approvals). Flow: check the destination and the bot's permissions, pick the mode
(webhook in the member's name, or the bot), frame and split the words (`bot.domain.repost`),
claim a pending record keyed by a hash of the request, post the parts one by one (recording each
message id as it lands, so a retry or a restart resumes instead of posting again), tell the
member exactly once, mark the record published and write the audit entry.

Never twice: a request with the same key returns the existing repost. Bot-mode parts carry a
`nonce` with `enforce_nonce`, so Discord itself drops a repeated send. Webhook executions can't,
so after an unclear failure (a 5xx that outlived discord.py's retries, a timeout, a dropped
connection) the destination's recent messages are searched for this webhook's copy of the part
before trying again; and when discord.py had to retry a send internally (the call took longer
than its first back-off), the same search removes a copy Discord made before the failure.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import discord

from bot import messaging
from bot.clock import Clock
from bot.db.reposts import Notified, RepostRecord, RepostRepository
from bot.domain import holds
from bot.domain import repost as rules
from bot.domain.links import Link, find_links
from bot.domain.text import MESSAGE_LIMIT, truncate
from bot.errors import BotMissingPermissions, InvalidInput, NotFound, StewardError
from bot.permissions import is_moderator

if TYPE_CHECKING:
    from bot.app import StewardBot

log = logging.getLogger(__name__)

__all__ = [
    "RepostRecord",
    "RepostRequest",
    "RepostResult",
    "RepostService",
    "StoredAttachment",
]

WEBHOOK_NAME = "Steward reposts"
FILES_PER_MESSAGE = 10
UNCLEAR_RETRIES = 2  # extra attempts after an unclear failure (discord.py already retried)
# discord.py sleeps at least 1 s before retrying a 5xx; a send that took longer may have
# been retried after Discord had already created the message.
INTERNAL_RETRY_HINT = 0.9
HISTORY_WINDOW = 50

Destination = discord.TextChannel | discord.Thread | discord.ForumChannel
UNCLEAR = (discord.DiscordServerError, asyncio.TimeoutError, aiohttp.ClientError)


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """A file to re-upload with a repost."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class RepostRequest:
    """Everything `publish` needs; callers build one per repost."""

    guild_id: int
    member_id: int
    content: str
    destination_id: int
    moderator_id: int
    reason: str
    source: str
    attachments: tuple[StoredAttachment, ...] = ()
    not_kept: tuple[str, ...] = ()
    reply_to_url: str | None = None
    intro: str | None = None
    ping_member: bool = False
    notice: str | None = None
    forum_title: str | None = None
    forum_tag_ids: tuple[int, ...] = ()
    source_url: str | None = None  # optional: jump link to the original, for the mod log


@dataclass(frozen=True, slots=True)
class RepostResult:
    """Where a repost landed and how."""

    repost_id: int
    channel_id: int
    message_ids: tuple[int, ...]
    jump_url: str
    mode: Literal["webhook", "bot"]
    member_notified: Literal["dm", "channel", "none"]


@dataclass(slots=True)
class _Plan:
    """One publish in progress."""

    request: RepostRequest
    guild: discord.Guild
    destination: Destination
    parent: discord.TextChannel | discord.ForumChannel
    member: discord.Member | discord.User | None
    mode: Literal["webhook", "bot"]
    parts: tuple[str, ...]
    head_len: int
    tail_len: int
    files: tuple[StoredAttachment, ...]
    mentions: discord.AllowedMentions
    key: str
    notes: list[str] = field(default_factory=list)
    hook: discord.Webhook | None = None
    thread_id: int | None = None  # set once the parts go into a thread


class _WebhookUnusable(Exception):
    """The webhook can't be used here (403/404, bad name): post as the bot instead."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    """A message link."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def _url_set(text: str) -> set[str]:
    return {link.url.lower().rstrip("/") for link in find_links(text)}


class RepostService:
    """Publishes reposts and looks after them afterwards (edit, delete, about)."""

    def __init__(
        self,
        bot: StewardBot,
        repository: RepostRepository,
        clock: Clock,
        *,
        attempt_timeout: float = 60.0,
    ) -> None:
        self.bot = bot
        self.repository = repository
        self._clock = clock
        self._attempt_timeout = attempt_timeout
        self._hooks: dict[int, discord.Webhook] = {}
        self._hook_locks: dict[int, asyncio.Lock] = {}
        self._key_locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------ look-ups

    async def find_by_message(self, message_id: int) -> RepostRecord | None:
        """The repost one of whose parts is `message_id` (or whose created thread it is)."""
        record = await self.repository.by_message(message_id)
        if record is None or record.status not in ("published", "pending"):
            return None
        return record

    async def get(self, repost_id: int) -> RepostRecord | None:
        """A repost by id."""
        return await self.repository.get(repost_id)

    # ------------------------------------------------------------------ publish

    async def publish(self, request: RepostRequest) -> RepostResult:
        """Post `request.content` for the member, tell them once, record it; idempotent."""
        plan = await self._plan(request)
        lock = self._key_locks.setdefault(plan.key, asyncio.Lock())
        async with lock:
            try:
                return await self._publish_locked(plan)
            finally:
                if not lock.locked():
                    self._key_locks.pop(plan.key, None)

    async def _publish_locked(self, plan: _Plan) -> RepostResult:
        request = plan.request
        record, created = await self.repository.begin(
            guild_id=request.guild_id, member_id=request.member_id,
            moderator_id=request.moderator_id, destination_id=request.destination_id,
            mode=plan.mode, source=request.source, key=plan.key, head_len=plan.head_len,
            tail_len=plan.tail_len, part_count=len(plan.parts), now=self._clock.now(),
        )
        if record.status == "published":
            log.info("repost %s already published; not posting again", record.id)
            return self._result(record)
        if not created:
            log.info("resuming pending repost %s (%d of %d parts posted)", record.id,
                     len(record.message_ids), len(plan.parts))
            plan.mode = record.mode
            if record.created_thread and record.channel_id is not None:
                plan.thread_id = record.channel_id
        await self.repository.set_target(
            record.id, mode=plan.mode, channel_id=plan.thread_id or record.channel_id
            or (None if isinstance(plan.destination, discord.ForumChannel)
                else plan.destination.id),
            created_thread=record.created_thread, webhook_id=record.webhook_id,
            head_len=plan.head_len, tail_len=plan.tail_len, part_count=len(plan.parts),
        )
        posted = list(record.message_ids)
        created_thread = record.created_thread
        for index, text in enumerate(plan.parts):
            if index < len(posted):
                continue
            message_id, made_thread = await self._post_part(plan, record.id, index, text)
            if made_thread:
                created_thread = True
            posted.append(message_id)
            await self.repository.add_message(record.id, index, message_id)
            if index == 0:
                await self.repository.set_target(
                    record.id, mode=plan.mode, channel_id=self._landed_channel(plan),
                    created_thread=created_thread,
                    webhook_id=plan.hook.id if plan.hook and plan.mode == "webhook" else None,
                    head_len=plan.head_len, tail_len=plan.tail_len, part_count=len(plan.parts),
                )
        for extra_from in range(FILES_PER_MESSAGE, len(plan.files), FILES_PER_MESSAGE):
            index = len(plan.parts) + extra_from // FILES_PER_MESSAGE - 1
            if index < len(posted):
                continue
            message_id, _ = await self._post_part(plan, record.id, index, "")
            posted.append(message_id)
            await self.repository.add_message(record.id, index, message_id)
        channel_id = self._landed_channel(plan)
        link = jump_url(plan.guild.id, channel_id, posted[0])
        if isinstance(plan.destination, discord.Thread | discord.ForumChannel) and plan.member:
            await self._add_to_thread(channel_id, plan.member.id)
        notified = await self._notify(plan, channel_id, link)
        await self.repository.mark_published(record.id, notified, self._clock.now())
        final = await self.repository.get(record.id)
        assert final is not None
        await self._audit_published(plan, final, link, notified)
        return self._result(final)

    def _landed_channel(self, plan: _Plan) -> int:
        if plan.thread_id is not None:
            return plan.thread_id
        return plan.destination.id

    def _result(self, record: RepostRecord) -> RepostResult:
        channel_id = record.channel_id or record.destination_id
        first = record.message_ids[0] if record.message_ids else 0
        return RepostResult(
            repost_id=record.id, channel_id=channel_id, message_ids=record.message_ids,
            jump_url=jump_url(record.guild_id, channel_id, first), mode=record.mode,
            member_notified=record.member_notified,
        )

    async def _plan(self, request: RepostRequest) -> _Plan:
        guild = self.bot.get_guild(request.guild_id)
        if guild is None:
            raise NotFound("I'm not in that server any more.")
        destination = await self._destination(guild, request.destination_id)
        parent = destination.parent if isinstance(destination, discord.Thread) else destination
        if not isinstance(parent, discord.TextChannel | discord.ForumChannel):
            raise InvalidInput("I can only repost into text channels, threads and forums.")
        me = guild.me
        perms = destination.permissions_for(me)
        config = self.bot.guild_settings.get(guild.id).repost
        notes: list[str] = []
        mode: Literal["webhook", "bot"] = config.mode
        if mode == "webhook" and not parent.permissions_for(me).manage_webhooks:
            mode = "bot"
            notes.append(f"posted as Steward: I lack Manage Webhooks in <#{parent.id}>")
        if mode == "bot":
            self._require_send(destination, perms)
        if not perms.view_channel:
            raise BotMissingPermissions(f"I can't see <#{destination.id}>.")
        member = await self._member(guild, request.member_id)
        files, too_big = self._fit_files(guild, request.attachments)
        if request.attachments and mode == "bot" and not perms.attach_files:
            raise BotMissingPermissions(
                f"I need Attach Files in <#{destination.id}> to re-upload the pictures."
            )
        not_kept = tuple(request.not_kept) + too_big
        mention = f"<@{request.member_id}>"
        attribution = rules.render_attribution(config.attribution, mention)
        fr = rules.frame(mode, member_mention=mention, attribution=attribution,
                         intro=request.intro, reply_to_url=request.reply_to_url,
                         not_kept=not_kept)
        rendered = rules.compose(request.content, fr)
        key = rules.repost_key(request.guild_id, request.member_id, request.destination_id,
                               request.source, request.content, request.forum_title)
        mentions = (messaging.ping_only(request.member_id) if request.ping_member
                    else messaging.NOBODY)
        thread_id = destination.id if isinstance(destination, discord.Thread) else None
        return _Plan(request, guild, destination, parent, member, mode, rendered.parts,
                     rendered.head_len, rendered.tail_len, files, mentions, key, notes,
                     thread_id=thread_id)

    async def _destination(self, guild: discord.Guild, channel_id: int) -> Destination:
        channel = guild.get_channel_or_thread(channel_id)
        if channel is None:
            try:
                fetched = await self.bot.fetch_channel(channel_id)
            except (discord.NotFound, discord.Forbidden):
                raise NotFound("I couldn't find that channel or thread.") from None
            channel = fetched if isinstance(fetched, discord.abc.GuildChannel | discord.Thread) \
                else None
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.ForumChannel):
            raise InvalidInput("I can only repost into text channels, threads and forums.")
        if channel.guild.id != guild.id:
            raise InvalidInput("That channel is in another server.")
        return channel

    @staticmethod
    def _require_send(destination: Destination, perms: discord.Permissions) -> None:
        if isinstance(destination, discord.Thread):
            if not perms.send_messages_in_threads:
                raise BotMissingPermissions(
                    f"I need Send Messages in Threads in <#{destination.id}>.")
        elif not perms.send_messages:
            raise BotMissingPermissions(f"I need Send Messages in <#{destination.id}>.")

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
            return await self.bot.fetch_user(member_id)
        except discord.HTTPException:
            return None

    @staticmethod
    def _fit_files(guild: discord.Guild, files: Sequence[StoredAttachment]
                   ) -> tuple[tuple[StoredAttachment, ...], tuple[str, ...]]:
        cap = guild.filesize_limit
        kept = tuple(f for f in files if len(f.data) <= cap)
        too_big = tuple(f.filename for f in files if len(f.data) > cap)
        return kept, too_big

    # ------------------------------------------------------------------ posting

    def _files_for(self, plan: _Plan, index: int) -> list[discord.File]:
        batch = 0 if index == 0 else index - len(plan.parts) + 1 if index >= len(plan.parts) \
            else None
        if batch is None:
            return []
        chosen = plan.files[batch * FILES_PER_MESSAGE:(batch + 1) * FILES_PER_MESSAGE]
        return [discord.File(io.BytesIO(f.data), filename=f.filename) for f in chosen]

    async def _post_part(self, plan: _Plan, repost_id: int, index: int, text: str
                         ) -> tuple[int, bool]:
        """Post one part; returns (message id, whether it created a forum thread)."""
        if plan.mode == "webhook":
            try:
                return await self._post_webhook(plan, index, text)
            except _WebhookUnusable as exc:
                log.warning("repost %s: webhook unusable (%s); posting as the bot",
                            repost_id, exc.why)
                plan.notes.append(f"posted as Steward: {exc.why}")
                plan.mode = "bot"
                self._require_send(plan.destination,
                                   plan.destination.permissions_for(plan.guild.me))
        return await self._post_bot(plan, index, text)

    async def _webhook(self, parent: discord.TextChannel | discord.ForumChannel,
                       *, fresh: bool = False) -> discord.Webhook:
        """The bot's webhook in `parent`: cached, found again by listing, or created."""
        if fresh:
            self._hooks.pop(parent.id, None)
        cached = self._hooks.get(parent.id)
        if cached is not None:
            return cached
        async with self._hook_locks.setdefault(parent.id, asyncio.Lock()):
            cached = self._hooks.get(parent.id)
            if cached is not None:
                return cached
            me = self.bot.user
            try:
                hooks = await parent.webhooks()
                mine = [
                    h for h in hooks
                    if h.token and h.type is discord.WebhookType.incoming
                    and h.user is not None and me is not None and h.user.id == me.id
                ]
                hook = mine[0] if mine else await parent.create_webhook(
                    name=WEBHOOK_NAME, reason="Reposting members' words in their name"
                )
            except discord.Forbidden as exc:
                raise _WebhookUnusable(f"Discord refused the webhook ({exc.code})") from exc
            except discord.HTTPException as exc:
                if exc.status >= 500:
                    raise
                raise _WebhookUnusable(f"couldn't set up a webhook ({exc.code})") from exc
            self._hooks[parent.id] = hook
            log.info("using webhook %s in channel %s", hook.id, parent.id)
            return hook

    async def _post_webhook(self, plan: _Plan, index: int, text: str) -> tuple[int, bool]:
        hook = plan.hook or await self._webhook(plan.parent)
        plan.hook = hook
        recreated = False
        attempts = 0
        while True:
            attempts += 1
            after = discord.utils.time_snowflake(self._clock.now() - timedelta(seconds=5))
            started = time.monotonic()
            try:
                message = await asyncio.wait_for(
                    self._execute(plan, hook, index, text), timeout=self._attempt_timeout
                )
            except discord.NotFound as exc:
                if exc.code == 10015 and not recreated:  # Unknown Webhook: deleted by someone
                    log.info("webhook %s was deleted; creating a new one", hook.id)
                    hook = await self._webhook(plan.parent, fresh=True)
                    plan.hook = hook
                    recreated = True
                    continue
                raise _WebhookUnusable(f"the webhook call failed ({exc.code})") from exc
            except discord.Forbidden as exc:
                raise _WebhookUnusable(f"Discord refused the webhook ({exc.code})") from exc
            except UNCLEAR as exc:
                log.warning("repost part %d: unclear webhook failure (%s); checking history",
                            index, type(exc).__name__)
                found = await self._find_copies(plan, hook.id, text, after)
                if found:
                    return found[0], self._thread_made(plan, index, found[0])
                if attempts > UNCLEAR_RETRIES:
                    raise
                continue
            except discord.HTTPException as exc:
                if exc.status == 400 and exc.code == 50035:  # e.g. a name Discord won't take
                    raise _WebhookUnusable(f"Discord rejected the post ({exc.code})") from exc
                raise
            if time.monotonic() - started >= INTERNAL_RETRY_HINT:
                await self._remove_duplicates(plan, hook, text, after, keep=message.id)
            return message.id, self._thread_made(plan, index, message.id)

    def _thread_made(self, plan: _Plan, index: int, message_id: int) -> bool:
        if index == 0 and isinstance(plan.destination, discord.ForumChannel):
            plan.thread_id = message_id  # a forum post's starter message id is the thread id
            return True
        return False

    async def _execute(self, plan: _Plan, hook: discord.Webhook, index: int, text: str
                       ) -> discord.WebhookMessage:
        member = plan.member
        username = rules.webhook_username(
            member.display_name if member is not None else "Member"
        )
        avatar = member.display_avatar.url if member is not None else discord.utils.MISSING
        kwargs: dict[str, Any] = {
            "content": text or None,
            "username": username,
            "avatar_url": avatar,
            "allowed_mentions": plan.mentions,
            "files": self._files_for(plan, index),
            "wait": True,
        }
        if isinstance(plan.destination, discord.ForumChannel) and plan.thread_id is None:
            kwargs["thread_name"] = self._title(plan)
            kwargs["applied_tags"] = self._tags(plan)
        elif plan.thread_id is not None:
            kwargs["thread"] = discord.Object(plan.thread_id)
        message: discord.WebhookMessage = await hook.send(**kwargs)
        return message

    def _title(self, plan: _Plan) -> str:
        title = plan.request.forum_title
        if not title or not title.strip():
            first = next((line for line in plan.request.content.splitlines() if line.strip()),
                         "")
            sentence = re.split(r"(?<=[.!?])\s", first.strip(), maxsplit=1)[0]
            name = plan.member.display_name if plan.member is not None else "a member"
            title = sentence or f"Shared for {name}"
        return truncate(" ".join(title.split()), 100)

    def _tags(self, plan: _Plan) -> list[discord.ForumTag]:
        if not isinstance(plan.destination, discord.ForumChannel):
            return []
        wanted = set(plan.request.forum_tag_ids)
        return [t for t in plan.destination.available_tags if t.id in wanted][:5]

    async def _history_channel(self, plan: _Plan) -> discord.abc.Messageable | None:
        if plan.thread_id is not None:
            thread = plan.guild.get_thread(plan.thread_id)
            if thread is not None:
                return thread
            try:
                fetched = await self.bot.fetch_channel(plan.thread_id)
            except discord.HTTPException:
                return None
            return fetched if isinstance(fetched, discord.Thread) else None
        if isinstance(plan.destination, discord.ForumChannel):
            return None
        return plan.destination

    async def _find_copies(self, plan: _Plan, author_id: int, text: str, after: int
                           ) -> list[int]:
        """Ids (oldest first) of messages by `author_id` with exactly `text`, after `after`."""
        if isinstance(plan.destination, discord.ForumChannel) and plan.thread_id is None:
            return self._find_forum_posts(plan, author_id, after)
        channel = await self._history_channel(plan)
        if channel is None:
            return []
        found: list[int] = []
        try:
            async for message in channel.history(limit=HISTORY_WINDOW,
                                                 after=discord.Object(after)):
                if message.author.id == author_id and message.content == text:
                    found.append(message.id)
        except discord.HTTPException as exc:
            log.warning("could not read history to check for a copy: %s", exc.code)
        return found

    def _find_forum_posts(self, plan: _Plan, author_id: int, after: int) -> list[int]:
        assert isinstance(plan.destination, discord.ForumChannel)
        title = self._title(plan)
        return sorted(t.id for t in plan.destination.threads
                      if t.owner_id == author_id and t.name == title and t.id > after)

    async def _remove_duplicates(self, plan: _Plan, hook: discord.Webhook, text: str,
                                 after: int, *, keep: int) -> None:
        new_forum_post = isinstance(plan.destination, discord.ForumChannel) and \
            plan.thread_id is None
        copies = [m for m in await self._find_copies(plan, hook.id, text, after) if m != keep]
        for message_id in copies:
            log.warning("removing a duplicate copy %s left by a retried send", message_id)
            try:
                if new_forum_post:
                    thread = plan.guild.get_thread(message_id)
                    if thread is not None:
                        await thread.delete()
                    continue
                thread_arg = (discord.Object(plan.thread_id) if plan.thread_id is not None
                              else discord.utils.MISSING)
                await hook.delete_message(message_id, thread=thread_arg)
            except discord.HTTPException as exc:
                log.warning("could not remove duplicate %s: %s", message_id, exc.code)

    async def _post_bot(self, plan: _Plan, index: int, text: str) -> tuple[int, bool]:
        nonce = rules.part_nonce(plan.key, index)
        files = self._files_for(plan, index)
        if isinstance(plan.destination, discord.ForumChannel) and plan.thread_id is None:
            created = await plan.destination.create_thread(
                name=self._title(plan), content=text or None, files=files,
                applied_tags=self._tags(plan), allowed_mentions=plan.mentions,
                reason="Repost on a member's behalf",
            )
            plan.thread_id = created.thread.id
            return created.message.id, True
        channel: discord.abc.Messageable
        if plan.thread_id is not None:
            thread = plan.guild.get_thread(plan.thread_id)
            channel = thread if thread is not None else await self._thread(plan.thread_id)
        else:
            assert isinstance(plan.destination, discord.TextChannel | discord.Thread)
            channel = plan.destination
        attempts = 0
        while True:
            attempts += 1
            try:
                message = await asyncio.wait_for(
                    messaging.send(channel, text or None, allowed_mentions=plan.mentions,
                                   files=self._files_for(plan, index) if attempts > 1 else files,
                                   nonce=nonce),
                    timeout=self._attempt_timeout,
                )
            except UNCLEAR:
                # The same nonce with enforce_nonce: Discord returns the first copy if it exists.
                if attempts > UNCLEAR_RETRIES:
                    raise
                continue
            return message.id, False

    async def _thread(self, thread_id: int) -> discord.Thread:
        fetched = await self.bot.fetch_channel(thread_id)
        if not isinstance(fetched, discord.Thread):
            raise NotFound("The thread for this repost is gone.")
        return fetched

    async def _add_to_thread(self, thread_id: int, member_id: int) -> None:
        """Webhook posts don't add the member to the thread; the bot does, so they follow it."""
        try:
            thread = await self._thread(thread_id)
            await thread.add_user(discord.Object(member_id))
        except (discord.HTTPException, StewardError) as exc:
            log.info("could not add member %s to thread %s: %s", member_id, thread_id,
                     getattr(exc, "code", exc))

    # ------------------------------------------------------------------ notice + audit

    async def _notify(self, plan: _Plan, channel_id: int, link: str) -> Notified:
        """The one notice: a DM, or (DMs closed) a message pinging only the member."""
        member = plan.member
        if not isinstance(member, discord.Member):
            plan.notes.append("member not told: they are not in the server")
            return "none"
        text = rules.render_notice(plan.request.notice, member_mention=member.mention,
                                   channel_mention=f"<#{channel_id}>", link=link)
        try:
            await messaging.send(member, text)
            return "dm"
        except discord.Forbidden as exc:
            log.info("member %s has DMs closed (%s); telling them in the channel", member.id,
                     exc.code)
            plan.notes.append("member's DMs are closed: told them in the channel")
        except discord.HTTPException as exc:
            log.warning("DM to member %s failed: %s", member.id, exc.code)
            plan.notes.append("DM failed: told them in the channel")
        try:
            channel = plan.guild.get_channel_or_thread(channel_id) or await self._thread(
                channel_id)
            assert isinstance(channel, discord.TextChannel | discord.Thread)
            await messaging.send(channel, f"{member.mention} {text}",
                                 allowed_mentions=messaging.ping_only(member.id))
            return "channel"
        except (discord.HTTPException, StewardError, AssertionError) as exc:
            log.warning("could not tell member %s in channel %s: %s", member.id, channel_id,
                        getattr(exc, "code", exc))
            plan.notes.append("member could not be told (DMs closed, channel refused)")
            return "none"

    async def _audit_published(self, plan: _Plan, record: RepostRecord, link: str,
                               notified: Notified) -> None:
        request = plan.request
        told = {"dm": "by DM", "channel": "in the channel (DMs closed)", "none": "not told"}
        details: dict[str, Any] = {
            "reason": request.reason,
            "where": f"<#{record.channel_id or request.destination_id}>",
            "mode": plan.mode,
            "parts": len(record.message_ids),
            "source": request.source_url or request.source,
            "result": link,
            "member_told": told[notified],
        }
        if request.not_kept or len(plan.files) < len(request.attachments):
            details["files_not_kept"] = len(request.not_kept) + len(request.attachments) - len(
                plan.files)
        if plan.notes:
            details["notes"] = "; ".join(dict.fromkeys(plan.notes))
        await self.bot.audit.record(request.guild_id, request.moderator_id,
                                    "repost.published", request.member_id, details)
        metrics = self.bot.services.metrics
        if metrics is not None:
            metrics.inc("reposts", mode=plan.mode)

    # ------------------------------------------------------------------ after publishing

    async def part_text(self, record: RepostRecord, message_id: int) -> str:
        """The current text of one part (fetched from Discord)."""
        channel = await self._record_channel(record)
        try:
            message = await channel.fetch_message(message_id)
        except discord.NotFound:
            raise NotFound("That message is gone.") from None
        return message.content

    async def _record_channel(self, record: RepostRecord
                              ) -> discord.TextChannel | discord.Thread:
        channel_id = record.channel_id or record.destination_id
        guild = self.bot.get_guild(record.guild_id)
        channel = guild.get_channel_or_thread(channel_id) if guild else None
        if channel is None:
            try:
                fetched = await self.bot.fetch_channel(channel_id)
            except discord.HTTPException:
                raise NotFound("The channel of this repost is gone.") from None
            channel = fetched if isinstance(fetched, discord.TextChannel | discord.Thread) \
                else None
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise NotFound("The channel of this repost is gone.")
        return channel

    async def _record_hook(self, record: RepostRecord,
                           channel: discord.TextChannel | discord.Thread) -> discord.Webhook:
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        if not isinstance(parent, discord.TextChannel | discord.ForumChannel):
            raise NotFound("The channel of this repost is gone.")
        try:
            hook = await self._webhook(parent)
        except _WebhookUnusable:
            raise BotMissingPermissions("I need Manage Webhooks there to change this copy.") \
                from None
        if hook.id != record.webhook_id:
            raise NotFound("The webhook that posted this copy was deleted, so I can't edit it. "
                           "You can delete it and repost it instead.")
        return hook

    async def check_member_edit(
        self, record: RepostRecord, editor: discord.Member, old_words: str, new_words: str
    ) -> None:
        """A member's edit follows the link-hold policy: new members can't add links.

        Only links the edit adds are judged (an approved copy keeps the links it had). The
        link-hold service decides when it is loaded; otherwise the same rules run here with
        the time-based conditions only (post counts and trust live with that feature).
        """
        added = _url_set(new_words) - _url_set(old_words)
        if not added:
            return
        links = [link for link in find_links(new_words)
                 if link.url.lower().rstrip("/") in added]
        channel_id = record.channel_id or record.destination_id

        linkhold = self.bot.services.linkhold
        if linkhold is not None:
            held = await linkhold.would_hold(record.guild_id, editor.id,
                                             " ".join(link.text for link in links), channel_id)
        else:
            held = self._would_hold_fallback(record, editor, links, channel_id)
        if held:
            raise InvalidInput(
                "New members can't add links yet, so I didn't save that edit. "
                "You can edit without the link, or ask a moderator to add it for you."
            )

    def _would_hold_fallback(self, record: RepostRecord, editor: discord.Member,
                             links: list[Link], channel_id: int) -> bool:
        config = self.bot.guild_settings.get(record.guild_id)
        policy = holds.HoldPolicy.from_settings(config.linkhold)
        facts = holds.MemberFacts(
            member_id=editor.id, joined_at=editor.joined_at,
            account_created_at=editor.created_at, is_bot=editor.bot,
            is_owner=editor.guild.owner_id == editor.id,
            can_manage_messages=is_moderator(editor, config.core),
            role_ids=frozenset(r.id for r in editor.roles),
            accepted_posts=policy.min_posts,
        )
        channel = editor.guild.get_channel_or_thread(channel_id)
        parent = getattr(channel, "parent_id", None)
        ids = [c for c in (channel_id, parent, getattr(channel, "category_id", None)) if c]
        return holds.judge(facts, links, ids, self._clock.now(), policy).held

    async def edit_part(
        self, record: RepostRecord, message_id: int, new_words: str, editor_id: int
    ) -> None:
        """Replace the member's words in one part, keeping the frame (header, attribution)."""
        if message_id not in record.message_ids:
            raise NotFound("That message isn't part of this repost.")
        index = record.message_ids.index(message_id)
        first, last = index == 0, index == len(record.message_ids) - 1
        text = await self.part_text(record, message_id)
        head, _, tail = rules.split_framed(text, first=first, last=last,
                                           head_len=record.head_len, tail_len=record.tail_len)
        new_text = head + new_words.strip() + tail
        if len(new_text) > MESSAGE_LIMIT:
            raise InvalidInput(
                f"That is {len(new_text) - MESSAGE_LIMIT} characters too long for this "
                "message. Shorten it a little and try again."
            )
        if not new_text.strip():
            raise InvalidInput("The message can't be empty. Delete it instead?")
        channel = await self._record_channel(record)
        member_mentions = messaging.NOBODY
        if record.mode == "webhook":
            hook = await self._record_hook(record, channel)
            thread = (discord.Object(channel.id) if isinstance(channel, discord.Thread)
                      else discord.utils.MISSING)
            await hook.edit_message(message_id, content=new_text,
                                    allowed_mentions=member_mentions, thread=thread)
        else:
            await channel.get_partial_message(message_id).edit(
                content=new_text, allowed_mentions=member_mentions)
        await self.repository.mark_edited(record.id, self._clock.now())
        await self.bot.audit.record(
            record.guild_id, editor_id, "repost.edited", record.member_id,
            {"result": jump_url(record.guild_id, channel.id, message_id), "part": index + 1},
        )

    async def delete(self, record: RepostRecord, actor_id: int) -> None:
        """Remove every part of a repost (the whole forum post if the repost created it)."""
        if not await self.repository.retire(record.id, "deleted"):
            raise NotFound("This repost was already deleted.")
        try:
            channel = await self._record_channel(record)
        except NotFound:
            channel = None
        if channel is not None and record.created_thread and isinstance(channel, discord.Thread):
            try:
                await channel.delete()
            except discord.HTTPException as exc:
                log.warning("could not delete thread %s: %s", channel.id, exc.code)
                await self._delete_parts(record, channel)
        elif channel is not None:
            await self._delete_parts(record, channel)
        await self.bot.audit.record(
            record.guild_id, actor_id, "repost.deleted", record.member_id,
            {"where": f"<#{record.channel_id or record.destination_id}>",
             "parts": len(record.message_ids)},
        )

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
                    "I need Manage Messages there to delete this copy.") from exc

    def may_manage(self, record: RepostRecord, user: discord.Member | discord.User) -> bool:
        """The member named in the repost, or a moderator."""
        core = self.bot.guild_settings.get(record.guild_id).core
        return rules.may_manage(record.member_id, user.id,
                                is_moderator=is_moderator(user, core))
