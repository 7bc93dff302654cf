"""SQL for the doctor: the findings the running bot last recorded, and what it reported."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db.database import Database, from_db_time, to_db_time
from bot.domain.doctor import Finding, Severity


@dataclass(frozen=True, slots=True)
class DoctorRun:
    """The last check of a guild."""

    guild_id: int
    checked_at: datetime
    fingerprint: str
    reported_fingerprint: str | None
    reported_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordedFinding:
    """A finding with when it was first and last seen."""

    finding: Finding
    first_seen: datetime
    last_seen: datetime


class DoctorRepository:
    """Stores each guild's current findings and the report-once state."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, guild_id: int, findings: list[Finding], fingerprint: str,
                   now: datetime) -> None:
        """Replace a guild's findings (keeping first-seen times) and record the run."""
        at = to_db_time(now)
        async with self._db.transaction() as tx:
            # One DELETE of the findings that are gone (no read-then-write).
            keep: list[object] = []
            for f in findings:
                keep += [f.code, f.subject]
            gone = "".join(" AND NOT (code = ? AND subject = ?)" for _ in findings)
            await tx.execute(f"DELETE FROM doctor_findings WHERE guild_id = ?{gone}",
                             (guild_id, *keep))
            for f in findings:
                await tx.execute(
                    "INSERT INTO doctor_findings (guild_id, code, subject, severity, message, "
                    "fix, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (guild_id, code, subject) DO UPDATE SET "
                    "severity = excluded.severity, message = excluded.message, "
                    "fix = excluded.fix, last_seen = excluded.last_seen",
                    (guild_id, f.code, f.subject, f.severity.value, f.message, f.fix, at, at),
                )
            await tx.execute(
                "INSERT INTO doctor_runs (guild_id, checked_at, fingerprint) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET checked_at = excluded.checked_at, "
                "fingerprint = excluded.fingerprint",
                (guild_id, at, fingerprint),
            )

    async def mark_reported(self, guild_id: int, fingerprint: str, now: datetime) -> bool:
        """Remember that `fingerprint` went to the mod log; False if it already had."""
        changed = await self._db.execute(
            "UPDATE doctor_runs SET reported_fingerprint = ?, reported_at = ? "
            "WHERE guild_id = ? AND (reported_fingerprint IS NULL OR reported_fingerprint <> ?)",
            (fingerprint, to_db_time(now), guild_id, fingerprint),
        )
        return changed == 1

    async def last_run(self, guild_id: int) -> DoctorRun | None:
        """The guild's last run, or None when the doctor never ran there."""
        row = await self._db.fetchone("SELECT * FROM doctor_runs WHERE guild_id = ?",
                                      (guild_id,))
        if row is None:
            return None
        return DoctorRun(
            guild_id=guild_id,
            checked_at=from_db_time(int(row["checked_at"])),
            fingerprint=str(row["fingerprint"]),
            reported_fingerprint=row["reported_fingerprint"],
            reported_at=None if row["reported_at"] is None
            else from_db_time(int(row["reported_at"])),
        )

    async def findings(self, guild_id: int) -> list[RecordedFinding]:
        """The guild's current findings, problems first."""
        rows = await self._db.fetchall(
            "SELECT * FROM doctor_findings WHERE guild_id = ? "
            "ORDER BY CASE severity WHEN 'problem' THEN 0 ELSE 1 END, code, subject",
            (guild_id,),
        )
        return [
            RecordedFinding(
                Finding(str(r["code"]), str(r["subject"]), Severity(r["severity"]),
                        str(r["message"]), str(r["fix"])),
                from_db_time(int(r["first_seen"])),
                from_db_time(int(r["last_seen"])),
            )
            for r in rows
        ]
