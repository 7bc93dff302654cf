"""Forget and retention at the service level: every trace gone, purged bytes gone from disk."""

import hashlib
import os
import stat

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.domain.privacy import REMOVED, pseudonym_id, pseudonym_label, scrub_details, user_hmac
from bot.services.audit import AuditService
from bot.services.privacy import PrivacyService, key_path, load_or_create_key

GUILD = 111_111_111_111_111_111
MEMBER = 424_242_424_242_424_242
OTHER = 737_373_737_373_737_373
MOD = 515_151_515_151_515_151
SECRET = "my biopsy results came back today"


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "steward.sqlite3")
    await migrate(database)
    # A stand-in feature table, as a feature migration would create.
    await database.execute(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, guild_id INTEGER, user_id INTEGER, "
        "content TEXT, created_at INTEGER)")
    yield database
    await database.close()


async def scan_for(db: Database, needle: int) -> list[str]:
    """Every table.column of the database holding `needle` (as a number or inside text)."""
    hits = []
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for (table,) in tables:
        for column in await db.fetchall(f'PRAGMA table_info("{table}")'):
            name = column["name"]
            count = await db.fetchval(
                f'SELECT COUNT(*) FROM "{table}" WHERE "{name}" = ? '
                f'OR CAST("{name}" AS TEXT) LIKE ?', (needle, f"%{needle}%"))
            if count:
                hits.append(f"{table}.{name}")
    return hits


def feature(db: Database):
    async def forget(guild_id: int, user_id: int) -> int:
        return await db.execute("DELETE FROM notes WHERE guild_id = ? AND user_id = ?",
                                (guild_id, user_id))

    async def purge(now) -> int:
        return await db.execute("DELETE FROM notes WHERE created_at < ?",
                                (int(now.timestamp() * 1000) - 86_400_000,))

    return forget, purge


async def seed(db: Database, clock: FakeClock) -> AuditService:
    audit = AuditService(AuditRepository(db), clock)
    await audit.record(GUILD, None, "hold.created", MEMBER, {"jump": "https://discord.com/x"})
    await audit.record(GUILD, MEMBER, "followup.answered", OTHER, {})
    await audit.record(GUILD, MOD, "trust.granted", OTHER,
                       {"note": f"vouched by {MEMBER}", "members": [OTHER, MEMBER],
                        "channel": 5})
    await audit.record(GUILD + 1, None, "hold.created", MEMBER, {})  # another guild: kept
    for who in (MEMBER, OTHER):
        await db.execute("INSERT INTO notes (guild_id, user_id, content, created_at) "
                         "VALUES (?, ?, ?, ?)", (GUILD, who, SECRET, 0))
    return audit


async def test_forget_removes_every_trace_in_the_guild_and_keeps_others(db):
    clock = FakeClock()
    await seed(db, clock)
    privacy = PrivacyService(db, clock, b"k" * 32)
    forget, purge = feature(db)
    privacy.register("notes", forget, purge)
    await privacy.remember_opt_out(GUILD, MEMBER, "followups")
    assert await scan_for(db, MEMBER)

    report = await privacy.forget(GUILD, MEMBER)

    assert report.removed == {"notes": 1, "audit": 3} and report.failed == ()
    rows = await db.fetchall("SELECT guild_id, actor_id, target_id, details FROM audit_log "
                             "WHERE guild_id = ? ORDER BY id", (GUILD,))
    # What they did stays attributed to one stable pseudonym; what was about them is blank.
    pseudonym = privacy.pseudonym(GUILD, MEMBER)
    assert pseudonym < 0 and report.pseudonym == pseudonym_label(pseudonym)
    assert [tuple(r) for r in rows] == [
        (GUILD, None, None, '{"anonymized": true}'),
        (GUILD, pseudonym, OTHER, f'{{"actor": "{report.pseudonym}"}}'),
        (GUILD, MOD, OTHER,
         f'{{"note": "{REMOVED}", "members": "{REMOVED}", "channel": 5}}'),
    ]
    # The other guild's rows are not this guild's business.
    leftovers = await scan_for(db, MEMBER)
    assert leftovers == ["audit_log.target_id"]
    assert await db.fetchval("SELECT guild_id FROM audit_log WHERE target_id = ?",
                             (MEMBER,)) == GUILD + 1
    # Their opt-out still holds, kept only as a keyed hash.
    assert await privacy.has_opted_out(GUILD, MEMBER, "followups")
    assert not await privacy.has_opted_out(GUILD, OTHER, "followups")
    assert await db.fetchval("SELECT COUNT(*) FROM notes WHERE user_id = ?", (OTHER,)) == 1


async def test_a_failing_feature_is_reported_and_the_others_still_run(db):
    clock = FakeClock()
    await seed(db, clock)
    privacy = PrivacyService(db, clock, b"k" * 32)

    async def broken(guild_id: int, user_id: int) -> int:
        raise RuntimeError("boom")

    privacy.register("broken", broken)
    privacy.register("notes", feature(db)[0])
    report = await privacy.forget(GUILD, MEMBER)
    assert report.failed == ("broken",) and report.removed["notes"] == 1
    assert report.removed["audit"] == 3 and report.total == 4


