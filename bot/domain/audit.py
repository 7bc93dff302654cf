"""An audit entry: one recorded action (ids and jump links only, never message content)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action."""

    id: int
    guild_id: int
    actor_id: int | None
    action: str
    target_id: int | None
    details: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
