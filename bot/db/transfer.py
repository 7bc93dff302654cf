"""Moves an installation between databases (`steward migrate-db`): every table, in dependency
order, into an empty target, with row counts and a checksum per table before and after."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.db.database import Database
from bot.db.migrations import MigrationError, migrate
from bot.db.schema import Schema, describe

_MODULUS = 2**256
_BATCH = 1000


class TransferError(Exception):
    """The copy was refused before anything was written."""


@dataclass(frozen=True, slots=True)
class TableSummary:
    """A table's row count and content checksum (independent of row order and backend)."""

    table: str
    rows: int
    checksum: str


@dataclass(frozen=True, slots=True)
class TransferReport:
    """Each table before (source) and after (target)."""

    version: int
    before: tuple[TableSummary, ...]
    after: tuple[TableSummary, ...]

    @property
    def mismatched(self) -> list[str]:
        """Tables whose count or checksum differ."""
        return [b.table for b, a in zip(self.before, self.after, strict=True) if b != a]

    @property
    def rows(self) -> int:
        """Rows copied."""
        return sum(s.rows for s in self.before)


async def summarize(db: Database, schema: Schema, table: str) -> TableSummary:
    """Count a table's rows and checksum them: the sum of each row's SHA-256 (mod 2**256), so
    the order rows come back in does not matter."""
    columns = ", ".join(c.name for c in schema.tables[table].columns)
    total = rows = 0
    async for batch in db.stream(f"SELECT {columns} FROM {table}"):
        for row in batch:
            values = tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
            digest = hashlib.sha256(repr(values).encode("utf-8")).digest()
            total = (total + int.from_bytes(digest, "big")) % _MODULUS
            rows += 1
    return TableSummary(table, rows, f"{total:064x}"[:16])


async def copy_database(source: Database, target: Database) -> TransferReport:
    """Copy every table of `source` into the empty `target` (migrated to the same version).

    Refuses (TransferError) a target that holds any row, is at a newer schema version, or
    whose tables differ. The copy is one transaction on the target; the summaries are taken
    after it committed, from the target itself.
    """
    version = await source.schema_version()
    if version == 0:
        raise TransferError(f"{source.label} holds no Steward database (schema version 0)")
    target_version = await target.schema_version()
    if target_version > version:
        raise TransferError(f"{target.label} is at schema version {target_version}, newer than "
                            f"the source ({version}): run `steward migrate` on the source first")
    try:
        await migrate(target, up_to=version)
    except MigrationError as exc:
        raise TransferError(f"{target.label}: {exc}") from exc
    source_schema, target_schema = await describe(source), await describe(target)
    if set(source_schema.tables) != set(target_schema.tables):
        raise TransferError("the source and target have different tables: "
                            f"{sorted(set(source_schema.tables) ^ set(target_schema.tables))}")
    order = source_schema.dependency_order()
    for table in order:
        if await target.fetchval(f"SELECT 1 FROM {table} LIMIT 1") is not None:
            raise TransferError(f"{target.label} is not empty ({table} has rows): migrate-db "
                                "only fills an empty database")
    before = [await summarize(source, source_schema, t) for t in order]
    async with target.transaction() as tx:
        for table in order:
            names = [c.name for c in source_schema.tables[table].columns]
            insert = (f"INSERT INTO {table} ({', '.join(names)}) "
                      f"VALUES ({', '.join('?' for _ in names)})")
            async for batch in source.stream(f"SELECT {', '.join(names)} FROM {table}", (),
                                             _BATCH):
                await tx.executemany(insert, [tuple(row) for row in batch])
    for table in order:
        if target_schema.tables[table].primary_key == ("id",):
            await target.reset_identity(table)
    after = [await summarize(target, target_schema, t) for t in order]
    return TransferReport(version, tuple(before), tuple(after))
