"""What the store tests share: fixed times and numbers, a backend opened on a file or a
PostgreSQL URL, a list, a campaign on it, closed attempts, and a look at the raw tables
of either backend (raw_rows, dump_text) for what the roles do not show."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from dialer.outcomes import ContactStatus, Outcome
from dialer.store import open_store
from dialer.store.base import AttemptResult, CampaignRecord, ContactBase, NewContact, NextStep
from dialer.store.sqlite import SqliteStore
from tests.pg_server import find_bin_dir

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NUMBERS = [f"+7912000000{i}" for i in range(10)]
RETRY_IN_1H = NextStep(ContactStatus.PENDING, due_at=T0 + timedelta(hours=1))
FINISHED = NextStep(ContactStatus.DONE, final_outcome=Outcome.ANSWERED)


@asynccontextmanager
async def open_test_store(path: Path | str) -> AsyncIterator[SqliteStore]:
    """The store at a file path (SQLite) or a postgresql:// URL."""
    store: Any = await open_store(path)
    try:
        yield store
    finally:
        await store.close()


async def raw_rows(location: Path | str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """One query on the backend's own tables, written with `?` marks."""
    if "://" not in str(location):
        with closing(sqlite3.connect(location)) as db:
            return db.execute(sql, params).fetchall()
    marks = iter(range(1, len(params) + 1))
    conn = await asyncpg.connect(str(location))
    try:
        rows = await conn.fetch(re.sub(r"\?", lambda _: f"${next(marks)}", sql), *params)
    finally:
        await conn.close()
    return [tuple(row) for row in rows]


def dump_text(location: Path | str) -> str:
    """Everything the base holds, as text (SQLite's dump, or pg_dump's)."""
    if "://" not in str(location):
        with closing(sqlite3.connect(location)) as db:
            return "\n".join(db.iterdump())
    bin_dir = find_bin_dir()
    assert bin_dir is not None
    found = subprocess.run(
        [str(bin_dir / "pg_dump"), "--data-only", "--dbname", str(location)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return found.stdout


async def add_clients(store: ContactBase, name: str = "clients", count: int = 3) -> None:
    """`count` contacts named "Client i" with a field i, on list `name`."""
    contacts = [
        NewContact(n, name=f"Client {i}", fields={"i": str(i)})
        for i, n in enumerate(NUMBERS[:count])
    ]
    await store.import_contacts(name, contacts)


async def open_spring(store: SqliteStore, count: int = 3) -> int:
    """Campaign "spring" on a list "clients" of `count` contacts; returns its id."""
    await add_clients(store, count=count)
    return (await store.open_campaign("spring", "clients", T0)).id


async def two_campaigns(store: SqliteStore) -> tuple[CampaignRecord, CampaignRecord]:
    """Campaigns "first" and "second" on one list "a" of three plain numbers."""
    await store.import_contacts("a", [NewContact(number=n) for n in NUMBERS[:3]])
    return (
        await store.open_campaign("first", "a", T0),
        await store.open_campaign("second", "a", T0),
    )


def done(attempt_id: str, outcome: Outcome, at: datetime, **kw: Any) -> AttemptResult:
    return AttemptResult(attempt_id=attempt_id, outcome=outcome, ended_at=at, **kw)
