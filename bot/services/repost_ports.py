"""What the repost service works with: requests, results, facts, and the ports it is handed.

The service decides and records; everything that touches Discord sits behind `RepostActions`
(implemented by `bot.adapters.repost`). Other features reach the service through `Publisher`,
and the edit path asks the link-hold policy through `LinkGate`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.db.reposts import Notified, RepostRecord

if TYPE_CHECKING:
    from config.guild import GuildConfig

Mode = Literal["webhook", "bot"]
DmOutcome = Literal["sent", "closed", "failed"]


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """A file to re-upload with a repost (plain bytes)."""

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
    mode: Mode
    member_notified: Notified


@dataclass(frozen=True, slots=True)
class DestinationFacts:
    """The channel a repost goes to, and what the bot may do there."""

    channel_id: int
    parent_id: int  # the text channel or forum the webhook lives in (itself unless a thread)
    kind: Literal["text", "thread", "forum"]
    can_view: bool
    can_send: bool  # Send Messages (Send Messages in Threads for a thread)
    can_attach: bool
    can_manage_webhooks: bool  # in the parent
    filesize_limit: int


@dataclass(frozen=True, slots=True)
class AuthorFacts:
    """The member whose words are reposted, as far as the repost needs them."""

    display_name: str
    avatar_url: str | None
    in_guild: bool  # False: only a user (they left); they are not told


@dataclass(frozen=True, slots=True)
class PostTarget:
    """Where one part goes."""

    guild_id: int
    channel_id: int  # the destination picked
    parent_id: int
    is_forum: bool
    thread_id: int | None  # the thread the parts go into; None: the channel or a new forum post
    forum_title: str
    forum_tag_ids: tuple[int, ...] = ()

    @property
    def new_forum_post(self) -> bool:
        """This part starts a forum post."""
        return self.is_forum and self.thread_id is None


@dataclass(frozen=True, slots=True)
class Part:
    """One message of a repost."""

    index: int
    text: str
    files: tuple[StoredAttachment, ...]
    nonce: str  # bot mode: sent with enforce_nonce so Discord drops a repeat
    ping_member_id: int | None  # allowed mentions: exactly this member, else nobody


@dataclass(frozen=True, slots=True)
class Posted:
    """A part that landed."""

    message_id: int
    thread_id: int | None = None  # set when the part created a forum post
    webhook_id: int | None = None
    maybe_duplicated: bool = False  # the call took long enough for discord.py to have retried


class WebhookUnusable(Exception):  # noqa: N818 - a condition, not an error to report
    """The webhook can't be used here (403/404, bad name): post as the bot instead."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class UnclearFailure(Exception):  # noqa: N818 - a condition, not an error to report
    """The call failed in a way that leaves open whether Discord posted (5xx, timeout)."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(type(original).__name__)
        self.original = original


class RepostActions(Protocol):
    """The Discord side of reposting (implemented by `bot.adapters.repost`)."""

    async def destination(self, guild_id: int, channel_id: int) -> DestinationFacts:
        """The destination's facts; raises NotFound/InvalidInput when it can't take a repost."""
        ...

    async def author(self, guild_id: int, member_id: int) -> AuthorFacts | None:
        """The member (or, if they left, the user); None when Discord doesn't know them."""
        ...

    async def execute_webhook(self, target: PostTarget, part: Part, username: str,
                              avatar_url: str | None) -> Posted:
        """Post through the bot's webhook in the parent (found or made, remade on 10015).

        Raises WebhookUnusable (post as the bot instead) or UnclearFailure.
        """
        ...

    async def send_as_bot(self, target: PostTarget, part: Part) -> Posted:
        """Send as the bot into the channel or thread, with the part's nonce.

        Raises UnclearFailure.
        """
        ...

    async def create_forum_post(self, target: PostTarget, part: Part) -> Posted:
        """Start a forum post as the bot."""
        ...

    async def find_webhook_copies(self, target: PostTarget, text: str, since: datetime
                                  ) -> list[int]:
        """Ids (oldest first) of messages by our webhook with exactly `text` since `since`.

        For a new forum post: the posts with the target's title instead.
        """
        ...

    async def remove_webhook_copy(self, target: PostTarget, message_id: int) -> None:
        """Remove a duplicate our webhook made (a whole forum post for a new one)."""
        ...

    async def add_to_thread(self, thread_id: int, member_id: int) -> None:
        """Add the member to the thread so they follow it (failures are only logged)."""
        ...

    async def dm(self, guild_id: int, member_id: int, text: str) -> DmOutcome:
        """DM the member."""
        ...

    async def tell_in_channel(self, guild_id: int, channel_id: int, member_id: int,
                              text: str) -> bool:
        """Post `text` in the channel pinging only the member; False when that failed."""
        ...

    async def part_text(self, record: RepostRecord, message_id: int) -> str:
        """The current text of one part; raises NotFound."""
        ...

    async def edit_part(self, record: RepostRecord, message_id: int, text: str) -> int:
        """Replace one part's text; returns the channel id it is in."""
        ...

    async def delete_post(self, record: RepostRecord) -> None:
        """Remove every part (the whole forum post when the repost created it)."""
        ...


class LinkGate(Protocol):
    """The link-hold policy: would these words by this member be held in that channel?"""

    async def __call__(self, guild_id: int, member_id: int, text: str,
                      channel_id: int | None = None) -> bool:
        """True when `text` by the member would be held in the channel."""
        ...


class Publisher(Protocol):
    """What other features need to post on a member's behalf."""

    async def publish(self, request: RepostRequest) -> RepostResult:
        """Post once, tell the member once, record it."""
        ...


class Auditor(Protocol):
    """The audit trail (`AuditService.record`)."""

    async def record(self, guild_id: int, actor_id: int | None, action: str,
                     target_id: int | None = None, details: dict[str, Any] | None = None,
                     *, post: bool = True) -> Any:
        """Append an entry (`post=False`: the audit table only, not the mod log)."""
        ...


class Counter(Protocol):
    """Metrics (`bot.metrics.Metrics.inc`)."""

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Count one event."""
        ...


class GuildSettings(Protocol):
    """Per-guild settings (`GuildSettingsService.get`)."""

    def get(self, guild_id: int) -> GuildConfig:
        """The guild's settings."""
        ...


# Whether moderators marked the member do-not-tag (care): a repost of their words then pings
# and tells nobody. bot.composition passes `CareService.do_not_tag`.
DoNotTag = Callable[[int, int], Awaitable[bool]]
