"""New-member link holds: the per-message check, holding a post step by step, decisions, upkeep.

Holding a post happens in a fixed order so nothing is lost: store it durably (with attachment
bytes), then remove it from the channel, then tell the member, then queue it for moderators.
Each step is recorded on the hold; a hold interrupted by a crash is finished at startup.

The hot path (`on_message`) decides "established member, nothing to do" from cached data only:
the cached guild settings and `member.joined_at` (carried by MESSAGE_CREATE). Trusted members
and accepted-post counts live in memory (loaded at startup), so no message from an established
member waits on the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import discord

from bot import messaging
from bot.clock import Clock
from bot.db.holds import (
    CLOSED_LEFT,
    STEP_REMOVED,
    STEP_STORED,
    STEP_TOLD,
    STEPS,
    HeldLink,
    HighWaterRepository,
    Hold,
    HoldRepository,
    NewAttachment,
    NewHold,
    PostCountRepository,
    TrustRepository,
)
from bot.domain import holds as rules
from bot.domain.doctor import Finding, Severity
from bot.domain.links import Link, find_links
from bot.domain.templates import TemplateError, render
from bot.domain.text import MESSAGE_LIMIT, truncate
from bot.errors import (
    AlreadyDecided,
    BotMissingPermissions,
    NotFound,
    NotModerator,
)
from bot.metrics import Metrics
from bot.permissions import is_moderator
from config.guild import LinkHoldSettings

if TYPE_CHECKING:
    from bot.app import StewardBot
    from bot.services.repost import RepostResult

log = logging.getLogger(__name__)

Controls = Callable[[Hold, bool], discord.ui.View]
Kind = Literal["message", "edit", "forum_post", "forward"]

MAINTENANCE_INTERVAL = timedelta(minutes=5)
TIMEOUT_DURATION = timedelta(days=7)
CARD_CONTENT_LIMIT = 900
FULL_TEXT_LIMIT = 3900
BAN_DELETE_SECONDS = 24 * 3600
STUCK_AFTER = timedelta(minutes=10)  # a hold part-way through its steps this long is stuck
UNKNOWN_MEMBER = 10007

_TITLES: dict[str, str] = {
    "message": "Held post from a new member",
    "edit": "Held edit from a new member",
    "forum_post": "Held forum post from a new member",
    "forward": "Held forward from a new member",
}


@dataclass(frozen=True, slots=True)
class CatchupLimits:
    """How far the startup scan reaches back after downtime."""

    per_channel: int = 200
    max_age: timedelta = timedelta(hours=24)
    request_budget: int = 50


@dataclass(frozen=True, slots=True)
class CatchupReport:
    """What the startup scan did."""

    channels: int
    messages: int
    held: int
    requests: int
    out_of_budget: bool


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """Whether a member's links are held, until when, and why (for `/linkhold status`)."""

    member_id: int
    held: bool
    exempt: str | None
    reasons: tuple[str, ...]
    clearance: str
    history: dict[str, int]


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a moderator's decision, for the reply."""

    hold: Hold
    repost: RepostResult | None = None
    member_told: bool | None = None
    note: str | None = None


def _forum_starter(message: discord.Message) -> discord.Thread | None:
    channel = message.channel
    if (
        isinstance(channel, discord.Thread)
        and channel.id == message.id
        and isinstance(channel.parent, discord.ForumChannel)
    ):
        return channel
    return None


def _content_of(message: discord.Message) -> tuple[str, Kind]:
    """The text to keep for a post: its content plus any forwarded messages' content."""
    snapshots = [s.content for s in getattr(message, "message_snapshots", []) if s.content]
    if not snapshots:
        return message.content, "message"
    parts = [message.content] if message.content else []
    parts += snapshots
    return "\n\n".join(parts), "forward"


def _channel_ids(channel: object) -> list[int]:
    ids = [getattr(channel, "id", 0)]
    parent_id = getattr(channel, "parent_id", None)
    if parent_id:
        ids.append(parent_id)
    category_id = getattr(channel, "category_id", None)
    if category_id:
        ids.append(category_id)
    return ids


def _stored_link(link: Link) -> HeldLink:
    return HeldLink(text=link.text, url=link.url, domain=link.domain)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _code_block(text: str, limit: int) -> str:
    body = truncate(text.replace("```", "ˋˋˋ"), limit)
    return f"```\n{body}\n```" if body else "*(no text)*"


