"""What a database's schema is, read from the database itself, in one form for both backends.

Types, defaults, check constraints and partial-index predicates are normalized (BIGINT and
INTEGER are both `integer`, `'x'::text` is `'x'`, `= ANY (ARRAY[...])` is `IN (...)`), so the
schema the migrations give SQLite and PostgreSQL can be compared; `migrate-db` uses the foreign
keys to copy tables in dependency order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.db.database import SQLITE, Database

BOOKKEEPING = frozenset({"schema_migrations"})  # PostgreSQL's migration versions

_TYPES = {"integer": "integer", "bigint": "integer", "int": "integer", "smallint": "integer",
          "text": "text", "blob": "blob", "bytea": "blob"}
_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
              "d": "SET DEFAULT"}


@dataclass(frozen=True, slots=True)
class Column:
    """One column, normalized."""

    name: str
    type: str
    not_null: bool
    default: str | None


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key of a table."""

    columns: tuple[str, ...]
    table: str
    references: tuple[str, ...]
    on_delete: str


@dataclass(frozen=True, slots=True)
class Index:
    """An explicitly created index (not one backing a key or unique constraint)."""

    columns: tuple[str, ...]
    unique: bool
    where: str | None


@dataclass
class Table:
    """A table's columns, keys, constraints and indexes."""

    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    unique: set[tuple[str, ...]] = field(default_factory=set)
    foreign_keys: set[ForeignKey] = field(default_factory=set)
    checks: set[str] = field(default_factory=set)
    indexes: dict[str, Index] = field(default_factory=dict)


@dataclass
class Schema:
    """Every table of the application (migration bookkeeping left out)."""

    tables: dict[str, Table] = field(default_factory=dict)

    def dependency_order(self) -> list[str]:
        """Table names with every referenced table before the tables referencing it."""
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in ordered or name in visiting or name not in self.tables:
                return
            visiting.add(name)
            for fk in sorted(self.tables[name].foreign_keys, key=lambda f: f.table):
                visit(fk.table)
            visiting.discard(name)
            ordered.append(name)

        for name in sorted(self.tables):
            visit(name)
        return ordered


def normalize_expression(text: str) -> str:
    """A CHECK or index predicate in one spelling for both backends."""
    text = re.sub(r"::[a-z_ ]+?(\[\])?(?=[\s,)\]]|$)", "", text.strip())
    text = re.sub(r"(\w+) = ANY \(ARRAY\[(.*?)\]\)", r"\1 IN (\2)", text)
    text = " ".join(text.split())
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text.replace("( ", "(").replace(" )", ")").lower()


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _default(value: str | None) -> str | None:
    return None if value is None else normalize_expression(str(value))


async def describe(db: Database) -> Schema:
    """The schema of `db` (its current schema on PostgreSQL)."""
    if db.dialect == SQLITE:
        return await _describe_sqlite(db)
    return await _describe_postgres(db)


def _checks(create_sql: str) -> set[str]:
    sql = re.sub(r"--[^\n]*", "", create_sql)
    found: set[str] = set()
    for match in re.finditer(r"\bCHECK\s*\(", sql, re.IGNORECASE):
        depth, start = 1, match.end()
        i = start
        while depth and i < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        found.add(normalize_expression(sql[start:i - 1]))
    return found


async def _describe_sqlite(db: Database) -> Schema:
    schema = Schema()
    tables = await db.fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    for row in tables:
        name = str(row["name"])
        if name in BOOKKEEPING:
            continue
        table = Table(checks=_checks(str(row["sql"])))
        keys: list[tuple[int, str]] = []
        for col in await db.fetchall(f'PRAGMA table_info("{name}")'):
            pk = int(col["pk"])
            table.columns.append(Column(
                str(col["name"]), _TYPES[str(col["type"]).lower()],
                bool(col["notnull"]) or pk > 0, _default(col["dflt_value"])))
            if pk:
                keys.append((pk, str(col["name"])))
        table.primary_key = tuple(n for _, n in sorted(keys))
        fks: dict[int, list[tuple[str, str | None, str, str]]] = {}
        for fk in await db.fetchall(f'PRAGMA foreign_key_list("{name}")'):
            fks.setdefault(int(fk["id"]), []).append(
                (str(fk["from"]), fk["to"], str(fk["table"]), str(fk["on_delete"])))
        for parts in fks.values():
            table.foreign_keys.add(ForeignKey(tuple(p[0] for p in parts), parts[0][2],
                                              tuple(str(p[1]) for p in parts), parts[0][3]))
        for index in await db.fetchall(f'PRAGMA index_list("{name}")'):
            columns = tuple(str(c["name"]) for c in await db.fetchall(
                f'PRAGMA index_info("{index["name"]}")'))
            if index["origin"] == "u":
                table.unique.add(columns)
            elif index["origin"] == "c":
                sql = str(await db.fetchval(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                    (index["name"],)))
                where = re.split(r"\bWHERE\b", sql, maxsplit=1, flags=re.IGNORECASE)
                table.indexes[str(index["name"])] = Index(
                    columns, bool(index["unique"]),
                    normalize_expression(where[1].rstrip("; \n")) if len(where) > 1 else None)
        schema.tables[name] = table
    return schema


_PG_NAMES = ("ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY k(n, i) "
             "JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n ORDER BY k.i)")


async def _describe_postgres(db: Database) -> Schema:
    schema = Schema()
    tables = await db.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE'")
    for row in tables:
        if str(row[0]) not in BOOKKEEPING:
            schema.tables[str(row[0])] = Table()
    for col in await db.fetchall(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position"):
        table = schema.tables.get(str(col["table_name"]))
        if table is not None:
            table.columns.append(Column(
                str(col["column_name"]), _TYPES[str(col["data_type"])],
                col["is_nullable"] == "NO", _default(col["column_default"])))
    constraints = await db.fetchall(
        "SELECT c.contype::text AS contype, t.relname AS tbl, f.relname AS ref, "
        "c.confdeltype::text AS confdeltype, "
        "pg_get_constraintdef(c.oid) AS def, "
        + _PG_NAMES.format(keys="c.conkey", rel="c.conrelid") + " AS cols, "
        + _PG_NAMES.format(keys="c.confkey", rel="c.confrelid") + " AS ref_cols "
        "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace LEFT JOIN pg_class f ON f.oid = c.confrelid "
        "WHERE n.nspname = current_schema()")
    for con in constraints:
        table = schema.tables.get(str(con["tbl"]))
        if table is None:
            continue
        columns = tuple(con["cols"] or ())
        kind = str(con["contype"])
        if kind == "p":
            table.primary_key = columns
        elif kind == "u":
            table.unique.add(columns)
        elif kind == "f":
            table.foreign_keys.add(ForeignKey(columns, str(con["ref"]),
                                              tuple(con["ref_cols"] or ()),
                                              _ON_DELETE[str(con["confdeltype"])]))
        elif kind == "c":
            definition = str(con["def"])
            table.checks.add(normalize_expression(definition[definition.index("("):]))
    indexes = await db.fetchall(
        "SELECT i.relname AS name, t.relname AS tbl, x.indisunique AS uniq, "
        "pg_get_expr(x.indpred, x.indrelid) AS pred, "
        + _PG_NAMES.format(keys="x.indkey::int2[]", rel="x.indrelid") + " AS cols "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x'))")
    for index in indexes:
        table = schema.tables.get(str(index["tbl"]))
        if table is not None:
            table.indexes[str(index["name"])] = Index(
                tuple(index["cols"]), bool(index["uniq"]),
                None if index["pred"] is None else normalize_expression(str(index["pred"])))
    return schema
