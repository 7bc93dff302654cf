"""Do-not-tag marks on every backend with every migration applied."""

from datetime import UTC, datetime, timedelta

from bot.db.care import DoNotTagRepository

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_mark_change_list_and_unmark(db):
    repo = DoNotTagRepository(db)
    assert not await repo.is_marked(1, 10)
    assert await repo.mark(1, 10, "asked", 99, NOW) is True
    assert await repo.mark(1, 10, "in_memoriam", 98, NOW + timedelta(hours=1)) is False
    mark = await repo.get(1, 10)
    assert mark is not None
    # A second mark changes the reason, not who marked them first or when.
    assert (mark.reason, mark.marked_by, mark.marked_at) == ("in_memoriam", 99, NOW)
    assert await repo.mark(1, 11, "asked", 99, NOW + timedelta(minutes=5))
    assert await repo.mark(2, 10, "asked", 99, NOW)  # another guild: its own mark
    assert [m.member_id for m in await repo.in_guild(1)] == [11, 10]
    removed = await repo.unmark(1, 10)
    assert removed is not None and removed.reason == "in_memoriam"
    assert await repo.unmark(1, 10) is None
    assert not await repo.is_marked(1, 10) and await repo.is_marked(2, 10)
