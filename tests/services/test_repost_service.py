"""RepostService on a real SQLite database, a FakeClock and a fake Discord port (no sandbox).

The exactly-once rules live here: one repost per request key, part ids saved as they land (a
crash resumes instead of posting again), a history check after an unclear failure, the bot
mode's nonce, one notice. The end-to-end stories stay in tests/features/test_repost_sandbox.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.reposts import RepostRecord, RepostRepository
from bot.domain.repost import has_unclosed_fence
from bot.errors import BotMissingPermissions, InvalidInput, NotFound
from bot.services.repost import RepostService
from bot.services.repost_plan import FILES_PER_MESSAGE, choose_mode, forum_title
from bot.services.repost_ports import (
    AuthorFacts,
    DestinationFacts,
    DmOutcome,
    Part,
    Posted,
    PostTarget,
    RepostRequest,
    StoredAttachment,
    UnclearFailure,
    WebhookUnusable,
)
from config.guild import GuildConfig

GUILD = 1_000
MEMBER = 2_000
MODERATOR = 3_000
TEXT, FORUM, THREAD, PARENT = 10, 20, 30, 11
HOOK = 900
ATTRIBUTION = f"— shared for <@{MEMBER}> by the moderators"


class ServerError(Exception):
    """Stands in for a 5xx that outlived discord.py's retries."""


class Refused(Exception):
    """Stands in for a 400 Discord gives for a part (not unclear)."""


@dataclass
class Sent:
    """One message the fake Discord holds."""

    id: int
    channel_id: int
    text: str
    by: str  # "webhook" or "bot"
    part: Part
    username: str | None = None
    thread_name: str | None = None
    deleted: bool = False


