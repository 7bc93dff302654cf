"""Reminders in the server's language: the scheduler, with each handler run speaking it.

A check-in or reminder fires long after anyone clicked anything, so nothing tells Steward
who reads it but the server: every handler runs inside `speaking(language_of(guild_id))`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.i18n import speaking
from bot.services.scheduler import Delivery, Done, Handler, Scheduler


class SpeakingScheduler(Scheduler):
    """A `Scheduler` whose handlers speak the language of the reminder's server."""

    def __init__(self, *args: Any, language_of: Callable[[int], str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._language_of = language_of

    def register(self, kind: str, handler: Handler) -> None:
        """Deliver reminders of `kind` with `handler`, in their server's language."""
        language_of = self._language_of

        async def speaking_handler(delivery: Delivery) -> Done:
            guild_id = delivery.reminder.guild_id
            with speaking(language_of(guild_id) if language_of is not None else None):
                return await handler(delivery)

        super().register(kind, speaking_handler)
