"""What the follow-up services need from Discord (the ports) and the facts they exchange.

`bot/adapters/followups.py` implements `FollowupDiscord` with discord.py; the service tests use
a small fake. "Gone" is decided only from Discord's answers to a fetch (Unknown Member, Unknown
Channel), never from a cache, which misses uncached members and archived threads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.followups import SeenMessage

KIND_CHECKIN = "checkin"
KIND_REMIND = "remind"
KIND_AUTOCHECK = "autocheck"
KIND_EXPIRE = "expire"
VISIBLE_KINDS = (KIND_CHECKIN, KIND_REMIND, KIND_AUTOCHECK)


class PlaceGone(Exception):
    """The thread or channel no longer exists."""


class NoAccess(Exception):
    """Steward may not see, or post in, the thread or channel."""


@dataclass(frozen=True, slots=True)
class Place:
    """A channel or thread, as Discord (or the cache, where that is good enough) sees it."""

    channel_id: int
    is_thread: bool = False
    postable: bool = True  # a text channel or a thread: somewhere follow-ups post
    locked: bool = False
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Question:
    """A message a moderator asks the original poster about (content kept only to quote it)."""

    guild_id: int
    message_id: int
    place: Place
    author_id: int
    by_member: bool  # written by a member (not a bot or a webhook)
    content: str
    jump_url: str


class FollowupDiscord(Protocol):
    """The Discord actions of follow-ups (bot.adapters.followups carries them out)."""

    @property
    def bot_user_id(self) -> int | None:
        """Steward's own user id, once connected."""
        ...

    async def member_present(self, guild_id: int, user_id: int) -> bool:
        """Asks Discord (not the cache): False only when it says Unknown Member."""
        ...

    async def place(self, channel_id: int) -> Place | None:
        """The channel as Discord sees it now; None when it is gone; NoAccess when hidden."""
        ...

    def history_after(self, channel_id: int, after_id: int) -> AsyncIterator[SeenMessage]:
        """Messages after `after_id`, oldest first (a bounded scan)."""
        ...

    async def reply_authors(self, channel_id: int) -> list[int]:
        """Authors of the replies to a forum post, oldest first, bots and webhooks left out."""
        ...

    async def find_reminder_message(self, channel_id: int, reminder_id: int) -> int | None:
        """Steward's message for `reminder_id` among the recent ones (crash recovery)."""
        ...

    async def reopen(self, channel_id: int) -> None:
        """Unarchive a thread (posting into it reopens it anyway; done for one message)."""
        ...

    async def post_ask(self, channel_id: int, text: str, op_id: int, followup_id: int) -> int:
        """The tag under a question, pinging only the OP, with "Notify me when they reply";
        returns its message id."""
        ...

    async def post_tag(self, channel_id: int, text: str, member_id: int,
                       reminder_id: int) -> int:
        """A check-in or reminder pinging only the member, with "Please don't remind me"
        (same nonce on every attempt); raises NoAccess or PlaceGone."""
        ...

    async def dm(self, user_id: int, text: str) -> bool:
        """DM a member, pinging nobody; False when it can't be delivered (closed DMs)."""
        ...

    async def post_notice(self, channel_id: int, text: str, ping_ids: list[int]) -> None:
        """Post in a thread/channel pinging exactly `ping_ids` (failures are logged)."""
        ...


class OptOutRecords(Protocol):
    """Hashed opt-outs that survive `/privacy forget` (bot.services.privacy)."""

    async def has_opted_out(self, guild_id: int, user_id: int, scope: str) -> bool:
        """Whether the member's hashed opt-out for `scope` is kept."""
        ...

    async def withdraw_opt_out(self, guild_id: int, user_id: int, scope: str) -> bool:
        """Drop it (they opted back in); False if there was none."""
        ...


# When a member's quiet window ends (None: not quiet). While it is open, Steward sends them no
# automated reply: check-ins, automatic check-ins and reminders to them wait until it ends.
# bot.composition passes `CareService.quiet_until`.
QuietUntil = Callable[[int, int], Awaitable[datetime | None]]

# Whether moderators marked the member do-not-tag (in memoriam, or they asked for quiet):
# Steward never tags or reminds them, and their open follow-ups close quietly.
# bot.composition passes `CareService.do_not_tag`.
DoNotTag = Callable[[int, int], Awaitable[bool]]
