"""SQL for the reminders queue: what the scheduler claims, delivers and records."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.db.database import POSTGRESQL, Database, Row, from_db_time, to_db_time
from bot.domain.shards import Shards

PENDING, RUNNING, SENDING = "pending", "running", "sending"
SENT, STOOD_DOWN, CANCELLED, FAILED = "sent", "stood_down", "cancelled", "failed"
FINISHED = (SENT, STOOD_DOWN, CANCELLED, FAILED)


def _time(value: Any) -> datetime | None:
    return None if value is None else from_db_time(int(value))



@dataclass(frozen=True, slots=True)
class NewReminder:
    """A reminder to schedule."""

    guild_id: int
    kind: str
    channel_id: int
    due_at: datetime
    member_id: int | None = None
    created_by: int | None = None
    followup_id: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    """A scheduled item, as stored."""

    id: int
    guild_id: int
    kind: str
    channel_id: int
    member_id: int | None
    created_by: int | None
    followup_id: int | None
    note: str | None
    due_at: datetime
    status: str
    attempts: int
    sends: int
    maybe_sent: bool
    sending_at: datetime | None
    fired_at: datetime | None
    message_id: int | None
    reason: str | None
    created_at: datetime


def _reminder(row: Row) -> Reminder:
    return Reminder(
        id=int(row["id"]), guild_id=int(row["guild_id"]), kind=str(row["kind"]),
        channel_id=int(row["channel_id"]), member_id=row["member_id"],
        created_by=row["created_by"], followup_id=row["followup_id"], note=row["note"],
        due_at=from_db_time(int(row["due_at"])), status=str(row["status"]),
        attempts=int(row["attempts"]), sends=int(row["sends"]),
        maybe_sent=bool(row["maybe_sent"]), sending_at=_time(row["sending_at"]),
        fired_at=_time(row["fired_at"]), message_id=row["message_id"], reason=row["reason"],
        created_at=from_db_time(int(row["created_at"])),
    )


@dataclass(frozen=True, slots=True)
class FailedReminder:
    """A reminder that could not be delivered."""

    id: int
    channel_id: int
    reason: str | None
    fired_at: datetime


@dataclass(frozen=True, slots=True)
class Completion:
    """How one claim of a reminder ended, to record (see `ReminderRepository.finish_many`)."""

    reminder_id: int
    attempts: int  # the claim it belongs to
    status: str
    fired_at: datetime
    reason: str | None = None
    message_id: int | None = None


# The scheduler's two queries on the queue; both read only the head of the partial index
# reminders_pending_due (tests check the plan).
NEXT_DUE_SQL = "SELECT MIN(due_at) FROM reminders WHERE status = 'pending'"
CLAIM_DUE_SQL = (
    "UPDATE reminders SET status = 'running', attempts = attempts + 1, updated_at = ? "
    "WHERE status = 'pending' AND id IN (SELECT id FROM reminders WHERE status = 'pending' "
    "AND due_at <= ? ORDER BY due_at, id LIMIT ?) RETURNING *"
)

# Rows per UPDATE in finish_many: 6 parameters each, well under SQLite's 32,766.
# One row of finish_many's VALUES list. The casts give PostgreSQL the column types (it reads
# bare parameters in VALUES as text); on SQLite they change nothing.
_DONE_ROW = ("(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), "
             "CAST(? AS BIGINT), CAST(? AS BIGINT))")

_FINISH_CHUNK = 500

# How long a claim holds before another process owning the server may take the row back.
DEFAULT_LEASE = timedelta(minutes=2)


def owner_token() -> str:
    """Names one running scheduler in ``claimed_by`` (host, pid and a random part)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class Claims:
    """How this process claims: the servers it owns, its token and its lease.

    Unsharded (the default), the process owns every server and is the only one: `recover`
    takes back every claimed row at start, as after any crash. Sharded, rows are claimed only
    in owned servers, and rows another process claimed are taken back only once their lease
    has expired (``claimed_until``); on PostgreSQL the claim skips rows another process has
    locked (``FOR UPDATE SKIP LOCKED``).
    """

    shards: Shards = Shards()
    lease: timedelta = DEFAULT_LEASE
    token: str = ""

    def owned_sql(self, column: str = "guild_id") -> tuple[str, list[Any]]:
        """`` AND <column's shard is ours>`` and its parameters ("" when everything is)."""
        if self.shards.everything or self.shards.ids is None:
            return "", []
        marks = ", ".join("?" for _ in self.shards.ids)
        return (f" AND (({column} >> 22) % ?) IN ({marks})",
                [self.shards.count, *self.shards.ids])

