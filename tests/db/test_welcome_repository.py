"""Welcome storage on every backend with every migration applied."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.db.welcome import DuplicateGroup, SupportGroup, WelcomeRepository

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_groups_are_unique_per_guild_case_insensitively(db):
    repo = WelcomeRepository(db)
    group = await repo.add_group(1, "Colorectal Cancer", 10, "Bowel and colon cancer",
                                 ("colon", "colorectal"), 55, NOW)
    assert (await repo.group_named(1, "colorectal  CANCER")) == group
    assert group.facts().keywords == ("colon", "colorectal")
    with pytest.raises(DuplicateGroup):
        await repo.add_group(1, "COLORECTAL cancer", 11, "", (), None, NOW)
    other_guild = await repo.add_group(2, "Colorectal Cancer", 11, "", (), None, NOW)
    assert other_guild.id != group.id
    await repo.add_group(1, "Grief", 12, "", (), None, NOW)
    assert [g.name for g in await repo.groups(1)] == ["Colorectal Cancer", "Grief"]


async def test_update_and_remove_group(db):
    repo = WelcomeRepository(db)
    group = await repo.add_group(1, "Grief", 12, "", (), None, NOW)
    await repo.add_group(1, "Caregivers", 13, "", (), None, NOW)
    renamed = SupportGroup(group.id, 1, "Loss and Grief", 14, "d", ("loss",), None)
    await repo.update_group(renamed)
    assert await repo.group_named(1, "loss and grief") == renamed
    with pytest.raises(DuplicateGroup):
        await repo.update_group(SupportGroup(group.id, 1, "caregivers", 14, "", (), None))
    assert await repo.claim_suggestion(1, 7, group.id, NOW)
    assert await repo.remove_group(1, group.id)
    assert not await repo.remove_group(1, group.id)
    assert await repo.suggested(1, 7) == set()  # suggestions go with their group


async def test_claim_is_once_per_member_even_when_racing(db):
    repo = WelcomeRepository(db)
    await repo.add_pending(1, 7, NOW, "ready", NOW + timedelta(seconds=10))
    results = await asyncio.gather(*(repo.claim(1, [7, 8], "burst", NOW) for _ in range(5)))
    assert sorted(m for r in results for m in r) == [7, 8]
    assert await repo.pending(1, 7) is None
    assert await repo.claim(1, [7], "single", NOW) == []
    record = await repo.record(1, 7)
    assert record is not None and record.how == "burst" and record.message_id is None
    await repo.set_message(1, [7, 8], 99, 1234)
    assert (await repo.record(1, 8)).message_id == 1234
    await repo.set_message(1, [7], 99, 1235, how="resend")
    assert (await repo.record(1, 7)).how == "resend"
    assert await repo.count_records(1) == 2
    await repo.claim(1, [9], "burst", NOW)
    await repo.unclaim(1, [7, 9])  # 7 was sent: kept; 9 never was: forgotten
    assert await repo.record(1, 9) is None and await repo.record(1, 7) is not None


async def test_pending_screening_then_ready_and_due_order(db):
    repo = WelcomeRepository(db)
    await repo.add_pending(1, 7, NOW, "screening", NOW + timedelta(minutes=10))
    await repo.add_pending(1, 8, NOW, "ready", NOW + timedelta(seconds=10))
    assert await repo.next_due() == NOW + timedelta(seconds=10)
    assert [p.member_id for p in await repo.due(NOW + timedelta(seconds=10))] == [8]
    assert await repo.mark_ready(1, 7, NOW + timedelta(seconds=1))
    assert not await repo.mark_ready(1, 7, NOW)  # only once, and only from screening
    due = await repo.due(NOW + timedelta(seconds=10))
    assert [(p.member_id, p.status) for p in due] == [(7, "ready"), (8, "ready")]
    assert await repo.remove_pending(1, 7)
    assert not await repo.remove_pending(1, 7)
    assert await repo.pending(1, 7) is None


async def test_suggestions_once_per_member_per_group_and_purged(db):
    repo = WelcomeRepository(db)
    a = await repo.add_group(1, "A", 10, "", ("alpha",), None, NOW)
    b = await repo.add_group(1, "B", 11, "", ("beta",), None, NOW)
    assert await repo.claim_suggestion(1, 7, a.id, NOW)
    assert not await repo.claim_suggestion(1, 7, a.id, NOW)
    assert await repo.claim_suggestion(1, 7, b.id, NOW + timedelta(days=400))
    assert await repo.claim_suggestion(1, 8, a.id, NOW)
    assert await repo.suggested(1, 7) == {a.id, b.id}
    assert await repo.purge_suggestions(NOW + timedelta(days=1)) == 2
    assert await repo.suggested(1, 7) == {b.id}


async def test_last_seen_per_guild_and_known_members(db):
    repo = WelcomeRepository(db)
    assert await repo.last_seen() == {}
    await repo.save_last_seen([1, 2], NOW)
    await repo.save_last_seen([2], NOW + timedelta(minutes=5))
    assert await repo.last_seen() == {1: NOW, 2: NOW + timedelta(minutes=5)}
    await repo.claim(1, [10], "single", NOW)
    await repo.add_pending(1, 11, NOW, "screening", NOW + timedelta(minutes=10))
    await repo.claim(2, [12], "single", NOW)  # another guild's record
    assert await repo.known(1, [10, 11, 12, 13]) == {10, 11}
    assert await repo.known(1, range(10_000, 11_200)) == set()  # chunked past 500 ids
    assert await repo.known(1, []) == set()
