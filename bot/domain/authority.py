"""Who may act on whom: Discord's hierarchy for Timeout and Ban, and which roles may carry
Steward powers (never a support-group role), as pure rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.i18n import tr

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
    return tr("time out") if action == "timeout" else tr("ban")


def may_punish(action: Punishment, standing: Standing) -> Refusal | None:
    """Discord's own rule: the owner is immune; otherwise both the moderator's top role
    (unless they own the server) and Steward's must be above the target's."""
    verb = _verb(action)
    if standing.target_is_owner:
        return Refusal("owner", tr("That's the server owner: nobody can {verb} them.", verb=verb))
    if standing.target_top is None:
        return None
    if not standing.moderator_is_owner and standing.moderator_top <= standing.target_top:
        return Refusal(
            "moderator",
            tr("Their highest role is at or above yours, so Discord wouldn't let you {verb} them "
               "yourself, and I won't do it for you. Ask someone higher up.", verb=verb))
    if standing.steward_top <= standing.target_top:
        return Refusal(
            "steward",
            tr("Their highest role is at or above mine, so Discord won't let me {verb} them. An "
               "admin can move Steward's role above theirs (Server Settings → Roles).", verb=verb))
    return None


# --- power roles vs support-group roles -------------------------------------------------------
# A support-group role is one members give themselves (/groups). A role with Steward powers
# (a moderator role, a role exempt from link holds) must never be one: picking a group would
# then hand a newcomer those powers.


def role_powers(role_id: int, *, moderator_roles: Iterable[int],
                exempt_roles: Iterable[int]) -> list[str]:
    """The Steward powers a role carries, in words (empty: none)."""
    powers = []
    if role_id in set(moderator_roles):
        powers.append(tr("a moderator role"))
    if role_id in set(exempt_roles):
        powers.append(tr("exempt from link holds"))
    return powers


def group_role_refusal(role_id: int, *, moderator_roles: Iterable[int],
                       exempt_roles: Iterable[int]) -> str | None:
    """Why a role with Steward powers can't be a support-group role (None: it can)."""
    powers = role_powers(role_id, moderator_roles=moderator_roles, exempt_roles=exempt_roles)
    if not powers:
        return None
    return (tr("it has Steward powers ({join}), and members give group roles to themselves. Use a "
               "plain role for the group.", join=' and '.join(powers)))


def unusable_power_role(*, everyone: bool, managed: bool) -> str | None:
    """Why a role can't carry Steward powers at all (None: it can): @everyone would give every
    member the power, and nobody can be given an integration's own role."""
    if everyone:
        return tr("@everyone is every member, so every member would get it")
    if managed:
        return tr("it belongs to an integration or bot, so nobody can be given it")
    return None


def power_role_refusal(role_id: int, groups: Iterable[tuple[str, int | None]]) -> str | None:
    """Why a support-group role can't be given Steward powers (None: it can).

    `groups` are (name, role id) pairs of the server's support groups.
    """
    names = [name for name, group_role in groups if group_role == role_id]
    if not names:
        return None
    return (tr("it is the role of the support group {join}, which members give themselves, so it "
               "can't carry Steward powers. Use a separate staff role.", join=', '.join(names)))
