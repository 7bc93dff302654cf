"""Privacy rules: scrubbing a member out of recorded details, and keyed ids for opt-outs."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

REMOVED = "[removed]"


def _mentions(value: Any, needle: str) -> bool:
    if isinstance(value, dict):
        return any(needle in str(k) or _mentions(v, needle) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_mentions(v, needle) for v in value)
    return needle in str(value)


def scrub_details(details: dict[str, Any], user_id: int) -> dict[str, Any]:
    """`details` with every entry that mentions `user_id` (anywhere inside it) removed."""
    needle = str(user_id)
    cleaned: dict[str, Any] = {}
    for key, value in details.items():
        if needle in str(key):
            continue
        cleaned[key] = REMOVED if _mentions(value, needle) else value
    return cleaned


def user_hmac(key: bytes, guild_id: int, user_id: int) -> str:
    """A keyed hash of a member of a guild: lets an opt-out be honoured without their id."""
    if len(key) < 16:
        raise ValueError("the installation key is too short")
    return hmac.new(key, f"{guild_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


def pseudonym_id(key: bytes, guild_id: int, user_id: int) -> int:
    """A stable stand-in for a forgotten person where they acted as a moderator.

    Keyed (the installation key), so it can't be reversed or recomputed from the database
    alone; negative, so it never collides with a Discord id; the same for every entry, so
    a former moderator's actions stay attributable to one (unnamed) person.
    """
    if len(key) < 16:
        raise ValueError("the installation key is too short")
    digest = hmac.new(key, f"pseudonym:{guild_id}:{user_id}".encode(), hashlib.sha256).digest()
    return -(int.from_bytes(digest[:7], "big") + 1)


def pseudonym_label(pseudonym: int) -> str:
    """How a pseudonym reads in the audit log and mod log ("former-1a2b...")."""
    return f"former-{-pseudonym:x}"


def is_pseudonym(actor_id: int | None) -> bool:
    """Whether a stored moderator id is a forgotten person's pseudonym (or blank)."""
    return actor_id is not None and actor_id <= 0
