"""Bounded retention for long runs: the sandbox forgets old records instead of keeping all.

By default the sandbox keeps every message, request, gateway frame and interaction so tests can
look back at anything. A soak runs for hours of traffic, so ``Sandbox(retention=Retention())``
keeps only the most recent of each, trimmed once a second:

- the last ``messages_per_channel`` messages of each channel (plus any the scenario asked to
  keep with ``sb.keep(message)``); a forgotten message answers 10008 like a deleted one would
  after Discord purged it. Count what you need as messages arrive with ``sb.on_message(fn)``;
- the last ``requests`` REST records (``sb.api.status_counts`` and ``sb.api.total`` count
  every call, kept or not);
- the last ``gateway_frames`` dispatches of each session (a RESUME from further back gets
  only what is left, as Discord's replay buffer is bounded too) and frames received;
- the last ``interactions`` interactions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.scenario import Sandbox


@dataclass(frozen=True)
class Retention:
    """How much of each kind of record a long-running sandbox keeps."""

    messages_per_channel: int = 200
    requests: int = 5_000
    gateway_frames: int = 5_000
    interactions: int = 1_000
    every: float = 1.0  # seconds between trims


def trim(sb: Sandbox, retention: Retention) -> None:
    """Forget what `retention` doesn't keep (oldest first)."""
    world = sb.world
    kept = sb.kept_ids
    for channel_id, messages in world.channel_messages.items():
        extra = len(messages) - retention.messages_per_channel
        if extra <= 0:
            continue
        old, recent = messages[:extra], messages[extra:]
        survivors = [m for m in old if m.id in kept]
        for message in old:
            if message.id not in kept:
                world.messages.pop(message.id, None)
        world.channel_messages[channel_id] = survivors + recent
    requests = sb.api.requests
    extra = len(requests) - retention.requests
    if extra > 0:
        del requests[:extra]
        sb.forget_requests(extra)
    for session in sb.gateway.sessions.values():
        extra = len(session.log) - retention.gateway_frames
        if extra > 0:
            del session.log[:extra]
    extra = len(sb.gateway.received) - retention.gateway_frames
    if extra > 0:
        del sb.gateway.received[:extra]
    extra = len(world.interactions) - retention.interactions
    if extra > 0:
        for key in list(world.interactions)[:extra]:
            interaction = world.interactions.pop(key)
            answers = [interaction.original, *interaction.followups]
            for answer in answers:
                if answer is not None and answer.ephemeral:  # kept only in world.messages
                    world.messages.pop(answer.id, None)


async def trim_forever(sb: Sandbox, retention: Retention) -> None:
    """Trim every `retention.every` seconds until cancelled."""
    while True:
        await asyncio.sleep(retention.every)
        trim(sb, retention)
