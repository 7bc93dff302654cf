"""The one settings-change path: validate, save, tell listeners, audit once (no Discord)."""

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.errors import InvalidInput
from bot.services.audit import AuditService
from bot.services.guild_settings import GuildSettingsService, audit_details
from config.guild import GuildConfig

GUILD = 900_000_000_000_000_011
ADMIN = 800_000_000_000_000_011
ROLE = 700_000_000_000_000_011


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "settings.sqlite3")
    await migrate(database)
    yield database
    await database.close()


@pytest.fixture
def audit(db):
    return AuditService(AuditRepository(db), FakeClock())


@pytest.fixture
async def settings(db, audit):
    service = GuildSettingsService(GuildSettingsRepository(db), FakeClock(), audit)
    await service.load_all()
    return service


async def stored(db) -> GuildConfig:
    raw = await GuildSettingsRepository(db).load(GUILD)
    return GuildConfig() if raw is None else GuildConfig.model_validate_json(raw)


def hold_days(days: int):
    def mutate(config: GuildConfig) -> None:
        config.linkhold.hold_days = days
    return mutate


async def test_a_change_by_a_person_is_saved_and_audited_once(db, audit, settings):
    old, new, changes = await settings.update(GUILD, hold_days(5), actor_id=ADMIN)
    assert old.linkhold.hold_days == 3 and new.linkhold.hold_days == 5
    assert changes == {"linkhold.hold_days": (3, 5)}
    assert (await stored(db)).linkhold.hold_days == 5
    assert settings.get(GUILD).linkhold.hold_days == 5
    [entry] = await audit.recent(GUILD)
    assert entry.action == "settings.changed" and entry.actor_id == ADMIN
    assert entry.details == {"linkhold.hold_days": "3 → 5"}


async def test_the_result_reads_by_name_too(settings):
    result = await settings.update(GUILD, hold_days(4), actor_id=ADMIN)
    assert result.new.linkhold.hold_days == 4 and result.old.linkhold.hold_days == 3
    assert set(result.changes) == {"linkhold.hold_days"}


async def test_an_invalid_change_is_refused_and_nothing_is_saved_or_audited(db, audit,
                                                                            settings):
    with pytest.raises(InvalidInput, match="hold_days"):
        await settings.update(GUILD, hold_days(-1), actor_id=ADMIN)

    def bad_zone(config: GuildConfig) -> None:
        config.core.timezone = "Mars/Olympus"

    with pytest.raises(InvalidInput, match="time zone"):
        await settings.update(GUILD, bad_zone, actor_id=ADMIN)
    assert await GuildSettingsRepository(db).load(GUILD) is None
    assert settings.get(GUILD) == GuildConfig()
    assert await audit.recent(GUILD) == []


async def test_no_change_saves_and_audits_nothing(db, audit, settings):
    _, _, changes = await settings.update(GUILD, hold_days(3), actor_id=ADMIN)
    assert changes == {}
    assert await GuildSettingsRepository(db).load(GUILD) is None
    assert await audit.recent(GUILD) == []


async def test_changes_without_a_person_are_not_audited(db, audit, settings):
    await settings.update(GUILD, hold_days(6))
    await settings.replace(GUILD, GuildConfig())
    assert (await stored(db)).linkhold.hold_days == 3
    assert await audit.recent(GUILD) == []


async def test_listeners_hear_a_saved_change_before_the_audit_entry(audit, settings):
    heard: list[tuple[int, int, int, int]] = []

    async def listener(guild_id: int, old: GuildConfig, new: GuildConfig) -> None:
        heard.append((guild_id, old.linkhold.hold_days, new.linkhold.hold_days,
                      len(await audit.recent(guild_id))))

    settings.on_change(listener)
    await settings.update(GUILD, hold_days(8), actor_id=ADMIN)
    await settings.update(GUILD, hold_days(8), actor_id=ADMIN)  # no change: not heard
    assert heard == [(GUILD, 3, 8, 0)]
    assert len(await audit.recent(GUILD)) == 1


async def test_the_audit_shows_ids_and_hides_template_wording(audit, settings):
    def change(config: GuildConfig) -> None:
        config.core.moderator_roles = [ROLE]
        config.followup.ask_template = "Hi {op}, {asker} asks: {question}"

    await settings.update(GUILD, change, actor_id=ADMIN)
    [entry] = await audit.recent(GUILD)
    assert entry.details == {"core.moderator_roles": f"[] → [{ROLE}]",
                             "followup.ask_template": "changed"}


def test_audit_details_say_old_and_new():
    assert audit_details({"repost.mode": ("webhook", "bot"),
                          "welcome.template": ("a", "b")}) == {
        "repost.mode": "webhook → bot", "welcome.template": "changed"}


async def test_a_person_change_needs_an_audit_trail(db):
    service = GuildSettingsService(GuildSettingsRepository(db), FakeClock())
    with pytest.raises(RuntimeError):
        await service.update(GUILD, hold_days(5), actor_id=ADMIN)
    assert await GuildSettingsRepository(db).load(GUILD) is None


async def test_settings_are_loaded_back_at_startup(db, settings):
    await settings.update(GUILD, hold_days(9), actor_id=ADMIN)
    again = GuildSettingsService(GuildSettingsRepository(db), FakeClock())
    await again.load_all()
    assert again.get(GUILD).linkhold.hold_days == 9
