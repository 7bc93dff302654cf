"""Shared attribute declarations for the :class:`~sandbox.Sandbox` mixins."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sandbox.models import Member, User

if TYPE_CHECKING:
    from sandbox.clock import SupportsNow
    from sandbox.gateway import Gateway
    from sandbox.rest import RestApi
    from sandbox.state import World


class SandboxBase:
    """Attributes every mixin may use (set by ``Sandbox.__init__``)."""

    world: World
    api: RestApi
    gateway: Gateway
    clock: SupportsNow
    _former_members: dict[int, set[int]]
    _floor: int
    _request_floor: int
    _ping_floor: int
    _pingable_roles: set[int]

    def now(self) -> dt.datetime:
        raise NotImplementedError

    def _user(self, who: User | Member | str, *, bot: bool = False,
              avatar: str | None = None, created_at: dt.datetime | None = None) -> User:
        raise NotImplementedError

    def _announce(self, event: str, data: dict[str, Any]) -> None:
        raise NotImplementedError
