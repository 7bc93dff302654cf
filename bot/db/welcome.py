"""SQL for welcomes: the support-group directory, welcome records, pending joins, suggestions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.db.database import Database, Row, from_db_time, to_db_time
from bot.domain.welcome import GroupFacts

PendingStatus = Literal["screening", "ready"]
LAST_SEEN_PREFIX = "welcome.last_seen:"  # bot_state key + guild id -> Unix ms
_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit


@dataclass(frozen=True, slots=True)
class SupportGroup:
    """A support group in a guild's directory."""

    id: int
    guild_id: int
    name: str
    channel_id: int
    description: str
    keywords: tuple[str, ...]
    role_id: int | None

    def facts(self) -> GroupFacts:
        """The group as the pure rules see it."""
        return GroupFacts(self.id, self.name, self.channel_id, self.description, self.keywords,
                          self.role_id)


@dataclass(frozen=True, slots=True)
class PendingJoin:
    """A join not greeted yet."""

    guild_id: int
    member_id: int
    joined_at: datetime
    status: PendingStatus
    due_at: datetime


@dataclass(frozen=True, slots=True)
class WelcomeRecord:
    """A member's welcome (or the note that they were a rejoin)."""

    guild_id: int
    member_id: int
    welcomed_at: datetime
    how: str
    channel_id: int | None
    message_id: int | None


def _group(row: Row) -> SupportGroup:
    keywords = tuple(k for k in str(row["keywords"]).split(",") if k)
    return SupportGroup(int(row["id"]), int(row["guild_id"]), str(row["name"]),
                        int(row["channel_id"]), str(row["description"]), keywords,
                        row["role_id"])


def _pending(row: Row) -> PendingJoin:
    return PendingJoin(int(row["guild_id"]), int(row["member_id"]),
                       from_db_time(int(row["joined_at"])), row["status"],
                       from_db_time(int(row["due_at"])))


class DuplicateGroup(ValueError):
    """A group with that name already exists in the guild."""


