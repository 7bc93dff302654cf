"""Connect any ``discord.Client`` to a running :class:`~sandbox.Sandbox`.

::

    async with connected_client(sb, client) as client:
        ...   # on_ready has fired; client.guilds are cached

It points discord.py at the sandbox (``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``,
the same two settings the app uses), starts ``client.start(token)`` in a task, waits for
``on_ready`` (surfacing start-up exceptions such as ``PrivilegedIntentsRequired`` at once),
and closes the client on exit. Use ``bot.app.point_at`` alone when the app does its own
start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord

from bot.app import point_at
from sandbox.scenario import Sandbox

ClientT = TypeVar("ClientT", bound=discord.Client)


async def start_client(sb: Sandbox, client: discord.Client, token: str | None = None,
                       *, timeout: float = 10.0) -> asyncio.Task[None]:  # noqa: ASYNC109
    """Start ``client`` against ``sb`` and wait until it is ready; returns its task."""
    point_at(sb.api_base, sb.gateway_url)
    task = asyncio.get_running_loop().create_task(client.start(token or sb.token))
    ready = asyncio.get_running_loop().create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=timeout,
                                 return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        ready.cancel()
        if not client.is_closed():
            await client.close()
        task.result()  # raises the start-up error
        raise RuntimeError("client.start() returned before the client was ready")
    if ready not in done:
        ready.cancel()
        await stop_client(client, task)
        raise TimeoutError(f"client not ready within {timeout}s")
    return task


async def stop_client(client: discord.Client, task: asyncio.Task[None]) -> None:
    """Close the client and wait for its task to finish."""
    await client.close()
    with contextlib.suppress(asyncio.CancelledError, discord.DiscordException):
        await asyncio.wait_for(task, 5)


@contextlib.asynccontextmanager
async def connected_client(sb: Sandbox, client: ClientT, token: str | None = None,
                           *, timeout: float = 10.0) -> AsyncIterator[ClientT]:  # noqa: ASYNC109
    """``async with connected_client(sb, client):`` -- ready on entry, closed on exit."""
    task = await start_client(sb, client, token, timeout=timeout)
    try:
        yield client
    finally:
        await stop_client(client, task)
