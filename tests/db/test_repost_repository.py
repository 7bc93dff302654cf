"""Repost storage on every backend with every migration applied."""

import asyncio
from datetime import UTC, datetime, timedelta

from bot.db.reposts import RepostRepository

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def begin_args(key="k1", **over):
    args = dict(guild_id=1, member_id=7, moderator_id=9, destination_id=100, mode="webhook",
                source="hold:3", key=key, head_len=0, tail_len=40, part_count=2, now=NOW)
    args.update(over)
    return args


async def test_begin_is_once_per_key_even_when_racing(db):
    repo = RepostRepository(db)
    results = await asyncio.gather(*(repo.begin(**begin_args()) for _ in range(5)))
    assert sum(created for _, created in results) == 1
    assert len({record.id for record, _ in results}) == 1
    record = results[0][0]
    assert record.status == "pending" and record.message_ids == ()
    assert record.source == "hold:3" and record.tail_len == 40


async def test_parts_recorded_in_order_and_found_by_any_message(db):
    repo = RepostRepository(db)
    record, _ = await repo.begin(**begin_args())
    await repo.set_target(record.id, mode="webhook", channel_id=555, created_thread=True,
                          webhook_id=77, head_len=0, tail_len=40, part_count=2)
    await repo.add_message(record.id, 1, 1002)
    await repo.add_message(record.id, 0, 555)
    await repo.add_message(record.id, 0, 555)  # idempotent
    assert await repo.mark_published(record.id, "dm", NOW + timedelta(seconds=1))
    assert not await repo.mark_published(record.id, "dm", NOW)  # only once
    for message_id in (555, 1002):
        found = await repo.by_message(message_id)
        assert found is not None and found.id == record.id
        assert found.message_ids == (555, 1002)
        assert found.status == "published" and found.member_notified == "dm"
        assert found.created_thread and found.webhook_id == 77 and found.part_count == 2
    assert await repo.by_message(4242) is None


async def test_thread_id_finds_a_repost_that_created_the_thread(db):
    repo = RepostRepository(db)
    record, _ = await repo.begin(**begin_args())
    await repo.set_target(record.id, mode="bot", channel_id=8080, created_thread=True,
                          webhook_id=None, head_len=10, tail_len=40, part_count=1)
    await repo.add_message(record.id, 0, 8081)
    found = await repo.by_message(8080)
    assert found is not None and found.mode == "bot"
    # A thread merely posted into (not created) is not the repost's "OP" thread.
    other, _ = await repo.begin(**begin_args(key="k2"))
    await repo.set_target(other.id, mode="bot", channel_id=9090, created_thread=False,
                          webhook_id=None, head_len=0, tail_len=40, part_count=1)
    assert await repo.by_message(9090) is None


async def test_retire_frees_the_key(db):
    repo = RepostRepository(db)
    record, _ = await repo.begin(**begin_args())
    assert await repo.retire(record.id, "deleted")
    assert not await repo.retire(record.id, "deleted")
    again, created = await repo.begin(**begin_args())
    assert created and again.id != record.id
    old = await repo.get(record.id)
    assert old is not None and old.status == "deleted"


async def test_pending_and_edit_and_forget(db):
    repo = RepostRepository(db)
    a, _ = await repo.begin(**begin_args(key="a"))
    b, _ = await repo.begin(**begin_args(key="b", guild_id=2))
    await repo.add_message(a.id, 0, 1)
    await repo.add_message(a.id, 1, 2)
    assert [r.id for r in await repo.pending()] == [a.id, b.id]
    assert [r.id for r in await repo.pending(2)] == [b.id]
    await repo.remove_messages_from(a.id, 1)
    await repo.mark_edited(a.id, NOW)
    edited = await repo.get(a.id)
    assert edited is not None and edited.message_ids == (1,) and edited.edited_at == NOW
    assert await repo.forget_member(1, 7) == 1
    assert await repo.get(a.id) is None
    assert await repo.by_message(1) is None  # its messages went with it


async def test_published_for_lists_a_members_live_reposts_newest_first(db):
    repo = RepostRepository(db)
    ids = []
    for n, member in enumerate((7, 7, 8, 7)):
        record, _ = await repo.begin(**begin_args(key=f"p{n}", member_id=member))
        await repo.add_message(record.id, 0, 9000 + n)
        if n != 3:  # the last one is still pending
            await repo.mark_published(record.id, "dm", NOW)
        ids.append(record.id)
    await repo.retire(ids[0], "deleted")
    found = await repo.published_for(1, 7)
    assert [r.id for r in found] == [ids[1]] and found[0].message_ids == (9001,)
    assert [r.id for r in await repo.published_for(1, 8)] == [ids[2]]
    assert await repo.published_for(2, 7) == []
