"""Planning a repost from facts: the mode, the permission checks, the framed parts, the key.

No I/O: `RepostService.plan` reads the destination and member facts through its port and hands
them here; `PublishPlan` then records how far the publish got.
"""

from __future__ import annotations

import dataclasses

from bot.domain import repost as rules
from bot.domain.text import truncate
from bot.errors import BotMissingPermissions
from bot.i18n import tr
from bot.services.repost_ports import (
    AuthorFacts,
    DestinationFacts,
    Mode,
    PostTarget,
    RepostRequest,
    StoredAttachment,
)

FILES_PER_MESSAGE = 10


@dataclasses.dataclass(slots=True)
class PublishPlan:
    """One publish in progress: what to post where, and how far it got."""

    request: RepostRequest
    destination: DestinationFacts
    author: AuthorFacts | None
    mode: Mode
    parts: tuple[str, ...]
    head_len: int
    tail_len: int
    files: tuple[StoredAttachment, ...]
    key: str
    target: PostTarget
    notes: list[str] = dataclasses.field(default_factory=list)
    webhook_id: int | None = None
    # saved templates that failed to render (the default was used): the mod log says so
    template_fallbacks: list[str] = dataclasses.field(default_factory=list)
    # moderators marked the member do-not-tag (care): no ping, no notice, no thread invite
    do_not_tag: bool = False

    @property
    def landed_channel(self) -> int:
        """The channel or thread the parts are in."""
        return self.target.thread_id or self.destination.channel_id

    def files_for(self, index: int) -> tuple[StoredAttachment, ...]:
        """The files that go with part `index` (the first part, then extra file-only parts)."""
        if index == 0:
            batch = 0
        elif index >= len(self.parts):
            batch = index - len(self.parts) + 1
        else:
            return ()
        return self.files[batch * FILES_PER_MESSAGE:(batch + 1) * FILES_PER_MESSAGE]


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    """A message link."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def forum_title(wanted: str | None, content: str, display_name: str | None) -> str:
    """The forum post title: the one asked for, else a neutral "Shared for <name>" (never
    the first sentence of their words: it can carry a diagnosis)."""
    if wanted and wanted.strip():
        return truncate(" ".join(wanted.split()), 100)
    return rules.neutral_title(display_name)


def require_send(destination: DestinationFacts) -> None:
    """Raise BotMissingPermissions unless the bot may post there itself."""
    if destination.can_send:
        return
    what = tr("Send Messages in Threads") if destination.kind == "thread" else tr("Send Messages")
    raise BotMissingPermissions(tr("I need {what} in <#{channel_id}>.",
                                   what=what, channel_id=destination.channel_id))


def choose_mode(destination: DestinationFacts, configured: Mode) -> tuple[Mode, list[str]]:
    """The mode to post in (bot when webhooks aren't allowed), with notes for the mod log."""
    notes: list[str] = []
    mode = configured
    if mode == "webhook" and not destination.can_manage_webhooks:
        mode = "bot"
        notes.append(tr("posted as Steward: I lack Manage Webhooks in <#{parent_id}>",
                        parent_id=destination.parent_id))
    if mode == "bot":
        require_send(destination)
    if not destination.can_view:
        raise BotMissingPermissions(tr("I can't see <#{channel_id}>.",
                                       channel_id=destination.channel_id))
    return mode, notes


def build_plan(request: RepostRequest, destination: DestinationFacts,
               author: AuthorFacts | None, mode: Mode, notes: list[str],
               attribution_template: str) -> PublishPlan:
    """Fit the files, frame and split the words, and key the request."""
    cap = destination.filesize_limit
    files = tuple(f for f in request.attachments if len(f.data) <= cap)
    too_big = tuple(f.filename for f in request.attachments if len(f.data) > cap)
    if request.attachments and mode == "bot" and not destination.can_attach:
        raise BotMissingPermissions(
            tr("I need Attach Files in <#{channel_id}> to re-upload the pictures.",
               channel_id=destination.channel_id)
        )
    mention = f"<@{request.member_id}>"
    attribution, attribution_failed = rules.render_attribution(attribution_template, mention)
    fr = rules.frame(mode, member_mention=mention, attribution=attribution,
                     intro=request.intro, reply_to_url=request.reply_to_url,
                     not_kept=tuple(request.not_kept) + too_big)
    rendered = rules.compose(request.content, fr)
    key = rules.repost_key(request.guild_id, request.member_id, request.destination_id,
                           request.source, request.content, request.forum_title)
    target = PostTarget(
        guild_id=request.guild_id, channel_id=destination.channel_id,
        parent_id=destination.parent_id, is_forum=destination.kind == "forum",
        thread_id=destination.channel_id if destination.kind == "thread" else None,
        forum_title=forum_title(request.forum_title, request.content,
                                author.display_name if author else None),
        forum_tag_ids=request.forum_tag_ids,
    )
    return PublishPlan(request, destination, author, mode, rendered.parts, rendered.head_len,
                       rendered.tail_len, files, key, target, notes,
                       template_fallbacks=["repost.attribution"] if attribution_failed else [])
