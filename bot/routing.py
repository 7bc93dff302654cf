"""One entry point for MESSAGE_CREATE: the app receives `on_message` once and routes it.

discord.py creates a task per listener per event; one listener per feature would cost more
than parsing the message. Features register handlers here instead, cheapest and most important
first. A handler returns True when it consumed the message (e.g. held it), which stops later
handlers (a held post gets no group suggestion).

Messages from bots and webhooks are not routed, with one exception for handlers that ask for
it (`app_posts=True`): a message a user-installed app posted on a member's behalf (its
`interaction_metadata.user` is the member who ran the command).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import discord

log = logging.getLogger(__name__)

MessageHandler = Callable[[discord.Message], Awaitable[bool]]

# Lower runs first. Link holds must see a message before anything reacts to it.
PRIORITY_LINKHOLD = 10
PRIORITY_FOLLOWUPS = 50
# Care consumes a post that reads as distress: nothing automated may answer it. A post the
# link gate held never reaches this route: the gate itself asks care (`HoldCore.care`) before
# telling the member and raises the one alert after its queue card is up, so the order is
# fixed whichever way a post comes (new post, edit via `edit_router`, AutoMod block).
PRIORITY_CARE = 60
PRIORITY_WELCOME = 90


@dataclass(order=True)
class _Route:
    priority: int
    name: str = field(compare=False)
    handler: MessageHandler = field(compare=False)
    app_posts: bool = field(default=False, compare=False)


def is_app_post(message: discord.Message) -> bool:
    """A message a user-installed app (not one the server installed) posted for a member."""
    meta = message.interaction_metadata
    return (meta is not None and meta.is_user_integration()
            and not meta.is_guild_integration())


class MessageRouter:
    """Routes each guild message from a human to the registered feature handlers."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, name: str, handler: MessageHandler, *, priority: int,
            app_posts: bool = False) -> None:
        """Register `handler`; re-registering a name replaces it (extension reloads).
        `app_posts`: also receive user-installed apps' posts on a member's behalf."""
        self.remove(name)
        self._routes.append(_Route(priority, name, handler, app_posts))
        self._routes.sort()

    def remove(self, name: str) -> None:
        """Unregister a handler by name."""
        self._routes = [r for r in self._routes if r.name != name]

    @property
    def names(self) -> list[str]:
        """Registered handler names, in the order they run."""
        return [r.name for r in self._routes]

    async def dispatch(self, message: discord.Message) -> None:
        """Run handlers in order until one consumes the message."""
        if message.guild is None:
            return
        app_post = False
        if message.author.bot or message.webhook_id is not None:
            if not is_app_post(message):
                return
            app_post = True
        self._in_flight += 1
        self._idle.clear()
        try:
            for route in self._routes:
                if app_post and not route.app_posts:
                    continue
                try:
                    if await route.handler(message):
                        return
                except Exception:
                    log.exception("message handler %s failed on message %s", route.name,
                                  message.id)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    @property
    def in_flight(self) -> int:
        """Messages being handled right now."""
        return self._in_flight

    async def drain(self, grace: float = 10.0) -> bool:
        """Wait until no message is being handled (at most `grace` s); False if time ran out.

        Called on shutdown before features save what must survive a restart (the catch-up
        marks): a post whose handling (an attachment download, say) is under way is finished
        first, so it can't fall between the mark and the restart.
        """
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning("%d message(s) still being handled at shutdown", self._in_flight)
            return False
        return True
