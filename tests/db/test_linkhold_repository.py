"""Link-hold storage on every backend with every migration applied."""

import asyncio
from datetime import UTC, datetime, timedelta

from bot.db.hold_members import HighWaterRepository, PostCountRepository, TrustRepository
from bot.db.holds import HeldLink, HoldRepository, NewAttachment, NewHold

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _new(message_id=1000, member_id=7, content="see https://spam.example/x", **kw):
    values = dict(
        guild_id=1, channel_id=10, message_id=message_id, member_id=member_id, kind="message",
        content=content, links=(HeldLink("https://spam.example/x", "https://spam.example/x",
                                         "spam.example"),),
        dup_key=f"key-{member_id}-{content}",
    )
    values.update(kw)
    return NewHold(**values)


async def test_create_stores_everything_and_attachments_in_order(db):
    repo = HoldRepository(db)
    hold = await repo.create(_new(
        forum_title="Our story", forum_tag_ids=(5, 6), parent_id=99, kind="forum_post",
        reply_to_url="https://discord.com/channels/1/10/5",
        attachments=(
            NewAttachment(0, "scan.png", 3, "image/png", b"abc"),
            NewAttachment(1, "video.mp4", 10**9, "video/mp4", None, "too large"),
        ),
    ), NOW)
    assert hold is not None
    assert (hold.status, hold.step, hold.repeat_count) == ("pending", "stored", 1)
    assert hold.forum_tag_ids == (5, 6) and hold.parent_id == 99 and hold.is_forum_post
    assert hold.links[0].domain == "spam.example"
    assert hold.created_at == NOW
    files = await repo.attachments(hold.id)
    assert [(f.filename, f.data, f.not_kept_reason) for f in files] == [
        ("scan.png", b"abc", None), ("video.mp4", None, "too large")]


async def test_the_same_message_is_held_only_once(db):
    repo = HoldRepository(db)
    assert await repo.create(_new(), NOW) is not None
    assert await repo.create(_new(), NOW) is None
    assert len(await repo.pending(1)) == 1


async def test_duplicates_are_found_while_pending_and_counted(db):
    repo = HoldRepository(db)
    first = await repo.create(_new(), NOW)
    assert first is not None
    dup = await repo.pending_duplicate(1, 7, first.dup_key)
    assert dup is not None and dup.id == first.id
    assert await repo.bump_repeat(first.id) == 2
    assert await repo.pending_duplicate(1, 8, first.dup_key) is None
    assert await repo.reject(first.id, 99, "reject", None, NOW)
    assert await repo.pending_duplicate(1, 7, first.dup_key) is None


async def test_steps_are_recorded_and_unfinished_holds_listed(db):
    repo = HoldRepository(db)
    a = await repo.create(_new(1), NOW)
    b = await repo.create(_new(2), NOW)
    assert a and b
    await repo.mark_removed(a.id, "removed")
    await repo.mark_told(a.id, "dm")
    await repo.mark_queued(a.id, 50, 5000)
    await repo.mark_removed(b.id, "failed")
    unfinished = await repo.unfinished()
    assert [h.id for h in unfinished] == [b.id]
    assert unfinished[0].removal == "failed" and unfinished[0].step == "removed"
    done = await repo.get(a.id)
    assert done and (done.member_told, done.queue_message_id, done.step) == ("dm", 5000, "queued")


async def test_two_concurrent_approvals_have_exactly_one_winner(db):
    repo = HoldRepository(db)
    hold = await repo.create(_new(), NOW)
    assert hold
    results = await asyncio.gather(
        repo.begin_approval(hold.id, 100, "approve", NOW),
        repo.begin_approval(hold.id, 200, "approve", NOW),
        repo.reject(hold.id, 300, "reject", "spam", NOW),
    )
    assert sum(results) == 1
    winner = await repo.get(hold.id)
    assert winner and winner.decided_by == 100 and winner.status == "approving"
    assert await repo.finish_approval(hold.id, "https://discord.com/channels/1/10/77", NOW)
    assert not await repo.finish_approval(hold.id, "https://x", NOW)
    done = await repo.get(hold.id)
    assert done and done.status == "approved" and done.repost_url.endswith("/77")


async def test_an_aborted_approval_is_pending_again(db):
    repo = HoldRepository(db)
    hold = await repo.create(_new(), NOW)
    assert hold and await repo.begin_approval(hold.id, 100, "approve", NOW)
    assert [h.id for h in await repo.stuck_approvals()] == [hold.id]
    assert await repo.abort_approval(hold.id)
    again = await repo.get(hold.id)
    assert again and again.status == "pending" and again.decided_by is None


