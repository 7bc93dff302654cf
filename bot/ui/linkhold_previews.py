"""The held images a queue card shows: which ones (within Discord's gallery and upload limits),
their names on the card, and the files uploaded with it."""

from __future__ import annotations

import io

import discord

from bot.db.holds import HeldAttachment
from bot.domain.text import truncate
from bot.services.linkhold import QueueCard

# Images Discord shows in a media gallery; the preview keeps a message under the upload limit.
PREVIEW_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
                 "image/webp": "webp"}
PREVIEW_MAX_FILES = 10
PREVIEW_MAX_BYTES = 8 * 1024 * 1024


def preview_name(f: HeldAttachment) -> str:
    """A held image's name on the card (plain, so `attachment://` can't be confused)."""
    return f"SPOILER_hold{f.hold_id}_{f.position}.{PREVIEW_TYPES[f.content_type or '']}"


def previewed(card: QueueCard) -> list[HeldAttachment]:
    """The held images the card shows (spoilered), within Discord's gallery and size limits."""
    if card.hold.purged_at is not None or card.hold.content is None:  # purged
        return []
    shown: list[HeldAttachment] = []
    total = 0
    for f in card.files:
        if f.data is None or (f.content_type or "") not in PREVIEW_TYPES:
            continue
        if len(shown) == PREVIEW_MAX_FILES or total + len(f.data) > PREVIEW_MAX_BYTES:
            break
        shown.append(f)
        total += len(f.data)
    return shown


def preview_files(card: QueueCard) -> list[discord.File]:
    """The held images to upload with a new card (the gallery points at them)."""
    return [discord.File(io.BytesIO(f.data or b""), filename=preview_name(f),
                         description=truncate(f.filename, 1024)) for f in previewed(card)]
