"""Reposting on a member's behalf: splitting, framing, names and keys (pure).

The splitter cuts long content into parts that fit Discord's message limit, preferring
paragraph breaks, then line breaks, then spaces. It never cuts inside a link or inline code,
and a fenced code block that must be cut is closed at the end of one part and reopened (with
its language) at the start of the next, so every part renders on its own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.templates import render_or_default
from bot.domain.text import MESSAGE_LIMIT, truncate
from bot.i18n import N_, tr

Mode = Literal["webhook", "bot"]

CLOSE_FENCE = "\n```"
ATTRIBUTION_NAMES = frozenset({"member"})
ATTRIBUTION_MAX = 200
NOTICE_NAMES = frozenset({"member", "channel", "link"})
DEFAULT_NOTICE = N_("A moderator shared your post in {channel}: {link}")
DEFAULT_ATTRIBUTION = N_("— shared for {member} by the moderators")
WEBHOOK_NAME_MAX = 80
NONCE_MAX = 25

# A fenced block as Discord reads it: ``` then an optional language and newline, body, ```.
_CODE_BLOCK = re.compile(r"```(?:([A-Za-z0-9_+\-.#]*)\n)?(.*?)```", re.DOTALL)
# Spans a cut must never fall inside (searched outside code blocks only).
_ATOMS = re.compile(
    r"\[[^\]\n]{0,256}\]\(\s*<?https?://[^\s)>]+>?\s*\)"  # masked link [text](url)
    r"|<https?://[^\s>]+>"                              # <url> (embed suppressed)
    r"|https?://\S+"                                    # bare url
    r"|``[^`\n]+``|`[^`\n]+`"                           # inline code
)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One part as posted, and the fence text the splitter added to it (for reassembly)."""

    text: str
    reopened: str = ""  # "```lang\n" prepended because a code block continues here
    closed: str = ""  # "\n```" appended because a code block was cut here


@dataclass(frozen=True, slots=True)
class _Block:
    start: int
    body_start: int
    body_end: int
    end: int
    reopen: str


@dataclass(frozen=True, slots=True)
class _Cut:
    pos: int  # the part ends here
    resume: int  # the next part starts here (the gap is whitespace that is dropped)
    rank: int  # 3 paragraph, 2 line, 1 space
    block: _Block | None  # set when the cut falls inside a code block's body


def _blocks(text: str) -> list[_Block]:
    found = []
    for m in _CODE_BLOCK.finditer(text):
        lang = m.group(1) or ""
        found.append(_Block(m.start(), m.start(2), m.end(2), m.end(), f"```{lang}\n"))
    return found


def _cuts(text: str, blocks: list[_Block]) -> list[_Cut]:
    inside = [(b.start, b.end) for b in blocks]
    prose_spans = []
    last = 0
    for b in blocks:
        prose_spans.append((last, b.start))
        last = b.end
    prose_spans.append((last, len(text)))
    for start, end in prose_spans:
        inside.extend((start + m.start(), start + m.end())
                      for m in _ATOMS.finditer(text, start, end))
    inside.sort()

    def protected(pos: int) -> bool:
        return any(s < pos < e for s, e in inside)

    cuts: list[_Cut] = []
    for start, end in prose_spans:
        for m in _WHITESPACE.finditer(text, start, end):
            if protected(m.start()) or m.start() == 0 or m.end() >= len(text):
                continue
            newlines = m.group().count("\n")
            rank = 3 if newlines >= 2 else 2 if newlines == 1 else 1
            cuts.append(_Cut(m.start(), m.end(), rank, None))
    for b in blocks:
        pos = text.find("\n", b.body_start, b.body_end)
        while pos != -1:
            before = text[b.body_start:pos]
            after = text[pos + 1:b.body_end]
            if before.strip() and after.strip():
                blank_next = text.startswith("\n", pos + 1)
                cuts.append(_Cut(pos, pos + 1, 3 if blank_next else 2, b))
            pos = text.find("\n", pos + 1, b.body_end)
    cuts.sort(key=lambda c: c.pos)
    return cuts


