"""Reposting a member's words for them: publish, notify once, edit, delete, look up.

`RepostService.publish` is the one way Steward posts on a member's behalf (moderator reposts and
link-hold approvals). Flow: check the destination and the bot's permissions, pick the mode
(webhook in the member's name, or the bot), frame and split the words (`bot.domain.repost`),
claim a pending record keyed by a hash of the request, post the parts one by one (recording each
message id as it lands, so a retry or a restart resumes instead of posting again), tell the
member exactly once, mark the record published and write the audit entry.

Never twice: a request with the same key returns the existing repost. Bot-mode parts carry a
`nonce` with `enforce_nonce`, so Discord itself drops a repeated send. Webhook executions can't,
so after an unclear failure (a 5xx that outlived discord.py's retries, a timeout, a dropped
connection) the destination's recent messages are searched for this webhook's copy of the part
before trying again; and when discord.py had to retry a send internally (the call took longer
than its first back-off), the same search removes a copy Discord made before the failure.

Discord itself sits behind the `RepostActions` port (`bot.adapters.repost`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

from bot import failpoints
from bot.clock import Clock
from bot.db.reposts import Notified, RepostRecord, RepostRepository
from bot.domain import repost as rules
from bot.domain.links import find_links
from bot.domain.templates import FALLBACK_ACTION
from bot.domain.text import MESSAGE_LIMIT
from bot.errors import InvalidInput, NotFound
from bot.i18n import tr
from bot.services.repost_plan import (
    FILES_PER_MESSAGE,
    PublishPlan,
    build_plan,
    choose_mode,
    forum_title,
    jump_url,
    require_send,
)
from bot.services.repost_ports import (
    Auditor,
    Counter,
    DoNotTag,
    GuildSettings,
    LinkGate,
    Part,
    Posted,
    RepostActions,
    RepostRequest,
    RepostResult,
    StoredAttachment,
    UnclearFailure,
    WebhookUnusable,
)

log = logging.getLogger(__name__)

__all__ = [
    "FILES_PER_MESSAGE",
    "PublishPlan",
    "RepostRecord",
    "RepostRequest",
    "RepostResult",
    "RepostService",
    "StoredAttachment",
    "forum_title",
    "jump_url",
]

UNCLEAR_RETRIES = 2  # extra attempts after an unclear failure (discord.py already retried)
COPY_WINDOW = timedelta(seconds=5)  # a copy Discord made is at most this much older than us


def _url_set(text: str) -> set[str]:
    return {link.url.lower().rstrip("/") for link in find_links(text)}


class RepostService:
    """Publishes reposts and looks after them afterwards (edit, delete, about)."""

    def __init__(
        self,
        repository: RepostRepository,
        clock: Clock,
        actions: RepostActions,
        *,
        settings: GuildSettings,
        audit: Auditor,
        metrics: Counter,
        link_gate: LinkGate | None = None,
        do_not_tag: DoNotTag | None = None,
    ) -> None:
        self.repository = repository
        self.do_not_tag = do_not_tag
        self.actions = actions
        self.settings = settings
        self.audit = audit
        self.metrics = metrics
        # The link-hold policy for members' edits; wired after both services exist.
        self.link_gate = link_gate
        self._clock = clock
        self._key_locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------ look-ups

    async def find_by_message(self, message_id: int) -> RepostRecord | None:
        """The repost one of whose parts is `message_id` (or whose created thread it is)."""
        record = await self.repository.by_message(message_id)
        if record is None or record.status not in ("published", "pending"):
            return None
        return record

    async def get(self, repost_id: int) -> RepostRecord | None:
        """A repost by id."""
        return await self.repository.get(repost_id)

    # ------------------------------------------------------------------ publish

    async def publish(self, request: RepostRequest) -> RepostResult:
        """Post `request.content` for the member, tell them once, record it; idempotent."""
        plan = await self.plan(request)
        lock = self._key_locks.setdefault(plan.key, asyncio.Lock())
        async with lock:
            try:
                return await self._publish_locked(plan)
            finally:
                if not lock.locked():
                    self._key_locks.pop(plan.key, None)

    async def plan(self, request: RepostRequest) -> PublishPlan:
        """Check the destination and permissions, pick the mode, frame and split the words."""
        destination = await self.actions.destination(request.guild_id, request.destination_id)
        config = self.settings.get(request.guild_id).repost
        mode, notes = choose_mode(destination, config.mode)
        author = await self.actions.author(request.guild_id, request.member_id)
        plan = build_plan(request, destination, author, mode, notes, config.attribution)
        if self.do_not_tag is not None:
            plan.do_not_tag = await self.do_not_tag(request.guild_id, request.member_id)
        return plan

    async def _publish_locked(self, plan: PublishPlan) -> RepostResult:
        request = plan.request
        record, created = await self.repository.begin(
            guild_id=request.guild_id, member_id=request.member_id,
            moderator_id=request.moderator_id, destination_id=request.destination_id,
            mode=plan.mode, source=request.source, key=plan.key, head_len=plan.head_len,
            tail_len=plan.tail_len, part_count=len(plan.parts), now=self._clock.now(),
        )
        if record.status == "published":
            log.info("repost %s already published; not posting again", record.id)
            return self._result(record)
        if not created:
            log.info("resuming pending repost %s (%d of %d parts posted)", record.id,
                     len(record.message_ids), len(plan.parts))
            plan.mode = record.mode
            if record.created_thread and record.channel_id is not None:
                plan.target = dataclasses.replace(plan.target, thread_id=record.channel_id)
        await self.repository.set_target(
            record.id, mode=plan.mode, channel_id=plan.target.thread_id or record.channel_id
            or (None if plan.target.is_forum else plan.destination.channel_id),
            created_thread=record.created_thread, webhook_id=record.webhook_id,
            head_len=plan.head_len, tail_len=plan.tail_len, part_count=len(plan.parts),
        )
        posted = list(record.message_ids)
        created_thread = record.created_thread
        for index, text in enumerate(plan.parts):
            if index < len(posted):
                continue
            earlier = None if created else await self._earlier_copy(plan, record, text)
            if earlier is not None:
                message_id, made_thread = earlier, False
            else:
                message_id, made_thread = await self._post_part(plan, record.id, index, text)
                failpoints.hit("repost.part_sent")
            created_thread = created_thread or made_thread
            posted.append(message_id)
            await self.repository.add_message(record.id, index, message_id)
            if index == 0:
                await self.repository.set_target(
                    record.id, mode=plan.mode, channel_id=plan.landed_channel,
                    created_thread=created_thread,
                    webhook_id=plan.webhook_id if plan.mode == "webhook" else None,
                    head_len=plan.head_len, tail_len=plan.tail_len, part_count=len(plan.parts),
                )
        for extra_from in range(FILES_PER_MESSAGE, len(plan.files), FILES_PER_MESSAGE):
            index = len(plan.parts) + extra_from // FILES_PER_MESSAGE - 1
            if index < len(posted):
                continue
            message_id, _ = await self._post_part(plan, record.id, index, "")
            posted.append(message_id)
            await self.repository.add_message(record.id, index, message_id)
        channel_id = plan.landed_channel
        link = jump_url(request.guild_id, channel_id, posted[0])
        if (plan.destination.kind in ("thread", "forum") and plan.author is not None
                and not plan.do_not_tag):
            # Webhook posts don't add the member to the thread; the bot does, so they follow it.
            await self.actions.add_to_thread(channel_id, request.member_id)
        notified = await self._notify(plan, channel_id, link)
        await self.repository.mark_published(record.id, notified, self._clock.now())
        final = await self.repository.get(record.id)
        assert final is not None
        await self._audit_published(plan, final, link, notified)
        return self._result(final)

    def _result(self, record: RepostRecord) -> RepostResult:
        channel_id = record.channel_id or record.destination_id
        first = record.message_ids[0] if record.message_ids else 0
        return RepostResult(
            repost_id=record.id, channel_id=channel_id, message_ids=record.message_ids,
            jump_url=jump_url(record.guild_id, channel_id, first), mode=record.mode,
            member_notified=record.member_notified,
        )

    # ------------------------------------------------------------------ posting

    def _part(self, plan: PublishPlan, index: int, text: str) -> Part:
        return Part(index=index, text=text, files=plan.files_for(index),
                    nonce=rules.part_nonce(plan.key, index),
                    ping_member_id=plan.request.member_id
                    if plan.request.ping_member and not plan.do_not_tag else None)

    def _landed(self, plan: PublishPlan, index: int, posted: Posted) -> tuple[int, bool]:
        """Remember the thread a first part made; (message id, whether it made a thread)."""
        if posted.thread_id is not None and plan.target.thread_id is None:
            plan.target = dataclasses.replace(plan.target, thread_id=posted.thread_id)
            return posted.message_id, True
        if index == 0 and plan.target.new_forum_post:
            # A forum post's starter message id is the thread id.
            plan.target = dataclasses.replace(plan.target, thread_id=posted.message_id)
            return posted.message_id, True
        return posted.message_id, False

    async def _earlier_copy(self, plan: PublishPlan, record: RepostRecord, text: str
                            ) -> int | None:
        """A part a crashed run posted but never recorded (resuming: look before posting).

        Webhook parts are found in the channel's recent history by our webhook and their exact
        text; bot parts need no look (the fixed nonce makes Discord return the first copy); a
        new forum post is found by its title among the forum's threads.
        """
        if plan.mode != "webhook":
            return None
        found = await self.actions.find_webhook_copies(plan.target, text,
                                                       record.created_at - COPY_WINDOW)
        if found:
            log.info("repost %s: a part posted before a restart was found; not posting it again",
                     record.id)
            return found[0]
        return None

    async def _post_part(self, plan: PublishPlan, repost_id: int, index: int, text: str
                         ) -> tuple[int, bool]:
        """Post one part; returns (message id, whether it created a forum thread)."""
        if plan.mode == "webhook":
            try:
                return await self._post_webhook(plan, index, text)
            except WebhookUnusable as exc:
                log.warning("repost %s: webhook unusable (%s); posting as the bot",
                            repost_id, exc.why)
                plan.notes.append(tr("posted as Steward: {why}", why=exc.why))
                plan.mode = "bot"
                require_send(await self.actions.destination(plan.request.guild_id,
                                                             plan.destination.channel_id))
        return await self._post_bot(plan, index, text)

    async def _post_webhook(self, plan: PublishPlan, index: int, text: str
                            ) -> tuple[int, bool]:
        author = plan.author
        username = rules.webhook_username(author.display_name if author else tr("Member"))
        avatar = author.avatar_url if author else None
        part = self._part(plan, index, text)
        attempts = 0
        while True:
            attempts += 1
            since = self._clock.now() - COPY_WINDOW
            try:
                posted = await self.actions.execute_webhook(plan.target, part, username, avatar)
            except UnclearFailure as exc:
                log.warning("repost part %d: unclear webhook failure (%s); checking history",
                            index, type(exc.original).__name__)
                found = await self.actions.find_webhook_copies(plan.target, text, since)
                if found:
                    return self._landed(plan, index, Posted(found[0]))
                if attempts > UNCLEAR_RETRIES:
                    raise exc.original from None
                continue
            plan.webhook_id = posted.webhook_id or plan.webhook_id
            if posted.maybe_duplicated:
                await self._remove_duplicates(plan, text, since, keep=posted.message_id)
            return self._landed(plan, index, posted)

    async def _remove_duplicates(self, plan: PublishPlan, text: str, since: datetime, *,
                                 keep: int) -> None:
        copies = [m for m in await self.actions.find_webhook_copies(plan.target, text, since)
                  if m != keep]
        for message_id in copies:
            log.warning("removing a duplicate copy %s left by a retried send", message_id)
            await self.actions.remove_webhook_copy(plan.target, message_id)

    async def _post_bot(self, plan: PublishPlan, index: int, text: str) -> tuple[int, bool]:
        part = self._part(plan, index, text)
        if plan.target.new_forum_post:
            posted = await self.actions.create_forum_post(plan.target, part)
            return self._landed(plan, index, posted)
        attempts = 0
        while True:
            attempts += 1
            try:
                posted = await self.actions.send_as_bot(plan.target, part)
            except UnclearFailure as exc:
                # The same nonce with enforce_nonce: Discord returns the first copy if it exists.
                if attempts > UNCLEAR_RETRIES:
                    raise exc.original from None
                continue
            return posted.message_id, False

    # ------------------------------------------------------------------ notice + audit

    async def _notify(self, plan: PublishPlan, channel_id: int, link: str) -> Notified:
        """The one notice: a DM, or (DMs closed) a message pinging only the member."""
        if plan.do_not_tag:
            plan.notes.append(tr("member not told: moderators asked me never to tag them"))
            return "none"
        if plan.author is None or not plan.author.in_guild:
            plan.notes.append(tr("member not told: they are not in the server"))
            return "none"
        member_id = plan.request.member_id
        made_post = plan.target.is_forum and plan.target.thread_id == channel_id
        place = rules.place_for_member(
            channel_id, forum_id=plan.destination.channel_id if made_post else None,
            title=plan.target.forum_title if made_post else None)
        text, failed = rules.render_notice(plan.request.notice,
                                           member_mention=f"<@{member_id}>",
                                           channel_mention=place, link=link)
        if failed:  # a hold's approval notice is linkhold's setting; otherwise the request's
            plan.template_fallbacks.append("linkhold.approved_template"
                                           if plan.request.source.startswith("hold:")
                                           else "repost.notice")
        outcome = await self.actions.dm(plan.request.guild_id, member_id, text)
        if outcome == "sent":
            return "dm"
        plan.notes.append(tr("member's DMs are closed: told them in the channel")
                          if outcome == "closed" else tr("DM failed: told them in the channel"))
        if await self.actions.tell_in_channel(plan.request.guild_id, channel_id, member_id,
                                              f"<@{member_id}> {text}"):
            return "channel"
        plan.notes.append(tr("member could not be told (DMs closed, channel refused)"))
        return "none"

    async def _audit_published(self, plan: PublishPlan, record: RepostRecord, link: str,
                               notified: Notified) -> None:
        request = plan.request
        told = {"dm": tr("by DM"), "channel": tr("in the channel (DMs closed)"),
                "none": tr("not told")}
        details: dict[str, Any] = {
            "reason": request.reason,
            "where": f"<#{record.channel_id or request.destination_id}>",
            "mode": plan.mode,
            "parts": len(record.message_ids),
            "source": request.source_url or request.source,
            "result": link,
            "member_told": told[notified],
        }
        if request.not_kept or len(plan.files) < len(request.attachments):
            details["files_not_kept"] = len(request.not_kept) + len(request.attachments) - len(
                plan.files)
        if plan.notes:
            details["notes"] = "; ".join(dict.fromkeys(plan.notes))
        # An approved held post has one mod-log entry, the approval (it links the post).
        await self.audit.record(request.guild_id, request.moderator_id,
                                "repost.published", request.member_id, details,
                                post=not request.source.startswith("hold:"))
        for setting in dict.fromkeys(plan.template_fallbacks):
            await self.audit.record(request.guild_id, None, FALLBACK_ACTION, request.member_id,
                                    {"setting": setting, "result": link})
        self.metrics.inc("reposts", mode=plan.mode)

    # ------------------------------------------------------------------ after publishing

    async def part_text(self, record: RepostRecord, message_id: int) -> str:
        """The current text of one part (fetched from Discord)."""
        return await self.actions.part_text(record, message_id)

    async def check_member_edit(
        self, record: RepostRecord, editor_id: int, old_words: str, new_words: str
    ) -> None:
        """A member's edit follows the link-hold policy: new members can't add links.

        Only links the edit adds are judged (an approved copy keeps the links it had).
        """
        added = _url_set(new_words) - _url_set(old_words)
        if not added or self.link_gate is None:
            return
        links = [link for link in find_links(new_words)
                 if link.url.lower().rstrip("/") in added]
        channel_id = record.channel_id or record.destination_id
        if await self.link_gate(record.guild_id, editor_id,
                                " ".join(link.text for link in links), channel_id):
            raise InvalidInput(
                tr("New members can't add links yet, so I didn't save that edit. "
                "You can edit without the link, or ask a moderator to add it for you.")
            )

    async def edit_part(
        self, record: RepostRecord, message_id: int, new_words: str, editor_id: int
    ) -> None:
        """Replace the member's words in one part, keeping the frame (header, attribution)."""
        if message_id not in record.message_ids:
            raise NotFound(tr("That message isn't part of this repost."))
        index = record.message_ids.index(message_id)
        first, last = index == 0, index == len(record.message_ids) - 1
        text = await self.part_text(record, message_id)
        head, _, tail = rules.split_framed(text, first=first, last=last,
                                           head_len=record.head_len, tail_len=record.tail_len)
        new_text = head + new_words.strip() + tail
        if len(new_text) > MESSAGE_LIMIT:
            raise InvalidInput(
                tr("That is {value} characters too long for this message. Shorten it a little and "
                   "try again.", value=len(new_text) - MESSAGE_LIMIT)
            )
        if not new_text.strip():
            raise InvalidInput(tr("The message can't be empty. Delete it instead?"))
        channel_id = await self.actions.edit_part(record, message_id, new_text)
        await self.repository.mark_edited(record.id, self._clock.now())
        await self.audit.record(
            record.guild_id, editor_id, "repost.edited", record.member_id,
            {"result": jump_url(record.guild_id, channel_id, message_id), "part": index + 1},
        )

    async def delete(self, record: RepostRecord, actor_id: int) -> None:
        """Remove every part of a repost (the whole forum post if the repost created it)."""
        if not await self.repository.retire(record.id, "deleted"):
            raise NotFound(tr("This repost was already deleted."))
        await self.actions.delete_post(record)
        await self.audit.record(
            record.guild_id, actor_id, "repost.deleted", record.member_id,
            {"where": f"<#{record.channel_id or record.destination_id}>",
             "parts": len(record.message_ids)},
        )

    async def published_for(self, guild_id: int, member_id: int) -> list[RepostRecord]:
        """The posts Steward published under a member's name here, newest first."""
        return await self.repository.published_for(guild_id, member_id)

    async def delete_for_member(self, guild_id: int, member_id: int,
                                actor_id: int) -> tuple[int, int]:
        """Delete every post published for a member (`/privacy forget`); (deleted, failed)."""
        deleted = failed = 0
        for record in await self.repository.published_for(guild_id, member_id):
            try:
                await self.delete(record, actor_id)
            except NotFound:
                continue  # deleted meanwhile
            except Exception as exc:  # one post that won't go must not stop the others
                log.warning("could not delete repost %s for forget: %s", record.id,
                            type(exc).__name__)
                failed += 1
            else:
                deleted += 1
        return deleted, failed

    @staticmethod
    def may_manage(record: RepostRecord, user_id: int, *, is_moderator: bool) -> bool:
        """The member named in the repost, or a moderator."""
        return rules.may_manage(record.member_id, user_id, is_moderator=is_moderator)
