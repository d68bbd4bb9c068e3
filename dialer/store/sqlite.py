"""SQLite backend of the contact store: the embedded default, no server to run.

All SQL of the SQLite backend lives here (the schema in dialer.store.migrations).

Why it is shaped this way:
- Each method is one short transaction on one connection. Plain sqlite3 calls inside
  async methods are fine: each is sub-millisecond (WAL, synchronous=NORMAL), cheaper
  than a thread hop.
- Every write transaction is BEGIN IMMEDIATE: it takes the write lock up front, so two
  processes on one file wait for each other (busy_timeout) instead of failing half way
  when a read lock cannot be upgraded. That is also what makes lease_due atomic.
- Times are stored as REAL epoch seconds (UTC) and returned as aware UTC datetimes.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import (
    AttemptRecord,
    AttemptResult,
    CampaignRecord,
    ContactRecord,
    ContactReport,
    ImportStats,
    LeasedContact,
    NewContact,
    NextStep,
    OpenAttempt,
    Progress,
    StoreError,
)
from dialer.store.migrations import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
CAMPAIGN_STATES = frozenset({"new", "running", "paused", "stopped", "finished"})
# Defence in depth: the importer normalises numbers, the store refuses anything else.
_E164 = re.compile(r"\+[1-9][0-9]{5,14}")
_IN_CHUNK = 500  # ids per "IN (...)" list: far below SQLite's bound-parameter limit

_CONTACT_COLUMNS = "c.id, c.number, c.name, c.timezone, c.fields, c.dead"
_CAMPAIGN_COLUMNS = "c.id, c.name, l.name AS list_name, c.state, c.created_at"


class SqliteStore:
    """ContactStore on one SQLite file (see dialer.store.base for the contract)."""

    def __init__(self, db: sqlite3.Connection, path: str) -> None:
        self._db = db
        self._closed = False
        self.path = path

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStore:
        """Open (creating if needed) the database and bring its schema up to date."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(target, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            db.row_factory = sqlite3.Row
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {target}: {exc}") from exc
        try:
            _configure(db)
            _migrate(db, target)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(f"cannot use database {target}: {exc}") from exc
        except BaseException:
            db.close()
            raise
        return cls(db, target)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # Cheap, keeps the planner's statistics fresh; best effort: it may find
            # another process writing (SQLITE_BUSY), and that must not fail a shutdown.
            self._db.execute("PRAGMA optimize")
        except sqlite3.OperationalError:
            log.debug("PRAGMA optimize skipped on close of %s", self.path)
        finally:
            self._db.close()

    # --- transactions -------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads that take more than one statement."""
        self._db.execute("BEGIN")
        try:
            yield self._db
        finally:
            self._db.execute("COMMIT")

    # --- lists and contacts -------------------------------------------------------------
    async def import_contacts(self, list_name: str, contacts: Iterable[NewContact]) -> ImportStats:
        batch, duplicates = _dedupe(contacts)
        now = time.time()
        # File order is kept: contact ids follow it, and so does the dialling order.
        rows = [(c.number, c.name, c.timezone, _json(c.fields)) for c in batch]
        with self._write() as db:
            list_id = _ensure_list(db, list_name, now)
            # One upsert per contact. New rows get rowid max+1 (INTEGER PRIMARY KEY without
            # AUTOINCREMENT) and a conflict consumes none, so inside this write transaction
            # the growth of max(id) is exactly the number of rows inserted.
            before = _max_contact_id(db)
            db.executemany(
                "INSERT INTO contacts (number, name, timezone, fields, created_at, updated_at,"
                " list_id) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)"
                " ON CONFLICT (list_id, number) DO UPDATE SET"
                " name = coalesce(excluded.name, name),"
                " timezone = coalesce(excluded.timezone, timezone),"
                " fields = json_patch(fields, excluded.fields), updated_at = excluded.updated_at",
                [(*row, now, list_id) for row in rows],
            )
            inserted = _max_contact_id(db) - before
        merged = len(rows) - inserted
        return ImportStats(inserted=inserted, merged=merged + duplicates)

    async def list_names(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT name FROM lists ORDER BY name")]

    async def count_contacts(self, list_name: str) -> int:
        with self._read() as db:
            list_id = _list_id(db, list_name)
            return db.execute(
                "SELECT count(*) FROM contacts WHERE list_id = ?", (list_id,)
            ).fetchone()[0]

    async def contacts(self, list_name: str) -> list[ContactRecord]:
        with self._read() as db:
            list_id = _list_id(db, list_name)
            rows = db.execute(
                f"SELECT {_CONTACT_COLUMNS} FROM contacts c WHERE c.list_id = ? ORDER BY c.id",
                (list_id,),
            ).fetchall()
        return [
            ContactRecord(
                id=r["id"],
                list_name=list_name,
                number=r["number"],
                name=r["name"],
                timezone=r["timezone"],
                fields=json.loads(r["fields"]),
                dead=bool(r["dead"]),
            )
            for r in rows
        ]

    # --- campaigns ----------------------------------------------------------------------
    async def open_campaign(self, name: str, list_name: str, now: datetime) -> CampaignRecord:
        due = _ts(now)
        with self._write() as db:
            list_id = _list_id(db, list_name)
            row = db.execute(
                "SELECT c.id, l.name FROM campaigns c JOIN lists l ON l.id = c.list_id"
                " WHERE c.name = ?",
                (name,),
            ).fetchone()
            if row is not None and row[1] != list_name:
                raise StoreError(
                    f"campaign {name!r} already exists on contact list {row[1]!r},"
                    f" not {list_name!r}: use another campaign name"
                )
            total, live = db.execute(
                "SELECT count(*), total(dead = 0) FROM contacts WHERE list_id = ?", (list_id,)
            ).fetchone()
            if total == 0:
                raise StoreError(f"contact list {list_name!r} is empty: import contacts first")
            if row is None and live == 0:
                # An existing campaign may have killed every number itself: re-opening it
                # is fine, starting a new one on nothing to call is not.
                raise StoreError(f"every number of contact list {list_name!r} is dead")
            if row is None:
                db.execute(
                    "INSERT INTO campaigns (name, list_id, state, created_at)"
                    " VALUES (?, ?, 'new', ?)",
                    (name, list_id, due),
                )
            (campaign_id,) = db.execute(
                "SELECT id FROM campaigns WHERE name = ?", (name,)
            ).fetchone()
            enrolled = db.execute(
                "INSERT INTO campaign_contacts (campaign_id, contact_id, status, next_due_at)"
                " SELECT ?, id, 'pending', ? FROM contacts WHERE list_id = ? AND dead = 0"
                " ON CONFLICT (campaign_id, contact_id) DO NOTHING",
                (campaign_id, due, list_id),
            ).rowcount
            db.execute(
                "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL"
                " WHERE campaign_id = ? AND status = 'pending' AND contact_id IN ("
                "   SELECT c.id FROM contacts c JOIN do_not_call d ON d.number = c.number"
                "   WHERE c.list_id = ?)",
                (campaign_id, list_id),
            )
            record = _campaign(db, "c.id = ?", (campaign_id,))
        log.info("campaign %s on list %s: %d contacts enrolled now", name, list_name, enrolled)
        assert record is not None
        return record

    async def get_campaign(self, name: str) -> CampaignRecord | None:
        return _campaign(self._db, "c.name = ?", (name,))

    async def campaigns(self) -> list[CampaignRecord]:
        rows = self._db.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns c JOIN lists l ON l.id = c.list_id"
            " ORDER BY c.id"
        ).fetchall()
        return [_campaign_record(r) for r in rows]

    async def set_campaign_state(self, campaign_id: int, state: str) -> None:
        if state not in CAMPAIGN_STATES:
            expected = ", ".join(sorted(CAMPAIGN_STATES))
            raise ValueError(f"unknown campaign state {state!r}: expected one of {expected}")
        with self._write() as db:
            cur = db.execute("UPDATE campaigns SET state = ? WHERE id = ?", (state, campaign_id))
            if cur.rowcount == 0:
                raise StoreError(f"no campaign with id {campaign_id}")

    # --- dialling -----------------------------------------------------------------------
    async def lease_due(self, campaign_id: int, now: datetime, limit: int) -> list[LeasedContact]:
        if limit <= 0:
            return []
        with self._write() as db:
            rows = db.execute(
                f"SELECT {_CONTACT_COLUMNS}, cc.attempts"
                " FROM campaign_contacts cc JOIN contacts c ON c.id = cc.contact_id"
                " WHERE cc.campaign_id = ? AND cc.status = 'pending' AND cc.next_due_at <= ?"
                " AND c.dead = 0"
                " ORDER BY cc.next_due_at, cc.contact_id LIMIT ?",
                (campaign_id, _ts(now), limit),
            ).fetchall()
            if not rows:
                return []
            db.executemany(
                "UPDATE campaign_contacts SET status = 'dialing'"
                " WHERE campaign_id = ? AND contact_id = ?",
                [(campaign_id, r["id"]) for r in rows],
            )
            counts = _outcome_counts(db, campaign_id, [r["id"] for r in rows])
        return [
            LeasedContact(
                campaign_id=campaign_id,
                contact_id=r["id"],
                number=r["number"],
                name=r["name"],
                timezone=r["timezone"],
                fields=json.loads(r["fields"]),
                attempts_made=r["attempts"],
                outcome_counts=counts.get(r["id"], {}),
            )
            for r in rows
        ]

    async def start_attempt(
        self, lease: LeasedContact, attempt_id: str, started_at: datetime
    ) -> None:
        """Also refuses (StoreError) a contact that is not leased or already has an open
        attempt: whatever the caller's bug, one contact is never dialled twice at once."""
        ts = _ts(started_at)
        key = (lease.campaign_id, lease.contact_id)
        with self._write() as db:
            if db.execute("SELECT 1 FROM attempts WHERE id = ?", (attempt_id,)).fetchone():
                raise StoreError(f"attempt {attempt_id} is already recorded: not dialling twice")
            cur = db.execute(
                "UPDATE campaign_contacts SET last_attempt_at = ?"
                " WHERE campaign_id = ? AND contact_id = ? AND status = 'dialing'",
                (ts, *key),
            )
            if cur.rowcount == 0:
                raise StoreError(
                    f"contact {lease.contact_id} is not leased in campaign {lease.campaign_id}"
                )
            other = db.execute(
                "SELECT id FROM attempts WHERE campaign_id = ? AND contact_id = ?"
                " AND ended_at IS NULL",
                key,
            ).fetchone()
            if other is not None:
                raise StoreError(f"contact {lease.contact_id} already has open attempt {other[0]}")
            db.execute(
                "INSERT INTO attempts (id, campaign_id, contact_id, number, started_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (attempt_id, *key, lease.number, ts),
            )

    async def finish_attempt(self, result: AttemptResult, next_step: NextStep) -> bool:
        due = _next_due(next_step)
        final = None
        if next_step.status is ContactStatus.DONE:
            final = next_step.final_outcome or result.outcome
        ended = _ts(result.ended_at)
        with self._write() as db:
            cur = db.execute(
                "UPDATE attempts SET ended_at = ?, answered_at = coalesce(?, answered_at),"
                " outcome = ?, cause = ?, reason = ?, detail = ?, answers = ?"
                " WHERE id = ? AND ended_at IS NULL",
                (
                    ended,
                    _ts_or_none(result.answered_at),
                    result.outcome.value,
                    result.cause,
                    result.reason,
                    result.detail,
                    _json(result.answers),
                    result.attempt_id,
                ),
            )
            if cur.rowcount == 0:
                return False  # unknown or already closed: nothing was changed
            campaign_id, contact_id = db.execute(
                "SELECT campaign_id, contact_id FROM attempts WHERE id = ?", (result.attempt_id,)
            ).fetchone()
            db.execute(
                "UPDATE campaign_contacts SET status = ?, next_due_at = ?, attempts = attempts + 1,"
                " last_outcome = ?, last_cause = ?, final_outcome = ?"
                " WHERE campaign_id = ? AND contact_id = ?",
                (
                    next_step.status.value,
                    due,
                    result.outcome.value,
                    result.cause,
                    final.value if final else None,
                    campaign_id,
                    contact_id,
                ),
            )
            if next_step.mark_dead:
                _mark_dead(db, contact_id, ended)
            if next_step.set_fields:
                db.execute(
                    "UPDATE contacts SET fields = json_patch(fields, ?), updated_at = ?"
                    " WHERE id = ?",
                    (_json(next_step.set_fields), ended, contact_id),
                )
            if next_step.opt_out:
                (number,) = db.execute(
                    "SELECT number FROM contacts WHERE id = ?", (contact_id,)
                ).fetchone()
                _add_do_not_call(db, [number], f"opt-out (attempt {result.attempt_id})", ended)
        return True

    async def add_do_not_call(self, numbers: Iterable[str], source: str, now: datetime) -> int:
        with self._write() as db:
            return _add_do_not_call(db, list(numbers), source, _ts(now))

    async def save_runtime(
        self,
        campaign_id: int,
        ledger: Mapping[str, object],
        status: Mapping[str, object],
        now: datetime,
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO campaign_runtime (campaign_id, ledger, status, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id) DO UPDATE SET"
                " ledger = excluded.ledger, status = excluded.status,"
                " updated_at = excluded.updated_at",
                (campaign_id, _json(ledger), _json(status), _ts(now)),
            )

    async def load_runtime(
        self, campaign_id: int
    ) -> tuple[dict[str, object], dict[str, object], datetime | None]:
        row = self._db.execute(
            "SELECT ledger, status, updated_at FROM campaign_runtime WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchone()
        if row is None:
            return {}, {}, None
        return json.loads(row[0]), json.loads(row[1]), _dt(row[2])

    async def do_not_call(self) -> list[tuple[str, datetime, str]]:
        rows = self._db.execute(
            "SELECT number, added_at, source FROM do_not_call ORDER BY added_at, number"
        ).fetchall()
        return [(r[0], _dt(r[1]), r[2]) for r in rows]

    async def release_lease(self, campaign_id: int, contact_id: int, due_at: datetime) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE campaign_contacts SET status = 'pending', next_due_at = ?"
                " WHERE campaign_id = ? AND contact_id = ? AND status = 'dialing'",
                (_ts(due_at), campaign_id, contact_id),
            )

    async def recover(self, campaign_id: int, now: datetime) -> list[OpenAttempt]:
        with self._write() as db:
            reset = db.execute(
                "UPDATE campaign_contacts SET status = 'pending', next_due_at = ?"
                " WHERE campaign_id = ? AND status = 'dialing' AND NOT EXISTS ("
                "   SELECT 1 FROM attempts a WHERE a.campaign_id = campaign_contacts.campaign_id"
                "   AND a.contact_id = campaign_contacts.contact_id AND a.ended_at IS NULL)",
                (_ts(now), campaign_id),
            ).rowcount
            rows = db.execute(
                "SELECT a.id, a.contact_id, a.number, a.started_at,"
                " coalesce(cc.attempts, 0) AS attempts"
                " FROM attempts a LEFT JOIN campaign_contacts cc"
                "   ON cc.campaign_id = a.campaign_id AND cc.contact_id = a.contact_id"
                " WHERE a.campaign_id = ? AND a.ended_at IS NULL ORDER BY a.started_at, a.id",
                (campaign_id,),
            ).fetchall()
            counts = _outcome_counts(db, campaign_id, [r["contact_id"] for r in rows])
        if reset or rows:
            log.info(
                "campaign %d recovered: %d leases given back, %d open attempts to reconcile",
                campaign_id,
                reset,
                len(rows),
            )
        return [
            OpenAttempt(
                attempt_id=r["id"],
                campaign_id=campaign_id,
                contact_id=r["contact_id"],
                number=r["number"],
                started_at=_dt(r["started_at"]),
                attempts_made=r["attempts"],
                outcome_counts=counts.get(r["contact_id"], {}),
            )
            for r in rows
        ]

    # --- reporting ----------------------------------------------------------------------
    async def progress(self, campaign_id: int, now: datetime) -> Progress:
        by_status: dict[str, tuple[int, int, float | None]] = {}
        with self._read() as db:
            _require_campaign(db, campaign_id)
            for status, count, due, earliest in db.execute(
                "SELECT status, count(*), total(next_due_at <= ?), min(next_due_at)"
                " FROM campaign_contacts WHERE campaign_id = ? GROUP BY status",
                (_ts(now), campaign_id),
            ):
                by_status[status] = (count, int(due), earliest)
            outcomes = dict(
                db.execute(
                    "SELECT outcome, count(*) FROM attempts"
                    " WHERE campaign_id = ? AND outcome IS NOT NULL GROUP BY outcome",
                    (campaign_id,),
                ).fetchall()
            )
        pending, due_now, earliest = by_status.get("pending", (0, 0, None))
        return Progress(
            total=sum(v[0] for v in by_status.values()),
            pending=pending,
            due_now=due_now,
            dialing=by_status.get("dialing", (0, 0, None))[0],
            done=by_status.get("done", (0, 0, None))[0],
            next_due_at=_dt_or_none(earliest),
            outcomes=outcomes,
        )

    async def contact_report(self, campaign_id: int) -> list[ContactReport]:
        with self._read() as db:
            _require_campaign(db, campaign_id)
            rows = db.execute(
                f"SELECT {_CONTACT_COLUMNS}, cc.status, cc.attempts, cc.last_outcome,"
                " cc.last_cause, cc.final_outcome, cc.next_due_at, cc.last_attempt_at,"
                " EXISTS (SELECT 1 FROM do_not_call d WHERE d.number = c.number) AS dnc,"
                " (SELECT a.answers FROM attempts a WHERE a.campaign_id = cc.campaign_id"
                "  AND a.contact_id = cc.contact_id AND a.ended_at IS NOT NULL"
                "  ORDER BY a.ended_at DESC LIMIT 1) AS last_answers"
                " FROM campaign_contacts cc JOIN contacts c ON c.id = cc.contact_id"
                " WHERE cc.campaign_id = ? ORDER BY cc.contact_id",
                (campaign_id,),
            ).fetchall()
        return [
            ContactReport(
                contact_id=r["id"],
                number=r["number"],
                name=r["name"],
                fields=json.loads(r["fields"]),
                dead=bool(r["dead"]),
                status=ContactStatus(r["status"]),
                attempts=r["attempts"],
                last_outcome=_outcome(r["last_outcome"]),
                last_cause=r["last_cause"],
                final_outcome=_outcome(r["final_outcome"]),
                next_due_at=_dt_or_none(r["next_due_at"]),
                last_attempt_at=_dt_or_none(r["last_attempt_at"]),
                do_not_call=bool(r["dnc"]),
                last_answers=json.loads(r["last_answers"] or "{}"),
            )
            for r in rows
        ]

    async def attempts(self, campaign_id: int) -> list[AttemptRecord]:
        with self._read() as db:
            _require_campaign(db, campaign_id)
            rows = db.execute(
                "SELECT a.id, c.name AS campaign, a.contact_id, a.number, a.started_at,"
                " a.answered_at,"
                " a.ended_at, a.outcome, a.cause, a.reason, a.detail, a.answers"
                " FROM attempts a JOIN campaigns c ON c.id = a.campaign_id"
                " WHERE a.campaign_id = ? ORDER BY a.started_at, a.rowid",
                (campaign_id,),
            ).fetchall()
        return [
            AttemptRecord(
                attempt_id=r["id"],
                campaign_name=r["campaign"],
                contact_id=r["contact_id"],
                number=r["number"],
                started_at=_dt(r["started_at"]),
                answered_at=_dt_or_none(r["answered_at"]),
                ended_at=_dt_or_none(r["ended_at"]),
                outcome=_outcome(r["outcome"]),
                cause=r["cause"],
                reason=r["reason"],
                detail=r["detail"],
                answers=json.loads(r["answers"]),
            )
            for r in rows
        ]