def _block_at(blocks: list[_Block], pos: int) -> _Block | None:
    return next((b for b in blocks if b.start <= pos < b.end), None)


def split_chunks(
    text: str, limit: int = MESSAGE_LIMIT, *, first_reserve: int = 0, last_reserve: int = 0
) -> list[Chunk]:
    """Split `text` into chunks of at most `limit` characters (see the module docstring).

    The first chunk leaves `first_reserve` characters free and the last `last_reserve`
    (for a header and the attribution). When the text cannot be cut so that the last chunk
    leaves that room, the last chunk uses the full limit and the caller adds a part.
    """
    if limit < 40:
        raise ValueError("limit too small to split sensibly")
    blocks = _blocks(text)
    cuts = _cuts(text, blocks)
    atoms = [(m.start(), m.end()) for m in _ATOMS.finditer(text)]
    chunks: list[Chunk] = []
    pos = 0
    prefix = ""
    n = len(text)
    while True:
        room = limit - (first_reserve if not chunks else 0)
        if len(prefix) + n - pos <= room - last_reserve:
            chunks.append(Chunk(prefix + text[pos:], prefix, ""))
            return chunks
        budget = room - len(prefix)
        candidates = [
            c for c in cuts
            if c.pos > pos
            and c.pos - pos + (len(CLOSE_FENCE) if c.block else 0) <= budget
            and text[pos:c.pos].strip()
        ]
        if not candidates and len(prefix) + n - pos <= room:
            chunks.append(Chunk(prefix + text[pos:], prefix, ""))
            return chunks
        cut = _choose(candidates, pos, budget) if candidates else _hard_cut(
            text, blocks, atoms, pos, budget
        )
        closed = CLOSE_FENCE if cut.block else ""
        chunks.append(Chunk(prefix + text[pos:cut.pos] + closed, prefix, closed))
        prefix = cut.block.reopen if cut.block else ""
        pos = cut.resume


def _choose(candidates: list[_Cut], pos: int, budget: int) -> _Cut:
    """The latest cut of the best rank that still fills a third of the part, else the latest."""
    for rank in (3, 2, 1):
        ranked = [c for c in candidates if c.rank == rank]
        if ranked and ranked[-1].pos - pos >= budget // 3:
            return ranked[-1]
    return candidates[-1]


def _hard_cut(
    text: str, blocks: list[_Block], atoms: list[tuple[int, int]], pos: int, budget: int
) -> _Cut:
    """No whitespace to cut at: cut mid-text, but before a link or fence when possible."""
    at = pos + budget
    block = _block_at(blocks, at)
    if block is not None and at >= block.body_start:
        # Inside a body (or its closing fence): cut in the body, leaving room to close it.
        inner = min(at, block.body_end) - len(CLOSE_FENCE)
        if inner > max(pos, block.body_start):
            return _Cut(inner, inner, 0, block)
        if block.start > pos:
            return _Cut(block.start, block.start, 0, None)
        inner = min(max(pos + 1, block.body_start + 1), block.body_end)
        return _Cut(inner, inner, 0, block)
    if block is not None and block.start > pos:
        return _Cut(block.start, block.start, 0, None)
    for start, end in atoms:
        if start < at < end and start > pos:
            return _Cut(start, start, 0, None)
    return _Cut(at, at, 0, None)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` as message parts of at most `limit` characters."""
    return [c.text for c in split_chunks(text, limit)]


def has_unclosed_fence(text: str) -> bool:
    """True when `text` has a ``` that no code block closes."""
    return "```" in _CODE_BLOCK.sub("", text)


# -- framing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frame:
    """Text around the member's words: `head` starts the first part, `tail` ends the last."""

    head: str
    tail: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """A repost as message parts, with the frame lengths needed to edit the words later."""

    parts: tuple[str, ...]
    head_len: int
    tail_len: int


