"""SQL for follow-ups, their subscribers and members' follow-up preferences.

The reminders queue is in bot.db.reminders (re-exported here for older imports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db.database import Database, Row, from_db_time, to_db_time
from bot.db.reminders import (  # noqa: F401 - re-exported
    CANCELLED,
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    SENDING,
    SENT,
    STOOD_DOWN,
    Completion,
    FailedReminder,
    NewReminder,
    Reminder,
    ReminderRepository,
)

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"


def _time(value: int | None) -> datetime | None:
    return None if value is None else from_db_time(int(value))


@dataclass(frozen=True, slots=True)
class Followup:
    """One ask: who was tagged where, by whom, and whether they answered."""

    id: int
    guild_id: int
    channel_id: int
    in_thread: bool
    question_message_id: int
    op_id: int
    asker_id: int
    tag_message_id: int | None
    days: int
    status: str
    reason: str | None
    answer_message_id: int | None
    asked_at: datetime
    closed_at: datetime | None


def _followup(row: Row) -> Followup:
    return Followup(
        id=int(row["id"]), guild_id=int(row["guild_id"]), channel_id=int(row["channel_id"]),
        in_thread=bool(row["in_thread"]), question_message_id=int(row["question_message_id"]),
        op_id=int(row["op_id"]), asker_id=int(row["asker_id"]),
        tag_message_id=row["tag_message_id"], days=int(row["days"]), status=str(row["status"]),
        reason=row["reason"], answer_message_id=row["answer_message_id"],
        asked_at=from_db_time(int(row["asked_at"])), closed_at=_time(row["closed_at"]),
    )


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Someone who wants to know when the OP replies."""

    user_id: int
    notify_dm: bool


@dataclass(frozen=True, slots=True)
class MemberPrefs:
    """A member's follow-up wishes in one server."""

    pings: bool = True
    notify_dm: bool = False