# --- opening ----------------------------------------------------------------------------
def _configure(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]  # readers never block writers
    if mode not in ("wal", "memory"):
        log.warning("SQLite journal mode is %s, not WAL (network file system?)", mode)
    db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, no fsync per commit
    # Measured on a million-contact import: a 32 MB page cache and checkpoints every
    # ~40 MB of WAL (instead of 2 MB and 4 MB) cut the store's time by a quarter, since
    # index pages stay cached and are written back once instead of at every checkpoint.
    db.execute("PRAGMA cache_size = -32768")
    db.execute("PRAGMA wal_autocheckpoint = 10000")
    db.execute("PRAGMA foreign_keys = ON")
    try:
        db.execute("SELECT json_patch('{}', '{}')")
    except sqlite3.OperationalError as exc:
        raise StoreError(
            f"this SQLite ({sqlite3.sqlite_version}) has no JSON functions: use SQLite >= 3.38"
        ) from exc


def _migrate(db: sqlite3.Connection, target: str) -> None:
    """Apply the missing migrations in one write transaction (two processes opening a new
    file at once: the second waits, then finds the schema current)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        current = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"database {target} has schema version {current}, newer than this dialer"
                f" understands (up to {SCHEMA_VERSION}): upgrade the dialer"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in _statements(MIGRATIONS[version - 1]):
                db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
            log.info("database %s: schema migrated to version %d", target, version)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (executescript would COMMIT our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:60]}")


# --- helpers ----------------------------------------------------------------------------
def _dedupe(contacts: Iterable[NewContact]) -> tuple[list[NewContact], int]:
    """Merge repeated numbers inside one batch (last value wins), checking each number."""
    by_number: dict[str, NewContact] = {}
    rows = 0
    for contact in contacts:
        rows += 1
        if not _E164.fullmatch(contact.number):
            raise ValueError(f"not an E.164 number (row {contact.source_row}): normalise first")
        previous = by_number.get(contact.number)
        if previous is not None:
            contact = NewContact(
                number=contact.number,
                name=contact.name or previous.name,
                timezone=contact.timezone or previous.timezone,
                fields={**previous.fields, **contact.fields},
                source_row=contact.source_row,
            )
        by_number[contact.number] = contact
    return list(by_number.values()), rows - len(by_number)


def _ensure_list(db: sqlite3.Connection, name: str, now: float) -> int:
    if not name or not name.strip():
        raise ValueError("a contact list needs a name")
    db.execute(
        "INSERT INTO lists (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (name, now),
    )
    return int(db.execute("SELECT id FROM lists WHERE name = ?", (name,)).fetchone()[0])


def _max_contact_id(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM contacts").fetchone()[0])


def _list_id(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT id FROM lists WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in db.execute("SELECT name FROM lists ORDER BY name LIMIT 20")]
        hint = f"known lists: {', '.join(known)}" if known else "no list imported yet"
        raise StoreError(f"unknown contact list {name!r} ({hint})")
    return int(row[0])


def _require_campaign(db: sqlite3.Connection, campaign_id: int) -> None:
    if db.execute("SELECT 1 FROM campaigns WHERE id = ?", (campaign_id,)).fetchone() is None:
        raise StoreError(f"no campaign with id {campaign_id}")


def _campaign(db: sqlite3.Connection, where: str, params: Sequence[Any]) -> CampaignRecord | None:
    row = db.execute(
        f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns c JOIN lists l ON l.id = c.list_id"
        f" WHERE {where}",
        params,
    ).fetchone()
    return None if row is None else _campaign_record(row)


def _campaign_record(row: sqlite3.Row) -> CampaignRecord:
    return CampaignRecord(
        id=row["id"],
        name=row["name"],
        list_name=row["list_name"],
        state=row["state"],
        created_at=_dt(row["created_at"]),
    )


def _outcome_counts(
    db: sqlite3.Connection, campaign_id: int, contact_ids: Sequence[int]
) -> dict[int, dict[Outcome, int]]:
    counts: dict[int, dict[Outcome, int]] = {}
    for start in range(0, len(contact_ids), _IN_CHUNK):
        chunk = contact_ids[start : start + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        for contact_id, outcome, count in db.execute(
            "SELECT contact_id, outcome, count(*) FROM attempts"
            f" WHERE campaign_id = ? AND contact_id IN ({marks}) AND outcome IS NOT NULL"
            " GROUP BY contact_id, outcome",
            (campaign_id, *chunk),
        ):
            counts.setdefault(contact_id, {})[Outcome(outcome)] = count
    return counts


def _add_do_not_call(db: sqlite3.Connection, numbers: list[str], source: str, now: float) -> int:
    added = 0
    for number in numbers:
        added += db.execute(
            "INSERT INTO do_not_call (number, added_at, source) VALUES (?, ?, ?)"
            " ON CONFLICT (number) DO NOTHING",
            (number, now, source),
        ).rowcount
    # Retired at once everywhere it still waits, so no campaign calls it again and none
    # waits forever for a contact that may no longer be called.
    db.executemany(
        "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL"
        " WHERE status = 'pending'"
        " AND contact_id IN (SELECT id FROM contacts WHERE number = ?)",
        [(n,) for n in numbers],
    )
    return added


def _mark_dead(db: sqlite3.Connection, contact_id: int, now: float) -> None:
    """Flag the number in the base and retire it wherever it still waits, so that no
    campaign on the list waits forever for a contact lease_due will never return."""
    db.execute("UPDATE contacts SET dead = 1, updated_at = ? WHERE id = ?", (now, contact_id))
    db.execute(
        "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL,"
        " final_outcome = coalesce(final_outcome, ?)"
        " WHERE contact_id = ? AND status = 'pending'",
        (Outcome.INVALID_NUMBER.value, contact_id),
    )


def _next_due(step: NextStep) -> float | None:
    if step.status is ContactStatus.PENDING:
        if step.due_at is None:
            raise ValueError("a PENDING next step needs due_at")
        return _ts(step.due_at)
    if step.status is ContactStatus.DONE:
        return None
    raise ValueError(f"a next step is PENDING or DONE, not {step.status}")


def _json(value: Mapping[str, object]) -> str:
    # default=str: an odd answer value must never stop an attempt from being closed.
    return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"), default=str)


def _ts(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment}: the store takes timezone-aware datetimes")
    return moment.timestamp()


def _ts_or_none(moment: datetime | None) -> float | None:
    return None if moment is None else _ts(moment)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _dt_or_none(ts: float | None) -> datetime | None:
    return None if ts is None else _dt(ts)


def _outcome(value: str | None) -> Outcome | None:
    return None if value is None else Outcome(value)
