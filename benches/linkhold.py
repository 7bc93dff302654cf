"""Link-hold benchmarks: the established-member fast path, and how long a held link stays up.

Run:  uv run python -m benches.linkhold                 (20,000 messages x 5 rounds; 1,000 holds)
      uv run python -m benches.linkhold --messages 5000 --holds 200     (quick)

1. Fast path. The cost Steward adds to handling a guild MESSAGE_CREATE from established members
   (gateway JSON text in -> discord.py parses and dispatches -> every Steward message handler
   done), as a ratio against a bare `commands.Bot` with the same intents handling the same
   payloads (it dispatches each message once, to its own `on_message`, which runs
   `process_commands`). Both bots are connected to the sandbox; the frames are fed to each
   bot's own gateway connection object (`DiscordWebSocket.received_message`), one at a time,
   yielding to the event loop after each, in alternating rounds. Also: the link-hold handler
   alone, called directly on parsed messages (microseconds per call).
2. Exposure time. From the moment the sandbox dispatches a new member's link post to the moment
   the bot's DELETE for it arrives at the sandbox: p50/p99/max over `--holds` text-only posts,
   then `--attachment-holds` posts with a 256 KB attachment (downloaded and stored before the
   delete). Each hold finishes (DM, queue card) before the next post.
3. Exposure with AutoMod on (issue 14). Steward keeps its AutoMod rule and a trusted role;
   newcomers post the link messages of the labelled corpus (tests/corpus/links). A post the
   rule blocks is never created (no MESSAGE_CREATE, nothing stored: exposure 0, checked for
   every one); what the patterns miss is posted and held by the bot-side detector after it
   appeared (exposure measured as in 2), or not held at all. Also: block -> hold queued.
   The corpus-wide shares without a bot (patterns alone vs the detector): `benches.automod`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands

from bot.app import StewardBot, intents
from bot.clock import FakeClock
from bot.routing import MessageRouter
from sandbox import Sandbox, wire
from sandbox.harness import start_client, stop_client
from sandbox.world import StewardHarness, build_support_server, configure_defaults

TEXTS = [
    "Had my third round of chemo today. Tired but okay. Thank you all for the kind words.",
    "Does anyone know if the cold cap actually helps? My oncologist said it might.",
    "This article helped me understand staging: https://www.cancer.gov/about-cancer/diagnosis",
    "We went home.Today was a good day, first walk in the park in weeks.",
    "My husband's scan is on Thursday, 3.5mg of the new med so far, fingers crossed.",
    "Sending hugs to everyone waiting on results this week ❤️",
    "The support group meets at 7pm, see www.macmillan.org.uk for the details.",
    "I found the nutrition guide at mayoclinic.org really useful, especially the recipes.",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Arrivals(list):  # type: ignore[type-arg]
    """The sandbox's request log, stamping when each request arrived (perf_counter)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiters: list[tuple[Any, asyncio.Future[float]]] = []

    def append(self, record: Any) -> None:  # noqa: D102
        now = time.perf_counter()
        super().append(record)
        for match, future in list(self.waiters):
            if not future.done() and match(record):
                future.set_result(now)
                self.waiters.remove((match, future))

    def expect(self, match: Any) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters.append((match, future))
        return future


def frames(sb: Sandbox, server: Any, count: int) -> list[str]:
    """MESSAGE_CREATE gateway frames from established members, as JSON text."""
    world = sb.world
    authors = [server.member.user, server.mod.user]
    out = []
    for i in range(count):
        text = TEXTS[i % len(TEXTS)]
        msg = world.build_message(server.general, authors[i % 2], {"content": text})
        data = wire.message(world, msg)
        data["guild_id"] = str(server.guild.id)
        out.append(json.dumps({"op": 0, "s": 10_000 + i, "t": "MESSAGE_CREATE", "d": data}))
    return out


async def feed(client: discord.Client, payloads: list[str]) -> float:
    """Seconds to hand every frame to the client and finish every resulting handler."""
    ws = client.ws
    gc.collect()
    gc.disable()
    start = time.perf_counter()
    for text in payloads:
        await ws.received_message(text)
        await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if t.get_name().startswith("discord.py: on_")]
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.perf_counter() - start
    gc.enable()
    return elapsed


