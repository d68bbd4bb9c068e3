"""One person's data on SQLite: everything held about a number, and its erasure.

An erasure keeps the rows that counts are made of (list sizes, a campaign's totals and
outcomes) and removes what identifies or describes the person: the contact rows lose
their name, time zone and fields and are flagged dead (no campaign enrols them again),
the attempts lose their answers, and both carry a random marker instead of the number.
The number itself stays only on the global do-not-call list, with source "erasure", so
that it is neither called nor imported again.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from dialer.store.base import NumberInCall
from dialer.store.column_values import ts
from dialer.store.person_records import (
    ERASURE_SOURCE,
    Erasure,
    PersonData,
    recording_paths,
)
from dialer.store.row_records import person_record
from dialer.store.sqlite.campaign_ledger import STALE_OPEN_ATTEMPT
from dialer.store.sqlite.connection import SqliteRole
from dialer.store.sqlite.do_not_call import add_entries, entries_for

log = logging.getLogger(__name__)

ERASED_PREFIX = "erased:"


class SqlitePersonData(SqliteRole):
    """person_data and erase_person of ContactBase (see dialer.store.base)."""

    async def person_data(self, number: str) -> PersonData:
        with self._conn.read() as db:
            contacts = db.execute(
                "SELECT c.id, l.name AS list_name, c.name, c.timezone, c.fields, c.dead"
                " FROM contacts c JOIN lists l ON l.id = c.list_id WHERE c.number = ?"
                " ORDER BY l.name, c.id",
                (number,),
            ).fetchall()
            attempts = _attempts(db, [r["id"] for r in contacts])
            entries = entries_for(db, [number])
        return person_record(number, contacts, attempts, entries)

    async def erase_person(self, number: str, now: datetime) -> Erasure:
        marker = ERASED_PREFIX + secrets.token_hex(8)
        at = ts(now)
        with self._conn.write() as db:
            busy = db.execute(
                "SELECT campaign_id FROM attempts WHERE number = ? AND ended_at IS NULL"
                " AND started_at > ?",
                (number, ts(now - STALE_OPEN_ATTEMPT)),
            ).fetchone()
            if busy is not None:
                raise NumberInCall(
                    f"the number is in a call of campaign {busy[0]} now: erase it once the"
                    " call has ended (its end would write the answers back)"
                )
            ids = [r[0] for r in db.execute("SELECT id FROM contacts WHERE number = ?", (number,))]
            attempts = _attempts(db, ids)
            recordings = [p for r in attempts for p in recording_paths(json.loads(r["answers"]))]
            # One trace of the number is kept, on purpose: the global list, as an erasure
            # (an opt-out entry would not stop a re-import).
            db.execute("DELETE FROM do_not_call WHERE number = ?", (number,))
            add_entries(db, [number], ERASURE_SOURCE, at, campaign=None)
            marks = ",".join("?" * len(ids))
            db.execute(
                "UPDATE contacts SET number = ?, name = NULL, timezone = NULL, fields = '{}',"
                f" dead = 1, updated_at = ? WHERE id IN ({marks})",
                (marker, at, *ids),
            )
            attempt_ids = [r["id"] for r in attempts]
            db.executemany(
                "UPDATE attempts SET number = ?, answers = '{}' WHERE id = ?",
                [(marker, a) for a in attempt_ids],
            )
        log.info(
            "erased %s: %d contact rows, %d attempts, %d recordings to delete",
            marker,
            len(ids),
            len(attempt_ids),
            len(recordings),
        )
        return Erasure(marker, len(ids), len(attempt_ids), recordings)


def _attempts(db: sqlite3.Connection, contact_ids: Sequence[int]) -> list[sqlite3.Row]:
    """The attempts of these contacts, oldest first. Through the attempts' (campaign,
    contact) index: an attempt's number is its contact's."""
    if not contact_ids:
        return []
    marks = ",".join("?" * len(contact_ids))
    return db.execute(
        "SELECT a.id, cp.name AS campaign, a.started_at, a.answered_at, a.ended_at,"
        " a.outcome, a.cause, a.detail, a.answers"
        " FROM attempts a JOIN campaigns cp ON cp.id = a.campaign_id"
        f" WHERE a.campaign_id IN (SELECT id FROM campaigns) AND a.contact_id IN ({marks})"
        " ORDER BY a.started_at, a.rowid",
        list(contact_ids),
    ).fetchall()
