"""The sandbox world: every guild, user, channel, message and webhook, plus the operations
shared by REST handlers and the scenario API (create/edit/delete messages, permission
checks for the bot, gateway dispatch).

Handlers call :class:`World` methods; lookups raise Discord's ``Unknown ...`` errors so a
handler can simply write ``chan = world.channel(ctx.id("channel_id"))``.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox import errors, wire
from sandbox.clock import SnowflakeGenerator, SupportsNow
from sandbox.models import (
    Attachment,
    Channel,
    ChannelType,
    Command,
    Guild,
    Member,
    Message,
    MessageFlags,
    User,
    Webhook,
)
from sandbox.permissions import channel_permissions, has

if TYPE_CHECKING:
    from sandbox.automod import Blocked
    from sandbox.interactions import InteractionResult

Dispatcher = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class Upload:
    """A file received in a multipart request (``files[n]``)."""

    index: int
    filename: str
    data: bytes
    content_type: str | None = None


def normalize_mentions(raw: Any) -> dict[str, Any] | None:
    """``allowed_mentions`` with ``users``/``roles`` ids as strings (discord.py sends ints;
    Discord treats both alike), so tests can compare with ``str(member.id)``."""
    if not isinstance(raw, dict):
        return None
    out = dict(raw)
    for key in ("users", "roles"):
        if isinstance(out.get(key), list):
            out[key] = [str(v) for v in out[key]]
    return out


class World:
    """All sandbox state. One per :class:`~sandbox.Sandbox`."""

    def __init__(self, clock: SupportsNow, token: str) -> None:
        self.clock = clock
        self.ids = SnowflakeGenerator(clock)
        self.token = token
        self.default_locale = "en-US"  # the client language of users added from now on
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[Message]] = {}
        self.dm_channels: dict[int, Channel] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.attachments: dict[int, Attachment] = {}
        self.commands: dict[int | None, list[Command]] = {}
        self.automod_blocks: list[Blocked] = []
        self.interactions: dict[int, InteractionResult] = {}
        self.message_observers: list[Callable[[Message], None]] = []
        self.base_url = "http://127.0.0.1:0"
        self.gateway_url = "ws://127.0.0.1:0/gateway"
        # What GET /gateway/bot reports (sharded bots read them).
        self.recommended_shards = 1
        self.max_concurrency = 1
        self.dispatcher: Dispatcher | None = None
        self.enqueuer: Callable[[str, dict[str, Any]], Any] | None = None
        self.api: Any = None
        self.bot_user = self.add_user("Steward", bot=True)
        self.application_id = self.bot_user.id
        self.owner_user = self.add_user("steward-owner")
        self._webhook_users: dict[tuple[int, str], User] = {}

    # ------------------------------------------------------------------ basics
    def now(self) -> dt.datetime:
        return self.clock.now()

    def add_user(self, username: str, *, bot: bool = False, avatar: str | None = None,
                 created_at: dt.datetime | None = None) -> User:
        user = User(id=self.ids.next(created_at), username=username, bot=bot, avatar=avatar,
                    global_name=None if bot else username, locale=self.default_locale)
        self.users[user.id] = user
        return user

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway DISPATCH to the connected bot (buffered while disconnected)."""
        if self.dispatcher is not None:
            await self.dispatcher(event, data)

    def dispatch_nowait(self, event: str, data: dict[str, Any]) -> None:
        """Queue a dispatch from synchronous code; delivered in order with the rest."""
        if self.enqueuer is not None:
            self.enqueuer(event, data)

    # ----------------------------------------------------------------- lookups
    def guild(self, guild_id: int | None) -> Guild:
        guild = self.guilds.get(guild_id or 0)
        if guild is None:
            raise errors.unknown_guild()
        return guild

    def channel(self, channel_id: int) -> Channel:
        chan = self.channels.get(channel_id)
        if chan is None or chan.deleted:
            raise errors.unknown_channel()
        return chan

    def message(self, channel: Channel, message_id: int) -> Message:
        msg = self.messages.get(message_id)
        if msg is None or msg.deleted or msg.channel is not channel or msg.ephemeral:
            raise errors.unknown_message()
        return msg

    def member(self, guild: Guild, user_id: int) -> Member:
        member = guild.members.get(user_id)
        if member is None:
            raise errors.unknown_member()
        return member

    def webhook(self, webhook_id: int, token: str | None = None) -> Webhook:
        hook = self.webhooks.get(webhook_id)
        if hook is None or hook.deleted or (token is not None and hook.token != token):
            raise errors.unknown_webhook()
        return hook

    def guild_of(self, channel: Channel) -> Guild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id else None

    def bot_member(self, guild: Guild) -> Member:
        return guild.members[self.bot_user.id]

    # ------------------------------------------------------------- permissions
    def permissions(self, user_id: int, channel: Channel) -> int:
        """Effective permission bits of ``user_id`` in ``channel`` (0 if not a member)."""
        guild = self.guild_of(channel)
        if guild is None:
            return 0
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return channel_permissions(guild, member, channel, self.now())

    def bot_can(self, channel: Channel, *names: str) -> bool:
        if channel.is_dm:
            return True
        return has(self.permissions(self.bot_user.id, channel), *names)

    def require(self, channel: Channel, *names: str) -> None:
        """403 50013 unless the bot has every named permission in ``channel``."""
        if channel.is_dm:
            return
        perms = self.permissions(self.bot_user.id, channel)
        if not has(perms, "view_channel"):
            raise errors.missing_access()
        if not has(perms, *names):
            raise errors.missing_permissions()

    def require_guild(self, guild: Guild, *names: str) -> None:
        """50013 unless the bot has the guild-level permissions."""
        from sandbox.permissions import base_permissions

        if not has(base_permissions(guild, self.bot_member(guild)), *names):
            raise errors.missing_permissions()

    # ---------------------------------------------------------------- messages
    def messages_in(self, channel: Channel) -> list[Message]:
        return self.channel_messages.setdefault(channel.id, [])

    def dm_channel(self, user: User) -> Channel:
        chan = self.dm_channels.get(user.id)
        if chan is None:
            chan = Channel(id=self.ids.next(), type=ChannelType.DM, name=None,
                           recipient=user)
            self.channels[chan.id] = chan
            self.dm_channels[user.id] = chan
        return chan

    def make_attachment(self, channel: Channel, filename: str, data: bytes,
                        content_type: str | None = None,
                        description: str | None = None) -> Attachment:
        att_id = self.ids.next()
        guessed = content_type
        if guessed is None or guessed == "application/octet-stream":
            guessed = mimetypes.guess_type(filename)[0] or content_type
        att = Attachment(
            id=att_id,
            filename=filename,
            data=data,
            url=f"{self.base_url}/attachments/{channel.id}/{att_id}/{filename}",
            content_type=guessed,
            description=description,
        )
        self.attachments[att_id] = att
        return att

    def webhook_author(self, hook: Webhook, username: str | None,
                       avatar_url: str | None) -> User:
        """The synthetic author of a webhook message (id = webhook id, like Discord)."""
        name = username or hook.name
        return User(id=hook.id, username=name, bot=True, avatar=avatar_url or hook.avatar)

    def build_message(
        self,
        channel: Channel,
        author: User,
        payload: dict[str, Any],
        uploads: list[Upload] | None = None,
        *,
        webhook: Webhook | None = None,
        msg_id: int | None = None,
        msg_type: int | None = None,
    ) -> Message:
        """Create a :class:`Message` from a REST body (not yet stored or dispatched)."""
        uploads = uploads or []
        described = {
            str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)
        }
        attachments = []
        for up in uploads:
            meta = described.get(str(up.index), {})
            attachments.append(self.make_attachment(
                channel, meta.get("filename") or up.filename, up.data, up.content_type,
                meta.get("description"),
            ))
        embeds = list(payload.get("embeds") or [])
        if payload.get("embed"):
            embeds.append(payload["embed"])
        for embed in embeds:
            embed.setdefault("type", "rich")
        msg = Message(
            id=msg_id or self.ids.next(),
            channel=channel,
            author=author,
            content=str(payload.get("content") or ""),
            embeds=embeds,
            components=list(payload.get("components") or []),
            attachments=attachments,
            timestamp=self.now(),
            webhook_id=webhook.id if webhook else None,
            allowed_mentions=normalize_mentions(payload.get("allowed_mentions")),
            flags=int(payload.get("flags") or 0),
            tts=bool(payload.get("tts")),
            nonce=payload.get("nonce"),
            sticker_ids=[int(s) for s in payload.get("sticker_ids") or []],
        )
        if webhook is not None:
            msg.application_id = webhook.application_id
        ref = payload.get("message_reference")
        if isinstance(ref, dict) and ref.get("message_id"):
            self._attach_reference(msg, ref)
        msg.type = msg_type if msg_type is not None else (
            19 if msg.reference and msg.reference.get("type", 0) == 0 else 0)
        return msg

    def _attach_reference(self, msg: Message, ref: dict[str, Any]) -> None:
        target = self.messages.get(int(ref["message_id"]))
        kind = int(ref.get("type") or 0)
        if target is None or target.deleted:
            if ref.get("fail_if_not_exists", True):
                raise errors.invalid_form_body(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    "Unknown message",
                )
            return
        msg.reference = {
            "type": kind,
            "message_id": str(target.id),
            "channel_id": str(target.channel.id),
        }
        if target.guild_id:
            msg.reference["guild_id"] = str(target.guild_id)
        if kind == 1:
            msg.snapshots = [wire.snapshot(self, target)]
        else:
            msg.referenced = target

    def store(self, msg: Message) -> Message:
        """Keep the message (ephemeral ones are kept only in ``messages``)."""
        self.messages[msg.id] = msg
        for observe in self.message_observers:
            observe(msg)
        if not msg.ephemeral:
            self.messages_in(msg.channel).append(msg)
            if msg.id > (msg.channel.last_message_id or 0):
                msg.channel.last_message_id = msg.id
            if msg.channel.is_thread and msg.id != msg.channel.id:
                msg.channel.message_count += 1
        return msg

    async def publish(self, msg: Message) -> None:
        """Dispatch MESSAGE_CREATE for a stored message (not for ephemeral ones)."""
        if msg.ephemeral:
            return
        await self.dispatch("MESSAGE_CREATE", wire.message(self, msg))

    async def edit(self, msg: Message, payload: dict[str, Any],
                   uploads: list[Upload] | None = None) -> Message:
        """Apply a PATCH body to a message and dispatch MESSAGE_UPDATE."""
        if "content" in payload:
            msg.content = str(payload["content"] or "")
        if "embeds" in payload:
            msg.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            msg.components = list(payload["components"] or [])
        if "allowed_mentions" in payload:
            msg.allowed_mentions = normalize_mentions(payload["allowed_mentions"])
        if payload.get("flags") is not None:
            keep = msg.flags & (MessageFlags.EPHEMERAL | MessageFlags.IS_COMPONENTS_V2)
            msg.flags = (int(payload["flags"]) & ~MessageFlags.EPHEMERAL) | keep
        if "attachments" in payload or uploads:
            keep_ids = {
                int(a["id"]) for a in payload.get("attachments") or []
                if isinstance(a, dict) and int(a.get("id", 0)) > 10_000
            }
            if "attachments" in payload:
                for att in msg.attachments:
                    if att.id not in keep_ids:
                        att.served = False
                msg.attachments = [a for a in msg.attachments if a.id in keep_ids]
            fresh = self.build_message(msg.channel, msg.author,
                                       {"attachments": payload.get("attachments")}, uploads)
            msg.attachments.extend(fresh.attachments)
        msg.flags &= ~MessageFlags.LOADING
        msg.edited_at = self.now()
        if not msg.ephemeral:
            await self.dispatch("MESSAGE_UPDATE", wire.message(self, msg))
        return msg

    async def delete(self, msg: Message) -> None:
        """Mark deleted, stop serving its attachments, dispatch MESSAGE_DELETE."""
        if msg.deleted:
            return
        msg.deleted = True
        for att in msg.attachments:
            att.served = False
        if msg.ephemeral:
            return
        data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel.id)}
        if msg.guild_id:
            data["guild_id"] = str(msg.guild_id)
        await self.dispatch("MESSAGE_DELETE", data)

    def visible(self, channel: Channel) -> list[Message]:
        return [m for m in self.messages_in(channel) if not m.deleted]

    # --------------------------------------------------------------- webhooks
    def new_webhook(self, channel: Channel, name: str, creator: User | None,
                    avatar: str | None = None, *, application: bool = False) -> Webhook:
        target = channel
        if channel.is_thread and channel.parent_id:
            target = self.channel(channel.parent_id)
        hook = Webhook(
            id=self.ids.next(),
            token=secrets.token_urlsafe(48),
            channel_id=target.id,
            guild_id=target.guild_id or 0,
            name=name,
            creator=creator,
            avatar=avatar,
            application_id=self.application_id if application else None,
        )
        self.webhooks[hook.id] = hook
        return hook

    # ---------------------------------------------------------------- commands
    def command_list(self, guild_id: int | None) -> list[Command]:
        return self.commands.setdefault(guild_id, [])

    def find_command(self, name: str, guild_id: int | None, ctype: int | None = None
                     ) -> Command | None:
        for scope in ([guild_id, None] if guild_id is not None else [None]):
            for cmd in self.command_list(scope):
                if cmd.name == name and (ctype is None or cmd.type == ctype):
                    return cmd
        return None

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()
