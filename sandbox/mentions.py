"""Who a message would ping: Discord's ``allowed_mentions`` semantics.

Rules (https://discord.com/developers/docs/resources/message#allowed-mentions-object):

* no ``allowed_mentions`` -> every user, role and @everyone/@here in the content pings, and
  a reply pings the replied-to author;
* with ``allowed_mentions``: users in content ping only if ``"users"`` is in ``parse`` or
  their id is in ``users``; roles likewise with ``"roles"``/``roles``; @everyone and @here
  only with ``"everyone"`` in ``parse``; the replied-to author only with
  ``replied_user: true``.

``respect_permissions=True`` additionally applies what the *sender* may do: @everyone/@here
need MENTION_EVERYONE (webhooks may always), roles need ``mentionable`` or MENTION_EVERYONE.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

USER_RE = re.compile(r"<@!?(\d{15,21})>")
ROLE_RE = re.compile(r"<@&(\d{15,21})>")
EVERYONE_RE = re.compile(r"@(everyone|here)")

Pinged = set[int | str]


def content_mentions(content: str) -> tuple[list[int], list[int], set[str]]:
    """User ids, role ids and {"everyone", "here"} written in ``content``."""
    users = list(dict.fromkeys(int(m) for m in USER_RE.findall(content)))
    roles = list(dict.fromkeys(int(m) for m in ROLE_RE.findall(content)))
    everyone = set(EVERYONE_RE.findall(content))
    return users, roles, everyone


def pinged(
    content: str,
    allowed_mentions: dict[str, Any] | None,
    *,
    replied_user_id: int | None = None,
    role_pingable: Callable[[int], bool] | None = None,
    may_mention_everyone: bool = True,
) -> Pinged:
    """The set of user ids, role ids and "everyone"/"here" that would be pinged."""
    users, roles, everyone = content_mentions(content)
    out: Pinged = set()
    if allowed_mentions is None:
        out.update(users)
        out.update(r for r in roles if role_pingable is None or role_pingable(r))
        if may_mention_everyone:
            out.update(everyone)
        if replied_user_id is not None:
            out.add(replied_user_id)
        return out
    parse = set(allowed_mentions.get("parse") or [])
    allowed_users = {int(u) for u in allowed_mentions.get("users") or []}
    allowed_roles = {int(r) for r in allowed_mentions.get("roles") or []}
    for uid in users:
        if "users" in parse or uid in allowed_users:
            out.add(uid)
    for rid in roles:
        if ("roles" in parse or rid in allowed_roles) and (
            role_pingable is None or role_pingable(rid)
        ):
            out.add(rid)
    if "everyone" in parse and may_mention_everyone:
        out.update(everyone)
    if replied_user_id is not None and allowed_mentions.get("replied_user"):
        out.add(replied_user_id)
    return out