@dataclass
class FakeDiscord:
    """The RepostActions port, in memory, with knobs for failures."""

    clock: FakeClock
    can_manage_webhooks: bool = True
    can_send: bool = True
    can_attach: bool = True
    author_facts: AuthorFacts | None = field(
        default_factory=lambda: AuthorFacts("Anna (caregiver)", "https://cdn/anna.png", True))
    dm_outcome: DmOutcome = "sent"
    channel_ok: bool = True
    # Per call, in order: an exception to raise, "posted+raise" (Discord made it, then 500),
    # "slow" (posted, but the call took long enough to have been retried), or None (fine).
    webhook_script: list[Any] = field(default_factory=list)
    bot_script: list[Any] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    dms: list[str] = field(default_factory=list)
    channel_notices: list[tuple[int, str]] = field(default_factory=list)
    added_to_thread: list[tuple[int, int]] = field(default_factory=list)
    edits: list[tuple[int, str]] = field(default_factory=list)
    deleted_posts: list[int] = field(default_factory=list)
    refuse_delete: set[int] = field(default_factory=set)  # repost ids whose delete fails
    history_reads: int = 0
    next_id: int = 5_000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def live(self, channel_id: int | None = None) -> list[Sent]:
        return [s for s in self.sent if not s.deleted
                and (channel_id is None or s.channel_id == channel_id)]

    async def destination(self, guild_id: int, channel_id: int) -> DestinationFacts:
        if channel_id not in (TEXT, FORUM, THREAD):
            raise NotFound("I couldn't find that channel or thread.")
        kind = {TEXT: "text", FORUM: "forum", THREAD: "thread"}[channel_id]
        return DestinationFacts(
            channel_id=channel_id, parent_id=PARENT if kind == "thread" else channel_id,
            kind=kind,  # type: ignore[arg-type]
            can_view=True, can_send=self.can_send, can_attach=self.can_attach,
            can_manage_webhooks=self.can_manage_webhooks, filesize_limit=1_000,
        )

    async def author(self, guild_id: int, member_id: int) -> AuthorFacts | None:
        return self.author_facts

    def add(self, target: PostTarget, part: Part, by: str, username: str | None = None
              ) -> Sent:
        message_id = self.new_id()
        channel = target.thread_id or (message_id if target.new_forum_post
                                        else target.channel_id)
        sent = Sent(message_id, channel, part.text, by, part, username,
                    target.forum_title if target.new_forum_post else None)
        self.sent.append(sent)
        return sent

    async def execute_webhook(self, target: PostTarget, part: Part, username: str,
                              avatar_url: str | None) -> Posted:
        step = self.webhook_script.pop(0) if self.webhook_script else None
        if isinstance(step, BaseException):
            raise step
        sent = self.add(target, part, "webhook", username)
        if step == "posted+raise":
            raise UnclearFailure(ServerError("500"))
        if step == "slow":  # discord.py retried: Discord holds an earlier copy too
            earlier = self.add(target, part, "webhook", username)
            self.sent.remove(earlier)
            self.sent.insert(self.sent.index(sent), earlier)
        return Posted(sent.id, webhook_id=HOOK, maybe_duplicated=step == "slow")

    async def send_as_bot(self, target: PostTarget, part: Part) -> Posted:
        step = self.bot_script.pop(0) if self.bot_script else None
        # enforce_nonce: a repeated nonce returns the first copy.
        same = [s for s in self.sent if s.by == "bot" and s.part.nonce == part.nonce]
        if same and step is None:
            return Posted(same[0].id)
        sent = same[0] if same else self.add(target, part, "bot")
        if step == "posted+raise":
            raise UnclearFailure(ServerError("500"))
        return Posted(sent.id)

    async def create_forum_post(self, target: PostTarget, part: Part) -> Posted:
        sent = self.add(target, part, "bot")
        return Posted(sent.id, thread_id=sent.id)

    async def find_webhook_copies(self, target: PostTarget, text: str, since: datetime
                                  ) -> list[int]:
        self.history_reads += 1
        if target.new_forum_post:
            return [s.id for s in self.live() if s.by == "webhook"
                    and s.thread_name == target.forum_title]
        return [s.id for s in self.live(target.thread_id or target.channel_id)
                if s.by == "webhook" and s.text == text]

    async def remove_webhook_copy(self, target: PostTarget, message_id: int) -> None:
        next(s for s in self.sent if s.id == message_id).deleted = True

    async def add_to_thread(self, thread_id: int, member_id: int) -> None:
        self.added_to_thread.append((thread_id, member_id))

    async def dm(self, guild_id: int, member_id: int, text: str) -> DmOutcome:
        if self.dm_outcome == "sent":
            self.dms.append(text)
        return self.dm_outcome

    async def tell_in_channel(self, guild_id: int, channel_id: int, member_id: int,
                              text: str) -> bool:
        if self.channel_ok:
            self.channel_notices.append((channel_id, text))
        return self.channel_ok

    async def part_text(self, record: RepostRecord, message_id: int) -> str:
        return next(s.text for s in self.sent if s.id == message_id)

    async def edit_part(self, record: RepostRecord, message_id: int, text: str) -> int:
        sent = next(s for s in self.sent if s.id == message_id)
        sent.text = text
        self.edits.append((message_id, text))
        return sent.channel_id

    async def delete_post(self, record: RepostRecord) -> None:
        if record.id in self.refuse_delete:
            raise Refused("500")
        self.deleted_posts.append(record.id)


class Audit:
    def __init__(self) -> None:
        self.entries: list[tuple[int | None, str, int | None, dict[str, Any]]] = []
        self.posted: list[bool] = []  # whether each entry went to the mod log too

    async def record(self, guild_id: int, actor_id: int | None, action: str,
                     target_id: int | None = None, details: dict[str, Any] | None = None,
                     *, post: bool = True) -> None:
        self.entries.append((actor_id, action, target_id, details or {}))
        self.posted.append(post)

    def of(self, action: str) -> list[dict[str, Any]]:
        return [d for _, a, _, d in self.entries if a == action]


class Counter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        self.counts[key] = self.counts.get(key, 0) + amount


class Settings:
    def __init__(self) -> None:
        self.config = GuildConfig()

    def get(self, guild_id: int) -> GuildConfig:
        return self.config


@dataclass
class World:
    service: RepostService
    discord: FakeDiscord
    audit: Audit
    metrics: Counter
    settings: Settings
    repository: RepostRepository
    clock: FakeClock
    gate_calls: list[tuple[int, int, str, int | None]] = field(default_factory=list)

    def rebuilt(self) -> RepostService:
        """A fresh service on the same database and port: what a restart gives."""
        return RepostService(self.repository, self.clock, self.discord,
                             settings=self.settings, audit=self.audit, metrics=self.metrics,
                             link_gate=self.service.link_gate)