async def fast_path(sb: Sandbox, server: Any, steward: StewardBot, messages: int,
                    rounds: int) -> None:
    bare = commands.Bot(command_prefix=commands.when_mentioned, intents=intents(),
                        help_command=None, guild_ready_timeout=0.05)
    task = await start_client(sb, bare)
    try:
        payloads = frames(sb, server, messages)
        chunk = 1000
        chunks = [payloads[i:i + chunk] for i in range(0, len(payloads), chunk)]
        await feed(bare, payloads[:chunk])  # warm both up
        await feed(steward, payloads[:chunk])
        bare_times: list[float] = []
        steward_times: list[float] = []
        for _ in range(rounds):
            for part in chunks:  # alternate in small chunks so machine noise hits both
                bare_times.append(await feed(bare, part) / len(part))
                steward_times.append(await feed(steward, part) / len(part))
    finally:
        await stop_client(bare, task)
    bare_med, steward_med = statistics.median(bare_times), statistics.median(steward_times)
    bare_min, steward_min = min(bare_times), min(steward_times)
    pair_ratios = sorted(s / b for s, b in zip(steward_times, bare_times, strict=True))
    print("1. Established-member fast path (MESSAGE_CREATE JSON in -> all handlers done)")
    print(f"   {messages:,} messages x {rounds} rounds, alternating bots every {chunk} messages")
    print(f"   bare commands.Bot : median {bare_med * 1e6:6.2f} us/message, "
          f"best {bare_min * 1e6:6.2f}")
    print(f"   Steward           : median {steward_med * 1e6:6.2f} us/message, "
          f"best {steward_min * 1e6:6.2f}")
    print(f"     (router handlers: {', '.join(steward.router.names)})")
    print(f"   ratio of medians  : {steward_med / bare_med:6.3f}   (target <= 1.05)")
    print(f"   ratio of bests    : {steward_min / bare_min:6.3f}")
    print(f"   paired chunk ratios: p25 {pct(pair_ratios, 0.25):.3f}  "
          f"p50 {pct(pair_ratios, 0.5):.3f}  p75 {pct(pair_ratios, 0.75):.3f}")

    # The link-hold handler alone (the adapter's fast path), on already-parsed messages.
    handler = steward.services.linkhold_discord.on_message
    channel = steward.get_channel(server.general.id)
    assert isinstance(channel, discord.TextChannel)
    state = steward._connection
    parsed = [discord.Message(state=state, channel=channel, data=json.loads(p)["d"])
              for p in payloads[:5000]]
    start = time.perf_counter()
    for _ in range(4):
        for message in parsed:
            await handler(message)
    handler_us = (time.perf_counter() - start) / (4 * len(parsed)) * 1e6
    router = MessageRouter()
    router.add("linkhold", handler, priority=10)
    start = time.perf_counter()
    for _ in range(4):
        for message in parsed:
            await router.dispatch(message)
    routed_us = (time.perf_counter() - start) / (4 * len(parsed)) * 1e6
    print(f"   link-hold handler alone: {handler_us:.2f} us/call; "
          f"through a router with only it: {routed_us:.2f} us/message")


async def exposure(sb: Sandbox, server: Any, steward: StewardBot, holds: int,
                   with_files: int) -> None:
    arrivals = Arrivals()
    arrivals.extend(sb.api.requests)
    sb.api.requests = arrivals
    channel_id = server.general.id
    newcomers = [await sb.join(server.guild, f"bench-newcomer-{i}") for i in range(50)]
    service = steward.services.linkhold

    async def one(i: int, attachment: bytes | None) -> float:
        author = newcomers[i % len(newcomers)]
        text = f"please watch our story https://youtu.be/bench{i} thank you ({i})"
        files = [("scan.png", attachment, "image/png")] if attachment else []
        # The message id is not known before posting; match the first DELETE in the channel.
        future = arrivals.expect(
            lambda r: r.route == "DELETE /channels/{channel_id}/messages/{message_id}"
            and r.params.get("channel_id") == channel_id)
        start = time.perf_counter()
        msg = await sb.post(server.general, author, text, attachments=files)
        arrived = await asyncio.wait_for(future, 10)
        # Let the hold finish (DM, queue card, audit) before the next post.
        for _ in range(1000):
            hold = await service.holds.by_message(server.guild.id, msg.id)
            if hold is not None and hold.step == "queued":
                break
            await asyncio.sleep(0.001)
        return (arrived - start) * 1000

    text_ms = [await one(i, None) for i in range(holds)]
    blob = bytes(range(256)) * 1024  # 256 KB
    file_ms = [await one(holds + i, blob) for i in range(with_files)]
    print("2. Exposure time (sandbox dispatches the post -> the bot's DELETE arrives)")
    for label, values in (("text-only", text_ms), ("with a 256 KB attachment", file_ms)):
        if values:
            print(f"   {label:26}: n={len(values):5}  p50 {pct(values, 0.50):6.2f} ms  "
                  f"p99 {pct(values, 0.99):6.2f} ms  max {max(values):6.2f} ms")
    print("   (target: text-only p99 < 50 ms)")


CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "links"


def corpus_links(limit: int) -> list[str]:
    """Link messages of the labelled corpus (dev, then holdout), at most `limit`."""
    texts: list[str] = []
    for name in ("dev", "holdout"):
        with (CORPUS / f"{name}.jsonl").open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    case = json.loads(line)
                    if case["label"] == "link":
                        texts.append(case["text"])
    return texts[:limit]


async def exposure_automod(sb: Sandbox, server: Any, steward: StewardBot, posts: int) -> None:
    from sandbox.automod import Blocked

    arrivals = sb.api.requests
    assert isinstance(arrivals, Arrivals), "run exposure() first"
    trusted = sb.add_role(server.guild, "Members")
    await sb.idle()

    def automod_on(config: Any) -> None:
        config.linkhold.trusted_role = trusted.id
        config.linkhold.automod = True

    await steward.guild_settings.update(server.guild.id, automod_on)
    await sb.wait_for(lambda: any(r["name"].startswith("Steward")
                                  for r in server.guild.automod_rules.values()))
    service = steward.services.linkhold
    newcomers = [await sb.join(server.guild, f"bench-automod-{i}") for i in range(50)]
    channel_id = server.general.id
    blocked = held_after = missed = 0
    seen_ms: list[float] = []
    queued_ms: list[float] = []
    for i, text in enumerate(corpus_links(posts)):
        author = newcomers[i % len(newcomers)]
        future = arrivals.expect(
            lambda r: r.route == "DELETE /channels/{channel_id}/messages/{message_id}"
            and r.params.get("channel_id") == channel_id)
        start = time.perf_counter()
        result = await sb.try_post(server.general, author, f"{text} ({i})")
        if isinstance(result, Blocked):
            arrivals.waiters = [w for w in arrivals.waiters if w[1] is not future]
            assert not [m for m in sb.messages(server.general, include_deleted=True)
                        if m.content == f"{text} ({i})"], "a blocked post was created"
            blocked += 1
            key = result.alerts[0].id
            for _ in range(2000):
                hold = await service.holds.by_message(server.guild.id, key)
                if hold is not None and hold.step == "queued":
                    queued_ms.append((time.perf_counter() - start) * 1000)
                    break
                await asyncio.sleep(0.001)
            continue
        try:
            arrived = await asyncio.wait_for(future, 0.5)
        except TimeoutError:
            arrivals.waiters = [w for w in arrivals.waiters if w[1] is not future]
            missed += 1
            continue
        held_after += 1
        seen_ms.append((arrived - start) * 1000)
        await sb.idle(quiet=0.01)
    n = blocked + held_after + missed
    print("3. Exposure with AutoMod on (corpus link messages posted by newcomers)")
    print(f"   blocked by the rule        : {blocked:4d} / {n}  ({100 * blocked / n:5.1f}%)  "
          "exposure 0 ms (never created)")
    if seen_ms:
        share = 100 * held_after / n
        print(f"   held by the detector after : {held_after:4d} / {n}  ({share:5.1f}%)"
              f"  exposure p50 {pct(seen_ms, 0.5):6.2f} ms  p99 {pct(seen_ms, 0.99):6.2f} ms")
    print(f"   not held at all            : {missed:4d} / {n}  ({100 * missed / n:5.1f}%)")
    if queued_ms:
        print(f"   block -> hold queued       : p50 {pct(queued_ms, 0.5):6.2f} ms  "
              f"p99 {pct(queued_ms, 0.99):6.2f} ms  (moderators see the card)")


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    clock = FakeClock()
    sb = Sandbox(clock=clock)
    await sb.start()
    with tempfile.TemporaryDirectory() as tmp:
        server = build_support_server(sb, clock)
        harness = StewardHarness(sb, clock, Path(tmp) / "steward.sqlite3")
        steward = await harness.start()
        try:
            await steward.guild_settings.update(server.guild.id, configure_defaults(server))
            await fast_path(sb, server, steward, args.messages, args.rounds)
            print()
            await exposure(sb, server, steward, args.holds, args.attachment_holds)
            if args.automod_posts:
                print()
                await exposure_automod(sb, server, steward, args.automod_posts)
        finally:
            with contextlib.suppress(Exception):
                await harness.stop()
            await sb.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--holds", type=int, default=1000)
    parser.add_argument("--attachment-holds", type=int, default=100)
    parser.add_argument("--automod-posts", type=int, default=400)
    asyncio.run(main(parser.parse_args()))
