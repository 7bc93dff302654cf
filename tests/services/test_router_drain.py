"""The message router: one entry point, handlers in order, and a drain for shutdown."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from bot.routing import MessageRouter


def message(mid: int = 1) -> SimpleNamespace:
    return SimpleNamespace(id=mid, guild=object(), webhook_id=None,
                           author=SimpleNamespace(bot=False))


async def test_drain_waits_for_a_message_being_handled():
    router = MessageRouter()
    release = asyncio.Event()
    finished: list[int] = []

    async def slow(msg) -> bool:  # e.g. downloading a held post's attachments
        await release.wait()
        finished.append(msg.id)
        return True

    router.add("slow", slow, priority=10)
    handling = asyncio.create_task(router.dispatch(message(7)))
    await asyncio.sleep(0)
    assert router.in_flight == 1
    draining = asyncio.create_task(router.drain())
    await asyncio.sleep(0.05)
    assert not draining.done()  # shutdown waits
    release.set()
    assert await draining is True
    assert finished == [7] and router.in_flight == 0
    await handling


async def test_drain_gives_up_after_its_grace_and_says_so():
    router = MessageRouter()

    async def stuck(msg) -> bool:
        await asyncio.sleep(3600)
        return True

    router.add("stuck", stuck, priority=10)
    handling = asyncio.create_task(router.dispatch(message()))
    await asyncio.sleep(0)
    assert await router.drain(grace=0.05) is False
    handling.cancel()


async def test_a_failing_handler_is_logged_and_the_next_one_still_runs(caplog):
    router = MessageRouter()
    seen: list[str] = []

    async def broken(msg) -> bool:
        raise RuntimeError("boom")

    async def next_one(msg) -> bool:
        seen.append("next")
        return False

    router.add("broken", broken, priority=1)
    router.add("next", next_one, priority=2)
    await router.dispatch(message())
    assert seen == ["next"] and "broken failed" in caplog.text and router.in_flight == 0
    assert await router.drain(grace=0.01) is True