@pytest.fixture
async def world(tmp_path):
    database = await Database.open(tmp_path / "steward.sqlite3")
    await migrate(database)
    clock = FakeClock()
    fake = FakeDiscord(clock)
    audit, metrics, settings = Audit(), Counter(), Settings()
    repository = RepostRepository(database)
    service = RepostService(repository, clock, fake, settings=settings, audit=audit,
                            metrics=metrics)
    w = World(service, fake, audit, metrics, settings, repository, clock)

    async def gate(guild_id: int, member_id: int, text: str,
                   channel_id: int | None = None) -> bool:
        w.gate_calls.append((guild_id, member_id, text, channel_id))
        return "cheap-pills" in text

    service.link_gate = gate
    yield w
    await database.close()


def request(content: str = "Our journey so far. Thank you all.", **over: Any) -> RepostRequest:
    args: dict[str, Any] = dict(guild_id=GUILD, member_id=MEMBER, content=content,
                                destination_id=TEXT, moderator_id=MODERATOR,
                                reason="hold approved", source="hold:1")
    args.update(over)
    return RepostRequest(**args)


LONG = "\n\n".join(f"Paragraph {i}. " + "We keep going, day by day. " * 20 for i in range(6))


# ------------------------------------------------------------------------------ exactly once


async def test_same_request_twice_publishes_once(world):
    first, second = await asyncio.gather(world.service.publish(request()),
                                         world.service.publish(request()))
    assert first == second
    assert len(world.discord.live()) == 1 and len(world.discord.dms) == 1
    third = await world.service.publish(request())
    assert third == first and len(world.discord.live()) == 1
    assert len(world.audit.of("repost.published")) == 1


async def test_a_different_request_is_a_new_repost(world):
    first = await world.service.publish(request())
    other = await world.service.publish(request(source="hold:2"))
    assert other.repost_id != first.repost_id and len(world.discord.live()) == 2


async def test_crash_mid_publish_resumes_without_posting_a_part_again(world):
    world.discord.webhook_script = [None, Refused("400")]
    with pytest.raises(Refused):
        await world.service.publish(request(LONG))
    (first,) = world.discord.live()
    assert first.text.startswith("Paragraph 0.")
    assert world.discord.dms == []  # not told about a half-published post
    (pending,) = await world.repository.pending(GUILD)
    assert pending.message_ids == (first.id,)
    # After a restart the same request resumes after the saved part.
    result = await world.rebuilt().publish(request(LONG))
    assert result.message_ids[0] == first.id and len(result.message_ids) >= 2
    assert [s.id for s in world.discord.live()] == list(result.message_ids)
    assert sum(s.text.startswith("Paragraph 0.") for s in world.discord.sent) == 1
    assert len(world.discord.dms) == 1
    assert await world.repository.pending(GUILD) == []


class Crash(Exception):
    """The process dying between Discord's answer and the write that records it."""


class CrashBeforeRecording(RepostRepository):
    """The repository of a process that dies right after its first part landed on Discord."""

    async def add_message(self, repost_id: int, index: int, message_id: int) -> None:
        raise Crash


async def test_a_part_sent_but_never_recorded_is_found_in_history_not_posted_again(
        world, tmp_path):
    second_process = await Database.open(tmp_path / "steward.sqlite3")
    crashing = RepostService(CrashBeforeRecording(second_process), world.clock,
                             world.discord, settings=world.settings, audit=world.audit,
                             metrics=world.metrics)
    with pytest.raises(Crash):
        await crashing.publish(request("Sent, then the power went out."))
    await second_process.close()
    (landed,) = world.discord.live()
    reads = world.discord.history_reads
    # After the restart the pending repost resumes: it looks before it posts.
    result = await world.rebuilt().publish(request("Sent, then the power went out."))
    assert result.message_ids == (landed.id,)
    assert len(world.discord.live()) == 1 and world.discord.history_reads == reads + 1
    assert len(world.discord.dms) == 1 and await world.repository.pending(GUILD) == []


async def test_unclear_failure_finds_the_copy_discord_made_and_does_not_post_again(world):
    world.discord.webhook_script = ["posted+raise"]
    result = await world.service.publish(request("a 500 must not make two copies"))
    (posted,) = world.discord.live()
    assert result.message_ids == (posted.id,)
    assert world.discord.history_reads == 1
    assert len(world.discord.dms) == 1


