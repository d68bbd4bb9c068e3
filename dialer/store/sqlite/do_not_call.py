"""The do-not-call lists on SQLite: the global one and one per campaign, in one table
whose `scope` is '' (global) or the campaign's name.

add_entries is also used inside other write transactions (an opt-out closing an
attempt, an erasure); ON_DO_NOT_CALL is the condition lease_due and enrolment use.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

from dialer.store.column_values import GLOBAL_SCOPE, dt, scope_of, ts
from dialer.store.number_checks import checked_numbers
from dialer.store.person_records import ERASURE_SOURCE, DoNotCallEntry
from dialer.store.row_records import do_not_call_entry
from dialer.store.sqlite.connection import SqliteRole

_IN_CHUNK = 500  # numbers per "IN (...)": far below SQLite's bound-parameter limit

# `c` is the contact, `?` the campaign's id: the number is on the global list or on the
# list of the campaign it is enrolled in.
ON_DO_NOT_CALL = (
    "EXISTS (SELECT 1 FROM do_not_call d WHERE d.number = c.number"
    " AND d.scope IN ('', (SELECT name FROM campaigns WHERE id = ?)))"
)


class SqliteDoNotCall(SqliteRole):
    """The do-not-call part of ContactBase (see dialer.store.base for the contract)."""

    async def add_do_not_call(
        self, numbers: Iterable[str], source: str, now: datetime, campaign: str | None = None
    ) -> int:
        batch = checked_numbers(numbers)
        with self._conn.write() as db:
            return add_entries(db, batch, source, ts(now), campaign)

    async def remove_do_not_call(self, numbers: Iterable[str], campaign: str | None = None) -> int:
        scope = scope_of(campaign)
        with self._conn.write() as db:
            cur = db.executemany(
                "DELETE FROM do_not_call WHERE number = ? AND scope = ?",
                [(n, scope) for n in set(numbers)],
            )
            return max(cur.rowcount, 0)

    async def do_not_call_among(self, numbers: Iterable[str], campaign: str | None) -> set[str]:
        scopes = (GLOBAL_SCOPE, GLOBAL_SCOPE if campaign is None else scope_of(campaign))
        return _among(self._conn.db, list(set(numbers)), "scope IN (?, ?)", scopes)

    async def erased_among(self, numbers: Iterable[str]) -> set[str]:
        where, params = "scope = ? AND source = ?", (GLOBAL_SCOPE, ERASURE_SOURCE)
        return _among(self._conn.db, list(set(numbers)), where, params)

    async def do_not_call_entries(self, numbers: Iterable[str]) -> list[DoNotCallEntry]:
        with self._conn.read() as db:
            return entries_for(db, numbers)

    async def do_not_call_batches(
        self, campaign: str | None = None, batch_size: int = 10_000
    ) -> AsyncIterator[list[DoNotCallEntry]]:
        scope = GLOBAL_SCOPE if campaign is None else scope_of(campaign)
        after = ""
        while True:
            # Keyset pages on the primary key, each its own short read.
            rows = self._conn.db.execute(
                "SELECT number, scope, added_at, source FROM do_not_call"
                " WHERE number > ? AND scope = ? ORDER BY number LIMIT ?",
                (after, scope, batch_size),
            ).fetchall()
            if not rows:
                return
            after = rows[-1]["number"]
            yield [do_not_call_entry(r) for r in rows]
            await asyncio.sleep(0)

    async def do_not_call(self) -> list[tuple[str, datetime, str]]:
        rows = self._conn.db.execute(
            "SELECT number, added_at, source FROM do_not_call WHERE scope = ''"
            " ORDER BY added_at, number"
        ).fetchall()
        return [(r[0], dt(r[1]), r[2]) for r in rows]


def entries_for(db: sqlite3.Connection, numbers: Iterable[str]) -> list[DoNotCallEntry]:
    """Every list's entries for these numbers: by number, the global list first."""
    wanted = sorted(set(numbers))
    found: list[DoNotCallEntry] = []
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        rows = db.execute(
            "SELECT number, scope, added_at, source FROM do_not_call"
            f" WHERE number IN ({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        found += [do_not_call_entry(r) for r in rows]
    return sorted(found, key=lambda e: (e.number, e.campaign or "", e.added_at))


def add_entries(
    db: sqlite3.Connection, numbers: Sequence[str], source: str, now: float, campaign: str | None
) -> int:
    """Add numbers to one list inside the caller's write transaction and retire them
    where they wait (every campaign for the global list); returns how many were new."""
    scope = scope_of(campaign)
    ordered = sorted(set(numbers))  # primary key order: appends to the b-tree's pages
    added = db.executemany(
        "INSERT INTO do_not_call (number, scope, added_at, source) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (number, scope) DO NOTHING",
        [(n, scope, now, source) for n in ordered],
    ).rowcount
    # Retired at once where it still waits, so no campaign calls it again and none waits
    # forever for a contact that may no longer be called. Most numbers of a register are
    # in no list: looking their contacts up by number first keeps this cheap.
    one_campaign = " AND campaign_id IN (SELECT id FROM campaigns WHERE name = ?)"
    in_campaign = "" if scope == GLOBAL_SCOPE else one_campaign
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        ids = [
            r[0]
            for r in db.execute(
                f"SELECT id FROM contacts WHERE number IN ({','.join('?' * len(chunk))})", chunk
            )
        ]
        if ids:
            db.execute(
                "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL"
                f" WHERE status = 'pending' AND contact_id IN ({','.join('?' * len(ids))})"
                + in_campaign,
                [*ids, *([] if scope == GLOBAL_SCOPE else [scope])],
            )
    return max(added, 0)


def _among(
    db: sqlite3.Connection, numbers: list[str], where: str, params: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(numbers), _IN_CHUNK):
        chunk = numbers[start : start + _IN_CHUNK]
        found.update(
            r[0]
            for r in db.execute(
                "SELECT DISTINCT number FROM do_not_call"
                f" WHERE number IN ({','.join('?' * len(chunk))}) AND {where}",
                (*chunk, *params),
            )
        )
    return found