class LinkHoldService:
    """Holds new members' link posts for review and carries out moderators' decisions."""

    def __init__(
        self,
        bot: StewardBot,
        clock: Clock,
        *,
        download_timeout: float = 5.0,
        catchup: CatchupLimits | None = None,
    ) -> None:
        self._bot = bot
        self._clock = clock
        self.holds = HoldRepository(bot.db)
        self._trust_repo = TrustRepository(bot.db)
        self._count_repo = PostCountRepository(bot.db)
        self._marks_repo = HighWaterRepository(bot.db)
        self.download_timeout = download_timeout
        self.catchup_limits = catchup or CatchupLimits()
        self.controls: Controls | None = None
        self._trusted: set[tuple[int, int]] = set()
        self._counts: dict[tuple[int, int], int] = {}
        self._marks: dict[int, int] = {}
        self._saved_marks: dict[int, int] = {}
        self._notices: dict[int, int] = {}  # notice message id -> channel id, deleted later
        self._started = False
        self._hint_shown: set[int] = set()

    # --- lifecycle --------------------------------------------------------------------------

    async def load(self) -> None:
        """Load trusted members, post counts and high-water marks into memory."""
        self._trusted = await self._trust_repo.all()
        self._counts = await self._count_repo.all()
        self._saved_marks = await self._marks_repo.all()
        self._marks = dict(self._saved_marks)

    async def start(self) -> CatchupReport | None:
        """Once connected: finish interrupted holds, catch up, start the upkeep loop."""
        if self._started:
            return None
        self._started = True
        await self.resume_unfinished()
        await self.close_departed()
        report = await self.catch_up()
        self._bot.background.spawn(self._maintenance_loop(), name="linkhold-upkeep", daemon=True)
        return report

    async def stop(self) -> None:
        """Save the high-water marks and remove outstanding member notices (at shutdown).

        On a clean stop every event up to now was handled, so the mark becomes "now"; that
        spares the next start from re-reading channels where only the bot posted since.
        """
        if self._started:
            now_id = discord.utils.time_snowflake(self._clock.now(), high=True)
            for guild in self._bot.guilds:
                self._marks[guild.id] = max(self._marks.get(guild.id, 0), now_id)
        await self.save_marks()
        for message_id, channel_id in list(self._notices.items()):
            await self._delete_notice(channel_id, message_id)

    def _settings(self, guild_id: int) -> LinkHoldSettings:
        return self._bot.guild_settings.get(guild_id).linkhold

    # --- the hot path -----------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> bool:
        """Router handler: hold the post if a new member's links need review (True if held)."""
        guild = message.guild
        if guild is None:
            return False
        if message.id > self._marks.get(guild.id, 0):
            self._marks[guild.id] = message.id
        settings = self._bot.guild_settings.get(guild.id).linkhold
        if not settings.enabled:
            return False
        author = message.author
        if (
            isinstance(author, discord.Member)
            and author.joined_at is not None
            and not settings.min_posts
            and not settings.min_account_age_days
            and self._clock.now() - author.joined_at >= timedelta(days=settings.hold_days)
        ):
            return False
        return await self.consider(message)

    async def on_edit(self, message: discord.Message) -> bool:
        """A message was edited (raw event): a new member editing a link in is held the same."""
        if message.guild is None or message.author.bot or message.webhook_id is not None:
            return False
        if message.edited_at is None:
            return False  # embed unfurls and other non-edits
        if not self._settings(message.guild.id).enabled:
            return False
        return await self.consider(message, edited=True)

    async def consider(
        self,
        message: discord.Message,
        *,
        edited: bool = False,
        member: discord.Member | None = None,
        count_post: bool = True,
    ) -> bool:
        """Apply the policy to one message; hold it when needed. Returns True if held."""
        guild = message.guild
        assert guild is not None
        if member is None:
            member = await self._member(guild, message.author)
        starter = _forum_starter(message)
        content, kind = _content_of(message)
        if edited:
            kind = "edit"
        texts = [content]
        title: str | None = None
        tag_ids: tuple[int, ...] = ()
        if starter is not None:
            kind = "forum_post"
            title = starter.name
            tag_ids = tuple(t.id for t in starter.applied_tags)
            texts.append(title)
        links = [link for text in texts if text for link in find_links(text)]
        settings = self._settings(guild.id)
        policy = rules.HoldPolicy.from_settings(settings)
        facts = self._facts(guild, message.channel, member, message.author)
        now = self._clock.now()
        verdict = rules.judge(facts, links, _channel_ids(message.channel), now, policy)
        if not verdict.held:
            if (count_post and not edited and verdict.exempt is None and policy.min_posts
                    and facts.accepted_posts < policy.min_posts):
                await self._count_post(guild.id, message.author.id)
            return False
        await self._hold(message, member, verdict, kind=kind, content=content, title=title,
                         tag_ids=tag_ids)
        return True

    async def would_hold(
        self, guild_id: int, member_id: int, text: str, channel_id: int | None = None
    ) -> bool:
        """Would `text` by this member be held here? (The repost service checks edits with it.)"""
        guild = self._bot.get_guild(guild_id)
        if guild is None:
            return False
        member = guild.get_member(member_id)
        if member is None:
            try:
                member = await guild.fetch_member(member_id)
            except discord.HTTPException:
                member = None
        channel = guild.get_channel_or_thread(channel_id) if channel_id else None
        facts = self._facts(guild, channel, member, None, member_id=member_id)
        policy = rules.HoldPolicy.from_settings(self._settings(guild_id))
        # An uncached channel (an archived thread) still counts by its own id.
        ids = _channel_ids(channel) if channel is not None else (
            [channel_id] if channel_id else [])
        return rules.judge(facts, find_links(text), ids, self._clock.now(), policy).held

    async def _member(
        self, guild: discord.Guild, author: discord.User | discord.Member
    ) -> discord.Member | None:
        if isinstance(author, discord.Member):
            return author
        cached = guild.get_member(author.id)
        if cached is not None:
            return cached
        try:
            return await guild.fetch_member(author.id)
        except discord.HTTPException:
            return None

    def _facts(
        self,
        guild: discord.Guild,
        channel: object,
        member: discord.Member | None,
        author: discord.abc.User | None,
        *,
        member_id: int | None = None,
    ) -> rules.MemberFacts:
        user_id = member.id if member else (author.id if author else member_id or 0)
        key = (guild.id, user_id)
        trusted = key in self._trusted
        posts = self._counts.get(key, 0)
        if member is None:
            created = discord.utils.snowflake_time(user_id)
            return rules.MemberFacts(
                member_id=user_id, joined_at=None, account_created_at=created,
                is_bot=bool(author and author.bot), is_owner=guild.owner_id == user_id,
                trusted=trusted, accepted_posts=posts,
            )
        core = self._bot.guild_settings.get(guild.id).core
        perms = (
            channel.permissions_for(member)
            if isinstance(channel, discord.abc.GuildChannel | discord.Thread)
            else None
        )
        return rules.MemberFacts(
            member_id=member.id,
            joined_at=member.joined_at,
            account_created_at=member.created_at,
            is_bot=member.bot,
            is_owner=guild.owner_id == member.id,
            can_manage_messages=is_moderator(member, core, perms),
            role_ids=frozenset(r.id for r in member.roles),
            trusted=trusted,
            accepted_posts=posts,
        )

    async def _count_post(self, guild_id: int, member_id: int) -> None:
        key = (guild_id, member_id)
        self._counts[key] = self._counts.get(key, 0) + 1
        await self._count_repo.add(guild_id, member_id, self._clock.now())

    # --- holding ----------------------------------------------------------------------------

    async def _hold(
        self,
        message: discord.Message,
        member: discord.Member | None,
        verdict: rules.Verdict,
        *,
        kind: Kind,
        content: str,
        title: str | None,
        tag_ids: tuple[int, ...],
    ) -> Hold | None:
        guild = message.guild
        assert guild is not None
        author_id = message.author.id
        now = self._clock.now()
        dup_key = rules.duplicate_key(author_id, f"{title or ''}\n{content}")
        existing = await self.holds.pending_duplicate(guild.id, author_id, dup_key)
        if existing is not None and existing.message_id != message.id:
            return await self._repeat(existing, message, kind)
        channel = message.channel
        parent_id = getattr(channel, "parent_id", None) if isinstance(
            channel, discord.Thread) else None
        reply_url = None
        ref = message.reference
        if ref is not None and ref.message_id and ref.type is discord.MessageReferenceType.reply:
            reply_url = (f"https://discord.com/channels/{guild.id}/{ref.channel_id}/"
                         f"{ref.message_id}")
        attachments = await self._download(message, guild)
        new = NewHold(
            guild_id=guild.id, channel_id=channel.id, parent_id=parent_id,
            message_id=message.id, member_id=author_id, kind=kind, content=content,
            links=tuple(_stored_link(x) for x in verdict.links), dup_key=dup_key,
            forum_title=title, forum_tag_ids=tag_ids, reply_to_url=reply_url,
            attachments=attachments,
        )
        hold = await self.holds.create(new, now)
        if hold is None:
            return None  # already held (the live event and the catch-up scan both saw it)
        await self.refresh_pending_gauge()
        log.info("holding message %s of member %s in guild %s as hold %s",
                 message.id, author_id, guild.id, hold.id)
        return await self._complete(hold, member=member)

    async def _repeat(self, existing: Hold, message: discord.Message, kind: Kind) -> Hold:
        """The same member posted the same words again while a hold is pending."""
        removal = await self._remove_post(
            existing.guild_id, message.channel.id, message.id, forum=kind == "forum_post")
        count = await self.holds.bump_repeat(existing.id)
        log.info("hold %s repeated (%d times) by member %s", existing.id, count,
                 existing.member_id)
        await self._bot.audit.record(
            existing.guild_id, None, "hold.repeated", existing.member_id,
            {"hold": existing.id, "count": count, "removed": removal}, post=False,
        )
        refreshed = await self.holds.get(existing.id)
        assert refreshed is not None
        await self.refresh_card(refreshed)
        return refreshed

    async def _download(
        self, message: discord.Message, guild: discord.Guild
    ) -> tuple[NewAttachment, ...]:
        items = list(message.attachments)
        for snapshot in getattr(message, "message_snapshots", []):
            items.extend(snapshot.attachments)
        if not items:
            return ()
        cap = min(self._settings(guild.id).attachment_max_bytes, guild.filesize_limit)

        async def fetch(position: int, item: discord.Attachment) -> NewAttachment:
            def described(data: bytes | None = None, why: str | None = None) -> NewAttachment:
                return NewAttachment(position, item.filename, item.size, item.content_type,
                                     data, why)

            if item.size > cap:
                return described(why="too large")
            try:
                data = await asyncio.wait_for(item.read(), self.download_timeout)
            except TimeoutError:
                return described(why="timed out")
            except (discord.HTTPException, OSError):
                return described(why="download failed")
            if len(data) > cap:
                return described(why="too large")
            return described(data)

        return tuple(await asyncio.gather(*(fetch(i, a) for i, a in enumerate(items))))

    async def _complete(self, hold: Hold, *, member: discord.Member | None = None) -> Hold:
        """Run the remaining holding steps of `hold` (remove, tell, queue) in order."""
        step = STEPS.index(hold.step)
        removal = hold.removal
        if step <= STEPS.index(STEP_STORED):
            removal = await self._remove_post(
                hold.guild_id, hold.channel_id, hold.message_id, forum=hold.is_forum_post)
            await self.holds.mark_removed(hold.id, removal)
            if removal == "failed":
                await self._bot.audit.record(
                    hold.guild_id, None, "hold.remove_failed", hold.member_id,
                    {"hold": hold.id, "channel": f"<#{hold.channel_id}>"},
                )
        if step <= STEPS.index(STEP_REMOVED):
            told = "none"
            if removal != "failed":
                told = await self._tell_member(hold, member)
            await self.holds.mark_told(hold.id, told)
        if step <= STEPS.index(STEP_TOLD):
            current = await self.holds.get(hold.id)
            assert current is not None
            channel_id, message_id = await self._post_card(current)
            await self.holds.mark_queued(hold.id, channel_id, message_id)
            await self._bot.audit.record(
                hold.guild_id, None, "hold.held", hold.member_id,
                {"hold": hold.id, "channel": f"<#{hold.channel_id}>",
                 "removed": removal, "queue": self._queue_url(hold.guild_id, channel_id,
                                                              message_id)},
            )
        done = await self.holds.get(hold.id)
        assert done is not None
        return done

    @staticmethod
    def _queue_url(guild_id: int, channel_id: int | None, message_id: int | None) -> str | None:
        if channel_id is None or message_id is None:
            return None
        return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"

    async def _remove_post(
        self, guild_id: int, channel_id: int, message_id: int, *, forum: bool
    ) -> str:
        """Delete the held message (a held forum starter: its whole thread)."""
        reason = "Steward: held a new member's link post for moderator review"
        try:
            if forum:
                await self._bot.http.delete_channel(channel_id, reason=reason)
            else:
                await self._bot.http.delete_message(channel_id, message_id, reason=reason)
        except discord.NotFound:
            return "gone"
        except discord.HTTPException as exc:
            log.warning("could not remove held message %s in channel %s (guild %s): %s %s",
                        message_id, channel_id, guild_id, exc.status, exc.code)
            return "failed"
        return "removed"

    async def _tell_member(self, hold: Hold, member: discord.Member | None) -> str:
        """DM the member (or post a short self-deleting notice); returns how they were told."""
        guild = self._bot.get_guild(hold.guild_id)
        if guild is None:
            return "none"
        settings = self._settings(guild.id)
        if member is None:
            member = await self._member(guild, discord.Object(hold.member_id))  # type: ignore[arg-type]
        now = self._clock.now()
        facts = self._facts(guild, None, member, None, member_id=hold.member_id)
        when = rules.describe_clearance(
            rules.clearance(facts, now, rules.HoldPolicy.from_settings(settings)), now)
        where = f"<#{hold.parent_id}>" if hold.is_forum_post and hold.parent_id else (
            f"<#{hold.channel_id}>")
        domains = [link.domain for link in hold.links]
        told: list[str] = []
        dm_failed = False
        if settings.notify in ("dm", "both"):
            if member is None:
                dm_failed = True
            else:
                values = rules.render_values(member.display_name, guild.name, where, when, domains)
                text = self._render(settings.held_template, rules.DEFAULT_HELD_DM, values)
                try:
                    await messaging.send(member, text)
                    told.append("dm")
                except discord.HTTPException as exc:
                    dm_failed = True
                    log.info("could not DM member %s about hold %s (code %s)",
                             hold.member_id, hold.id, exc.code)
        if settings.notify in ("channel", "both") or dm_failed:
            values = rules.render_values(f"<@{hold.member_id}>", guild.name, where, when, domains)
            text = self._render(settings.notice_template, rules.DEFAULT_HELD_NOTICE, values)
            if await self._post_notice(guild, hold, text):
                told.append("channel")
        return "+".join(told) or "none"

    @staticmethod
    def _render(custom: str | None, default: str, values: dict[str, str]) -> str:
        if custom:
            try:
                return render(custom, values)
            except TemplateError:
                log.warning("a saved link-hold template no longer renders; using the default")
        return render(default, values)

    async def _post_notice(self, guild: discord.Guild, hold: Hold, text: str) -> bool:
        settings = self._settings(guild.id)
        target: object
        if hold.is_forum_post:
            target = (guild.get_channel(settings.notice_channel) if settings.notice_channel
                      else None) or guild.system_channel
        else:
            target = guild.get_channel_or_thread(hold.channel_id)
        if not isinstance(target, discord.TextChannel | discord.Thread):
            log.warning("no channel to tell member %s about hold %s", hold.member_id, hold.id)
            return False
        try:
            notice = await messaging.send(
                target, text, allowed_mentions=messaging.ping_only(hold.member_id))
        except discord.HTTPException as exc:
            log.warning("could not post the hold notice in channel %s: %s", target.id, exc.code)
            return False
        self._notices[notice.id] = target.id
        self._bot.background.spawn(
            self._delete_notice_later(target.id, notice.id,
                                      self._clock.now() + rules.NOTICE_DELETE_AFTER),
            name=f"linkhold-notice-{notice.id}", daemon=True,
        )
        return True

    async def _delete_notice_later(self, channel_id: int, message_id: int, when: datetime) -> None:
        await self._clock.sleep_until(when)
        await self._delete_notice(channel_id, message_id)

    async def _delete_notice(self, channel_id: int, message_id: int) -> None:
        if self._notices.pop(message_id, None) is None:
            return
        try:
            await self._bot.http.delete_message(channel_id, message_id)
        except discord.HTTPException as exc:
            log.info("could not delete hold notice %s: %s", message_id, exc.code)

    # --- the queue card ---------------------------------------------------------------------

    def _queue_channel(self, guild_id: int) -> discord.TextChannel | discord.Thread | None:
        channel_id = self._settings(guild_id).queue_channel
        if channel_id is None:
            return None
        channel = self._bot.get_channel(channel_id)
        return channel if isinstance(channel, discord.TextChannel | discord.Thread) else None

    async def _post_card(self, hold: Hold) -> tuple[int | None, int | None]:
        channel = self._queue_channel(hold.guild_id)
        if channel is None:
            log.warning("guild %s has no queue channel; hold %s is only in /linkhold queue",
                        hold.guild_id, hold.id)
            return None, None
        embed = await self.card(hold)
        # The member may have left while the hold was being stored: no live buttons then.
        active = hold.status == "pending"
        view = self.controls(hold, active) if self.controls is not None else None
        try:
            if view is not None:
                sent = await messaging.send(channel, embeds=[embed], view=view)
            else:
                sent = await messaging.send(channel, embeds=[embed])
        except discord.HTTPException as exc:
            log.warning("could not post hold %s to the queue channel %s: %s",
                        hold.id, channel.id, exc.code)
            return None, None
        return channel.id, sent.id

    async def card(self, hold: Hold) -> discord.Embed:
        """The queue embed for a hold: who, where, the words, links shown as code."""
        guild = self._bot.get_guild(hold.guild_id)
        member = guild.get_member(hold.member_id) if guild else None
        colour = {"approved": discord.Colour.green(), "rejected": discord.Colour.dark_red(),
                  CLOSED_LEFT: discord.Colour.light_grey()}.get(
            hold.status, discord.Colour.orange())
        embed = discord.Embed(title=_TITLES.get(hold.kind, _TITLES["message"]), colour=colour,
                              timestamp=hold.created_at)
        who = [f"**Member:** <@{hold.member_id}> (`{hold.member_id}`)"]
        if member is not None and member.joined_at is not None:
            who.append(f"**Joined:** <t:{int(member.joined_at.timestamp())}:R>")
        account = discord.utils.snowflake_time(hold.member_id)
        who.append(f"**Account created:** <t:{int(account.timestamp())}:R>")
        history = await self.holds.member_history(hold.guild_id, hold.member_id)
        earlier = {k: v for k, v in history.items() if v}
        total = sum(earlier.values()) - 1
        if total > 0:
            parts = ", ".join(f"{n} {status}" for status, n in sorted(earlier.items()))
            who.append(f"**Holds so far:** {parts}")
        where = f"<#{hold.parent_id}>" if hold.is_forum_post and hold.parent_id else (
            f"<#{hold.channel_id}>")
        who.append(f"**Where:** {where}")
        if hold.forum_title is not None:
            who.append(f"**Forum post title:** {rules.code_span(hold.forum_title, 200)}")
        if hold.repeat_count > 1:
            who.append(f"**Posted {hold.repeat_count} times** (repeats removed, told once)")
        if hold.removal == "failed":
            who.append("⚠️ **I could not remove this post** (missing permission?). It is still "
                       "visible in the channel.")
        told = {"dm": "by DM", "channel": "with a short notice in the channel",
                "dm+channel": "by DM and in the channel", "none": "not told"}
        if hold.member_told:
            who.append(f"**Member told:** {told.get(hold.member_told, hold.member_told)}")
        embed.description = "\n".join(who)
        if hold.purged_at is not None or hold.content is None:
            embed.add_field(name="Post", value="*Content removed after the retention period.*",
                            inline=False)
        else:
            embed.add_field(name="Post", value=_code_block(hold.content, CARD_CONTENT_LIMIT),
                            inline=False)
            lines = [f"{rules.code_span(x.url, 150)} — {rules.code_span(x.domain, 60)}"
                     for x in hold.links]
            if lines:
                embed.add_field(name="Links (not clickable)",
                                value=truncate("\n".join(lines), 1024), inline=False)
            files = await self.holds.attachments(hold.id)
            if files:
                described = [
                    f"{rules.code_span(f.filename, 80)} ({_size(f.size)})"
                    + (f" — not kept: {f.not_kept_reason}" if f.not_kept_reason else "")
                    for f in files
                ]
                embed.add_field(name="Attachments", value=truncate("\n".join(described), 1024),
                                inline=False)
        if hold.status in ("approved", "rejected", "approving", CLOSED_LEFT):
            embed.add_field(name="Decision", value=self._describe_decision(hold), inline=False)
        embed.set_footer(text=f"Hold #{hold.id}")
        return embed

    @staticmethod
    def _describe_decision(hold: Hold) -> str:
        by = f"<@{hold.decided_by}>" if hold.decided_by else "a moderator"
        if hold.status == CLOSED_LEFT:
            return "Closed: the member left the server, so there is nothing to decide."
        if hold.status == "approving":
            return f"Being approved by {by}…"
        if hold.status == "approved":
            verb = {"edit": "Edited and approved", "trust": "Approved and trusted"}.get(
                hold.decision or "", "Approved")
            link = f" — [see the post]({hold.repost_url})" if hold.repost_url else ""
            return f"{verb} by {by}{link}"
        verb = {"timeout": "Rejected and timed out", "ban": "Rejected and banned"}.get(
            hold.decision or "", "Rejected")
        return f"{verb} by {by}"

    async def refresh_card(self, hold: Hold) -> None:
        """Re-render a hold's queue message (after a decision, a repeat or a purge)."""
        if hold.queue_channel_id is None or hold.queue_message_id is None:
            return
        embed = await self.card(hold)
        view = self.controls(hold, hold.status == "pending") if self.controls else None
        channel = self._bot.get_partial_messageable(hold.queue_channel_id,
                                                    guild_id=hold.guild_id)
        try:
            message = channel.get_partial_message(hold.queue_message_id)
            if view is not None:
                await message.edit(embed=embed, view=view)
            else:
                await message.edit(embed=embed)
        except discord.HTTPException as exc:
            log.warning("could not update the queue message of hold %s: %s", hold.id, exc.code)

    # --- decisions --------------------------------------------------------------------------

    async def _hold_for(self, guild_id: int, hold_id: int) -> Hold:
        hold = await self.holds.get(hold_id)
        if hold is None or hold.guild_id != guild_id:
            raise NotFound("I couldn't find that held post.")
        return hold

    async def already_decided(self, hold_id: int) -> AlreadyDecided:
        """The error to show when someone else decided this hold first."""
        hold = await self.holds.get(hold_id)
        if hold is None:
            return AlreadyDecided()
        if hold.status == CLOSED_LEFT:
            return AlreadyDecided(f"<@{hold.member_id}> left the server, so this held post was "
                                  "closed. There's nothing to approve or reject.")
        by = f"<@{hold.decided_by}>" if hold.decided_by else "another moderator"
        what = {"approving": "is approving", "approved": "already approved",
                "rejected": "already rejected"}.get(hold.status, "already handled")
        return AlreadyDecided(f"{by} {what} this post.")

    async def get_for_review(self, guild_id: int, hold_id: int) -> Hold:
        """A hold for showing to a moderator (full text, edit modal)."""
        return await self._hold_for(guild_id, hold_id)

    async def approve(
        self,
        guild_id: int,
        hold_id: int,
        moderator_id: int,
        *,
        content: str | None = None,
        trust: bool = False,
    ) -> Decision:
        """Publish a held post through the repost service, exactly once."""
        from bot.services.repost import RepostRequest, StoredAttachment

        hold = await self._hold_for(guild_id, hold_id)
        decision = "trust" if trust else ("edit" if content is not None else "approve")
        if not await self.holds.begin_approval(hold_id, moderator_id, decision,
                                               self._clock.now()):
            raise await self.already_decided(hold_id)
        files = await self.holds.attachments(hold_id)
        text = hold.content or "" if content is None else content
        settings = self._settings(guild_id)
        forum = hold.is_forum_post and hold.parent_id is not None
        request = RepostRequest(
            guild_id=guild_id,
            member_id=hold.member_id,
            content=text,
            destination_id=hold.parent_id if forum and hold.parent_id else hold.channel_id,
            moderator_id=moderator_id,
            reason=f"approved held post #{hold.id}",
            source=f"hold:{hold.id}",
            attachments=tuple(StoredAttachment(f.filename, f.data, f.content_type)
                              for f in files if f.data is not None),
            not_kept=tuple(f.filename for f in files if f.data is None),
            reply_to_url=hold.reply_to_url,
            notice=settings.approved_template or rules.DEFAULT_APPROVED_NOTICE,
            forum_title=hold.forum_title if forum else None,
            forum_tag_ids=hold.forum_tag_ids if forum else (),
        )
        try:
            result = await self._bot.services.repost.publish(request)
        except BaseException:
            await self.holds.abort_approval(hold_id)
            raise
        await self.holds.finish_approval(hold_id, result.jump_url, self._clock.now())
        await self._count_decision(hold, "approved")
        if trust:
            await self.trust(guild_id, hold.member_id, moderator_id)
        elif settings.min_posts:
            await self._count_post(guild_id, hold.member_id)
        await self._bot.audit.record(
            guild_id, moderator_id, "hold.trusted_and_approved" if trust else "hold.approved",
            hold.member_id, {"hold": hold.id, "edited": content is not None,
                             "jump": result.jump_url},
        )
        done = await self.holds.get(hold_id)
        assert done is not None
        await self.refresh_card(done)
        return Decision(hold=done, repost=result)

    async def reject(
        self,
        guild_id: int,
        hold_id: int,
        moderator_id: int,
        *,
        reason: str | None = None,
        tell_member: bool = False,
        decision: str = "reject",
    ) -> Decision:
        """Reject a held post; the member is told (by DM, with the reason) only if asked."""
        hold = await self._hold_for(guild_id, hold_id)
        reason = (reason or "").strip() or None
        if not await self.holds.reject(hold_id, moderator_id, decision, reason,
                                       self._clock.now()):
            raise await self.already_decided(hold_id)
        await self._count_decision(hold, "rejected")
        told: bool | None = None
        if tell_member:
            told = await self._tell_rejected(hold, reason)
        action = "hold.rejected" if decision == "reject" else f"hold.rejected.{decision}"
        await self._bot.audit.record(
            guild_id, moderator_id, action, hold.member_id,
            {"hold": hold.id, "member_told": told},
        )
        done = await self.holds.get(hold_id)
        assert done is not None
        await self.refresh_card(done)
        return Decision(hold=done, member_told=told)

    async def _tell_rejected(self, hold: Hold, reason: str | None) -> bool:
        guild = self._bot.get_guild(hold.guild_id)
        if guild is None:
            return False
        member = await self._member(guild, discord.Object(hold.member_id))  # type: ignore[arg-type]
        if member is None:
            return False
        settings = self._settings(guild.id)
        note = f"\n\nThe moderator's note: {reason}" if reason else ""
        values = {"member": member.display_name, "server": guild.name, "reason": note}
        text = self._render(settings.rejected_template, rules.DEFAULT_REJECTED_DM, values)
        try:
            await messaging.send(member, text)
        except discord.HTTPException as exc:
            log.info("could not DM member %s about rejected hold %s (code %s)",
                     hold.member_id, hold.id, exc.code)
            return False
        return True

    async def punish(
        self,
        guild: discord.Guild,
        hold_id: int,
        moderator: discord.Member,
        moderator_permissions: discord.Permissions,
        action: Literal["timeout", "ban"],
    ) -> Decision:
        """Reject a scam post and time out or ban its author (both sides' permissions checked)."""
        hold = await self._hold_for(guild.id, hold_id)
        if action == "timeout":
            if not (moderator_permissions.moderate_members or moderator_permissions.administrator):
                raise NotModerator("You need the Timeout Members permission to do that.")
            if not guild.me.guild_permissions.moderate_members:
                raise BotMissingPermissions("I need the Timeout Members permission for that.")
        else:
            if not (moderator_permissions.ban_members or moderator_permissions.administrator):
                raise NotModerator("You need the Ban Members permission to do that.")
            if not guild.me.guild_permissions.ban_members:
                raise BotMissingPermissions("I need the Ban Members permission for that.")
        result = await self.reject(guild.id, hold_id, moderator.id, decision=action)
        reason = f"Steward: scam link post (hold #{hold.id}), by moderator {moderator.id}"
        note = None
        try:
            if action == "timeout":
                member = await self._member(guild, discord.Object(hold.member_id))  # type: ignore[arg-type]
                if member is None:
                    note = "They already left the server, so I couldn't time them out."
                else:
                    await member.timeout(self._clock.now() + TIMEOUT_DURATION, reason=reason)
            else:
                await guild.ban(discord.Object(hold.member_id), reason=reason,
                                delete_message_seconds=BAN_DELETE_SECONDS)
        except discord.Forbidden:
            note = (f"The post is rejected, but Discord didn't let me {action} them "
                    "(their role may be above mine).")
        except discord.HTTPException as exc:
            note = f"The post is rejected, but the {action} failed ({exc.status})."
        if note is None:
            await self._bot.audit.record(guild.id, moderator.id, f"member.{action}",
                                         hold.member_id, {"hold": hold.id})
        return Decision(hold=result.hold, note=note)

    # --- trust --------------------------------------------------------------------------------

    def is_trusted(self, guild_id: int, member_id: int) -> bool:
        """True when a moderator trusted this member here."""
        return (guild_id, member_id) in self._trusted

    async def trust(self, guild_id: int, member_id: int, by: int | None) -> bool:
        """Never hold this member's links again here; False if already trusted."""
        self._trusted.add((guild_id, member_id))
        added = await self._trust_repo.trust(guild_id, member_id, by, self._clock.now())
        if added:
            await self._bot.audit.record(guild_id, by, "member.trusted", member_id)
        return added

    async def untrust(self, guild_id: int, member_id: int, by: int | None) -> bool:
        """Apply the policy to this member again; False if they weren't trusted."""
        self._trusted.discard((guild_id, member_id))
        removed = await self._trust_repo.untrust(guild_id, member_id)
        if removed:
            await self._bot.audit.record(guild_id, by, "member.untrusted", member_id)
        return removed

    # --- members who leave, members forgotten --------------------------------------------------

    async def member_left(self, guild_id: int, member_id: int) -> list[Hold]:
        """Close a departed member's pending holds; their content is purged after retention."""
        closed = await self.holds.close_for_member(guild_id, member_id, self._clock.now())
        for hold in closed:
            log.info("closed hold %s: member %s left guild %s", hold.id, member_id, guild_id)
            await self._count_decision(hold, "member_left")
            await self._bot.audit.record(
                guild_id, None, "hold.closed_member_left", member_id,
                {"hold": hold.id, "reason": "the member left the server",
                 "queue": self._queue_url(guild_id, hold.queue_channel_id,
                                          hold.queue_message_id)},
            )
            current = await self.holds.get(hold.id)
            if current is not None:
                await self.refresh_card(current)
        return closed

    async def close_departed(self) -> int:
        """At startup: close pending holds of members who left while Steward was away.

        Asks Discord (10007 Unknown Member), not the cache; the pending queue is small.
        """
        closed = 0
        checked: set[tuple[int, int]] = set()
        for hold in await self.holds.pending(limit=1000):
            key = (hold.guild_id, hold.member_id)
            guild = self._bot.get_guild(hold.guild_id)
            if key in checked or guild is None or guild.get_member(hold.member_id) is not None:
                continue
            checked.add(key)
            try:
                await self._bot.http.get_member(hold.guild_id, hold.member_id)
            except discord.NotFound as exc:
                if exc.code == UNKNOWN_MEMBER:
                    closed += len(await self.member_left(hold.guild_id, hold.member_id))
            except discord.HTTPException as exc:
                log.info("could not check member %s of hold %s: %s", hold.member_id, hold.id,
                         exc.status)
        return closed

    async def forget_member(self, guild_id: int, member_id: int) -> None:
        """Before `/privacy forget` deletes the rows: drop the member from memory and blank
        their queue cards (the cards show what they wrote)."""
        await self.untrust(guild_id, member_id, None)
        self._counts.pop((guild_id, member_id), None)
        for hold in await self.holds.with_cards(guild_id, member_id):
            await self._blank_card(hold)
        self._bot.background.spawn(self.refresh_pending_gauge(), name="linkhold-gauge")

    async def _blank_card(self, hold: Hold) -> None:
        assert hold.queue_channel_id is not None and hold.queue_message_id is not None
        embed = discord.Embed(
            title=f"Hold #{hold.id}", colour=discord.Colour.light_grey(),
            description="This member asked to be forgotten, so what they posted was deleted.")
        channel = self._bot.get_partial_messageable(hold.queue_channel_id,
                                                    guild_id=hold.guild_id)
        try:
            # No buttons: the hold itself is deleted next.
            await channel.get_partial_message(hold.queue_message_id).edit(embed=embed, view=None)
        except discord.HTTPException as exc:
            log.warning("could not blank the queue message of hold %s: %s", hold.id, exc.code)

    # --- metrics ------------------------------------------------------------------------------

    def _metrics(self) -> Metrics | None:
        metrics = self._bot.services.metrics
        return metrics if metrics is not None and metrics.enabled else None

    async def refresh_pending_gauge(self) -> None:
        """Set the pending-holds gauge (one indexed count; only when metrics are on)."""
        metrics = self._metrics()
        if metrics is not None:
            metrics.set("holds_pending", await self.holds.count_pending())

    async def _count_decision(self, hold: Hold, outcome: str) -> None:
        metrics = self._metrics()
        if metrics is None:
            return
        metrics.inc("holds_decided", outcome=outcome)
        waited = (self._clock.now() - hold.created_at).total_seconds()
        metrics.observe("hold_decision_seconds", max(0.0, waited))
        await self.refresh_pending_gauge()

    # --- doctor -------------------------------------------------------------------------------

    async def probe(self, guild_id: int) -> list[Finding]:
        """Doctor probe: held posts waiting far too long, and holds stuck part-way."""
        settings = self._settings(guild_id)
        now = self._clock.now()
        findings: list[Finding] = []
        queue = f"<#{settings.queue_channel}>" if settings.queue_channel else None
        hours = settings.review_reminder_hours * 2
        waiting = await self.holds.waiting_since(guild_id, now - timedelta(hours=hours))
        if waiting:
            oldest = waiting[0]
            n = len(waiting)
            noun = "held post has" if n == 1 else "held posts have"
            where = (f"Open {queue} and press Approve or Reject on each card"
                     if queue else "Approve or Reject each one")
            findings.append(Finding(
                "linkhold.waiting", "queue", Severity.WARNING,
                f"{n}{'+' if n >= 100 else ''} {noun} waited more than {hours} hours for a "
                f"moderator (the oldest is hold #{oldest.id}, from "
                f"<t:{int(oldest.created_at.timestamp())}:R>). The members are still waiting.",
                f"{where}; `/linkhold queue` lists them with links."
                + ("" if queue else " To get cards with buttons, an admin can set a queue "
                   "channel with `/linkhold settings queue_channel:#mod-queue`."),
            ))
        stuck = await self.holds.stuck(guild_id, now - STUCK_AFTER)
        not_removed = [h for h in stuck if h.status == "pending" and h.removal == "failed"]
        unfinished = [h for h in stuck if h.status == "pending" and h.removal != "failed"]
        approving = [h for h in stuck if h.status == "approving"]
        if not_removed:
            channels = ", ".join(dict.fromkeys(f"<#{h.channel_id}>" for h in not_removed))
            ids = ", ".join(f"#{h.id}" for h in not_removed[:10])
            findings.append(Finding(
                "linkhold.not_removed", "holds", Severity.PROBLEM,
                f"I held post(s) {ids} but couldn't remove them, so they are still visible "
                f"in {channels}.",
                f"Give Steward the Manage Messages permission in {channels} (channel settings → "
                "Permissions), delete the post(s) there yourself, then Approve or Reject the "
                "hold(s)" + (f" in {queue}." if queue else " (`/linkhold queue`)."),
            ))
        if unfinished:
            ids = ", ".join(f"#{h.id}" for h in unfinished[:10])
            findings.append(Finding(
                "linkhold.unfinished", "holds", Severity.PROBLEM,
                f"Hold(s) {ids} got stuck part-way: the post was stored, but removing it, "
                "telling the member or queueing it didn't finish.",
                "Restart Steward: it finishes interrupted holds when it starts. If this comes "
                "back, Steward's logs show the error.",
            ))
        if approving:
            ids = ", ".join(f"#{h.id}" for h in approving[:10])
            findings.append(Finding(
                "linkhold.approval_stuck", "holds", Severity.PROBLEM,
                f"Approving hold(s) {ids} started but didn't finish.",
                "Restart Steward: it puts unfinished approvals back in the queue, and a "
                "moderator can press Approve again (nothing is posted twice).",
            ))
        return findings

    # --- reading for commands -----------------------------------------------------------------

    async def pending(self, guild_id: int, limit: int = 25) -> list[Hold]:
        """Pending holds of a guild, oldest first."""
        return await self.holds.pending(guild_id, limit=limit)

    async def status(self, guild: discord.Guild, member: discord.Member) -> MemberStatus:
        """Is this member held, until when, and why."""
        settings = self._settings(guild.id)
        policy = rules.HoldPolicy.from_settings(settings)
        facts = self._facts(guild, None, member, None)
        now = self._clock.now()
        exempt = rules.exemption(facts, policy)
        reasons = tuple(rules.new_member_reasons(facts, now, policy))
        held = settings.enabled and exempt is None and bool(reasons)
        when = rules.describe_clearance(rules.clearance(facts, now, policy), now)
        history = await self.holds.member_history(guild.id, member.id)
        return MemberStatus(member.id, held, exempt, reasons, when, history)

    def setup_hint(self, guild_id: int) -> str | None:
        """Once per guild and process: how to set a queue channel when none is set."""
        if self._settings(guild_id).queue_channel is not None or guild_id in self._hint_shown:
            return None
        self._hint_shown.add(guild_id)
        return ("Note: no queue channel is set, so held posts only show in `/linkhold queue`. "
                "An admin can set one with `/linkhold settings queue_channel:#mod-queue`.")

    # --- upkeep: reminders, retention, high-water marks ----------------------------------------

    async def _maintenance_loop(self) -> None:
        while True:
            now = self._clock.now()
            try:
                await self.run_maintenance(now)
            except Exception:
                log.exception("link-hold upkeep failed")
            await self._clock.sleep_until(now + MAINTENANCE_INTERVAL)

    async def run_maintenance(self, now: datetime) -> None:
        """Remind moderators of old pending holds, purge expired content, save marks."""
        await self.send_reminders(now)
        await self.purge_expired(now)
        await self.save_marks()
        await self.refresh_pending_gauge()

    async def send_reminders(self, now: datetime) -> int:
        """Surface pending holds older than `review_reminder_hours` again; returns how many."""
        by_guild: dict[int, list[Hold]] = defaultdict(list)
        for hold in await self.holds.pending(limit=1000):
            hours = timedelta(hours=self._settings(hold.guild_id).review_reminder_hours)
            if now - hold.created_at >= hours and (
                hold.reminded_at is None or now - hold.reminded_at >= hours
            ):
                by_guild[hold.guild_id].append(hold)
        total = 0
        for guild_id, due in by_guild.items():
            noun = "post is" if len(due) == 1 else "posts are"
            text = f"⏰ {len(due)} held {noun} still waiting for review:"
            for shown, hold in enumerate(due):
                url = self._queue_url(guild_id, hold.queue_channel_id, hold.queue_message_id)
                label = f"[Hold #{hold.id}]({url})" if url else f"Hold #{hold.id}"
                line = (f"\n• {label}: <@{hold.member_id}> in <#{hold.channel_id}>, "
                        f"held <t:{int(hold.created_at.timestamp())}:R>")
                if len(text) + len(line) > MESSAGE_LIMIT - 80:
                    text += f"\n…and {len(due) - shown} more (see `/linkhold queue`)."
                    break
                text += line
            target = self._queue_channel(guild_id)
            if target is None:
                mod_log = self._bot.guild_settings.get(guild_id).core.mod_log_channel
                found = self._bot.get_channel(mod_log) if mod_log else None
                target = found if isinstance(found, discord.TextChannel | discord.Thread) else None
            if target is None:
                log.warning("guild %s has %d held posts waiting and nowhere to remind",
                            guild_id, len(due))
                continue
            try:
                await messaging.send(target, text)
            except discord.HTTPException as exc:
                log.warning("could not post the hold reminder in guild %s: %s", guild_id, exc.code)
                continue
            await self.holds.mark_reminded([h.id for h in due], now)
            total += len(due)
        return total

    async def purge_expired(self, now: datetime) -> int:
        """Delete content and attachments of holds decided more than `retention_days` ago."""
        expired = [
            hold for hold in await self.holds.decided_unpurged()
            if hold.decided_at is not None
            and now - hold.decided_at
            >= timedelta(days=self._settings(hold.guild_id).retention_days)
        ]
        if not expired:
            return 0
        await self.holds.purge([h.id for h in expired], now)
        await self._bot.db.checkpoint()
        log.info("purged the content of %d decided holds", len(expired))
        for hold in expired:
            purged = await self.holds.get(hold.id)
            if purged is not None:
                await self.refresh_card(purged)
        return len(expired)

    async def save_marks(self) -> None:
        """Store high-water marks that moved since the last save."""
        changed = {g: m for g, m in self._marks.items() if self._saved_marks.get(g) != m}
        if not changed:
            return
        await self._marks_repo.save(changed, self._clock.now())
        self._saved_marks.update(changed)

    # --- after downtime -----------------------------------------------------------------------

    async def resume_unfinished(self) -> int:
        """Finish holds interrupted between storing and queueing; un-claim stuck approvals."""
        for hold in await self.holds.stuck_approvals():
            if await self.holds.abort_approval(hold.id):
                log.warning("hold %s was being approved when Steward stopped; it is pending "
                            "again", hold.id)
                refreshed = await self.holds.get(hold.id)
                if refreshed is not None:
                    await self.refresh_card(refreshed)
        unfinished = await self.holds.unfinished()
        for hold in unfinished:
            log.info("finishing interrupted hold %s (step %s)", hold.id, hold.step)
            try:
                await self._complete(hold)
            except Exception:
                log.exception("could not finish hold %s", hold.id)
        return len(unfinished)

    async def catch_up(self) -> CatchupReport:
        """Apply the policy to messages posted while Steward was away (bounded)."""
        limits = self.catchup_limits
        budget = limits.request_budget
        channels = messages = held = 0
        out_of_budget = False
        now = self._clock.now()
        floor_time = discord.utils.time_snowflake(now - limits.max_age)
        for guild in self._bot.guilds:
            mark = self._saved_marks.get(guild.id)
            if mark is None:
                self._marks.setdefault(guild.id, discord.utils.time_snowflake(now))
                continue
            after = max(mark, floor_time)
            me = guild.me
            members: dict[int, discord.Member | None] = {}
            readable: list[discord.TextChannel | discord.Thread] = [
                *guild.text_channels, *guild.threads]
            candidates = [
                c for c in readable
                if (c.last_message_id or 0) > after
                or (isinstance(c, discord.Thread) and c.id > after)
            ]
            for channel in candidates:
                perms = channel.permissions_for(me)
                if not (perms.view_channel and perms.read_message_history):
                    continue
                if budget <= 0:
                    out_of_budget = True
                    break
                limit = min(limits.per_channel, budget * 100)
                channels += 1
                fetched = 0
                try:
                    async for message in channel.history(
                        limit=limit, after=discord.Object(after), oldest_first=True
                    ):
                        fetched += 1
                        messages += 1
                        if message.id > self._marks.get(guild.id, 0):
                            self._marks[guild.id] = message.id
                        if message.author.bot or message.webhook_id is not None:
                            continue
                        if message.type not in (discord.MessageType.default,
                                                discord.MessageType.reply):
                            continue
                        author_id = message.author.id
                        if author_id not in members:
                            member = guild.get_member(author_id)
                            if member is None:
                                budget -= 1
                                member = await self._member(guild, message.author)
                            members[author_id] = member
                        if await self.consider(message, member=members[author_id],
                                               count_post=False):
                            held += 1
                except discord.HTTPException as exc:
                    log.warning("catch-up could not read channel %s: %s", channel.id, exc.code)
                budget -= max(1, -(-fetched // 100))
            if out_of_budget:
                break
        if out_of_budget:
            log.warning("catch-up stopped at its request budget (%d requests)",
                        limits.request_budget)
        report = CatchupReport(channels, messages, held, limits.request_budget - budget,
                               out_of_budget)
        log.info("catch-up: %d channels, %d messages, %d held", channels, messages, held)
        await self.save_marks()
        return report

    def high_water(self, guild_id: int) -> int | None:
        """The newest message id seen in a guild (in memory)."""
        return self._marks.get(guild_id)
