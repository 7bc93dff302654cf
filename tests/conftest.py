"""Shared fixtures: the standard support server with the real Steward running against it.

`steward` (module scope, one bot start per test module): a `Steward` with `.sb` (the sandbox),
`.bot` (the running StewardBot), `.clock` (FakeClock), `.server` (channels, roles, people of
the standard server, see sandbox/world.py), `.harness` (for `await steward.restart()`).
Settings point at #mod-queue, #mod-log, #welcome, #rules and the Moderators role.
Between tests the sandbox's records are reset (the world and the database persist within a
module, so use fresh members per test where state matters: `await sb.join(guild, "name")`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from bot.app import StewardBot
from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.world import (
    StewardHarness,
    SupportServer,
    build_support_server,
    configure_defaults,
)
from tests import databases


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=("sqlite", "postgres", "both"), default=None,
        help="storage backends for the database tiers (default: STEWARD_TEST_DB or both)")


def pytest_configure(config: pytest.Config) -> None:
    databases.configure(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    databases.deselect(config, items)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if (line := databases.summary_line(config)) is not None:
        terminalreporter.write_line(line)


@dataclass
class Steward:
    """Everything a feature test needs."""

    sb: Sandbox
    clock: FakeClock
    server: SupportServer
    harness: StewardHarness

    @property
    def bot(self) -> StewardBot:
        """The currently running bot (changes after restart)."""
        return self.harness.bot

    async def restart(self) -> StewardBot:
        """Restart Steward on the same database."""
        return await self.harness.restart()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def steward(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Steward]:
    """The standard server with Steward running, configured, once per test module."""
    clock = FakeClock()
    sb = Sandbox(clock=clock)
    await sb.start()
    server = build_support_server(sb, clock)
    async with databases.feature_database(tmp_path_factory.mktemp("steward")) as database:
        harness = StewardHarness(sb, clock, database)
        try:
            bot = await harness.start()
            await bot.guild_settings.update(server.guild.id, configure_defaults(server))
            sb.reset()
            yield Steward(sb=sb, clock=clock, server=server, harness=harness)
        finally:
            await harness.stop()
            await sb.stop()


@pytest.fixture(autouse=True)
def _reset_sandbox_records(request: pytest.FixtureRequest) -> None:
    """Each test sees only its own wire traffic."""
    if "steward" in request.fixturenames:
        request.getfixturevalue("steward").sb.reset()


@pytest.fixture(autouse=True)
def _no_message_may_ping_everyone_or_a_role(request: pytest.FixtureRequest) -> Iterator[None]:
    """Suite-wide: after every test, no message any sandbox saw could ping @everyone/@here or a
    role. The sandbox's own tests are exempt: they check the imitation with raw clients."""
    yield
    if "tests/sandbox/" in request.node.nodeid:
        for sb in Sandbox.live():
            sb.take_ping_violations()
        return
    violations = [v for sb in Sandbox.live() for v in sb.take_ping_violations()]
    assert not violations, f"messages that could ping everyone or a role: {violations}"
