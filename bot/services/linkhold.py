"""New-member link holds: the check of one post, and holding it step by step.

Holding a post happens in a fixed order so nothing is lost: store it durably (with attachment
bytes), then remove it from the channel, then tell the member, then queue it for moderators.
Each step is recorded on the hold; a hold interrupted by a crash is finished at startup.

The cheap "established member, nothing to do" check runs before this service is called
(`bot.domain.holds.needs_check`, from the Discord adapter). Trusted members and accepted-post
counts live in memory (loaded at startup), so no message from an established member waits on
the database. The service holds no Discord: the adapter (`bot.adapters.linkhold`) builds the
facts and carries out `HoldActions`; decisions live in `linkhold_review`, upkeep in
`linkhold_upkeep`, the shared steps in `linkhold_core`.
"""

from __future__ import annotations

import asyncio
import logging

from bot.db.holds import HeldLink, Hold, NewAttachment, NewHold
from bot.domain import holds as rules
from bot.domain.links import find_links
from bot.i18n import tr
from bot.services.linkhold_blocks import BlockFacts
from bot.services.linkhold_ports import (
    AUTOMOD,
    CatchupLimits,
    CatchupPlan,
    CatchupReport,
    FileFacts,
    FileToPublish,
    HoldActions,
    PostFacts,
    Published,
    Publisher,
    PublishRequest,
    QueueCard,
    Repositories,
    Someone,
    queue_url,
)
from bot.services.linkhold_review import Decision, MemberStatus
from bot.services.linkhold_upkeep import HoldUpkeep

__all__ = [
    "BlockFacts", "CatchupLimits", "CatchupPlan", "CatchupReport", "Decision", "FileFacts",
    "FileToPublish",
    "HoldActions", "LinkHoldService", "MemberStatus", "PostFacts", "PublishRequest",
    "Published", "Publisher", "QueueCard", "Repositories", "Someone",
]

log = logging.getLogger(__name__)