def render_attribution(template: str, member_mention: str) -> tuple[str, bool]:
    """The attribution line for `member_mention` (mass mentions defused); `(text, failed)`:
    a saved template that no longer renders gives way to the default. The default wording
    (the setting's default value) is said in the language being spoken."""
    default = tr(DEFAULT_ATTRIBUTION)
    if template == DEFAULT_ATTRIBUTION:
        template = default
    return render_or_default(template, default, {"member": member_mention},
                             limit=ATTRIBUTION_MAX)


def frame(
    mode: Mode,
    *,
    member_mention: str,
    attribution: str,
    intro: str | None = None,
    reply_to_url: str | None = None,
    not_kept: tuple[str, ...] = (),
) -> Frame:
    """The header and footer of a repost in `mode` (attribution already rendered)."""
    head_lines: list[str] = []
    if intro and intro.strip():
        # The moderators' own words, about the member: never in the member's voice, even
        # when the post shows the member's name and picture (webhook mode).
        note = " ".join(intro.split())
        head_lines.append(tr("-# 🛡️ The moderators, about this post by {member}: {note}",
                             member=member_mention, note=truncate(note, 300)))
    if mode == "bot":
        head_lines.append(tr("**Shared on behalf of {member_mention}:**",
                             member_mention=member_mention))
    if reply_to_url:
        head_lines.append(tr("↩️ In reply to {reply_to_url}", reply_to_url=reply_to_url))
    tail_lines: list[str] = []
    if not_kept:
        names = ", ".join(truncate(name, 60) for name in not_kept[:10])
        more = tr(" and {value} more", value=len(not_kept) - 10) if len(not_kept) > 10 else ""
        tail_lines.append(tr("📎 Not included (too large or unavailable): {names}{more}",
                             names=names, more=more))
    if attribution.strip():
        tail_lines.append(attribution.strip())
    head = "\n".join(head_lines) + "\n\n" if head_lines else ""
    tail = "\n\n" + "\n".join(tail_lines) if tail_lines else ""
    return Frame(head, tail)


def compose(content: str, fr: Frame, limit: int = MESSAGE_LIMIT) -> Rendered:
    """The member's words framed and split: head on the first part, tail on the last."""
    body = content.strip()
    if not body:
        whole = (fr.head + fr.tail.lstrip("\n")).strip()
        return Rendered((whole,), len(fr.head), len(fr.tail.lstrip("\n")))
    head, tail = fr.head, fr.tail
    if len(head) > limit // 2 or len(tail) > limit // 2:
        raise ValueError("frame too long for a message")
    chunks = split_chunks(body, limit, first_reserve=len(head), last_reserve=len(tail))
    texts = [c.text for c in chunks]
    texts[0] = head + texts[0]
    tail_len = len(tail)
    if len(texts[-1]) + len(tail) <= limit:
        texts[-1] = texts[-1] + tail
    else:
        texts.append(tail.lstrip("\n"))
        tail_len = len(texts[-1])
    return Rendered(tuple(texts), len(head), tail_len)


def split_framed(
    text: str, *, first: bool, last: bool, head_len: int, tail_len: int
) -> tuple[str, str, str]:
    """One posted part as (head, words, tail), using the frame lengths stored with it."""
    head = text[:head_len] if first else ""
    rest = text[len(head):]
    tail = rest[len(rest) - tail_len:] if last and tail_len else ""
    return head, rest[: len(rest) - len(tail)], tail


def editable_room(text: str, words: str, limit: int = MESSAGE_LIMIT) -> int:
    """How long the words of a part may become: the limit minus its frame."""
    return limit - (len(text) - len(words))


# -- names, keys, notices ----------------------------------------------------------------------

_RESERVED_NAME = re.compile(r"discord|clyde", re.IGNORECASE)
_NAME_SWAPS = {"```": "ˋˋˋ", "@": "＠", "#": "＃", ":": "："}


def _fullwidth(ch: str) -> str:
    """The fullwidth form of an ASCII letter (looks the same, isn't the reserved word)."""
    base = 0xFF21 if ch.isupper() else 0xFF41
    return chr(base + ord(ch.lower()) - ord("a"))


