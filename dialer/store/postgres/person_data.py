"""One person's data on PostgreSQL: everything held about a number, and its erasure
(what is kept and what is removed: see dialer.store.sqlite.person_data, the same rules)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from dialer.store.base import NumberInCall
from dialer.store.column_values import from_json, ts
from dialer.store.person_records import (
    ERASURE_SOURCE,
    Erasure,
    PersonData,
    recording_paths,
)
from dialer.store.postgres.campaign_ledger import STALE_OPEN_ATTEMPT
from dialer.store.postgres.connection import PgRole
from dialer.store.postgres.do_not_call import add_entries, entries_for
from dialer.store.row_records import person_record

log = logging.getLogger(__name__)

ERASED_PREFIX = "erased:"


class PgPersonData(PgRole):
    """person_data and erase_person of ContactBase (see dialer.store.base)."""

    async def person_data(self, number: str) -> PersonData:
        async with self._conn.read() as db:
            contacts = await db.fetch(
                "SELECT c.id, l.name AS list_name, c.name, c.timezone, c.fields, c.dead"
                " FROM contacts c JOIN lists l ON l.id = c.list_id WHERE c.number = $1"
                " ORDER BY l.name, c.id",
                number,
            )
            attempts = await _attempts(db, [r["id"] for r in contacts])
            entries = await entries_for(db, [number])
        return person_record(number, contacts, attempts, entries)

    async def erase_person(self, number: str, now: datetime) -> Erasure:
        marker = ERASED_PREFIX + secrets.token_hex(8)
        at = ts(now)
        async with self._conn.write() as db:
            # The same lock as start_attempt: no call to the number starts meanwhile.
            await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", number)
            busy = await db.fetchval(
                "SELECT campaign_id FROM attempts WHERE number = $1 AND ended_at IS NULL"
                " AND started_at > $2 LIMIT 1",
                number,
                ts(now - STALE_OPEN_ATTEMPT),
            )
            if busy is not None:
                raise NumberInCall(
                    f"the number is in a call of campaign {busy} now: erase it once the"
                    " call has ended (its end would write the answers back)"
                )
            ids = [
                r[0] for r in await db.fetch("SELECT id FROM contacts WHERE number = $1", number)
            ]
            attempts = await _attempts(db, ids)
            recordings = [p for r in attempts for p in recording_paths(from_json(r["answers"]))]
            await db.execute("DELETE FROM do_not_call WHERE number = $1", number)
            await add_entries(db, [number], ERASURE_SOURCE, at, campaign=None)
            await db.execute(
                "UPDATE contacts SET number = $1, name = NULL, timezone = NULL, fields = '{}',"
                " dead = true, updated_at = $2 WHERE id = ANY($3::bigint[])",
                marker,
                at,
                ids,
            )
            attempt_ids = [r["id"] for r in attempts]
            await db.execute(
                "UPDATE attempts SET number = $1, answers = '{}' WHERE id = ANY($2::text[])",
                marker,
                attempt_ids,
            )
        log.info(
            "erased %s: %d contact rows, %d attempts, %d recordings to delete",
            marker,
            len(ids),
            len(attempt_ids),
            len(recordings),
        )
        return Erasure(marker, len(ids), len(attempt_ids), recordings)


async def _attempts(db: asyncpg.Connection, contact_ids: Sequence[int]) -> list[asyncpg.Record]:
    """The attempts of these contacts, oldest first."""
    if not contact_ids:
        return []
    return list(
        await db.fetch(
            "SELECT a.id, cp.name AS campaign, a.started_at, a.answered_at, a.ended_at,"
            " a.outcome, a.cause, a.detail, a.answers"
            " FROM attempts a JOIN campaigns cp ON cp.id = a.campaign_id"
            " WHERE a.contact_id = ANY($1::bigint[]) ORDER BY a.started_at, a.seq",
            list(contact_ids),
        )
    )