class LinkHoldService(HoldUpkeep):
    """Holds new members' link posts for review and carries out moderators' decisions."""

    def verdict(self, post: PostFacts, author: Someone) -> rules.Verdict:
        """The policy's verdict on one post by `author` (no side effects)."""
        texts = [post.content] + ([post.forum_title] if post.forum_title else [])
        links = [link for text in texts if text for link in find_links(text)]
        policy = rules.HoldPolicy.from_settings(self.settings(post.guild_id))
        facts = self._known(post.guild_id, author.facts)
        return rules.judge(facts, links, post.channel_ids, self._clock.now(), policy)

    async def consider(self, post: PostFacts, author: Someone, *, count_post: bool = True
                       ) -> bool:
        """Apply the policy to one post; hold it when needed. Returns True if held.

        A post that passes counts toward `min_posts` (not edits, not the catch-up scan).
        """
        verdict = self.verdict(post, author)
        if not verdict.held:
            min_posts = self.settings(post.guild_id).min_posts
            if (count_post and post.kind != "edit" and verdict.exempt is None and min_posts
                    and self._counts.get((post.guild_id, post.author_id), 0) < min_posts):
                await self.count_post(post.guild_id, post.author_id)
            return False
        await self._hold(post, author, verdict)
        return True

    async def would_hold(
        self, guild_id: int, member_id: int, text: str, channel_id: int | None = None
    ) -> bool:
        """Would `text` by this member be held here? (The repost service checks edits with it.)"""
        someone = await self._actions.member(guild_id, member_id, channel_id)
        if someone is None:
            return False
        # An uncached channel (an archived thread) still counts by its own id.
        ids = self._actions.channel_ids(guild_id, channel_id) if channel_id else ()
        policy = rules.HoldPolicy.from_settings(self.settings(guild_id))
        facts = self._known(guild_id, someone.facts)
        return rules.judge(facts, find_links(text), ids, self._clock.now(), policy).held

    # --- holding ----------------------------------------------------------------------------

    async def _hold(self, post: PostFacts, author: Someone, verdict: rules.Verdict
                    ) -> Hold | None:
        dup_key = rules.duplicate_key(post.author_id, f"{post.forum_title or ''}\n{post.content}")
        existing = await self.holds.pending_duplicate(post.guild_id, post.author_id, dup_key)
        if existing is not None and existing.message_id != post.message_id:
            return await self._repeat(existing, post)
        attachments = await self._download(post)
        new = NewHold(
            guild_id=post.guild_id, channel_id=post.channel_id, parent_id=post.parent_id,
            message_id=post.message_id, member_id=post.author_id, kind=post.kind,
            content=post.content,
            links=tuple(HeldLink(text=x.text, url=x.url, domain=x.domain)
                        for x in verdict.links),
            dup_key=dup_key, forum_title=post.forum_title, forum_tag_ids=post.forum_tag_ids,
            reply_to_url=post.reply_to_url, attachments=attachments,
        )
        hold = await self.holds.create(new, self._clock.now())
        if hold is None:
            return None  # already held (the live event and the catch-up scan both saw it)
        await self.refresh_pending_gauge()
        log.info("holding message %s of member %s in guild %s as hold %s",
                 post.message_id, post.author_id, post.guild_id, hold.id)
        return await self.complete(hold, author)

    async def _repeat(self, existing: Hold, post: PostFacts) -> Hold:
        """The same member posted the same words again while a hold is pending."""
        removal = await self.take_down(
            existing.guild_id, post.channel_id, post.message_id, post.kind, post.content,
            [link.text for link in existing.links])
        count = await self.holds.bump_repeat(existing.id)
        log.info("hold %s repeated (%d times) by member %s", existing.id, count,
                 existing.member_id)
        await self._audit.record(
            existing.guild_id, None, "hold.repeated", existing.member_id,
            {"hold": existing.id, "count": count, "removed": removal}, post=False,
        )
        refreshed = await self.holds.get(existing.id)
        assert refreshed is not None
        await self.refresh_card(refreshed)
        return refreshed

    async def _download(self, post: PostFacts) -> tuple[NewAttachment, ...]:
        """Fetch the post's files (in parallel), keeping none over the size cap."""
        if not post.files:
            return ()
        cap = min(self.settings(post.guild_id).attachment_max_bytes, post.upload_limit)

        async def fetch(position: int, item: FileFacts) -> NewAttachment:
            def described(data: bytes | None = None, why: str | None = None) -> NewAttachment:
                return NewAttachment(position, item.filename, item.size, item.content_type,
                                     data, why)

            if item.size > cap:
                return described(why=tr("too large"))
            try:
                data = await asyncio.wait_for(self._actions.fetch_file(item.url),
                                              self.download_timeout)
            except TimeoutError:
                return described(why=tr("timed out"))
            if data is None:
                return described(why=tr("download failed"))
            if len(data) > cap:
                return described(why=tr("too large"))
            return described(data)

        return tuple(await asyncio.gather(*(fetch(i, f) for i, f in enumerate(post.files))))

    async def hold_blocked(self, block: BlockFacts, author: Someone | None) -> Hold | None:
        """A post Discord's AutoMod blocked becomes a hold (None: this block already is one).

        The same steps as any hold: stored, (nothing to remove), the member told by DM only
        (they already saw AutoMod's message), queued with the usual card and buttons.
        """
        links = [HeldLink(text=x.text, url=x.url, domain=x.domain)
                 for x in find_links(block.content)]
        if not links and block.matched:  # a pattern the detector reads differently
            links = [HeldLink(text=block.matched, url=block.matched, domain=block.matched)]
        new = NewHold(
            guild_id=block.guild_id, channel_id=block.channel_id, parent_id=block.parent_id,
            message_id=block.key, member_id=block.member_id, kind=AUTOMOD,
            content=block.content, links=tuple(links),
            dup_key=rules.duplicate_key(block.member_id, block.content),
        )
        hold = await self.holds.create(new, self._clock.now())
        if hold is None:
            return None  # the live event and the alert message name the same block
        await self.refresh_pending_gauge()
        log.info("holding AutoMod-blocked post %s of member %s in guild %s as hold %s",
                 block.key, block.member_id, block.guild_id, hold.id)
        return await self.complete(hold, author)

    # --- reading for commands -----------------------------------------------------------------

    async def card_url(self, guild_id: int, message_id: int) -> str | None:
        """The queue card of the post `message_id` if it was held (care alerts link to it)."""
        hold = await self.holds.by_message(guild_id, message_id)
        if hold is None:
            return None
        return queue_url(guild_id, hold.queue_channel_id, hold.queue_message_id)

    async def pending(self, guild_id: int, limit: int = 25) -> list[Hold]:
        """Pending holds of a guild, oldest first."""
        return await self.holds.pending(guild_id, limit=limit)

    def setup_hint(self, guild_id: int) -> str | None:
        """Once per guild and process: how to set a queue channel when none is set."""
        if self.settings(guild_id).queue_channel is not None or guild_id in self._hint_shown:
            return None
        self._hint_shown.add(guild_id)
        return (tr("Note: no queue channel is set, so held posts only show in `/linkhold queue`. "
                "An admin can set one with `/linkhold settings queue_channel:#mod-queue`."))
