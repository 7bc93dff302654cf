"""Welcome catch-up end to end: members who join while Steward is offline, greeted on restart.

Its own module fixture (not the shared `steward`): the first test needs members who joined
before Steward's very first start, and the tests stop and start the bot themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import count

import pytest
import pytest_asyncio

from bot.clock import FakeClock
from bot.domain.audit import title_of
from bot.services.welcome import WelcomeService
from sandbox import Sandbox
from sandbox.world import (
    StewardHarness,
    SupportServer,
    build_support_server,
    configure_defaults,
)
from tests.waits import eventually

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

_names = count()


def fresh(prefix: str = "late") -> str:
    """A user name never used before in this module."""
    return f"{prefix}{next(_names)}"


class World:
    """The standard server, Steward's harness, and members added before the first start."""

    def __init__(self, sb: Sandbox, clock: FakeClock, server: SupportServer,
                 harness: StewardHarness, before_first_start: list) -> None:
        self.sb, self.clock, self.server, self.harness = sb, clock, server, harness
        self.guild = server.guild
        self.before_first_start = before_first_start

    @property
    def service(self) -> WelcomeService:
        return self.harness.bot.services.welcome

    async def caught_up(self) -> None:
        """Steward is running and its startup catch-up has run; the sandbox is quiet."""
        service = self.service
        await self.sb.wait_for(service.caught_up.is_set, message="catch-up never ran")
        await self.sb.idle()

    async def start(self) -> None:
        await self.harness.start()
        await self.caught_up()

    def joined_offline(self, prefix: str = "late", **kwargs) -> object:
        """A member who joins now while Steward is stopped (no gateway event reaches it)."""
        self.clock.advance(seconds=3)
        return self.sb.add_member(self.guild, fresh(prefix), joined_at=self.clock.now(),
                                  **kwargs)

    def welcomes_mentioning(self, member) -> list:
        return [m for m in self.sb.messages(self.server.welcome)
                if f"<@{member.id}>" in m.content]

    def catchup_notes(self) -> list:
        return [m for m in self.sb.messages(self.server.modlog)
                if any(e.get("title") == title_of("welcome.catchup_skipped") for e in m.embeds)]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    clock = FakeClock()
    sb = Sandbox(clock=clock)
    await sb.start()
    server = build_support_server(sb, clock)
    early = [sb.add_member(server.guild, fresh("early"),
                           joined_at=clock.now() - timedelta(minutes=m)) for m in (1, 30)]
    harness = StewardHarness(sb, clock, tmp_path_factory.mktemp("catchup") / "steward.sqlite3")
    try:
        bot = await harness.start()
        await bot.guild_settings.update(server.guild.id, configure_defaults(server))
        w = World(sb, clock, server, harness, early)
        await w.caught_up()
        yield w
    finally:
        await harness.stop()
        await sb.stop()


@pytest.fixture(autouse=True)
def _fresh_records(world: World):
    """Each test sees only its own wire traffic, after a quiet minute (no burst carry-over)."""
    world.sb.reset()
    world.clock.advance(minutes=1)
    yield
    for request in world.sb.requests:  # every message pinged at most users, never roles
        if request.method == "POST" and request.route.endswith("/messages"):
            mentions = request.allowed_mentions or {}
            assert "everyone" not in mentions.get("parse", [])
            assert "roles" not in mentions.get("parse", []) and not mentions.get("roles")


async def test_first_start_ever_greets_nobody_retroactively(world: World):
    service = world.service
    assert service.last_catchup == {}  # no last-seen time yet: nothing planned
    for member in world.before_first_start:
        assert world.welcomes_mentioning(member) == []
        assert await service.repository.record(world.guild.id, member.id) is None
    assert world.catchup_notes() == []


async def test_members_who_joined_while_offline_are_greeted_once_pinging_only_them(world):
    sb = world.sb
    await world.harness.stop()
    world.clock.advance(minutes=20)
    missed = [world.joined_offline() for _ in range(3)]
    a_bot = world.joined_offline("helperbot", bot=True)
    await world.start()
    for member in missed:
        message = await sb.wait_for_message(world.server.welcome,
                                            lambda m, member=member: f"<@{member.id}>" in m.content)
        assert sb.mentions_pinged(message) == {member.id}
        assert message.allowed_mentions["users"] == [str(member.id)]
    assert world.welcomes_mentioning(a_bot) == []
    assert world.catchup_notes() == []

    # Joined while Steward runs, after the last "seen" save: greeted at the join, and the
    # welcome record keeps the restart's catch-up from greeting them again.
    world.clock.advance(seconds=30)
    live = await sb.join(world.guild, fresh("live"))
    await sb.wait_for_message(world.server.welcome, lambda m: f"<@{live.id}>" in m.content)
    missed.append(live)

    # Restart with nobody new: nobody is greeted again.
    await sb.idle()
    before = len(sb.messages(world.server.welcome))
    await world.harness.restart()
    await world.caught_up()
    assert world.service.last_catchup[world.guild.id].greet == ()
    assert len(sb.messages(world.server.welcome)) == before
    for member in missed:
        assert len(world.welcomes_mentioning(member)) == 1
        record = await world.service.repository.record(world.guild.id, member.id)
        assert record is not None and record.message_id is not None


