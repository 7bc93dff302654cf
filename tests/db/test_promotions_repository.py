"""Trusted-role promotions storage (migration 0010) on every backend."""

from datetime import UTC, datetime, timedelta

from bot.db.promotions import PromotionRepository

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GUILD = 1_100_000_000_000_000_001  # past 32 bits: a narrow column would show
MEMBER = 1_200_000_000_000_000_002


async def test_remember_promote_once_and_a_rejoin_starts_over(db):
    repo = PromotionRepository(db)
    assert await repo.remember(GUILD, MEMBER, NOW)
    assert not await repo.remember(GUILD, MEMBER, NOW)  # same join: nothing changes
    await repo.set_due(GUILD, MEMBER, NOW + timedelta(days=3))
    waiting = await repo.get(GUILD, MEMBER)
    assert waiting is not None and waiting.due_at == NOW + timedelta(days=3)
    assert await repo.promoted(GUILD, MEMBER, NOW)
    assert not await repo.promoted(GUILD, MEMBER, NOW)  # exactly once
    assert await repo.get(GUILD, MEMBER) is None
    later = NOW + timedelta(days=30)
    assert await repo.remember(GUILD, MEMBER, later)  # left and came back
    again = await repo.get(GUILD, MEMBER)
    assert again is not None and again.joined_at == later and again.due_at is None
    await repo.forget(GUILD, MEMBER)
    assert await repo.get(GUILD, MEMBER) is None


async def test_waiting_members_come_in_bounded_batches_in_key_order(db):
    repo = PromotionRepository(db)
    for guild in (GUILD, GUILD + 1):
        for i in range(3):
            await repo.remember(guild, MEMBER + i, NOW)
    await repo.promoted(GUILD, MEMBER + 1, NOW)
    seen, after = [], None
    while batch := await repo.waiting_batch(after, 2):
        assert len(batch) <= 2
        seen += [(w.guild_id, w.member_id) for w in batch]
        after = (batch[-1].guild_id, batch[-1].member_id)
    assert seen == [(GUILD, MEMBER), (GUILD, MEMBER + 2), (GUILD + 1, MEMBER),
                    (GUILD + 1, MEMBER + 1), (GUILD + 1, MEMBER + 2)]


async def test_remember_many_stores_a_batch_and_keeps_promoted_rows(db):
    repo = PromotionRepository(db)
    await repo.remember(GUILD, MEMBER, NOW)
    await repo.promoted(GUILD, MEMBER, NOW)
    await repo.remember_many(GUILD, [(MEMBER, NOW), (MEMBER + 1, NOW - timedelta(days=9))])
    assert await repo.get(GUILD, MEMBER) is None  # same join date: still promoted
    other = await repo.get(GUILD, MEMBER + 1)
    assert other is not None and other.joined_at == NOW - timedelta(days=9)