_INSERT_REMINDER = (
    "INSERT INTO reminders (guild_id, kind, followup_id, channel_id, member_id, created_by, "
    "note, due_at, status, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
)


def _reminder_params(new: NewReminder, now_ms: int) -> tuple[Any, ...]:
    return (new.guild_id, new.kind, new.followup_id, new.channel_id, new.member_id,
            new.created_by, new.note, to_db_time(new.due_at), now_ms, now_ms)


class ReminderRepository:
    """The persistent queue the scheduler reads from the head of its due-time index."""

    def __init__(self, db: Database, claims: Claims | None = None) -> None:
        self._db = db
        claims = claims or Claims()
        self.claims = claims if claims.token else Claims(claims.shards, claims.lease,
                                                         owner_token())

    @property
    def _lock(self) -> str:
        """Skip rows another process is claiming (PostgreSQL; SQLite has one writer)."""
        return " FOR UPDATE SKIP LOCKED" if self._db.dialect == POSTGRESQL else ""

    async def add(self, new: NewReminder, now: datetime) -> Reminder:
        """Schedule one reminder."""
        new_id = await self._db.insert(_INSERT_REMINDER, _reminder_params(new, to_db_time(now)))
        found = await self.get(new_id)
        assert found is not None
        return found

    async def add_many(self, items: Iterable[NewReminder], now: datetime) -> None:
        """Schedule many reminders in one transaction (imports and benchmarks)."""
        now_ms = to_db_time(now)
        await self._db.executemany(_INSERT_REMINDER,
                                   (_reminder_params(n, now_ms) for n in items))

    async def get(self, reminder_id: int) -> Reminder | None:
        """One reminder by id."""
        row = await self._db.fetchone("SELECT * FROM reminders WHERE id = ?", (reminder_id,))
        return None if row is None else _reminder(row)

    async def next_due_at(self) -> datetime | None:
        """The earliest due time of a pending reminder (one index probe).

        Sharded: of a pending reminder in an owned server, or the earliest moment another
        process's claim there expires (so a dead process's rows are taken back in time).
        """
        if not self.claims.shards.sharded:
            value = await self._db.fetchval(NEXT_DUE_SQL)
            return None if value is None else from_db_time(int(value))
        owned, params = self.claims.owned_sql()
        due = await self._db.fetchval(
            f"SELECT due_at FROM reminders WHERE status = 'pending'{owned} "
            "ORDER BY due_at, id LIMIT 1", params)
        expiry = await self._db.fetchval(
            "SELECT claimed_until FROM reminders WHERE status IN ('running', 'sending') "
            f"AND claimed_until IS NOT NULL AND claimed_by <> ?{owned} "
            "ORDER BY claimed_until LIMIT 1", [self.claims.token, *params])
        values = [int(v) for v in (due, expiry) if v is not None]
        return from_db_time(min(values)) if values else None

    async def claim_due(self, now: datetime, limit: int) -> list[Reminder]:
        """Up to `limit` reminders due by `now`, earliest first, moved to 'running'.

        One statement: the inner SELECT walks the head of the partial index
        ``reminders_pending_due``; the UPDATE bumps ``attempts``, which names this claim (a
        completion is recorded only against the claim that produced it).
        """
        now_ms = to_db_time(now)
        until = to_db_time(now + self.claims.lease)
        claims = self.claims
        async with self._db.transaction() as tx:
            if not claims.shards.sharded:
                rows = await tx.fetchall(CLAIM_DUE_SQL, (now_ms, now_ms, limit))
            else:
                await self._take_back_expired(tx, now_ms)
                owned, params = claims.owned_sql()
                rows = await tx.fetchall(
                    "UPDATE reminders SET status = 'running', attempts = attempts + 1, "
                    "updated_at = ?, claimed_by = ?, claimed_until = ? WHERE status = 'pending' "
                    "AND id IN (SELECT id FROM reminders WHERE status = 'pending' "
                    f"AND due_at <= ?{owned} ORDER BY due_at, id LIMIT ?{self._lock}) "
                    "RETURNING *", [now_ms, claims.token, until, now_ms, *params, limit])
        claimed = [_reminder(row) for row in rows]
        claimed.sort(key=lambda r: (r.due_at, r.id))  # RETURNING has no defined order
        return claimed

    async def mark_sending(self, reminder_id: int, now: datetime, *,
                           attempts: int | None = None) -> bool:
        """running -> sending, committed before the Discord call is made.

        With `attempts`, only for that claim of the reminder (a stale run changes nothing).
        """
        now_ms = to_db_time(now)
        sql = ("UPDATE reminders SET status = 'sending', sends = sends + 1, sending_at = ?, "
               "updated_at = ? WHERE id = ? AND status = 'running'")
        params: list[Any] = [now_ms, now_ms, reminder_id]
        if attempts is not None:
            sql += " AND attempts = ?"
            params.append(attempts)
        return await self._db.execute(sql, params) == 1

    async def finish(self, reminder_id: int, status: str, now: datetime, *,
                     reason: str | None = None, message_id: int | None = None) -> bool:
        """A running/sending reminder (its current claim) reaches a final state."""
        if status not in FINISHED:
            raise ValueError(f"not a final status: {status}")
        attempts = await self._db.fetchval(
            "SELECT attempts FROM reminders WHERE id = ?", (reminder_id,))
        if attempts is None:
            return False
        recorded = await self.finish_many(
            [Completion(reminder_id, int(attempts), status, now, reason, message_id)], now)
        return reminder_id in recorded

    async def finish_many(self, completions: Sequence[Completion], now: datetime) -> set[int]:
        """Record many final states in one transaction; returns the ids actually recorded.

        Each row changes only if it is still in the claim the completion belongs to
        (``status`` running/sending and the same ``attempts``), so a state transition happens
        exactly once, however late or repeated a completion arrives. Notes are purged.
        """
        for completion in completions:
            if completion.status not in FINISHED:
                raise ValueError(f"not a final status: {completion.status}")
        recorded: set[int] = set()
        for start in range(0, len(completions), _FINISH_CHUNK):
            chunk = completions[start:start + _FINISH_CHUNK]
            values = ", ".join(_DONE_ROW for _ in chunk)
            params: list[Any] = []
            for c in chunk:
                params += [c.reminder_id, c.attempts, c.status, c.reason, c.message_id,
                           to_db_time(c.fired_at)]
            params.append(to_db_time(now))
            async with self._db.transaction() as tx:
                rows = await tx.fetchall(
                    "WITH done (id, attempts, status, reason, message_id, fired_at) AS "
                    f"(VALUES {values}) "
                    "UPDATE reminders SET status = done.status, reason = done.reason, "
                    "message_id = done.message_id, fired_at = done.fired_at, note = NULL, "
                    "updated_at = ? FROM done WHERE reminders.id = done.id "
                    "AND reminders.attempts = done.attempts "
                    "AND reminders.status IN ('running', 'sending') RETURNING reminders.id",
                    params,
                )
            recorded.update(int(row[0]) for row in rows)
        return recorded

    async def retry(self, reminder_id: int, due_at: datetime, now: datetime, *,
                    maybe_sent: bool, attempts: int | None = None) -> bool:
        """Back to pending at `due_at` after a transient failure (of claim `attempts`)."""
        sql = ("UPDATE reminders SET status = 'pending', due_at = ?, "
               "maybe_sent = CASE WHEN ? = 1 THEN 1 ELSE maybe_sent END, updated_at = ? "
               "WHERE id = ? AND status IN ('running', 'sending')")
        params: list[Any] = [to_db_time(due_at), int(maybe_sent), to_db_time(now), reminder_id]
        if attempts is not None:
            sql += " AND attempts = ?"
            params.append(attempts)
        return await self._db.execute(sql, params) == 1

    async def _take_back_expired(self, tx: Any, now_ms: int) -> tuple[int, int]:
        """Sharded: owned rows whose claim (another process's) expired go back to pending."""
        owned, params = self.claims.owned_sql()
        taken = 0, 0
        for status, extra in (("running", ""), ("sending", ", maybe_sent = 1")):
            changed = await tx.execute(
                f"UPDATE reminders SET status = 'pending'{extra}, claimed_by = NULL, "
                "claimed_until = NULL, updated_at = ? WHERE status = ? AND id IN "
                "(SELECT id FROM reminders WHERE status = ? "
                "AND (claimed_until IS NULL OR claimed_until < ?) "
                f"AND (claimed_by IS NULL OR claimed_by <> ?){owned}{self._lock})",
                [now_ms, status, status, now_ms, self.claims.token, *params])
            taken = (taken[0] + changed, taken[1]) if status == "running" else (
                taken[0], taken[1] + changed)
        return taken

    async def recover(self, now: datetime) -> tuple[int, int]:
        """After a restart: running -> pending; sending -> pending with maybe_sent set.

        Sharded, only rows of owned servers whose claim has expired (another process may
        still be delivering the others).
        """
        now_ms = to_db_time(now)
        if self.claims.shards.sharded:
            async with self._db.transaction() as tx:
                return await self._take_back_expired(tx, now_ms)
        async with self._db.transaction() as tx:
            running = await tx.execute(
                "UPDATE reminders SET status = 'pending', updated_at = ? "
                "WHERE status = 'running'", (now_ms,))
            sending = await tx.execute(
                "UPDATE reminders SET status = 'pending', maybe_sent = 1, updated_at = ? "
                "WHERE status = 'sending'", (now_ms,))
        return running, sending

    async def release(self, now: datetime) -> int:
        """At a clean stop: this process's claimed rows never started go back to pending
        (only sharded processes stamp claims; others recover everything at start)."""
        return await self._db.execute(
            "UPDATE reminders SET status = 'pending', claimed_by = NULL, claimed_until = NULL, "
            "updated_at = ? WHERE status = 'running' AND claimed_by = ?",
            (to_db_time(now), self.claims.token))

    async def cancel(self, reminder_id: int, now: datetime, *, guild_id: int | None = None,
                     reason: str = "cancelled") -> bool:
        """pending -> cancelled (note purged); False if not pending (or another guild's)."""
        now_ms = to_db_time(now)
        sql = ("UPDATE reminders SET status = 'cancelled', reason = ?, note = NULL, "
               "fired_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'")
        params: list[Any] = [reason, now_ms, now_ms, reminder_id]
        if guild_id is not None:
            sql += " AND guild_id = ?"
            params.append(guild_id)
        return await self._db.execute(sql, params) == 1

    async def cancel_for_followup(self, followup_id: int, now: datetime,
                                  reason: str) -> list[Reminder]:
        """Cancel the pending reminders of a follow-up; returns the ones cancelled."""
        rows = await self._db.fetchall(
            "SELECT * FROM reminders WHERE followup_id = ? AND status = 'pending'",
            (followup_id,),
        )
        cancelled = []
        for row in rows:
            if await self.cancel(int(row["id"]), now, reason=reason):
                cancelled.append(_reminder(row))
        return cancelled

    async def snooze(self, reminder_id: int, due_at: datetime, now: datetime, *,
                     guild_id: int) -> bool:
        """Move a pending reminder to `due_at`."""
        changed = await self._db.execute(
            "UPDATE reminders SET due_at = ?, updated_at = ? "
            "WHERE id = ? AND guild_id = ? AND status = 'pending'",
            (to_db_time(due_at), to_db_time(now), reminder_id, guild_id),
        )
        return changed == 1

    async def list_pending(self, guild_id: int, limit: int = 25) -> list[Reminder]:
        """Pending reminders in a guild, soonest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM reminders WHERE guild_id = ? AND status = 'pending' "
            "ORDER BY due_at, id LIMIT ?",
            (guild_id, limit),
        )
        return [_reminder(r) for r in rows]

    async def count_pending(self, guild_id: int | None = None) -> int:
        """How many reminders wait (in one guild, or everywhere)."""
        if guild_id is None:
            value = await self._db.fetchval(
                "SELECT COUNT(*) FROM reminders WHERE status = 'pending'")
        else:
            value = await self._db.fetchval(
                "SELECT COUNT(*) FROM reminders WHERE guild_id = ? AND status = 'pending'",
                (guild_id,))
        return int(value or 0)

    async def for_followup(self, followup_id: int) -> list[Reminder]:
        """Every reminder of a follow-up, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM reminders WHERE followup_id = ? ORDER BY id", (followup_id,))
        return [_reminder(r) for r in rows]

    async def autochecks_for(self, channel_id: int) -> list[Reminder]:
        """The automatic check-ins scheduled for a forum post."""
        rows = await self._db.fetchall(
            "SELECT * FROM reminders WHERE kind = 'autocheck' AND channel_id = ? ORDER BY id",
            (channel_id,))
        return [_reminder(r) for r in rows]

    async def with_status(self, statuses: Sequence[str], limit: int = 100) -> list[Reminder]:
        """Reminders in the given states (diagnostics and tests)."""
        marks = ", ".join("?" for _ in statuses)
        rows = await self._db.fetchall(
            f"SELECT * FROM reminders WHERE status IN ({marks}) ORDER BY id LIMIT ?",
            (*statuses, limit),
        )
        return [_reminder(r) for r in rows]

    async def pending_for_member(self, guild_id: int, member_id: int) -> list[Reminder]:
        """Pending reminders that tag `member_id` in a guild (a departed member's, say)."""
        rows = await self._db.fetchall(
            "SELECT * FROM reminders WHERE guild_id = ? AND member_id = ? "
            "AND status = 'pending' ORDER BY id",
            (guild_id, member_id),
        )
        return [_reminder(r) for r in rows]

    async def failed_since(self, guild_id: int, since: datetime, *,
                           ignore: tuple[str, ...] = (), limit: int = 100) -> list[FailedReminder]:
        """A guild's reminders that failed after `since` (reasons in `ignore` left out),
        newest first."""
        sql = ("SELECT id, channel_id, reason, fired_at FROM reminders WHERE guild_id = ? "
               "AND status = 'failed' AND fired_at >= ?")
        params: list[object] = [guild_id, to_db_time(since)]
        if ignore:
            sql += f" AND COALESCE(reason, '') NOT IN ({', '.join('?' for _ in ignore)})"
            params.extend(ignore)
        rows = await self._db.fetchall(sql + " ORDER BY fired_at DESC, id DESC LIMIT ?",
                                       (*params, limit))
        return [FailedReminder(int(r["id"]), int(r["channel_id"]), r["reason"],
                               from_db_time(int(r["fired_at"]))) for r in rows]

    async def overdue(self, guild_id: int, due_before: datetime,
                      limit: int = 100) -> list[Reminder]:
        """A guild's pending reminders that were due before `due_before`, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM reminders WHERE guild_id = ? AND status = 'pending' AND due_at < ? "
            "ORDER BY due_at, id LIMIT ?",
            (guild_id, to_db_time(due_before), limit),
        )
        return [_reminder(r) for r in rows]
