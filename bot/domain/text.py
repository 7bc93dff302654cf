"""Pure text helpers for Discord's limits."""

from __future__ import annotations

MESSAGE_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
EMBED_FIELDS_LIMIT = 25
EMBEDS_PER_MESSAGE = 10
ELLIPSIS = "…"


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def quote(text: str, limit: int = 200) -> str:
    """A short one-paragraph quote of `text` for "X asked: > ..." lines."""
    flat = " ".join(text.split())
    return truncate(flat, limit)


def plural(count: int, word: str, words: str | None = None) -> str:
    """"1 problem", "2 problems" ("1 entry", "3 entries" with `words`)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"

