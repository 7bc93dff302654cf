"""Who may act on whom: Discord's role hierarchy for Timeout and Ban, as pure rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Punishment = Literal["timeout", "ban"]
Blocked = Literal["owner", "moderator", "steward"]


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the moderator, the target and Steward stand (top role positions, server-wide).

    `target_top` is None when the target is no longer a member (a ban by id needs no rank).
    """

    moderator_top: int
    moderator_is_owner: bool
    target_top: int | None
    target_is_owner: bool
    steward_top: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why it may not be done, in words for the moderator, and who stands in the way."""

    blocked_by: Blocked
    message: str


def _verb(action: Punishment) -> str:
    return "time out" if action == "timeout" else "ban"


def may_punish(action: Punishment, standing: Standing) -> Refusal | None:
    """Discord's own rule: the owner is immune; otherwise both the moderator's top role
    (unless they own the server) and Steward's must be above the target's."""
    verb = _verb(action)
    if standing.target_is_owner:
        return Refusal("owner", f"That's the server owner: nobody can {verb} them.")
    if standing.target_top is None:
        return None
    if not standing.moderator_is_owner and standing.moderator_top <= standing.target_top:
        return Refusal(
            "moderator",
            f"Their highest role is at or above yours, so Discord wouldn't let you {verb} "
            "them yourself, and I won't do it for you. Ask someone higher up.")
    if standing.steward_top <= standing.target_top:
        return Refusal(
            "steward",
            f"Their highest role is at or above mine, so Discord won't let me {verb} them. "
            "An admin can move Steward's role above theirs (Server Settings → Roles).")
    return None