async def test_the_audit_name_is_reserved(db):
    privacy = PrivacyService(db, FakeClock(), b"k" * 32)
    with pytest.raises(ValueError):
        privacy.register("audit", feature(db)[0])
    assert privacy.registered == []


async def test_retention_purge_leaves_no_bytes_in_the_database_file_or_its_wal(db, tmp_path):
    clock = FakeClock()
    privacy = PrivacyService(db, clock, b"k" * 32)
    forget, purge = feature(db)
    privacy.register("notes", forget, purge)
    marker = "PURGE-ME-" + "x" * 40
    await db.execute("INSERT INTO notes (guild_id, user_id, content, created_at) "
                     "VALUES (?, ?, ?, ?)", (GUILD, MEMBER, marker, 0))
    files = [tmp_path / "steward.sqlite3", tmp_path / "steward.sqlite3-wal"]

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in files if p.exists())

    assert marker.encode() in on_disk()  # the test would prove nothing otherwise
    await db.checkpoint()
    assert marker.encode() in (tmp_path / "steward.sqlite3").read_bytes()

    report = await privacy.purge()

    assert report.removed == {"notes": 1}
    assert marker.encode() not in on_disk()
    assert not files[1].exists() or files[1].stat().st_size == 0


async def test_retention_runs_on_schedule(db):
    import asyncio
    from datetime import timedelta

    clock = FakeClock()
    privacy = PrivacyService(db, clock, b"k" * 32)
    runs: asyncio.Queue = asyncio.Queue()

    async def purge(now) -> int:
        await runs.put(now)
        return 0

    privacy.register("counting", feature(db)[0], purge)
    task = asyncio.create_task(privacy.run_retention(timedelta(hours=6)))
    first = await asyncio.wait_for(runs.get(), 5)
    assert runs.empty()
    clock.advance(hours=5)
    clock.advance(hours=1)
    second = await asyncio.wait_for(runs.get(), 5)
    assert second - first == timedelta(hours=6)
    task.cancel()


def test_opt_out_ids_are_a_keyed_hmac_not_a_plain_hash():
    key_a, key_b = b"a" * 32, b"b" * 32
    assert user_hmac(key_a, GUILD, MEMBER) != user_hmac(key_b, GUILD, MEMBER)
    assert user_hmac(key_a, GUILD, MEMBER) != user_hmac(key_a, GUILD + 1, MEMBER)
    plain = hashlib.sha256(f"{GUILD}:{MEMBER}".encode()).hexdigest()
    assert user_hmac(key_a, GUILD, MEMBER) != plain
    assert str(MEMBER) not in user_hmac(key_a, GUILD, MEMBER)
    with pytest.raises(ValueError):
        user_hmac(b"short", GUILD, MEMBER)


def test_the_installation_key_is_created_once_next_to_the_database(tmp_path):
    database = tmp_path / "data" / "steward.sqlite3"
    key = load_or_create_key(database)
    path = key_path(database)
    assert path == tmp_path / "data" / "steward.sqlite3.key" and len(key) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(database) == key
    assert key_path(":memory:") is None and len(load_or_create_key(":memory:")) == 32


def test_scrub_details_removes_nested_mentions_only():
    details = {"a": 1, "b": f"x{MEMBER}", f"k{MEMBER}": 1, "c": {"d": [MEMBER]}, "e": [2, 3]}
    assert scrub_details(details, MEMBER) == {"a": 1, "b": REMOVED, "c": REMOVED, "e": [2, 3]}


def test_a_pseudonym_is_stable_keyed_per_server_and_never_a_discord_id():
    key = b"k" * 32
    one = pseudonym_id(key, GUILD, MEMBER)
    assert one == pseudonym_id(key, GUILD, MEMBER) < 0
    assert one != pseudonym_id(b"j" * 32, GUILD, MEMBER)
    assert one != pseudonym_id(key, GUILD + 1, MEMBER)
    assert one != pseudonym_id(key, GUILD, OTHER)
    assert str(MEMBER) not in str(one) and pseudonym_label(one).startswith("former-")
    with pytest.raises(ValueError, match="too short"):
        pseudonym_id(b"short", GUILD, MEMBER)


async def test_a_forgotten_moderator_keeps_one_pseudonym_across_entries(db):
    clock = FakeClock()
    audit = AuditService(AuditRepository(db), clock)
    await audit.record(GUILD, MOD, "hold.approved", MEMBER, {"hold": 1})
    await audit.record(GUILD, MOD, "hold.rejected", OTHER, {"hold": 2})
    privacy = PrivacyService(db, clock, b"k" * 32)
    report = await privacy.forget(GUILD, MOD)
    rows = await db.fetchall("SELECT actor_id, target_id, details FROM audit_log "
                             "WHERE guild_id = ? ORDER BY id", (GUILD,))
    pseudonym = privacy.pseudonym(GUILD, MOD)
    assert [tuple(r) for r in rows] == [
        (pseudonym, MEMBER, f'{{"hold": 1, "actor": "{report.pseudonym}"}}'),
        (pseudonym, OTHER, f'{{"hold": 2, "actor": "{report.pseudonym}"}}'),
    ]
