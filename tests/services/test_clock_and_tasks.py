import asyncio
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.tasks import BackgroundTasks


async def test_fake_clock_wakes_sleepers_in_order_only_when_advanced():
    clock = FakeClock()
    woke: list[str] = []

    async def sleeper(name, minutes):
        await clock.sleep_until(clock.now() + timedelta(minutes=minutes))
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("b", 10)), asyncio.create_task(sleeper("a", 5))]
    await asyncio.sleep(0)
    assert woke == []
    clock.advance(minutes=6)
    await asyncio.sleep(0)
    assert woke == ["a"]
    clock.advance(minutes=10)
    await asyncio.gather(*tasks)
    assert woke == ["a", "b"]


def test_fake_clock_refuses_to_go_backwards():
    clock = FakeClock()
    with pytest.raises(ValueError):
        clock.set(clock.now() - timedelta(seconds=1))


async def test_background_tasks_log_failures_and_drain(caplog):
    tasks = BackgroundTasks()
    done = asyncio.Event()

    async def ok():
        done.set()

    async def boom():
        raise RuntimeError("bad")

    tasks.spawn(ok(), name="ok")
    tasks.spawn(boom(), name="boom")
    await tasks.drain(grace=1)
    assert done.is_set()
    assert "background task boom failed" in caplog.text
    assert tasks.spawn(ok(), name="late") is None


async def test_a_cancelled_close_still_finishes_and_closes_the_database(tmp_path):
    from bot.app import StewardBot
    from bot.db import Database
    from config.settings import Settings

    database = await Database.open(tmp_path / "close.sqlite3")
    bot = StewardBot(Settings(_env_file=None), database=database, sync_commands=False)
    first = asyncio.get_running_loop().create_task(bot.close())
    await asyncio.sleep(0)
    first.cancel()  # e.g. the CLI's signal task cancelled while shutting down
    await asyncio.sleep(0.2)
    assert database.closed
    await bot.close()  # a second call (``async with bot``) is harmless
    assert database.closed


async def test_drain_waits_for_cancelled_daemons_to_unwind():
    tasks = BackgroundTasks()
    unwound = asyncio.Event()

    async def daemon():
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)  # e.g. a database write finishing
            unwound.set()

    tasks.spawn(daemon(), name="d", daemon=True)
    await asyncio.sleep(0)
    await tasks.drain()
    assert unwound.is_set()


async def test_close_lets_a_message_being_handled_finish_before_the_database_closes(tmp_path):
    from types import SimpleNamespace

    from bot.app import StewardBot
    from bot.db import Database
    from config.settings import Settings

    database = await Database.open(tmp_path / "drain.sqlite3")
    bot = StewardBot(Settings(_env_file=None), database=database, sync_commands=False)
    release = asyncio.Event()
    wrote: list[bool] = []

    async def downloading(message) -> bool:
        await release.wait()
        async with database.transaction() as tx:  # the hold is stored after the download
            await tx.execute("SELECT 1")
        wrote.append(True)
        return True

    bot.router.add("slow", downloading, priority=10)
    post = SimpleNamespace(id=1, guild=object(), webhook_id=None,
                           author=SimpleNamespace(bot=False))
    handling = asyncio.get_running_loop().create_task(bot.router.dispatch(post))
    await asyncio.sleep(0)
    closing = asyncio.get_running_loop().create_task(bot.close())
    await asyncio.sleep(0.05)
    assert not database.closed and not closing.done()
    release.set()
    await closing
    await handling
    assert wrote == [True] and database.closed