async def test_purge_removes_content_and_bytes_but_not_the_record(db):
    repo = HoldRepository(db)
    hold = await repo.create(_new(attachments=(NewAttachment(0, "a.png", 3, None, b"abc"),)),
                             NOW)
    pending = await repo.create(_new(2), NOW)
    assert hold and pending
    await repo.reject(hold.id, 100, "reject", "looks like spam", NOW)
    assert [h.id for h in await repo.decided_unpurged()] == [hold.id]
    await repo.purge([hold.id, pending.id], NOW + timedelta(days=31))
    purged = await repo.get(hold.id)
    assert purged and purged.content is None and purged.links == () and purged.reason is None
    assert purged.purged_at == NOW + timedelta(days=31) and purged.status == "rejected"
    assert await repo.attachments(hold.id) == []
    still = await repo.get(pending.id)
    assert still and still.content is not None  # pending holds are never purged
    assert await repo.decided_unpurged() == []


async def test_member_history_counts_by_status(db):
    repo = HoldRepository(db)
    a = await repo.create(_new(1), NOW)
    await repo.create(_new(2, content="other"), NOW)
    assert a and await repo.reject(a.id, 1, "reject", None, NOW)
    assert await repo.member_history(1, 7) == {"rejected": 1, "pending": 1}
    assert await repo.member_history(1, 8) == {}


async def test_trust_post_counts_and_high_water(db):
    trust = TrustRepository(db)
    assert await trust.trust(1, 7, 100, NOW)
    assert not await trust.trust(1, 7, 100, NOW)
    assert await trust.all() == {(1, 7)}
    assert await trust.untrust(1, 7) and not await trust.untrust(1, 7)

    counts = PostCountRepository(db)
    await counts.add(1, 7, NOW)
    await counts.add(1, 7, NOW, 2)
    assert await counts.all() == {(1, 7): 3}

    marks = HighWaterRepository(db)
    await marks.save({1: 123, 2: 456}, NOW)
    await marks.save({1: 789}, NOW)
    assert await marks.all() == {1: 789, 2: 456}


async def test_recent_waits_are_moderator_decisions_newest_first_within_the_window(db):
    repo = HoldRepository(db)
    waits = []
    for i, hours in enumerate((1, 3, 2)):
        hold = await repo.create(_new(message_id=2000 + i, member_id=20 + i), NOW)
        decided = NOW + timedelta(hours=hours)
        if i == 1:
            assert await repo.begin_approval(hold.id, 5, "approve", decided)
            assert await repo.finish_approval(hold.id, "https://x/1", decided)
        else:
            assert await repo.reject(hold.id, 5, "reject", None, decided)
        waits.append(timedelta(hours=hours))
    left = await repo.create(_new(message_id=2100, member_id=30), NOW)
    assert left is not None and await repo.close_for_member(1, 30, NOW + timedelta(days=9))
    await repo.create(_new(message_id=2200, member_id=31), NOW)  # still pending
    other = await repo.create(_new(message_id=2300, member_id=32, guild_id=2), NOW)
    assert await repo.reject(other.id, 5, "reject", None, NOW + timedelta(hours=50))
    got = await repo.recent_waits(1, NOW - timedelta(days=30))
    assert got == [timedelta(hours=3), timedelta(hours=2), timedelta(hours=1)]
    assert await repo.recent_waits(1, NOW - timedelta(days=30), limit=1) == [timedelta(hours=3)]
    assert await repo.recent_waits(1, NOW + timedelta(hours=2, minutes=30)) == [
        timedelta(hours=3)]


async def test_the_reviewer_ping_is_claimed_once_and_only_while_pending(db):
    repo = HoldRepository(db)
    hold = await repo.create(_new(message_id=3000), NOW)
    assert hold.pinged_at is None
    results = await asyncio.gather(*(repo.claim_ping(hold.id, NOW) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert (await repo.get(hold.id)).pinged_at == NOW
    await repo.release_ping(hold.id)  # the send failed: it may be claimed again
    assert await repo.claim_ping(hold.id, NOW + timedelta(minutes=1))
    decided = await repo.create(_new(message_id=3001, member_id=40), NOW)
    assert await repo.reject(decided.id, 5, "reject", None, NOW)
    assert not await repo.claim_ping(decided.id, NOW)
