"""The test-facing sandbox: :class:`Sandbox`.

Lifecycle and world building live here; user actions (posting, joining, ...) are in
:mod:`sandbox.scenario_events`, interactions (slash commands, clicks, modals) in
:mod:`sandbox.scenario_interactions`, and queries/waits in
:mod:`sandbox.scenario_queries`. See ``sandbox/README.md`` for a tour.

World-building methods are synchronous. Before the bot connects they simply shape what
READY/GUILD_CREATE will contain; after it connected, ``add_guild``/``add_*_channel``/
``add_role``/``set_overwrite`` also queue the gateway event Discord would send
(GUILD_CREATE, CHANNEL_CREATE, ...) while ``add_member`` stays silent (use ``await
sb.join(...)`` for GUILD_MEMBER_ADD).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import discord
from aiohttp import web

from sandbox import routes_automod, routes_channels, routes_guilds, routes_webhooks, wire
from sandbox.clock import RealClock, SupportsNow
from sandbox.errors import SandboxError
from sandbox.gateway import Gateway
from sandbox.models import Channel, ChannelType, Guild, Member, Message, Overwrite, Role, User
from sandbox.permissions import to_int
from sandbox.rest import RestApi, Router, build_app
from sandbox.retention import Retention, trim_forever
from sandbox.scenario_events import EventsMixin
from sandbox.scenario_interactions import InteractionsMixin
from sandbox.scenario_queries import QueriesMixin
from sandbox.state import World

PermissionsLike = discord.Permissions | int | Iterable[str] | None
UserLike = User | Member | str

EVERYONE_DEFAULT = discord.Permissions(
    view_channel=True, send_messages=True, send_messages_in_threads=True,
    create_public_threads=True, read_message_history=True, add_reactions=True,
    embed_links=True, attach_files=True, use_application_commands=True,
    use_external_emojis=True, connect=True, speak=True, change_nickname=True,
).value

BOT_DEFAULT = discord.Permissions(
    view_channel=True, send_messages=True, send_messages_in_threads=True,
    create_public_threads=True, create_private_threads=True, manage_threads=True,
    read_message_history=True, embed_links=True, attach_files=True, add_reactions=True,
    manage_messages=True, manage_webhooks=True, manage_roles=True, manage_channels=True,
    moderate_members=True, kick_members=True, ban_members=True, manage_nicknames=True,
    use_application_commands=True, use_external_emojis=True, mention_everyone=False,
    pin_messages=True, view_audit_log=True, manage_guild=True,
).value


def _all_routes() -> Router:
    router = Router()
    for module in (routes_channels, routes_guilds, routes_webhooks, routes_automod):
        router.routes.extend(module.router.routes)
    router.routes.sort(key=lambda r: r.template.count("{"))
    return router


_LIVE: weakref.WeakSet[Sandbox] = weakref.WeakSet()


class Sandbox(EventsMixin, InteractionsMixin, QueriesMixin):
    """An imitation of Discord (REST v10 + gateway) on 127.0.0.1 for the real discord.py.

    ``clock``: anything with ``now() -> aware datetime`` (default: real UTC time); ids,
    timestamps and the 3-second interaction deadline use it.
    ``privileged_intents_enabled``: the intents switched on in the "developer portal";
    IDENTIFY asking for others is closed with 4014.
    ``retention``: keep only recent records (:mod:`sandbox.retention`), for long runs.
    """

    def __init__(
        self,
        clock: SupportsNow | None = None,
        *,
        privileged_intents_enabled: Iterable[str] = ("members", "message_content",
                                                     "presences"),
        token: str | None = None,
        bot_name: str = "Steward",
        retention: Retention | None = None,
    ) -> None:
        self.clock: SupportsNow = clock or RealClock()
        self.world = World(self.clock, token or f"sandbox.{secrets.token_urlsafe(24)}")
        self.world.bot_user.username = bot_name
        self.api = RestApi(self.world, _all_routes())
        self.world.api = self.api
        self.gateway = Gateway(self.world, set(privileged_intents_enabled))
        self.world.dispatcher = self.gateway.dispatch
        self.world.enqueuer = self.gateway.enqueue
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._former_members: dict[int, set[int]] = {}
        self._floor = 0
        self._request_floor = 0
        self._ping_floor = 0
        self._pingable_roles: set[int] = set()
        self.retention = retention
        self.kept_ids: set[int] = set()
        self._trimmer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> Sandbox:
        """Start the HTTP/WebSocket server on a random free port on 127.0.0.1."""
        if self._runner is not None:
            return self
        app = build_app(self.api, self.gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1])
        self.world.base_url = f"http://127.0.0.1:{self._port}"
        self.gateway.url = f"ws://127.0.0.1:{self._port}/gateway"
        self.world.gateway_url = self.gateway.url
        self.gateway.start()
        if self.retention is not None:
            self._trimmer = asyncio.get_running_loop().create_task(
                trim_forever(self, self.retention))
        _LIVE.add(self)
        return self

    @staticmethod
    def live() -> list[Sandbox]:
        """Every sandbox started in this process and not yet garbage-collected."""
        return list(_LIVE)

    async def stop(self) -> None:
        """Close every websocket and stop the server."""
        if self._trimmer is not None:
            self._trimmer.cancel()
            self._trimmer = None
        await self.gateway.close_all()
        await self.gateway.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------ retention
    def keep(self, message: Message) -> None:
        """Never forget `message`, whatever the retention (see :mod:`sandbox.retention`)."""
        self.kept_ids.add(message.id)

    def on_message(self, observe: Callable[[Message], None]) -> None:
        """Call `observe(message)` for every message stored from now on (bot's or members')."""
        self.world.message_observers.append(observe)

    def forget_requests(self, count: int) -> None:
        """The oldest `count` request records were dropped: move the floors with them."""
        self._request_floor = max(0, self._request_floor - count)
        self._ping_floor = max(0, self._ping_floor - count)

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"{self.world.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``."""
        return self.gateway.url

    @property
    def token(self) -> str:
        """The bot token the sandbox accepts."""
        return self.world.token

    @property
    def bot_user(self) -> User:
        return self.world.bot_user

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def connected(self) -> bool:
        return self.gateway.connected

    def now(self) -> dt.datetime:
        return self.clock.now()

    def _announce(self, event: str, data: dict[str, Any]) -> None:
        if self.gateway.sessions:
            self.world.dispatch_nowait(event, data)

    # -------------------------------------------------------- world building
    def add_user(self, name: str, *, bot: bool = False, avatar: str | None = None,
                 created_at: dt.datetime | None = None) -> User:
        """A user in no guild (e.g. for DMs). ``created_at`` sets the snowflake time
        (default: one year ago)."""
        when = created_at or self.now() - dt.timedelta(days=365)
        return self.world.add_user(name, bot=bot, avatar=avatar, created_at=when)

    def add_guild(self, name: str, owner: UserLike | None = None, *,
                  bot_permissions: PermissionsLike = BOT_DEFAULT,
                  everyone_permissions: PermissionsLike = EVERYONE_DEFAULT,
                  locale: str = "en-US", shard: tuple[int, int] | None = None) -> Guild:
        """A guild with @everyone, an owner member, the bot's member and its managed
        "Steward" role (``bot_permissions``). ``shard=(id, count)`` picks a guild id that
        shard `id` of `count` receives (``(guild_id >> 22) % count == id``)."""
        world = self.world
        created = self.now() - dt.timedelta(days=1000)
        owner_user = self._user(owner or f"{name.split()[0].lower()}-owner")
        guild_id = world.ids.next(created)
        while shard is not None and (guild_id >> 22) % shard[1] != shard[0]:
            created -= dt.timedelta(milliseconds=1)
            guild_id = world.ids.next(created)
        guild = Guild(id=guild_id, name=name, owner_id=owner_user.id,
                      preferred_locale=locale)
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone",
                                     to_int(everyone_permissions), position=0)
        bot_role = Role(world.ids.next(created), guild.id, world.bot_user.username,
                        to_int(bot_permissions), position=1, managed=True,
                        bot_id=world.bot_user.id)
        guild.roles[bot_role.id] = bot_role
        world.guilds[guild.id] = guild
        guild.members[owner_user.id] = Member(guild.id, owner_user, created)
        guild.members[world.bot_user.id] = Member(guild.id, world.bot_user,
                                                  self.now() - dt.timedelta(days=100),
                                                  roles=[bot_role.id])
        self._announce("GUILD_CREATE", wire.guild_create(world, guild, unavailable_flag=False))
        return guild

    def bot_role(self, guild: Guild) -> Role:
        """The bot's managed role."""
        for role in guild.roles.values():
            if role.bot_id == self.world.bot_user.id:
                return role
        raise SandboxError("guild has no bot role")

    def bot_member(self, guild: Guild) -> Member:
        return self.world.bot_member(guild)

    def set_bot_permissions(self, guild: Guild, permissions: PermissionsLike) -> None:
        """Replace the permissions of the bot's role (GUILD_ROLE_UPDATE if connected)."""
        role = self.bot_role(guild)
        role.permissions = to_int(permissions)
        self._announce("GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.to_wire()})

    def _add_channel(self, guild: Guild, name: str, ctype: ChannelType, *,
                     category: Channel | None = None, topic: str | None = None,
                     position: int | None = None) -> Channel:
        chan = Channel(
            id=self.world.ids.next(), type=ctype, name=name, guild_id=guild.id,
            position=position if position is not None else len(guild.channels),
            parent_id=category.id if category else None, topic=topic,
        )
        self.world.channels[chan.id] = chan
        guild.channels[chan.id] = chan
        return chan

    def add_category(self, guild: Guild, name: str) -> Channel:
        chan = self._add_channel(guild, name, ChannelType.CATEGORY)
        self._announce("CHANNEL_CREATE", chan.to_wire())
        return chan

    def add_text_channel(self, guild: Guild, name: str, *, category: Channel | None = None,
                         topic: str | None = None, position: int | None = None) -> Channel:
        chan = self._add_channel(guild, name, ChannelType.TEXT, category=category,
                                 topic=topic, position=position)
        self._announce("CHANNEL_CREATE", chan.to_wire())
        return chan

    def add_forum_channel(self, guild: Guild, name: str, tags: Iterable[str] = (), *,
                          category: Channel | None = None, topic: str | None = None
                          ) -> Channel:
        chan = self._add_channel(guild, name, ChannelType.FORUM, category=category,
                                 topic=topic)
        chan.available_tags = [
            {"id": str(self.world.ids.next()), "name": t, "moderated": False,
             "emoji_id": None, "emoji_name": None} for t in tags
        ]
        self._announce("CHANNEL_CREATE", chan.to_wire())
        return chan

    def add_role(self, guild: Guild, name: str, permissions: PermissionsLike = 0, *,
                 above_bot: bool = False, mentionable: bool = False, color: int = 0,
                 hoist: bool = False) -> Role:
        """A role placed just below the bot's role (or above it with ``above_bot``)."""
        bot_role = self.bot_role(guild)
        position = bot_role.position + 1 if above_bot else bot_role.position
        shifted = []
        for role in guild.roles.values():
            if not role.is_everyone and role.position >= position:
                role.position += 1
                shifted.append(role)
        role = Role(self.world.ids.next(), guild.id, name, to_int(permissions),
                    position=position, mentionable=mentionable, color=color, hoist=hoist)
        guild.roles[role.id] = role
        self._announce("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_wire()})
        for other in shifted:  # Discord announces every role whose position moved
            self._announce("GUILD_ROLE_UPDATE",
                           {"guild_id": str(guild.id), "role": other.to_wire()})
        return role

    def _user(self, who: UserLike, *, bot: bool = False, avatar: str | None = None,
              created_at: dt.datetime | None = None) -> User:
        if isinstance(who, Member):
            return who.user
        if isinstance(who, User):
            return who
        return self.add_user(who, bot=bot, avatar=avatar, created_at=created_at)

    def add_member(self, guild: Guild, who: UserLike, *, joined_at: dt.datetime | None = None,
                   roles: Iterable[Role] = (), bot: bool = False, avatar: str | None = None,
                   nick: str | None = None, pending: bool = False, flags: int = 0,
                   created_at: dt.datetime | None = None) -> Member:
        """Add a member without any event (before connecting it is in GUILD_CREATE).

        ``who`` is a name (a new user is made, account ``created_at`` default one year
        ago) or an existing User/Member. ``joined_at`` defaults to 30 days ago.
        """
        user = self._user(who, bot=bot, avatar=avatar, created_at=created_at)
        member = Member(guild.id, user, joined_at or self.now() - dt.timedelta(days=30),
                        roles=[r.id for r in roles], nick=nick, pending=pending, flags=flags)
        guild.members[user.id] = member
        return member

    def member(self, guild: Guild, who: UserLike) -> Member:
        user = self._user(who) if not isinstance(who, str) else None
        for member in guild.members.values():
            if (user is not None and member.user is user) or member.user.username == who:
                return member
        raise SandboxError(f"{who!r} is not a member of {guild.name!r}")

    def set_overwrite(self, channel: Channel, target: Role | Member | User | Guild, *,
                      allow: PermissionsLike = 0, deny: PermissionsLike = 0) -> None:
        """Set a channel overwrite for a role, member or @everyone (pass the guild)."""
        if isinstance(target, Guild | Role):
            tid, ttype = target.id, 0
        else:
            tid, ttype = target.id, 1
        channel.overwrites[tid] = Overwrite(tid, ttype, to_int(allow), to_int(deny))
        self._announce("CHANNEL_UPDATE", channel.to_wire())

    def set_privileged_intent(self, name: str, enabled: bool) -> None:
        """Switch "members", "presences" or "message_content" on or off in the developer
        portal while the bot runs (its live sessions are affected at once)."""
        self.gateway.set_privileged(name, enabled)

    def deny(self, channel: Channel, *permissions: str) -> None:
        """Deny the bot the named permissions in ``channel`` (a member overwrite)."""
        current = channel.overwrites.get(self.bot_user.id)
        allow = current.allow if current else 0
        deny = (current.deny if current else 0) | to_int(permissions)
        self.set_overwrite(channel, self.bot_user, allow=allow & ~deny, deny=deny)

    def allow(self, channel: Channel, *permissions: str) -> None:
        """Explicitly allow the bot the named permissions in ``channel``."""
        current = channel.overwrites.get(self.bot_user.id)
        allow = (current.allow if current else 0) | to_int(permissions)
        deny = (current.deny if current else 0) & ~allow
        self.set_overwrite(channel, self.bot_user, allow=allow, deny=deny)

    def close_dms(self, user: UserLike) -> None:
        """The user does not accept DMs from the bot: DM sends fail with 50007."""
        self._user(user).dm_closed = True

    def open_dms(self, user: UserLike) -> None:
        self._user(user).dm_closed = False

    def dm_channel(self, user: UserLike) -> Channel:
        """The DM channel between the bot and ``user``."""
        return self.world.dm_channel(self._user(user))

    def add_webhook(self, channel: Channel, name: str = "Captain Hook",
                    creator: UserLike | None = None) -> Any:
        """A webhook made by someone else (not owned by the bot's application)."""
        creator_user = self._user(creator) if creator else None
        return self.world.new_webhook(channel, name, creator_user)

    async def delete_webhook(self, webhook: Any) -> None:
        """Someone (an admin) deletes a webhook: later calls with it get 404 10015."""
        webhook.deleted = True
        await self.world.dispatch("WEBHOOKS_UPDATE", {"guild_id": str(webhook.guild_id),
                                                      "channel_id": str(webhook.channel_id)})

    def webhooks_in(self, channel: Channel) -> list[Any]:
        """Live webhooks of a channel (a thread's are its parent's)."""
        target = channel.parent_id if channel.is_thread and channel.parent_id else channel.id
        return [h for h in self.world.webhooks.values()
                if h.channel_id == target and not h.deleted]

    def fail(self, route: str, status: int = 429, times: int = 1, *,
             retry_after: float = 0.05, global_: bool = False,
             channel: Channel | None = None, after_effect: bool = False, skip: int = 0,
             **params: Any) -> None:
        """Make the next ``times`` matching requests fail with ``status``.

        ``route`` is a template like ``"POST /channels/{channel_id}/messages"``;
        ``channel=`` (or any ``param=value``) restricts it to those path params.
        ``after_effect=True``: the request takes effect first and only the answer fails
        (Discord created the message, then a 5xx reached the bot). ``skip=N`` lets the
        first N matching requests through.
        """
        from sandbox.records import FaultRule

        if channel is not None:
            params["channel_id"] = channel.id
        ids = {k: getattr(v, "id", v) for k, v in params.items()}
        if not any(r.name == route for r in self.api.router.routes):
            raise SandboxError(f"unknown route {route!r}; see sb.routes()")
        self.api.faults.append(FaultRule(route, status, times, retry_after, global_, ids,
                                         after_effect=after_effect, skip=skip))

    def routes(self) -> list[str]:
        """Every route template the sandbox serves."""
        return self.api.router.templates()