class WelcomeRepository:
    """Everything the welcome feature stores (ids and times only)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- groups

    async def add_group(
        self, guild_id: int, name: str, channel_id: int, description: str,
        keywords: Sequence[str], role_id: int | None, now: datetime,
    ) -> SupportGroup:
        """Add a group; DuplicateGroup if the name is taken (case-insensitively).

        One INSERT ... ON CONFLICT DO NOTHING: of two adds of one name, exactly one wins.
        """
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "INSERT INTO welcome_groups (guild_id, name, name_key, channel_id, description,"
                " keywords, role_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id, name_key) DO NOTHING RETURNING id",
                (guild_id, name, name.casefold(), channel_id, description, ",".join(keywords),
                 role_id, to_db_time(now)),
            )
        if not rows:
            raise DuplicateGroup(name)
        group_id = int(rows[0]["id"])
        return SupportGroup(group_id, guild_id, name, channel_id, description, tuple(keywords),
                            role_id)

    async def update_group(self, group: SupportGroup) -> SupportGroup:
        """Save a changed group (matched by id); DuplicateGroup if renamed onto another."""
        async with self._db.transaction() as tx:
            taken = await tx.fetchone(
                "SELECT id FROM welcome_groups WHERE guild_id = ? AND name_key = ? AND id <> ?",
                (group.guild_id, group.name.casefold(), group.id),
            )
            if taken is not None:
                raise DuplicateGroup(group.name)
            await tx.execute(
                "UPDATE welcome_groups SET name = ?, name_key = ?, channel_id = ?,"
                " description = ?, keywords = ?, role_id = ? WHERE id = ? AND guild_id = ?",
                (group.name, group.name.casefold(), group.channel_id, group.description,
                 ",".join(group.keywords), group.role_id, group.id, group.guild_id),
            )
        return group

    async def remove_group(self, guild_id: int, group_id: int) -> bool:
        """Delete a group (and its suggestion records); False if it was already gone."""
        changed = await self._db.execute(
            "DELETE FROM welcome_groups WHERE id = ? AND guild_id = ?", (group_id, guild_id)
        )
        return changed == 1

    async def groups(self, guild_id: int) -> list[SupportGroup]:
        """A guild's directory, by name."""
        rows = await self._db.fetchall(
            "SELECT * FROM welcome_groups WHERE guild_id = ? ORDER BY name_key", (guild_id,)
        )
        return [_group(row) for row in rows]

    async def group_named(self, guild_id: int, name: str) -> SupportGroup | None:
        """The group with this name (case-insensitive), if any."""
        row = await self._db.fetchone(
            "SELECT * FROM welcome_groups WHERE guild_id = ? AND name_key = ?",
            (guild_id, " ".join(name.split()).casefold()),
        )
        return None if row is None else _group(row)

    # --- welcome records

    async def record(self, guild_id: int, member_id: int) -> WelcomeRecord | None:
        """The member's welcome record, if any."""
        row = await self._db.fetchone(
            "SELECT * FROM welcome_records WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id),
        )
        if row is None:
            return None
        return WelcomeRecord(int(row["guild_id"]), int(row["member_id"]),
                             from_db_time(int(row["welcomed_at"])), str(row["how"]),
                             row["channel_id"], row["message_id"])

    async def claim(self, guild_id: int, member_ids: Iterable[int], how: str,
                    now: datetime) -> list[int]:
        """Record welcomes for those not welcomed before and drop their pending rows.

        Returns the members claimed now, in order: only they may be greeted. Claiming before
        sending means a crash mid-send can miss a welcome but never repeat one.
        """
        claimed: list[int] = []
        async with self._db.transaction() as tx:
            for member_id in member_ids:
                inserted = await tx.execute(
                    "INSERT INTO welcome_records (guild_id, member_id, welcomed_at, how)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, member_id) DO NOTHING",
                    (guild_id, member_id, to_db_time(now), how),
                )
                await tx.execute(
                    "DELETE FROM welcome_pending WHERE guild_id = ? AND member_id = ?",
                    (guild_id, member_id),
                )
                if inserted == 1:
                    claimed.append(member_id)
        return claimed

    async def unclaim(self, guild_id: int, member_ids: Iterable[int]) -> None:
        """Forget claimed welcomes that were never sent (the member left in between)."""
        await self._db.executemany(
            "DELETE FROM welcome_records WHERE guild_id = ? AND member_id = ?"
            " AND message_id IS NULL",
            [(guild_id, m) for m in member_ids],
        )

    async def set_message(self, guild_id: int, member_ids: Iterable[int], channel_id: int,
                          message_id: int, how: str | None = None) -> None:
        """Remember which message greeted these members."""
        ids = list(member_ids)
        if how is None:
            sql = ("UPDATE welcome_records SET channel_id = ?, message_id = ?"
                   " WHERE guild_id = ? AND member_id = ?")
            rows: list[tuple[object, ...]] = [(channel_id, message_id, guild_id, m) for m in ids]
        else:
            sql = ("UPDATE welcome_records SET channel_id = ?, message_id = ?, how = ?"
                   " WHERE guild_id = ? AND member_id = ?")
            rows = [(channel_id, message_id, how, guild_id, m) for m in ids]
        await self._db.executemany(sql, rows)

    async def count_records(self, guild_id: int) -> int:
        """How many members have a welcome record."""
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM welcome_records WHERE guild_id = ?", (guild_id,)) or 0)

    async def known(self, guild_id: int, member_ids: Iterable[int]) -> set[int]:
        """Which of these members have a welcome record or a pending join."""
        ids = list(member_ids)
        found: set[int] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = (  # only "?" placeholders are interpolated
                f"SELECT member_id FROM welcome_records WHERE guild_id = ? AND member_id IN"
                f" ({marks}) UNION SELECT member_id FROM welcome_pending WHERE guild_id = ?"
                f" AND member_id IN ({marks})"  # noqa: S608
            )
            rows = await self._db.fetchall(sql, (guild_id, *chunk, guild_id, *chunk))
            found.update(int(row["member_id"]) for row in rows)
        return found

    # --- last seen (for catching up on joins missed while offline)

    async def last_seen(self) -> dict[int, datetime]:
        """guild_id -> when Steward was last seen running there."""
        rows = await self._db.fetchall(
            "SELECT key, value FROM bot_state WHERE key LIKE ?", (LAST_SEEN_PREFIX + "%",)
        )
        return {int(str(r["key"])[len(LAST_SEEN_PREFIX):]): from_db_time(int(r["value"]))
                for r in rows}

    async def save_last_seen(self, guild_ids: Iterable[int], now: datetime) -> None:
        """Note that Steward is running in these guilds at `now` (one statement)."""
        stamp = to_db_time(now)
        rows: list[tuple[object, ...]] = [(f"{LAST_SEEN_PREFIX}{g}", str(stamp), stamp)
                                          for g in guild_ids]
        if not rows:
            return
        await self._db.executemany(
            "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            rows,
        )

    # --- pending joins

    async def add_pending(self, guild_id: int, member_id: int, joined_at: datetime,
                          status: PendingStatus, due_at: datetime) -> None:
        """Remember a join to greet later (replacing an older row for the member)."""
        await self._db.execute(
            "INSERT INTO welcome_pending (guild_id, member_id, joined_at, status, due_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, member_id) DO UPDATE SET"
            " joined_at = excluded.joined_at, status = excluded.status,"
            " due_at = excluded.due_at",
            (guild_id, member_id, to_db_time(joined_at), status, to_db_time(due_at)),
        )

    async def mark_ready(self, guild_id: int, member_id: int, due_at: datetime) -> bool:
        """Screening done: schedule the welcome; False unless the member was in screening."""
        changed = await self._db.execute(
            "UPDATE welcome_pending SET status = 'ready', due_at = ?"
            " WHERE guild_id = ? AND member_id = ? AND status = 'screening'",
            (to_db_time(due_at), guild_id, member_id),
        )
        return changed == 1

    async def remove_pending(self, guild_id: int, member_id: int) -> bool:
        """Forget a pending join (the member left); False if there was none."""
        changed = await self._db.execute(
            "DELETE FROM welcome_pending WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id),
        )
        return changed == 1

    async def pending(self, guild_id: int, member_id: int) -> PendingJoin | None:
        """The member's pending join, if any."""
        row = await self._db.fetchone(
            "SELECT * FROM welcome_pending WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id),
        )
        return None if row is None else _pending(row)

    async def due(self, now: datetime, limit: int = 1000) -> list[PendingJoin]:
        """Pending joins due at `now`, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM welcome_pending WHERE due_at <= ? ORDER BY due_at, joined_at"
            " LIMIT ?",
            (to_db_time(now), limit),
        )
        return [_pending(row) for row in rows]

    async def next_due(self) -> datetime | None:
        """When the next pending join falls due, if any."""
        value = await self._db.fetchval("SELECT MIN(due_at) FROM welcome_pending")
        return None if value is None else from_db_time(int(value))

    # --- suggestions

    async def claim_suggestion(self, guild_id: int, member_id: int, group_id: int,
                               now: datetime) -> bool:
        """Record a suggestion; False if this member was already pointed to this group."""
        inserted = await self._db.execute(
            "INSERT INTO welcome_suggestions (guild_id, member_id, group_id, suggested_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, member_id, group_id) DO NOTHING",
            (guild_id, member_id, group_id, to_db_time(now)),
        )
        return inserted == 1

    async def suggested(self, guild_id: int, member_id: int) -> set[int]:
        """Groups this member was already pointed to."""
        rows = await self._db.fetchall(
            "SELECT group_id FROM welcome_suggestions WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id),
        )
        return {int(row["group_id"]) for row in rows}

    async def purge_suggestions(self, before: datetime) -> int:
        """Delete suggestion records older than `before`; returns how many."""
        return await self._db.execute(
            "DELETE FROM welcome_suggestions WHERE suggested_at < ?", (to_db_time(before),)
        )
