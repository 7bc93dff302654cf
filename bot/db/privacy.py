"""SQL for privacy: anonymizing the audit trail and keeping opt-outs as keyed hashes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.db.database import Database, to_db_time
from bot.domain.privacy import pseudonym_label, scrub_details


class PrivacyRepository:
    """Audit anonymization and hashed opt-outs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def anonymize_audit(self, guild_id: int, user_id: int, pseudonym: int) -> int:
        """Remove a member from the guild's audit trail; returns the entries touched.

        Entries about them keep only the action and the time. Entries they did stay
        accountable: the actor becomes `pseudonym` (the same for all their entries) and the
        details lose only what mentions them. Any other entry mentioning their id has that
        detail removed.
        """
        needle = f"%{user_id}%"
        touched = 0
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id, actor_id, target_id, details FROM audit_log WHERE guild_id = ? "
                "AND (actor_id = ? OR target_id = ? OR details LIKE ?)",
                (guild_id, user_id, user_id, needle),
            )
            for row in rows:
                about_them = row["target_id"] == user_id
                details: dict[str, Any] = json.loads(row["details"] or "{}")
                cleaned: dict[str, Any] = (
                    {"anonymized": True} if about_them else scrub_details(details, user_id))
                if row["actor_id"] == user_id:
                    cleaned["actor"] = pseudonym_label(pseudonym)
                touched += await tx.execute(
                    "UPDATE audit_log SET "
                    "actor_id = CASE WHEN actor_id = ? THEN ? ELSE actor_id END, "
                    "target_id = CASE WHEN target_id = ? THEN NULL ELSE target_id END, "
                    "details = ? WHERE id = ?",
                    (user_id, pseudonym, user_id, json.dumps(cleaned), row["id"]),
                )
        return touched

    async def add_opt_out(self, guild_id: int, scope: str, user_hmac: str,
                          now: datetime) -> None:
        """Record an opt-out (idempotent)."""
        await self._db.execute(
            "INSERT INTO privacy_opt_outs (guild_id, scope, user_hmac, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, scope, user_hmac) DO NOTHING",
            (guild_id, scope, user_hmac, to_db_time(now)),
        )

    async def remove_opt_out(self, guild_id: int, scope: str, user_hmac: str) -> bool:
        """Withdraw an opt-out; True when one existed."""
        return await self._db.execute(
            "DELETE FROM privacy_opt_outs WHERE guild_id = ? AND scope = ? AND user_hmac = ?",
            (guild_id, scope, user_hmac),
        ) == 1

    async def has_opt_out(self, guild_id: int, scope: str, user_hmac: str) -> bool:
        """Whether this (hashed) member opted out of `scope`."""
        value = await self._db.fetchval(
            "SELECT 1 FROM privacy_opt_outs WHERE guild_id = ? AND scope = ? AND user_hmac = ?",
            (guild_id, scope, user_hmac),
        )
        return value is not None


@dataclass(frozen=True, slots=True)
class PersonalColumns:
    """Where a table holds people, for forgetting one of them in one guild.

    `about`: the row is about that person (their post, their reminder): delete the row.
    `by`: the person acted on someone else's row (a moderator): the column gets their
    pseudonym (see `bot.domain.privacy.pseudonym_id`; without one: NULL, or 0 for NOT NULL
    columns) and the row stays for the other person's sake.
    `scope`: SQL that limits rows to the guild (`?` is the guild id).
    """

    table: str
    about: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    scope: str = "guild_id = ?"
    not_null: tuple[str, ...] = ()


# The tables of each feature (migrations 0002-0005). Child tables whose rows are removed by
# ON DELETE CASCADE (hold_attachments, repost_messages, reminders of a deleted follow-up,
# followup_subscribers of one) still get their own entry where a person appears in them
# directly.
FEATURE_TABLES: dict[str, tuple[PersonalColumns, ...]] = {
    "repost": (
        PersonalColumns("reposts", about=("member_id",), by=("moderator_id",),
                        not_null=("moderator_id",)),
    ),
    "linkhold": (
        PersonalColumns("holds", about=("member_id",), by=("decided_by",)),
        PersonalColumns("trusted_members", about=("member_id",), by=("trusted_by",)),
        PersonalColumns("member_post_counts", about=("member_id",)),
        PersonalColumns("member_promotions", about=("member_id",)),
    ),
    "followups": (
        PersonalColumns("followups", about=("op_id",), by=("asker_id",),
                        not_null=("asker_id",)),
        PersonalColumns("followup_subscribers", about=("user_id",),
                        scope="followup_id IN (SELECT id FROM followups WHERE guild_id = ?)"),
        PersonalColumns("followup_prefs", about=("user_id",)),
        PersonalColumns("reminders", about=("member_id",), by=("created_by",)),
    ),
    "welcome": (
        PersonalColumns("welcome_records", about=("member_id",)),
        PersonalColumns("welcome_pending", about=("member_id",)),
        PersonalColumns("welcome_suggestions", about=("member_id",)),
    ),
    "care": (
        PersonalColumns("care_alerts", about=("member_id",), by=("claimed_by", "support_by")),
        PersonalColumns("do_not_tag", about=("member_id",), by=("marked_by",)),
    ),
}


class PersonalData:
    """Forgets one person in one guild across a feature's tables (see PersonalColumns)."""

    def __init__(self, db: Database, tables: tuple[PersonalColumns, ...]) -> None:
        self._db = db
        self._tables = tables

    async def forget(self, guild_id: int, user_id: int, pseudonym: int | None = None) -> int:
        """Delete the rows about them and put `pseudonym` where they acted; returns rows
        touched."""
        touched = 0
        async with self._db.transaction() as tx:
            for spec in self._tables:
                for column in spec.about:
                    touched += await tx.execute(
                        f"DELETE FROM {spec.table} WHERE {column} = ? AND {spec.scope}",
                        (user_id, guild_id))
                for column in spec.by:
                    blank = pseudonym if pseudonym is not None else (
                        0 if column in spec.not_null else None)
                    touched += await tx.execute(
                        f"UPDATE {spec.table} SET {column} = ? WHERE {column} = ? "
                        f"AND {spec.scope}", (blank, user_id, guild_id))
        return touched

    async def followup_pings_off(self, guild_id: int, user_id: int) -> bool:
        """Whether the person turned follow-up pings off (an opt-out to keep, hashed)."""
        value = await self._db.fetchval(
            "SELECT 1 FROM followup_prefs WHERE guild_id = ? AND user_id = ? AND pings = 0",
            (guild_id, user_id))
        return value is not None