async def test_unclear_failure_with_no_copy_tries_again(world):
    world.discord.webhook_script = [UnclearFailure(ServerError("500"))]
    result = await world.service.publish(request("nothing landed the first time"))
    (posted,) = world.discord.live()
    assert result.message_ids == (posted.id,) and world.discord.history_reads == 1


async def test_unclear_failures_give_up_after_the_retries_with_the_original_error(world):
    world.discord.webhook_script = [UnclearFailure(ServerError("500")) for _ in range(3)]
    with pytest.raises(ServerError):
        await world.service.publish(request("Discord is down"))
    assert world.discord.live() == [] and world.discord.history_reads == 3
    assert world.discord.dms == []


async def test_a_retried_send_leaves_one_copy(world):
    world.discord.webhook_script = ["slow"]
    result = await world.service.publish(request("slow but only once"))
    (live,) = world.discord.live()
    assert result.message_ids == (live.id,)
    assert len(world.discord.sent) == 2 and world.discord.sent[0].deleted


async def test_a_forum_post_made_twice_by_a_retry_is_removed(world):
    world.discord.webhook_script = ["slow"]
    result = await world.service.publish(request("Only one forum post, please",
                                                 destination_id=FORUM,
                                                 forum_title="One post only"))
    (live,) = world.discord.live()
    assert result.channel_id == live.id and live.thread_name == "One post only"
    assert [s.deleted for s in world.discord.sent] == [True, False]


async def test_bot_mode_retries_with_the_same_nonce(world):
    world.settings.config.repost.mode = "bot"
    world.discord.bot_script = ["posted+raise"]
    result = await world.service.publish(request("bot mode 500 must not duplicate"))
    (posted,) = world.discord.live()
    assert result.message_ids == (posted.id,) and result.mode == "bot"
    assert posted.part.nonce


# ------------------------------------------------------------------------------ modes


async def test_webhook_mode_posts_in_the_members_name(world):
    result = await world.service.publish(request(intro="Anna asked us to share this."))
    (posted,) = world.discord.live()
    assert result.mode == "webhook" and posted.by == "webhook"
    assert posted.username == "Anna (caregiver)"
    # The note is the moderators', about the member: not in her voice under her name.
    assert posted.text.startswith(
        f"-# 🛡️ The moderators, about this post by <@{MEMBER}>: Anna asked us to share this.")
    assert posted.text.endswith(ATTRIBUTION)
    record = await world.service.find_by_message(posted.id)
    assert record is not None and record.webhook_id == HOOK
    (details,) = world.audit.of("repost.published")
    assert details["mode"] == "webhook" and details["result"] == result.jump_url
    assert world.metrics.counts == {("reposts", (("mode", "webhook"),)): 1}


async def test_without_manage_webhooks_it_posts_as_the_bot_and_says_so(world):
    world.discord.can_manage_webhooks = False
    result = await world.service.publish(request())
    (posted,) = world.discord.live()
    assert result.mode == "bot" and posted.by == "bot"
    assert posted.text.startswith(f"**Shared on behalf of <@{MEMBER}>:**")
    (details,) = world.audit.of("repost.published")
    assert details["mode"] == "bot" and "Manage Webhooks" in details["notes"]


async def test_a_refused_webhook_falls_back_to_the_bot(world):
    world.discord.webhook_script = [WebhookUnusable("Discord refused the webhook (50013)")]
    result = await world.service.publish(request("webhook refused, still shared"))
    (posted,) = world.discord.live()
    assert result.mode == "bot" and posted.by == "bot"
    (details,) = world.audit.of("repost.published")
    assert "refused the webhook" in details["notes"]
    record = await world.service.get(result.repost_id)
    assert record is not None and record.webhook_id is None


async def test_bot_mode_needs_send_messages(world):
    world.discord.can_manage_webhooks = False
    world.discord.can_send = False
    with pytest.raises(BotMissingPermissions, match="Send Messages"):
        await world.service.publish(request())
    assert world.discord.sent == []


async def test_bot_mode_needs_attach_files_for_pictures(world):
    world.settings.config.repost.mode = "bot"
    world.discord.can_attach = False
    with pytest.raises(BotMissingPermissions, match="Attach Files"):
        await world.service.publish(request(attachments=(StoredAttachment("a.png", b"x"),)))


