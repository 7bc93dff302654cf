"""Settings saved by another process (`steward config import`) reach the running bot's cache."""

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.settings_stamps import SettingsStampRepository
from bot.services.config_io import ExternalChanges
from bot.services.guild_settings import GuildSettingsService
from config.guild import GuildConfig

GUILD = 900_000_000_000_000_031


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "external.sqlite3")
    await migrate(database)
    yield database
    await database.close()


def hold_days(days: int):
    def mutate(config: GuildConfig) -> None:
        config.linkhold.hold_days = days
    return mutate


async def test_a_change_saved_elsewhere_is_picked_up_once(db):
    clock = FakeClock()
    running = GuildSettingsService(GuildSettingsRepository(db), clock)
    await running.load_all()
    heard: list[int] = []

    async def listener(guild_id: int, old: GuildConfig, new: GuildConfig) -> None:
        heard.append(new.linkhold.hold_days)

    running.on_change(listener)
    external = ExternalChanges(SettingsStampRepository(db), GuildSettingsRepository(db),
                               running, clock)
    assert await external.poll() == []  # the first poll only learns the stamps
    clock.advance(seconds=5)
    other = GuildSettingsService(GuildSettingsRepository(db), clock)  # the CLI's
    await other.load_all()
    await other.update(GUILD, hold_days(9))
    assert running.get(GUILD).linkhold.hold_days == 3
    assert await external.poll() == [GUILD]
    assert running.get(GUILD).linkhold.hold_days == 9 and heard == [9]
    assert await external.poll() == []


async def test_the_bots_own_changes_are_not_reloaded(db):
    clock = FakeClock()
    running = GuildSettingsService(GuildSettingsRepository(db), clock)
    external = ExternalChanges(SettingsStampRepository(db), GuildSettingsRepository(db),
                               running, clock)
    await external.poll()
    clock.advance(seconds=5)
    await running.update(GUILD, hold_days(4))
    assert await external.poll() == []
    assert running.get(GUILD).linkhold.hold_days == 4


async def test_invalid_settings_saved_elsewhere_are_ignored(db):
    clock = FakeClock()
    running = GuildSettingsService(GuildSettingsRepository(db), clock)
    external = ExternalChanges(SettingsStampRepository(db), GuildSettingsRepository(db),
                               running, clock)
    await external.poll()
    await GuildSettingsRepository(db).save(GUILD, '{"linkhold": {"hold_days": -5}}',
                                           clock.now())
    assert await external.poll() == []
    assert running.get(GUILD) == GuildConfig()
