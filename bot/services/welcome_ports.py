"""What the welcome services need from outside, as small protocols (the ports).

`bot/adapters/welcome.py` implements `WelcomeDiscord` with discord.py; tests pass fakes. The
audit trail, the metrics and the guild settings are handed in as the narrow shapes below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain.welcome import RoleFacts
from bot.domain.welcome_facts import GuildFacts, MemberFacts
from config.guild import GuildConfig


class SendFailed(Exception):
    """Discord refused a welcome post (`forbidden`: a missing permission).

    `transient`: worth trying again later (a 429 after discord.py's own retries, a 5xx, a
    connection error). A 5xx may still have created the message: look before re-sending.
    """

    def __init__(self, status: int, code: int, *, forbidden: bool,
                 transient: bool = False) -> None:
        super().__init__(f"{status}/{code}")
        self.status = status
        self.code = code
        self.forbidden = forbidden
        self.transient = transient


class RolesRefused(Exception):
    """Discord refused to give or take a role (a missing permission)."""

    def __init__(self, code: int) -> None:
        super().__init__(str(code))
        self.code = code


@dataclass(frozen=True, slots=True)
class Posted:
    """A welcome that went out."""

    channel_id: int
    message_id: int
    jump_url: str


class WelcomeDiscord(Protocol):
    """Discord state and actions the welcomes need (cached reads are sync; sends are not)."""

    def guild_ids(self) -> list[int]:
        """The servers Steward is in."""
        ...

    def guild(self, guild_id: int) -> GuildFacts | None:
        """A server Steward is in, or None."""
        ...

    def member(self, guild_id: int, member_id: int) -> MemberFacts | None:
        """A member's current state, or None when they left (or were never seen)."""
        ...

    def has_member(self, guild_id: int, member_id: int) -> bool:
        """True while the member is in the server (cheap)."""
        ...

    def joined_since(self, guild_id: int, since: datetime) -> list[MemberFacts]:
        """Members (bots included) who joined after `since`."""
        ...

    def is_text_channel(self, guild_id: int, channel_id: int) -> bool:
        """True when the channel exists in that server and is a text channel."""
        ...

    def role(self, guild_id: int, role_id: int) -> RoleFacts | None:
        """A role of the server, or None when it is gone."""
        ...

    async def post_welcome(self, guild_id: int, channel_id: int, text: str,
                           ping: Sequence[int]) -> Posted:
        """Post a welcome (with the picker button) pinging exactly `ping`; SendFailed if not."""
        ...

    async def find_welcome(self, guild_id: int, channel_id: int, member_id: int,
                           since: datetime) -> Posted | None:
        """Steward's welcome mentioning the member in the channel since `since`, if any.

        SendFailed (transient) when the history can't be read now.
        """
        ...

    async def dm_welcome(self, guild_id: int, member_id: int, text: str) -> bool:
        """DM the welcome (with the picker button); False when it could not be delivered."""
        ...

    async def change_roles(self, guild_id: int, member_id: int, add: Sequence[int],
                           remove: Sequence[int]) -> None:
        """Give and take group roles; RolesRefused when Discord says no."""
        ...


# When a member's quiet window ends (None: not quiet); bot.composition passes
# `CareService.quiet_until`. No automated message to a quiet member but their first welcome.
QuietUntil = Callable[[int, int], Awaitable[datetime | None]]

# Whether moderators marked the member do-not-tag (in memoriam, or they asked for quiet): no
# welcome (not even after a rejoin) and no group suggestion. bot.composition passes
# `CareService.do_not_tag`.
DoNotTag = Callable[[int, int], Awaitable[bool]]


async def nobody_marked(guild_id: int, member_id: int) -> bool:
    """The `DoNotTag` of a bot without care (tests, tools): nobody is marked."""
    return False


class Audit(Protocol):
    """The audit trail (and mod log)."""

    async def record(self, guild_id: int, actor_id: int | None, action: str,
                     target_id: int | None = None,
                     details: dict[str, Any] | None = None) -> object:
        """Append an entry and post it to the mod log."""
        ...


class Counters(Protocol):
    """The metrics (a no-op unless enabled)."""

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add to a counter."""
        ...


class Settings(Protocol):
    """Per-guild settings (cached, sync)."""

    def get(self, guild_id: int) -> GuildConfig:
        """A guild's settings."""
        ...
