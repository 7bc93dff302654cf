"""Facts about members, servers and messages as the welcome rules see them.

The adapter (`bot/adapters/welcome.py`) builds them from discord.py objects, one builder per
kind; the services decide on them. Pure: no Discord objects, no clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.welcome import JoinFacts


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """A member of a server, as far as welcomes care."""

    guild_id: int
    id: int
    display_name: str = ""
    is_bot: bool = False
    joined_at: datetime | None = None
    pending: bool = False  # Rules Screening not completed yet
    did_rejoin: bool = False
    onboarding_started: bool = False
    onboarding_completed: bool = False
    role_ids: frozenset[int] = frozenset()
    top_role_position: int = 0
    is_owner: bool = False
    is_moderator: bool = False

    @property
    def mention(self) -> str:
        """How a message pings this member."""
        return f"<@{self.id}>"

    @property
    def in_screening(self) -> bool:
        """Still in Rules Screening or Onboarding: greeted once that completes."""
        return self.pending or (self.onboarding_started and not self.onboarding_completed)

    def join(self, *, welcomed_before: bool) -> JoinFacts:
        """The join as `join_action` sees it."""
        return JoinFacts(self.is_bot, self.pending, self.did_rejoin, welcomed_before,
                         self.onboarding_started, self.onboarding_completed)


@dataclass(frozen=True, slots=True)
class GuildFacts:
    """A server, as far as welcomes care."""

    id: int
    name: str
    member_count: int
    system_channel_id: int | None = None
    bot_top_position: int = 0
    owner_id: int | None = None


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """A member's post, as the group suggestions see it (content is never stored)."""

    guild_id: int
    channel_id: int
    parent_id: int | None
    message_id: int
    content: str
    author_id: int
    author_joined_at: datetime | None