def webhook_username(display_name: str, fallback: str = N_("Member")) -> str:
    """A display name Discord accepts as a webhook name (1-80 chars, no reserved words)."""
    name = " ".join(display_name.split())
    for bad, good in _NAME_SWAPS.items():
        name = name.replace(bad, good)
    name = _RESERVED_NAME.sub(lambda m: m.group()[:-1] + _fullwidth(m.group()[-1]), name)
    if name.lower() in {"everyone", "here"}:
        name = f"{name} (member)"
    name = name[:WEBHOOK_NAME_MAX].strip()
    return name or tr(fallback)


def repost_key(
    guild_id: int,
    member_id: int,
    destination_id: int,
    source: str,
    content: str,
    forum_title: str | None = None,
) -> str:
    """A stable key for one repost request: the same request never publishes twice."""
    raw = "\x1f".join(
        [str(guild_id), str(member_id), str(destination_id), source, forum_title or "", content]
    )
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def part_nonce(key: str, index: int) -> str:
    """A Discord message nonce (at most 25 characters) for part `index` of repost `key`."""
    return f"{key[:20]}{index:03d}"[:NONCE_MAX]


def render_notice(
    template: str | None, *, member_mention: str, channel_mention: str, link: str
) -> tuple[str, bool]:
    """The one notice to the member; the jump link is added when the wording lacks it.
    `(text, failed)`: a saved wording that no longer renders gives way to the default."""
    wording = template or tr(DEFAULT_NOTICE)
    if "{link}" not in wording:
        wording = wording.rstrip() + "\n{link}"
    return render_or_default(wording, tr(DEFAULT_NOTICE),
                             {"member": member_mention, "channel": channel_mention, "link": link})


def may_manage(repost_member_id: int, user_id: int, *, is_moderator: bool) -> bool:
    """The member named in a repost, and moderators, may edit or delete it."""
    return is_moderator or user_id == repost_member_id


def describe_source(source: str) -> str:
    """Plain words for a repost's source."""
    if source.startswith("hold:"):
        return tr("a post held for review and approved by a moderator")
    if source.startswith("message:"):
        return tr("a message the member posted")
    return tr("something the member sent the moderators")


def about(
    *, member_id: int, moderator_id: int, created_at: datetime, source: str, mode: Mode,
    edited_at: datetime | None = None,
) -> str:
    """The "About this repost" answer."""
    stamp = int(created_at.timestamp())
    how = tr("in their name") if mode == "webhook" else tr("by Steward")
    # A forgotten moderator's id was replaced by a pseudonym (negative) or cleared (0).
    shared_by = (tr("<@{moderator_id}> (a moderator)",
                    moderator_id=moderator_id) if moderator_id > 0
                 else tr("a former moderator"))
    lines = [
        tr("**Written by** <@{member_id}>", member_id=member_id),
        tr("**Shared by** {shared_by}, {how}, on <t:{stamp}:f> (<t:{stamp}:R>)",
           shared_by=shared_by, how=how, stamp=stamp),
        tr("**From** {source}", source=describe_source(source)),
    ]
    if edited_at is not None:
        lines.append(tr("**Last edited** <t:{int}:f>", int=int(edited_at.timestamp())))
    lines.append(tr("The words are the member's own. They, or a moderator, can edit or delete "
                 "this copy with *Manage my reposted post*."))
    return "\n".join(lines)


SHORT_TITLE_MAX = 40


def place_for_member(channel_id: int, *, forum_id: int | None = None,
                     title: str | None = None) -> str:
    """Where a repost landed, as a member's DM names it: a new forum post by a short quoted
    title and its forum ("“Shared for Anna” in #stories"), never by its full title alone."""
    if forum_id is None or not title:
        return f"<#{channel_id}>"
    return tr("“{truncate}” in <#{forum_id}>",
              truncate=truncate(' '.join(title.split()), SHORT_TITLE_MAX), forum_id=forum_id)


def neutral_title(display_name: str | None) -> str:
    """A forum post title for a member's words that gives nothing of them away."""
    name = " ".join((display_name or "").split())
    return truncate(tr("Shared for {name}", name=name) if name else tr("Shared for a member"), 100)

