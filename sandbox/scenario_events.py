"""What people do in the sandbox guilds (each sends the gateway events Discord would).

Every method is ``async`` because it waits until the event was handed to the bot's
websocket (or buffered for replay when the bot is disconnected). Nothing here waits for the
bot to *react*; use ``sb.wait_for_*``/``sb.idle`` for that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sandbox import automod, wire
from sandbox.automod import Blocked, MessageBlocked
from sandbox.errors import SandboxError
from sandbox.models import (
    Channel,
    ChannelType,
    Guild,
    Member,
    MemberFlags,
    Message,
    Role,
    User,
)
from sandbox.permissions import has
from sandbox.routes_channels import new_thread, remove_channel
from sandbox.scenario_base import SandboxBase
from sandbox.state import Upload

FileLike = tuple[str, bytes] | tuple[str, bytes, str]
UserLike = User | Member | str


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class EventsMixin(SandboxBase):
    """Members joining/leaving, posting, threads, edits and deletions."""

    # ---------------------------------------------------------------- members
    async def join(self, guild: Guild, who: UserLike, *, pending: bool = False,
                   flags: int = 0, roles: Iterable[Role] = (),
                   joined_at: dt.datetime | None = None,
                   created_at: dt.datetime | None = None, bot: bool = False,
                   avatar: str | None = None) -> Member:
        """A user joins now: GUILD_MEMBER_ADD. A returning user gets DID_REJOIN."""
        user = self._user(who, bot=bot, avatar=avatar, created_at=created_at)
        if user.id in self._former_members.get(guild.id, set()):
            flags |= MemberFlags.DID_REJOIN
        member = Member(guild.id, user, joined_at or self.now(), roles=[r.id for r in roles],
                        pending=pending, flags=flags)
        guild.members[user.id] = member
        await self.world.dispatch("GUILD_MEMBER_ADD", wire.member_event(guild, member))
        return member

    async def leave(self, guild: Guild, who: Member | User) -> None:
        """The member leaves: GUILD_MEMBER_REMOVE."""
        member = guild.members.pop(who.id, None)
        if member is None:
            raise SandboxError(f"{who!r} is not in {guild.name!r}")
        self._former_members.setdefault(guild.id, set()).add(member.id)
        await self.world.dispatch("GUILD_MEMBER_REMOVE",
                                  {"guild_id": str(guild.id), "user": member.user.to_wire()})

    async def update_member(self, guild: Guild, who: Member | User, *,
                            pending: bool = UNSET, flags: int = UNSET,
                            roles: Iterable[Role] = UNSET, nick: str | None = UNSET,
                            timeout_until: dt.datetime | None = UNSET) -> Member:
        """Change a member (e.g. ``pending=False`` after screening): GUILD_MEMBER_UPDATE."""
        member = guild.members.get(who.id)
        if member is None:
            raise SandboxError(f"{who!r} is not in {guild.name!r}")
        if pending is not UNSET:
            member.pending = pending
        if flags is not UNSET:
            member.flags = flags
        if roles is not UNSET:
            member.roles = [r.id for r in roles]
        if nick is not UNSET:
            member.nick = nick
        if timeout_until is not UNSET:
            member.communication_disabled_until = timeout_until
        await self.world.dispatch("GUILD_MEMBER_UPDATE", wire.member_event(guild, member))
        return member

    # --------------------------------------------------------------- messages
    def _check_user_can_post(self, channel: Channel, user: User) -> None:
        if channel.is_dm:
            return
        guild = self.world.guild_of(channel)
        if guild is None or user.id not in guild.members:
            raise SandboxError(f"{user.username!r} is not a member of that guild")
        perms = self.world.permissions(user.id, channel)
        need = "send_messages_in_threads" if channel.is_thread else "send_messages"
        if channel.type == ChannelType.FORUM:
            need = "send_messages"
        if not has(perms, "view_channel", need):
            raise SandboxError(
                f"{user.username!r} cannot post in #{channel.name} (permissions {perms}); "
                "pass force=True to post anyway")
        if channel.is_thread and channel.locked and not has(perms, "manage_threads"):
            raise SandboxError(f"#{channel.name} is locked; pass force=True to post anyway")

    def _uploads(self, files: Sequence[FileLike]) -> list[Upload]:
        out = []
        for i, item in enumerate(files):
            ctype = item[2] if len(item) > 2 else None
            out.append(Upload(i, item[0], item[1], ctype))
        return out

    async def post(self, channel: Channel, author: UserLike, content: str = "",
                   **options: Any) -> Message:
        """``author`` posts in ``channel``: MESSAGE_CREATE. Options as for :meth:`try_post`.

        Raises :class:`~sandbox.automod.MessageBlocked` (carrying the ``Blocked`` record) when
        an AutoMod rule blocks the post; use :meth:`try_post` to get either outcome back.
        """
        result = await self.try_post(channel, author, content, **options)
        if isinstance(result, Blocked):
            raise MessageBlocked(result)
        return result

    async def try_post(
        self,
        channel: Channel,
        author: UserLike,
        content: str = "",
        *,
        embeds: list[dict[str, Any]] | None = None,
        attachments: Sequence[FileLike] = (),
        reply_to: Message | None = None,
        mention_author: bool = True,
        forward_of: Message | None = None,
        components: list[dict[str, Any]] | None = None,
        at: dt.datetime | None = None,
        silent: bool = False,
        force: bool = False,
        poll: tuple[str, Sequence[str]] | None = None,
        message_type: int = 0,
        via_app: User | None = None,
    ) -> Message | Blocked:
        """``author`` tries to post in ``channel`` (a guild channel, thread, or DM).

        Returns the created :class:`Message`, or a :class:`~sandbox.automod.Blocked` record
        when an enabled AutoMod keyword rule with BLOCK_MESSAGE matched (then nothing is
        stored and no MESSAGE_CREATE is sent; alerts and AUTO_MODERATION_ACTION_EXECUTION
        events are). AutoMod does not look at ``silent``, ``via_app`` or system posts.

        ``attachments``: ``[("scan.png", b"...")]`` (optionally a content type third).
        ``reply_to`` makes a reply (pings the replied author unless
        ``mention_author=False``); ``forward_of`` a forward (``message_snapshots``).
        ``at`` backdates it; ``silent=True`` stores it without MESSAGE_CREATE (history).
        ``poll=("question", ["answer", ...])`` attaches a poll (24 h); ``message_type`` makes a
        system message (e.g. 18 THREAD_CREATED, 6 CHANNEL_PINNED_MESSAGE, 7 USER_JOIN);
        ``via_app`` posts it as that user-installed app's bot user on ``author``'s behalf
        (``interaction_metadata.user`` is ``author``, as Discord sends it).
        """
        world = self.world
        user = self._user(author)
        if not force:
            self._check_user_can_post(channel, user)
        payload: dict[str, Any] = {"content": content, "embeds": embeds or [],
                                   "components": components or []}
        if reply_to is not None:
            payload["message_reference"] = {"type": 0, "message_id": str(reply_to.id)}
            if not mention_author:
                payload["allowed_mentions"] = {"parse": ["users", "roles", "everyone"],
                                               "replied_user": False}
        if forward_of is not None:
            payload["message_reference"] = {"type": 1, "message_id": str(forward_of.id)}
        shown = via_app if via_app is not None else user
        msg = world.build_message(channel, shown, payload, self._uploads(attachments),
                                  msg_id=world.ids.next(at) if at else None,
                                  msg_type=message_type or None)
        if at is not None:
            msg.timestamp = at
        if poll is not None:
            msg.poll = _poll_object(poll[0], poll[1], (at or world.now()))
        if via_app is not None:
            msg.application_id = via_app.id
            msg.interaction_metadata = {
                "id": str(world.ids.next()), "type": 2, "user": user.to_wire(),
                "authorizing_integration_owners": {"1": str(user.id)}}
        msg.answered_at = 0.0

        async def create() -> Message:
            world.store(msg)
            if channel.is_thread and channel.archived and not silent:
                channel.archived = False
                await world.dispatch("THREAD_UPDATE", channel.to_wire())
            if not silent:
                await world.publish(msg)
            return msg

        guild = world.guild_of(channel)
        member = guild.members.get(user.id) if guild is not None else None
        if guild is None or member is None or silent or via_app is not None or message_type:
            return await create()
        found = automod.matches(guild, member, channel, content)
        if not found:
            return await create()
        return await automod.enforce(world, guild, member, channel, content, found, create)

    async def edit(self, message: Message, content: str | None = None, *,
                   embeds: list[dict[str, Any]] | None = None) -> Message:
        """The author edits a message: MESSAGE_UPDATE."""
        payload: dict[str, Any] = {}
        if content is not None:
            payload["content"] = content
        if embeds is not None:
            payload["embeds"] = embeds
        return await self.world.edit(message, payload)

    async def delete(self, message: Message) -> None:
        """Delete a message (by its author or a moderator): MESSAGE_DELETE."""
        await self.world.delete(message)

    # ---------------------------------------------------------------- threads
    async def forum_post(self, forum: Channel, author: UserLike, title: str,
                         content: str = "", *, tags: Iterable[str | int] = (),
                         attachments: Sequence[FileLike] = (),
                         embeds: list[dict[str, Any]] | None = None,
                         force: bool = False) -> tuple[Channel, Message]:
        """A forum post: THREAD_CREATE (owner = author) then MESSAGE_CREATE of the starter
        message (its id equals the thread id). Returns ``(thread, starter)``.

        AutoMod checks the starter's content like a post in the forum: a blocking rule
        raises :class:`~sandbox.automod.MessageBlocked` and no thread is created."""
        if forum.type != ChannelType.FORUM:
            raise SandboxError(f"#{forum.name} is not a forum channel")
        world = self.world
        user = self._user(author)
        if not force:
            self._check_user_can_post(forum, user)

        async def create() -> Message:
            thread = new_thread(world, forum, title, user.id,
                                tags=[forum.tag_id(t) for t in tags])
            msg = world.build_message(thread, user,
                                      {"content": content, "embeds": embeds or []},
                                      self._uploads(attachments), msg_id=thread.id)
            msg.answered_at = 0.0
            world.store(msg)
            await world.dispatch("THREAD_CREATE", wire.thread_create(thread))
            await world.publish(msg)
            return msg

        guild = world.guild_of(forum)
        member = guild.members.get(user.id) if guild is not None else None
        found = automod.matches(guild, member, forum, content) if guild and member else []
        if guild is None or member is None or not found:
            starter = await create()
            return starter.channel, starter
        result = await automod.enforce(world, guild, member, forum, content, found, create)
        if isinstance(result, Blocked):
            raise MessageBlocked(result)
        return result.channel, result

    async def create_thread(self, channel: Channel, author: UserLike, name: str, *,
                            message: Message | None = None, private: bool = False
                            ) -> Channel:
        """A user starts a thread (from ``message`` if given): THREAD_CREATE."""
        user = self._user(author)
        thread = new_thread(self.world, channel, name, user.id, private=private,
                            thread_id=message.id if message else None)
        await self.world.dispatch("THREAD_CREATE", wire.thread_create(thread))
        return thread

    async def _thread_update(self, thread: Channel, **changes: Any) -> Channel:
        if not thread.is_thread:
            raise SandboxError(f"#{thread.name} is not a thread")
        for key, value in changes.items():
            setattr(thread, key, value)
        if "archived" in changes:
            thread.archive_timestamp = self.now()
        await self.world.dispatch("THREAD_UPDATE", thread.to_wire())
        return thread

    async def archive(self, thread: Channel, *, locked: bool | None = None) -> Channel:
        changes: dict[str, Any] = {"archived": True}
        if locked is not None:
            changes["locked"] = locked
        return await self._thread_update(thread, **changes)

    async def unarchive(self, thread: Channel) -> Channel:
        return await self._thread_update(thread, archived=False)

    async def lock(self, thread: Channel, locked: bool = True) -> Channel:
        return await self._thread_update(thread, locked=locked)

    async def rename(self, channel: Channel, name: str) -> Channel:
        channel.name = name
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        await self.world.dispatch(event, channel.to_wire())
        return channel

    async def delete_channel(self, channel: Channel) -> None:
        """CHANNEL_DELETE (THREAD_DELETE for threads); its attachments stop being served."""
        await remove_channel(self.world, channel)


def _poll_object(question: str, answers: Sequence[str], created: dt.datetime) -> dict[str, Any]:
    """A message's ``poll`` as Discord sends it (expires in 24 h, no votes yet)."""
    expiry = created + dt.timedelta(hours=24)
    return {
        "question": {"text": question},
        "answers": [{"answer_id": i, "poll_media": {"text": text}}
                    for i, text in enumerate(answers, start=1)],
        "expiry": expiry.isoformat(),
        "allow_multiselect": False,
        "layout_type": 1,
        "results": {"is_finalized": False, "answer_counts": []},
    }