class FollowupRepository:
    """Follow-ups, subscriptions and preferences."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, *, guild_id: int, channel_id: int, in_thread: bool,
                     question_message_id: int, op_id: int, asker_id: int, days: int,
                     now: datetime) -> Followup:
        """Record a new open follow-up (its tag message is set once posted)."""
        new_id = await self._db.insert(
            "INSERT INTO followups (guild_id, channel_id, in_thread, question_message_id, op_id,"
            " asker_id, days, status, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
            (guild_id, channel_id, int(in_thread), question_message_id, op_id, asker_id, days,
             to_db_time(now)),
        )
        found = await self.get(new_id)
        assert found is not None
        return found

    async def set_tag(self, followup_id: int, tag_message_id: int) -> None:
        """Remember the tag message (answers are counted after it)."""
        await self._db.execute(
            "UPDATE followups SET tag_message_id = ? WHERE id = ?", (tag_message_id, followup_id)
        )

    async def delete(self, followup_id: int) -> None:
        """Forget a follow-up whose tag could not be posted."""
        await self._db.execute("DELETE FROM followups WHERE id = ?", (followup_id,))

    async def get(self, followup_id: int) -> Followup | None:
        """One follow-up by id."""
        row = await self._db.fetchone("SELECT * FROM followups WHERE id = ?", (followup_id,))
        return None if row is None else _followup(row)

    async def for_tag(self, tag_message_id: int) -> Followup | None:
        """The follow-up whose tag message this is."""
        row = await self._db.fetchone(
            "SELECT * FROM followups WHERE tag_message_id = ?", (tag_message_id,))
        return None if row is None else _followup(row)

    async def open_for_question(self, guild_id: int,
                                question_message_id: int) -> Followup | None:
        """The open follow-up already asked under this question, if any."""
        row = await self._db.fetchone(
            "SELECT * FROM followups WHERE guild_id = ? AND question_message_id = ? "
            "AND status = 'open' ORDER BY id LIMIT 1", (guild_id, question_message_id))
        return None if row is None else _followup(row)

    async def open_in_channel(self, channel_id: int) -> list[Followup]:
        """Open follow-ups watching a thread or channel."""
        rows = await self._db.fetchall(
            "SELECT * FROM followups WHERE channel_id = ? AND status = 'open' ORDER BY id",
            (channel_id,),
        )
        return [_followup(r) for r in rows]

    async def open_channel_ids(self) -> set[int]:
        """Every thread/channel with an open follow-up (kept in memory by the service)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT channel_id FROM followups WHERE status = 'open'"
        )
        return {int(r["channel_id"]) for r in rows}

    async def open_for_op(self, guild_id: int, op_id: int) -> list[Followup]:
        """Open follow-ups that tag `op_id` in a guild."""
        rows = await self._db.fetchall(
            "SELECT * FROM followups WHERE guild_id = ? AND op_id = ? AND status = 'open'",
            (guild_id, op_id),
        )
        return [_followup(r) for r in rows]

    async def list_open(self, guild_id: int, limit: int = 25) -> list[Followup]:
        """Open follow-ups in a guild, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM followups WHERE guild_id = ? AND status = 'open' "
            "ORDER BY asked_at, id LIMIT ?",
            (guild_id, limit),
        )
        return [_followup(r) for r in rows]

    async def close(self, followup_id: int, status: str, reason: str, now: datetime,
                    *, answer_message_id: int | None = None) -> bool:
        """open -> answered/closed, once; False if it was no longer open."""
        changed = await self._db.execute(
            "UPDATE followups SET status = ?, reason = ?, answer_message_id = ?, closed_at = ? "
            "WHERE id = ? AND status = 'open'",
            (status, reason, answer_message_id, to_db_time(now), followup_id),
        )
        return changed == 1

    async def subscribe(self, followup_id: int, user_id: int, now: datetime) -> bool:
        """Add a subscriber; False if they already were one."""
        changed = await self._db.execute(
            "INSERT INTO followup_subscribers (followup_id, user_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (followup_id, user_id) DO NOTHING",
            (followup_id, user_id, to_db_time(now)),
        )
        return changed == 1

    async def unsubscribe(self, followup_id: int, user_id: int) -> bool:
        """Remove a subscriber; False if they weren't one."""
        changed = await self._db.execute(
            "DELETE FROM followup_subscribers WHERE followup_id = ? AND user_id = ?",
            (followup_id, user_id),
        )
        return changed == 1

    async def unsubscribe_member(self, guild_id: int, user_id: int) -> int:
        """Remove a member's subscriptions to every follow-up in a guild; returns how many.

        Reads only that member's rows (index followup_subscribers_user).
        """
        return await self._db.execute(
            "DELETE FROM followup_subscribers WHERE user_id = ? AND EXISTS ("
            "SELECT 1 FROM followups f WHERE f.id = followup_subscribers.followup_id "
            "AND f.guild_id = ?)",
            (user_id, guild_id),
        )

    async def take_subscribers(self, followup_id: int, guild_id: int,
                               now: datetime) -> list[Subscriber]:
        """Subscribers not yet notified, marked notified in the same transaction (once only).

        One conditional UPDATE ... RETURNING takes them: two processes (or two deliveries)
        asking at once never both get the same subscriber.
        """
        async with self._db.transaction() as tx:
            taken = await tx.fetchall(
                "UPDATE followup_subscribers SET notified_at = ? "
                "WHERE followup_id = ? AND notified_at IS NULL RETURNING user_id, created_at",
                (to_db_time(now), followup_id),
            )
            if not taken:
                return []
            ids = [int(r["user_id"]) for r in taken]
            marks = ", ".join("?" for _ in ids)
            prefs = await tx.fetchall(
                f"SELECT user_id, notify_dm FROM followup_prefs WHERE guild_id = ? "
                f"AND user_id IN ({marks})", (guild_id, *ids))
        dm = {int(r["user_id"]): bool(r["notify_dm"]) for r in prefs}
        order = sorted(taken, key=lambda r: (int(r["created_at"]), int(r["user_id"])))
        return [Subscriber(int(r["user_id"]), dm.get(int(r["user_id"]), False)) for r in order]

    async def subscriber_ids(self, followup_id: int) -> list[int]:
        """Everyone subscribed to a follow-up."""
        rows = await self._db.fetchall(
            "SELECT user_id FROM followup_subscribers WHERE followup_id = ? ORDER BY created_at",
            (followup_id,),
        )
        return [int(r["user_id"]) for r in rows]

    async def prefs(self, guild_id: int, user_id: int) -> MemberPrefs:
        """A member's wishes (defaults when never set)."""
        row = await self._db.fetchone(
            "SELECT pings, notify_dm FROM followup_prefs WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        if row is None:
            return MemberPrefs()
        return MemberPrefs(pings=bool(row["pings"]), notify_dm=bool(row["notify_dm"]))

    async def set_prefs(self, guild_id: int, user_id: int, now: datetime, *,
                        pings: bool | None = None, notify_dm: bool | None = None) -> MemberPrefs:
        """Change some of a member's wishes; returns them all."""
        current = await self.prefs(guild_id, user_id)
        new = MemberPrefs(
            pings=current.pings if pings is None else pings,
            notify_dm=current.notify_dm if notify_dm is None else notify_dm,
        )
        await self._db.execute(
            "INSERT INTO followup_prefs (guild_id, user_id, pings, notify_dm, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET "
            "pings = excluded.pings, notify_dm = excluded.notify_dm, "
            "updated_at = excluded.updated_at",
            (guild_id, user_id, int(new.pings), int(new.notify_dm), to_db_time(now)),
        )
        return new

    async def opted_out(self, guild_id: int) -> set[int]:
        """Members of a guild who turned follow-up pings off."""
        rows = await self._db.fetchall(
            "SELECT user_id FROM followup_prefs WHERE guild_id = ? AND pings = 0", (guild_id,)
        )
        return {int(r["user_id"]) for r in rows}
