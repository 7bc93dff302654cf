"""Forget and purge on every backend: the rows are really gone (PostgreSQL has no
secure_delete; deleted means deleted from every query and dump)."""

from datetime import timedelta

from bot.clock import FakeClock
from bot.db.holds import HoldRepository
from bot.db.privacy import FEATURE_TABLES
from bot.db.schema import describe
from bot.services.privacy import PrivacyService
from tests.db.seed import GUILD, NOW, seed_every_table

GONE, STAYS = 1_500_000_000_000_000_005, 1_600_000_000_000_000_006


async def traces(db, needle: int) -> list[str]:
    """Every table.column holding `needle`, as a number or inside text."""
    hits = []
    schema = await describe(db)
    for table, spec in sorted(schema.tables.items()):
        for column in spec.columns:
            if column.type == "blob":
                continue
            count = await db.fetchval(
                f"SELECT COUNT(*) FROM {table} WHERE CAST({column.name} AS TEXT) LIKE ?",
                (f"%{needle}%",))
            if count:
                hits.append(f"{table}.{column.name}")
    return hits


async def test_forget_leaves_no_trace_of_the_member_and_keeps_the_other(db):
    await seed_every_table(db, (GONE, STAYS))
    privacy = PrivacyService(db, FakeClock(), b"k" * 32)
    privacy.register_tables("followups", opt_outs=privacy.followup_opt_outs)
    for name in FEATURE_TABLES:
        if name != "followups":
            privacy.register_tables(name)
    assert len(await traces(db, GONE)) >= 14  # the scan would prove nothing otherwise
    before_other = await traces(db, STAYS)

    report = await privacy.forget(GUILD, GONE)

    assert report.failed == () and report.total > 0
    assert await traces(db, GONE) == []
    assert await traces(db, STAYS) == before_other
    # The follow-up ping opt-out outlives the rows, as a keyed hash only.
    assert await privacy.has_opted_out(GUILD, GONE, "followups.pings")


async def test_retention_purge_deletes_content_and_attachment_bytes(db):
    await seed_every_table(db, (GONE,))
    holds = HoldRepository(db)
    decided = await holds.decided_unpurged()
    assert decided and (await holds.attachments(decided[0].id))[0].data == b"\x00\x01\xfe\xff"

    await holds.purge([h.id for h in decided], NOW + timedelta(days=31))
    await db.checkpoint()

    assert await db.fetchval("SELECT COUNT(*) FROM hold_attachments") == 0
    assert await db.fetchval(
        "SELECT COUNT(*) FROM holds WHERE content IS NOT NULL OR links IS NOT NULL "
        "OR reason IS NOT NULL") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM holds WHERE CAST(content AS TEXT) LIKE ?",
                             ("%scan results%",)) == 0