async def test_many_missed_joins_are_coalesced_into_a_burst_without_dms(world):
    sb = world.sb

    def dm_on(config):
        config.welcome.dm = True

    def dm_off(config):
        config.welcome.dm = False

    await world.harness.bot.guild_settings.update(world.guild.id, dm_on)
    try:
        await world.harness.stop()
        world.clock.advance(minutes=20)
        missed = [world.joined_offline("crowd") for _ in range(8)]
        await world.start()
        threshold = 5  # the default burst_threshold: the first five are greeted one by one
        for member in missed[:threshold]:
            await sb.wait_for_message(world.server.welcome,
                                      lambda m, member=member: f"<@{member.id}>" in m.content)
        await eventually(lambda: world.service.repository.pending(world.guild.id,
                                                                  missed[-1].id))
        world.clock.advance(seconds=11)
        last = missed[-1]
        burst = await sb.wait_for_message(world.server.welcome,
                                          lambda m: f"<@{last.id}>" in m.content)
        await sb.idle()
        assert sorted(sb.mentions_pinged(burst)) == sorted(m.id for m in missed[threshold:])
        assert burst.content.startswith("A warm welcome to everyone who just joined")
        for member in missed:
            assert len(world.welcomes_mentioning(member)) == 1
        for member in missed[threshold:]:
            assert sb.dms(member) == []  # no DMs during a burst
    finally:
        await world.harness.bot.guild_settings.update(world.guild.id, dm_off)


async def test_the_catch_up_is_capped_and_says_so_in_the_mod_log(world):
    sb = world.sb
    await world.harness.stop()
    world.clock.advance(hours=30)
    too_old = [sb.add_member(world.guild, fresh("yesterday"),
                             joined_at=world.clock.now() - timedelta(hours=25, minutes=i))
               for i in range(2)]
    missed = [world.joined_offline("many") for _ in range(55)]
    before = len(sb.messages(world.server.welcome))
    await world.start()
    plan = world.service.last_catchup[world.guild.id]
    assert plan.greet == tuple(m.id for m in missed[5:])  # the newest 50
    assert (plan.too_old, plan.over_cap) == (2, 5)
    notes = await sb.wait_for(lambda: world.catchup_notes() or None,
                              message="no mod-log line about the ungreeted members")
    assert len(notes) == 1
    text = notes[0].embeds[0]["description"]
    assert "joined while I was offline and were not welcomed: 7." in text
    assert "/welcome resend" in text
    world.clock.advance(seconds=11)
    await sb.wait_for_message(world.server.welcome,
                              lambda m: f"<@{missed[-1].id}>" in m.content)
    await sb.idle()
    pinged: list[int] = []
    for message in sb.messages(world.server.welcome)[before:]:
        assert len(sb.mentions_pinged(message)) <= 20
        pinged += list(sb.mentions_pinged(message))
    assert sorted(pinged) == sorted(m.id for m in missed[5:])  # each once, nobody else
    for member in too_old + missed[:5]:  # joined over 24 h ago, or beyond the 50
        assert world.welcomes_mentioning(member) == []
        assert await world.service.repository.record(world.guild.id, member.id) is None


async def test_a_member_in_screening_is_greeted_only_once_screening_completes(world):
    sb = world.sb
    await world.harness.stop()
    world.clock.advance(minutes=20)
    waiting = world.joined_offline("screening", pending=True)
    await world.start()
    row = await world.service.repository.pending(world.guild.id, waiting.id)
    assert row is not None and row.status == "screening"
    assert world.welcomes_mentioning(waiting) == []
    await sb.update_member(world.guild, waiting, pending=False)
    await sb.wait_for_message(world.server.welcome, lambda m: f"<@{waiting.id}>" in m.content)
    await sb.idle()
    assert len(world.welcomes_mentioning(waiting)) == 1
