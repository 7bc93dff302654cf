"""Awaiting what Steward does concurrently, shared by the sandbox feature tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(predicate: Callable[[], Awaitable[T]],
                     timeout: float = 5.0) -> T:  # noqa: ASYNC109
    """Await an async condition until it is truthy and return it (polls, e.g. the database)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := await predicate()):
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
    return value


async def scheduler_idle(steward: Any) -> None:
    """Wait until the scheduler runs, has nothing due or unwritten, and the bot is quiet."""
    scheduler = steward.bot.services.scheduler
    await steward.sb.wait_for(lambda: scheduler.running, message="scheduler never started")
    await asyncio.wait_for(scheduler.wait_idle(), 15)
    await steward.sb.idle()
    await asyncio.wait_for(scheduler.wait_idle(), 15)
