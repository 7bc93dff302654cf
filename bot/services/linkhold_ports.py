"""Link holds, the vocabulary: the facts the Discord adapter builds (`PostFacts`, `Someone`,
`FileFacts`), the plans and reports the service hands back, and the ports it works through
(`HoldActions`, `Publisher`). No Discord and no storage here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.db.hold_members import HighWaterRepository, PostCountRepository, TrustRepository
from bot.db.holds import (
    HeldAttachment,
    Hold,
    HoldRepository,
)
from bot.domain import holds as rules
from bot.services.linkhold_ping import PingActions
from bot.services.repost_ports import RepostRequest, StoredAttachment

# thread_name: a text-channel thread a new member created; thread_rename: a thread (a forum
# post) renamed by its owner to carry a link. Both are held by renaming the thread.
# automod: a post Discord's AutoMod blocked (it never existed; nothing to remove).
Kind = Literal["message", "edit", "forum_post", "forward", "poll", "app_post", "thread_name",
               "thread_rename", "automod"]
Removal = Literal["removed", "gone", "failed"]
Action = Literal["timeout", "ban"]
# How a timeout/ban went: done, the member already left, Discord refused (403), or an HTTP
# status for any other failure.
PunishOutcome = Literal["done", "left", "forbidden"] | int
Delivery = Literal["sent", "nowhere", "failed"]
AUTOMOD = "automod"


# --- facts (built by the Discord adapter, one builder per kind) --------------------------------


@dataclass(frozen=True, slots=True)
class FileFacts:
    """An attachment of a post (downloaded only when the post is held)."""

    filename: str
    size: int
    content_type: str | None
    url: str


@dataclass(frozen=True, slots=True)
class PostFacts:
    """A message (or an edit, a forum starter, a forward) as the link-hold policy sees it."""

    guild_id: int
    channel_id: int
    channel_ids: tuple[int, ...]  # the channel, its parent and its category (ignored channels)
    message_id: int
    author_id: int
    kind: Kind
    content: str
    parent_id: int | None = None  # a thread's parent (forum posts: the forum)
    forum_title: str | None = None
    forum_tag_ids: tuple[int, ...] = ()
    reply_to_url: str | None = None
    files: tuple[FileFacts, ...] = ()
    upload_limit: int = 10 * 1024 * 1024  # the server's upload limit (caps what is stored)


@dataclass(frozen=True, slots=True)
class Someone:
    """A member as Discord knows them (trust and post counts are added by the service)."""

    facts: rules.MemberFacts
    display_name: str | None  # None: not (or no longer) in the server


@dataclass(frozen=True, slots=True)
class QueueCard:
    """What the queue card of a hold shows (the UI renders it)."""

    hold: Hold
    history: dict[str, int]
    files: tuple[HeldAttachment, ...]
    active: bool  # buttons live (pending) or not


@dataclass(frozen=True, slots=True)
class CatchupLimits:
    """How far the startup scan reaches back after downtime."""

    per_channel: int = 200
    max_age: timedelta = timedelta(hours=24)
    request_budget: int = 50


@dataclass(frozen=True, slots=True)
class CatchupPlan:
    """Read messages newer than `after[guild_id]` (ids), within `limits`."""

    after: dict[int, int]
    limits: CatchupLimits


@dataclass(frozen=True, slots=True)
class CatchupReport:
    """What the startup scan did."""

    channels: int
    messages: int
    held: int
    requests: int
    out_of_budget: bool


# An approved held post is published through the repost service's own request: its port
# module holds no Discord and no link-hold import, so the two services share one type.
PublishRequest = RepostRequest
FileToPublish = StoredAttachment


class Published(Protocol):
    """Where a published post landed (the repost service's result)."""

    @property
    def jump_url(self) -> str: ...

    @property
    def member_notified(self) -> str: ...


class Publisher(Protocol):
    """Publishes approved posts (the repost service, through the composition root)."""

    async def __call__(self, request: PublishRequest) -> Published: ...


class HoldActions(PingActions, Protocol):
    """What the service needs done on Discord (implemented by `bot.adapters.linkhold`)."""

    def guild_ids(self) -> list[int]:
        """The servers Steward is in."""

    def guild_name(self, guild_id: int) -> str | None:
        """The server's name (None: not in that server)."""

    async def member(self, guild_id: int, member_id: int,
                     channel_id: int | None = None) -> Someone | None:
        """A member's facts (cache, else Discord); None when Steward isn't in that server."""

    def channel_ids(self, guild_id: int, channel_id: int) -> tuple[int, ...]:
        """A channel with its parent and category (just itself when not cached)."""

    async def fetch_file(self, url: str) -> bytes | None:
        """Download an attachment (None: the download failed)."""

    async def remove_post(self, guild_id: int, channel_id: int, message_id: int, *,
                          forum: bool) -> Removal:
        """Delete a held message (a forum starter: its whole thread)."""

    async def rename_thread(self, guild_id: int, thread_id: int, name: str) -> Removal:
        """Rename a thread (a held thread name: its links taken out)."""

    def member_language(self, guild_id: int, member_id: int) -> str:
        """The language of a DM to this member (theirs when known, else the server's)."""

    async def send_dm(self, member_id: int, text: str) -> bool:
        """DM a member; False when their DMs are closed (or the DM failed)."""

    async def post_notice(self, guild_id: int, channel_id: int | None, member_id: int,
                          text: str, *, or_system_channel: bool) -> tuple[int, int] | None:
        """Post a notice pinging only the member; returns (channel id, message id)."""

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete one of Steward's messages (a notice); failures are only logged."""

    async def post_card(self, channel_id: int, card: QueueCard) -> int | None:
        """Post a queue card; returns its message id (None: the channel is unusable)."""

    async def edit_card(self, card: QueueCard) -> None:
        """Re-render a posted queue card."""

    async def blank_card(self, hold: Hold) -> None:
        """Replace a forgotten member's queue card with a note, without buttons."""

    async def post_text(self, channel_ids: Sequence[int], text: str) -> Delivery:
        """Post `text` in the first of these channels that exists."""


    async def punish(self, guild_id: int, member_id: int, action: Action, until: datetime,
                     reason: str) -> PunishOutcome:
        """Time a member out until `until`, or ban them."""

    async def still_member(self, guild_id: int, member_id: int) -> bool:
        """False only when Discord says the member is unknown (they left)."""

    async def catch_up(self, plan: CatchupPlan) -> CatchupReport:
        """Read what was posted while Steward was away and hand each message to the service."""


Checkpoint = Callable[[], Awaitable[None]]



@dataclass(frozen=True, slots=True)
class Repositories:
    """The link-hold repositories (built by the composition root)."""

    holds: HoldRepository
    trust: TrustRepository
    counts: PostCountRepository
    marks: HighWaterRepository


def queue_url(guild_id: int, channel_id: int | None, message_id: int | None) -> str | None:
    """The jump link of a queue card, if it was posted."""
    if channel_id is None or message_id is None:
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
