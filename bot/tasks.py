"""Background tasks with kept references and logged failures (never a bare create_task)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    """Owns fire-and-forget tasks: keeps them referenced, logs their errors, cancels on close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._daemons: set[asyncio.Task[Any]] = set()
        self._closing = False

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str, daemon: bool = False
    ) -> asyncio.Task[Any] | None:
        """Run `coro` in the background; returns None (and closes it) once shutdown began.

        A `daemon` task (an endless loop that sleeps on the clock) is cancelled as soon as
        shutdown begins instead of being waited for.
        """
        if self._closing:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        if daemon:
            self._daemons.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._daemons.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace: float = 10.0) -> None:
        """Stop taking work and wait for in-flight tasks; cancel what is left after `grace` s."""
        self._closing = True
        for daemon in list(self._daemons):
            daemon.cancel()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
