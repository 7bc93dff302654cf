"""Link holds and Discord's AutoMod (issue 14): the facts of a blocked post, and the hooks that
let the trusted role follow trust and post counts (`bot.services.automod` implements them) and
care answer a held post that reads as distress (`bot.services.care` implements `CareGate`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.db.holds import Hold


@dataclass(frozen=True, slots=True)
class BlockFacts:
    """A post Discord's AutoMod blocked (from the action event or its alert message).

    `key` stands in for the message id the post never got: the alert message's id when the
    rule posted one (the live event and the alert then name the same key, so one block is
    one hold), else an id made from the moment of the event.
    """

    guild_id: int
    channel_id: int
    member_id: int
    content: str
    key: int
    matched: str = ""
    parent_id: int | None = None  # a forum post's block: the forum itself (= channel_id)


class TrustHooks(Protocol):
    """Told when a member is trusted, untrusted or posts (the trusted role follows them)."""

    async def trusted(self, guild_id: int, member_id: int, by: int | None) -> None: ...

    async def untrusted(self, guild_id: int, member_id: int, by: int | None) -> None: ...

    async def counted(self, guild_id: int, member_id: int) -> None: ...


class CareGate(Protocol):
    """Care (bot.services.care) on a held post: distress is answered by a person, not by
    Steward's automated notices."""

    async def hold_back(self, hold: Hold) -> str | None:
        """Why the member gets no automated notice ("care": the post reads as distress;
        "quiet": they are in a quiet window), None when they may be told."""
        ...

    async def alert_held(self, hold: Hold, card_url: str | None) -> None:
        """Raise the care alert for a held post (once per post) when it reads as distress;
        it links to the queue card `card_url` (the post is gone from the channel)."""
        ...
