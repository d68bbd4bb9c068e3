"""`dialer db copy`: a one-node SQLite base moved to PostgreSQL with all its history.

The source is opened as the dialer opens it (so it is migrated to the current SQLite
schema first), then read table by table, each in id order, and written with COPY into
an EMPTY PostgreSQL database (migrated the same way) in ONE transaction: a failed copy
leaves the target as empty as it was. Ids are kept (every reference stays right), the
identity sequences are moved past them, and each table's row count is checked on both
sides before the commit. A target that holds anything is refused: copying into a base
in use would mix two bases' ids.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dialer.store.base import StoreError
from dialer.store.migrations import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION

log = logging.getLogger(__name__)

# Parents before children (foreign keys); attempts in insertion order (their seq).
TABLES: tuple[tuple[str, str], ...] = (
    ("lists", "id"),
    ("contacts", "id"),
    ("campaigns", "id"),
    ("campaign_contacts", "campaign_id, contact_id"),
    ("attempts", "rowid"),
    ("do_not_call", "number, scope"),
    ("campaign_runtime", "campaign_id"),
    ("campaign_holds", "campaign_id"),
    ("audit_log", "id"),
    ("campaign_files", "name, version"),
    ("campaign_wanted", "name"),
    ("api_tokens", "id"),
    ("webhook_outbox", "id"),
)
_IDENTITIES = ("lists", "contacts", "campaigns", "audit_log", "api_tokens", "webhook_outbox")
_BATCH = 20_000


@dataclass(frozen=True)
class CopiedTable:
    table: str
    rows: int


async def copy_sqlite_to_postgres(sqlite_path: str, postgres_url: str) -> list[CopiedTable]:
    """Copy every table; returns the rows copied per table (checked on both sides)."""
    from dialer.store.postgres import PgConnection
    from dialer.store.postgres.migrations import SQLITE_SCHEMA_EQUIVALENT
    from dialer.store.sqlite import SqliteStore

    if SQLITE_SCHEMA_VERSION != SQLITE_SCHEMA_EQUIVALENT:
        raise StoreError(
            f"this dialer's SQLite schema ({SQLITE_SCHEMA_VERSION}) is not the one its"
            f" PostgreSQL schema mirrors ({SQLITE_SCHEMA_EQUIVALENT}): cannot copy"
        )
    await (await SqliteStore.open(sqlite_path)).close()  # migrated to the current schema
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        target = await PgConnection.open(postgres_url, max_size=1)
        try:
            async with target.write() as db:
                await _refuse_non_empty(db, target.url)
                copied = [await _copy_table(source, db, table, order) for table, order in TABLES]
                for table in _IDENTITIES:
                    await db.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                    )
        finally:
            await target.close()
    finally:
        source.close()
    log.info("copied %s to %s: %d rows", sqlite_path, target.url, sum(c.rows for c in copied))
    return copied


async def _refuse_non_empty(db: Any, url: str) -> None:
    for table, _ in TABLES:
        if await db.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            raise StoreError(
                f"{url} is not empty (table {table} has rows): copy into a new, empty"
                " database (createdb), never into a base in use"
            )


async def _copy_table(source: sqlite3.Connection, db: Any, table: str, order: str) -> CopiedTable:
    types = {
        r["column_name"]: r["data_type"]
        for r in await db.fetch(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1"
            " AND is_generated = 'NEVER' AND identity_generation IS DISTINCT FROM 'ALWAYS'",
            table,
        )
    }
    present = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
    columns = [c for c in present if c in types]
    converters = [_converter(types[c]) for c in columns]
    expected = int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    for batch in _batches(source, f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):
        records = [tuple(f(v) for f, v in zip(converters, row, strict=True)) for row in batch]
        await db.copy_records_to_table(table, records=records, columns=columns)
    written = int(await db.fetchval(f"SELECT count(*) FROM {table}"))
    if written != expected:
        raise StoreError(f"copy of {table}: {expected} rows read, {written} written: rolled back")
    return CopiedTable(table, written)


def _batches(source: sqlite3.Connection, query: str) -> Iterator[list[tuple[Any, ...]]]:
    cursor = source.execute(query)
    while batch := cursor.fetchmany(_BATCH):
        yield batch


def _converter(pg_type: str) -> Callable[[Any], Any]:
    """SQLite's loose values as PostgreSQL's column wants them."""
    kinds: dict[str, Callable[[Any], Any]] = {
        "double precision": float,
        "boolean": bool,
        "integer": int,
        "bigint": int,
    }
    convert = kinds.get(pg_type, str)
    return lambda value: None if value is None else convert(value)
