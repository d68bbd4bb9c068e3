"""The do-not-call lists on PostgreSQL: the global one and one per campaign, in one table
whose `scope` is '' (global) or the campaign's name.

add_entries is also used inside other transactions (an opt-out closing an attempt, an
erasure); ON_DO_NOT_CALL is the condition lease_due and enrolment use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

import asyncpg

from dialer.store.column_values import GLOBAL_SCOPE, dt, scope_of, ts
from dialer.store.number_checks import checked_numbers
from dialer.store.person_records import ERASURE_SOURCE, DoNotCallEntry
from dialer.store.postgres.connection import PgRole
from dialer.store.row_records import do_not_call_entry


def on_do_not_call(campaign_param: str) -> str:
    """`c` is the contact, campaign_param (e.g. "$1") the campaign's id: the number is on
    the global list or on the list of the campaign it is enrolled in."""
    return (
        "EXISTS (SELECT 1 FROM do_not_call d WHERE d.number = c.number"
        f" AND d.scope IN ('', (SELECT name FROM campaigns WHERE id = {campaign_param})))"
    )


class PgDoNotCall(PgRole):
    """The do-not-call part of ContactBase (see dialer.store.base for the contract)."""

    async def add_do_not_call(
        self, numbers: Iterable[str], source: str, now: datetime, campaign: str | None = None
    ) -> int:
        batch = checked_numbers(numbers)
        async with self._conn.write() as db:
            return await add_entries(db, batch, source, ts(now), campaign)

    async def remove_do_not_call(self, numbers: Iterable[str], campaign: str | None = None) -> int:
        scope = scope_of(campaign)
        async with self._conn.write() as db:
            rows = await db.fetch(
                "DELETE FROM do_not_call WHERE number = ANY($1::text[]) AND scope = $2"
                " RETURNING number",
                list(set(numbers)),
                scope,
            )
        return len(rows)

    async def do_not_call_among(self, numbers: Iterable[str], campaign: str | None) -> set[str]:
        scopes = [GLOBAL_SCOPE, GLOBAL_SCOPE if campaign is None else scope_of(campaign)]
        return await self._among(numbers, "scope = ANY($2::text[])", scopes)

    async def erased_among(self, numbers: Iterable[str]) -> set[str]:
        return await self._among(
            numbers, "scope = $2 AND source = $3", GLOBAL_SCOPE, ERASURE_SOURCE
        )

    async def _among(self, numbers: Iterable[str], where: str, *params: object) -> set[str]:
        wanted = list(set(numbers))
        if not wanted:
            return set()
        async with self._conn.read() as db:
            rows = await db.fetch(
                "SELECT DISTINCT number FROM do_not_call"
                f" WHERE number = ANY($1::text[]) AND {where}",
                wanted,
                *params,
            )
        return {r[0] for r in rows}

    async def do_not_call_entries(self, numbers: Iterable[str]) -> list[DoNotCallEntry]:
        async with self._conn.read() as db:
            return await entries_for(db, numbers)

    async def do_not_call_batches(
        self, campaign: str | None = None, batch_size: int = 10_000
    ) -> AsyncIterator[list[DoNotCallEntry]]:
        scope = GLOBAL_SCOPE if campaign is None else scope_of(campaign)
        after = ""
        while True:
            async with self._conn.read() as db:
                rows = await db.fetch(
                    "SELECT number, scope, added_at, source FROM do_not_call"
                    " WHERE number > $1 AND scope = $2 ORDER BY number LIMIT $3",
                    after,
                    scope,
                    batch_size,
                )
            if not rows:
                return
            after = rows[-1]["number"]
            yield [do_not_call_entry(r) for r in rows]
            await asyncio.sleep(0)

    async def do_not_call(self) -> list[tuple[str, datetime, str]]:
        async with self._conn.read() as db:
            rows = await db.fetch(
                "SELECT number, added_at, source FROM do_not_call WHERE scope = ''"
                " ORDER BY added_at, number"
            )
        return [(r[0], dt(r[1]), r[2]) for r in rows]


async def entries_for(db: asyncpg.Connection, numbers: Iterable[str]) -> list[DoNotCallEntry]:
    """Every list's entries for these numbers: by number, the global list first."""
    rows = await db.fetch(
        "SELECT number, scope, added_at, source FROM do_not_call WHERE number = ANY($1::text[])",
        sorted(set(numbers)),
    )
    found = [do_not_call_entry(r) for r in rows]
    return sorted(found, key=lambda e: (e.number, e.campaign or "", e.added_at))


async def add_entries(
    db: asyncpg.Connection, numbers: Sequence[str], source: str, now: float, campaign: str | None
) -> int:
    """Add numbers to one list inside the caller's transaction and retire them where they
    wait (every campaign for the global list); returns how many were new."""
    scope = scope_of(campaign)
    ordered = sorted(set(numbers))
    added = await db.fetch(
        "INSERT INTO do_not_call (number, scope, added_at, source)"
        " SELECT n, $2, $3, $4 FROM unnest($1::text[]) AS n"
        " ON CONFLICT (number, scope) DO NOTHING RETURNING number",
        ordered,
        scope,
        now,
        source,
    )
    # Retired at once where it still waits, so no campaign calls it again and none waits
    # forever for a contact that may no longer be called.
    in_campaign = (
        ""
        if scope == GLOBAL_SCOPE
        else " AND campaign_id IN (SELECT id FROM campaigns WHERE name = $2)"
    )
    await db.execute(
        "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL"
        " WHERE status = 'pending' AND contact_id IN"
        " (SELECT id FROM contacts WHERE number = ANY($1::text[]))" + in_campaign,
        ordered,
        *([] if scope == GLOBAL_SCOPE else [scope]),
    )
    return len(added)