# ------------------------------------------------------------------------------ content


async def test_long_post_with_code_and_url_is_split_cleanly(world):
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=" + "PL" + "x" * 180
    story = ("We found out in March. My husband had been tired for months and we thought it "
             "was just work. ") * 9
    code = "\n".join(f"week {i:02d}: CEA {i * 1.5:.1f}, feeling better" for i in range(45))
    content = f"{story}\n\nThe video: {url}\n\n```\n{code}\n```\n\n{story}\n\nThank you."
    content += " We are grateful." * ((3900 - len(content)) // 17)
    assert 3800 <= len(content) <= 4000
    result = await world.service.publish(request(content, source="manual"))
    parts = world.discord.live()
    assert len(parts) >= 3 and [p.id for p in parts] == list(result.message_ids)
    assert [p.part.index for p in parts] == list(range(len(parts)))
    assert all(len(p.text) <= 2000 for p in parts)
    assert all(not has_unclosed_fence(p.text) for p in parts)
    assert sum(url in p.text for p in parts) == 1
    assert parts[-1].text.endswith(ATTRIBUTION)
    assert all(ATTRIBUTION not in p.text for p in parts[:-1])
    assert all(p.part.ping_member_id is None for p in parts)
    assert len(world.discord.dms) == 1  # one notice for the whole post


async def test_ping_the_member_names_exactly_them(world):
    await world.service.publish(request(ping_member=True))
    (posted,) = world.discord.live()
    assert posted.part.ping_member_id == MEMBER


async def test_files_that_could_not_be_kept_are_listed(world):
    result = await world.service.publish(request(
        "Photos from the ward.", attachments=(StoredAttachment("ward.jpg", b"jpeg"),
                                              StoredAttachment("huge.png", b"x" * 2_000)),
        not_kept=("surgery-video.mp4",)))
    (posted,) = world.discord.live()
    assert "Not included (too large or unavailable): surgery-video.mp4, huge.png" \
        in posted.text
    assert [f.filename for f in posted.part.files] == ["ward.jpg"]
    (details,) = world.audit.of("repost.published")
    assert details["files_not_kept"] == 2 and result.message_ids == (posted.id,)


async def test_more_files_than_one_message_takes_go_in_extra_parts(world):
    files = tuple(StoredAttachment(f"p{i}.png", b"png") for i in range(FILES_PER_MESSAGE + 3))
    result = await world.service.publish(request("Many pictures", attachments=files))
    first, extra = world.discord.live()
    assert len(first.part.files) == FILES_PER_MESSAGE and len(extra.part.files) == 3
    assert extra.text == "" and result.message_ids == (first.id, extra.id)


async def test_forum_post_starts_a_thread_and_the_member_is_added(world):
    result = await world.service.publish(request(
        "Diagnosed last spring.\n\nHi all", destination_id=FORUM, forum_title="Our story",
        notice="Your post was approved: {link}"))
    (starter,) = world.discord.live()
    assert starter.thread_name == "Our story" and result.channel_id == starter.id
    assert world.discord.added_to_thread == [(starter.id, MEMBER)]
    assert world.discord.dms == [f"Your post was approved: {result.jump_url}"]
    record = await world.service.find_by_message(starter.id)
    assert record is not None and record.created_thread


async def test_bot_forum_post_in_parts_goes_into_the_new_thread(world):
    world.settings.config.repost.mode = "bot"
    result = await world.service.publish(request(LONG, destination_id=FORUM))
    starter, *rest = world.discord.live()
    assert rest and all(p.channel_id == starter.id for p in rest)
    assert result.channel_id == starter.id


def test_forum_title_falls_back_to_a_neutral_title_never_their_first_sentence():
    assert forum_title(None, "\nMy cancer came back. Second.\nMore", "Anna") == (
        "Shared for Anna")
    assert forum_title(" Our  journey ", "words", "Anna") == "Our journey"
    assert forum_title("  ", "", "Anna") == "Shared for Anna"
    assert forum_title(None, "", None) == "Shared for a member"
    assert len(forum_title("x" * 300, "", None)) == 100


def facts(**over: Any) -> DestinationFacts:
    args: dict[str, Any] = dict(channel_id=THREAD, parent_id=PARENT, kind="thread",
                                can_view=True, can_send=True, can_attach=True,
                                can_manage_webhooks=True, filesize_limit=1_000)
    args.update(over)
    return DestinationFacts(**args)


def test_choose_mode_keeps_webhooks_where_allowed_and_says_why_not():
    assert choose_mode(facts(), "webhook") == ("webhook", [])
    assert choose_mode(facts(), "bot") == ("bot", [])
    mode, notes = choose_mode(facts(can_manage_webhooks=False), "webhook")
    assert mode == "bot" and notes == [f"posted as Steward: I lack Manage Webhooks in <#{PARENT}>"]


def test_choose_mode_refuses_what_the_bot_cannot_do():
    with pytest.raises(BotMissingPermissions, match="Send Messages in Threads"):
        choose_mode(facts(can_send=False), "bot")
    assert choose_mode(facts(can_send=False), "webhook")[0] == "webhook"
    with pytest.raises(BotMissingPermissions, match="can't see"):
        choose_mode(facts(can_view=False), "webhook")


# ------------------------------------------------------------------------------ the notice


async def test_closed_dms_tell_the_member_in_the_channel_once(world):
    world.discord.dm_outcome = "closed"
    result = await world.service.publish(request())
    assert result.member_notified == "channel" and world.discord.dms == []
    ((channel_id, text),) = world.discord.channel_notices
    assert channel_id == TEXT and text.startswith(f"<@{MEMBER}> ")
    assert result.jump_url in text
    (details,) = world.audit.of("repost.published")
    assert "DMs are closed" in details["notes"]
    assert details["member_told"] == "in the channel (DMs closed)"


async def test_nobody_told_when_dm_and_channel_both_fail(world):
    world.discord.dm_outcome = "failed"
    world.discord.channel_ok = False
    result = await world.service.publish(request())
    assert result.member_notified == "none"
    (details,) = world.audit.of("repost.published")
    assert "DM failed" in details["notes"] and "could not be told" in details["notes"]


async def test_a_member_who_left_is_not_told(world):
    world.discord.author_facts = AuthorFacts("anna", None, in_guild=False)
    result = await world.service.publish(request())
    assert result.member_notified == "none" and world.discord.dms == []
    assert world.discord.channel_notices == []


# ------------------------------------------------------------------------------ afterwards


async def test_member_edit_keeps_the_frame(world):
    result = await world.service.publish(request("First version of my words."))
    record = await world.service.get(result.repost_id)
    assert record is not None
    await world.service.edit_part(record, result.message_ids[0], "Second, kinder version.",
                                  MEMBER)
    ((_, text),) = world.discord.edits
    assert text == "Second, kinder version.\n\n" + ATTRIBUTION
    edited = await world.service.get(result.repost_id)
    assert edited is not None and edited.edited_at == world.clock.now()
    (details,) = world.audit.of("repost.edited")
    assert details["part"] == 1


async def test_an_edit_too_long_or_empty_is_refused(world):
    result = await world.service.publish(request("Short."))
    record = await world.service.get(result.repost_id)
    assert record is not None
    with pytest.raises(InvalidInput, match="too long"):
        await world.service.edit_part(record, result.message_ids[0], "x" * 2100, MEMBER)
    with pytest.raises(NotFound):
        await world.service.edit_part(record, 42, "words", MEMBER)
    assert world.discord.edits == []


async def test_only_links_an_edit_adds_go_through_the_link_gate(world):
    result = await world.service.publish(request(
        "Our fundraiser: https://gofundme.com/f/our-journey thank yuo"))
    record = await world.service.get(result.repost_id)
    assert record is not None
    old = "Our fundraiser: https://gofundme.com/f/our-journey thank yuo"
    await world.service.check_member_edit(record, MEMBER, old, old.replace("yuo", "you"))
    assert world.gate_calls == []  # no link added: the gate isn't asked
    with pytest.raises(InvalidInput, match="New members can't add links"):
        await world.service.check_member_edit(record, MEMBER, old,
                                              old + " https://cheap-pills.com/now")
    ((guild_id, member_id, text, channel_id),) = world.gate_calls
    assert (guild_id, member_id, channel_id) == (GUILD, MEMBER, TEXT)
    assert "cheap-pills.com" in text and "gofundme" not in text


async def test_delete_retires_once(world):
    result = await world.service.publish(request())
    record = await world.service.get(result.repost_id)
    assert record is not None
    await world.service.delete(record, MEMBER)
    assert world.discord.deleted_posts == [record.id]
    assert await world.service.find_by_message(result.message_ids[0]) is None
    with pytest.raises(NotFound):
        await world.service.delete(record, MEMBER)
    assert len(world.audit.of("repost.deleted")) == 1


def test_the_member_or_a_moderator_may_manage(world):
    record = RepostRecord(
        id=1, guild_id=GUILD, member_id=MEMBER, moderator_id=MODERATOR, destination_id=TEXT,
        channel_id=TEXT, created_thread=False, mode="webhook", webhook_id=HOOK, source="x",
        key="k", status="published", head_len=0, tail_len=0, part_count=1,
        member_notified="dm", created_at=world.clock.now(), published_at=None,
        edited_at=None, message_ids=(1,))
    assert world.service.may_manage(record, MEMBER, is_moderator=False)
    assert world.service.may_manage(record, 77, is_moderator=True)
    assert not world.service.may_manage(record, 77, is_moderator=False)


# ------------------------------------------------------------------------------ templates


async def test_templates_that_fail_at_send_time_use_the_defaults_and_say_so(world):
    """An attribution and an approval notice that slipped past validation (an older version,
    a hand-edited database): the post and the notice still go out, with the defaults."""
    config = world.settings.config
    config.repost = config.repost.model_copy(update={"attribution": "by {oops}"})
    result = await world.service.publish(request(notice="Approved {x}"))
    (posted,) = world.discord.live()
    assert posted.text.endswith(ATTRIBUTION) and "oops" not in posted.text
    assert world.discord.dms == [f"A moderator shared your post in <#{TEXT}>: "
                                 f"{result.jump_url}"]
    fallbacks = [(actor, target, d) for actor, a, target, d in world.audit.entries
                 if a == "template.fallback"]
    assert fallbacks == [
        (None, MEMBER, {"setting": "repost.attribution", "result": result.jump_url}),
        (None, MEMBER, {"setting": "linkhold.approved_template", "result": result.jump_url})]


# ------------------------------------------------------------------------------ do-not-tag


async def test_a_member_marked_do_not_tag_is_reposted_without_a_ping_or_a_notice(world):
    marked = {MEMBER}

    async def do_not_tag(guild_id: int, member_id: int) -> bool:
        return member_id in marked

    world.service.do_not_tag = do_not_tag
    result = await world.service.publish(request(ping_member=True, destination_id=THREAD))
    (part,) = world.discord.live()
    assert part.part.ping_member_id is None
    assert world.discord.dms == [] and world.discord.channel_notices == []
    assert world.discord.added_to_thread == []  # no thread invite (it notifies them)
    assert result.member_notified == "none"
    (details,) = world.audit.of("repost.published")
    assert "never to tag" in details["notes"] and details["member_told"] == "not told"
    # Unmarked, the same kind of repost pings and tells them again.
    marked.clear()
    await world.service.publish(request(ping_member=True, destination_id=THREAD,
                                        source="hold:2"))
    assert world.discord.live()[-1].part.ping_member_id == MEMBER
    assert len(world.discord.dms) == 1


async def test_forget_can_delete_every_post_published_for_a_member(world):
    first = await world.service.publish(request())
    second = await world.service.publish(request(source="hold:2"))
    other = await world.service.publish(request(member_id=MEMBER + 1, source="hold:3"))
    listed = await world.service.published_for(GUILD, MEMBER)
    assert [r.id for r in listed] == [second.repost_id, first.repost_id]  # newest first
    world.discord.refuse_delete.add(first.repost_id)
    assert await world.service.delete_for_member(GUILD, MEMBER, MODERATOR) == (1, 1)
    assert world.discord.deleted_posts == [second.repost_id]
    assert [r.id for r in await world.service.published_for(GUILD, MEMBER + 1)] == [
        other.repost_id]
    assert len(world.audit.of("repost.deleted")) == 1
    assert await world.service.delete_for_member(GUILD, MEMBER, MODERATOR) == (0, 0)

