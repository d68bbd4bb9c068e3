"""CampaignLedger on SQLite: enrolment, leases, attempts closed exactly once, the runtime
state a campaign keeps across restarts, and its progress."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from dialer.outcomes import STORED_CAMPAIGN_STATES, CampaignState, ContactStatus, Outcome
from dialer.store.base import (
    AttemptResult,
    CampaignProgress,
    CampaignRecord,
    LeasedContact,
    NextStep,
    NumberInCall,
    OpenAttempt,
    StoreError,
)
from dialer.store.column_values import CONTACT_COLUMNS, dt, next_due, to_json, ts, ts_or_none
from dialer.store.outbox_role import NewWebhookEvent
from dialer.store.row_records import leased_contact, open_attempt
from dialer.store.row_summaries import campaign_progress
from dialer.store.sqlite.campaign_holds import SqliteCampaignHolds
from dialer.store.sqlite.do_not_call import ON_DO_NOT_CALL
from dialer.store.sqlite.number_hygiene import (
    apply_to_contact,
    failure_streak,
    retire_dead_leases,
)
from dialer.store.sqlite.outbox import queue_webhook_events
from dialer.store.sqlite.rows import find_campaign, list_id, require_campaign

log = logging.getLogger(__name__)

_IN_CHUNK = 500  # ids per "IN (...)" list: far below SQLite's bound-parameter limit


# The number is in a call now, in this or any other campaign: one person, one call. An
# attempt left open longer than any call lasts (its process was killed and its campaign
# never ran again to reconcile it) stops blocking the number.
STALE_OPEN_ATTEMPT = timedelta(hours=4)
_NUMBER_IN_CALL = (
    "EXISTS (SELECT 1 FROM attempts a WHERE a.number = c.number AND a.ended_at IS NULL"
    " AND a.started_at > ?)"
)


class SqliteCampaignLedger(SqliteCampaignHolds):
    """CampaignLedger on the shared connection (see dialer.store.base for the contract).
    The campaign holds come from campaign_holds.py."""

    # --- campaigns ----------------------------------------------------------------------
    async def open_campaign(self, name: str, list_name: str, now: datetime) -> CampaignRecord:
        due = ts(now)
        with self._conn.write() as db:
            on_list = list_id(db, list_name)
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
                "SELECT count(*), total(dead = 0) FROM contacts WHERE list_id = ?", (on_list,)
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
                    (name, on_list, due),
                )
            (campaign_id,) = db.execute(
                "SELECT id FROM campaigns WHERE name = ?", (name,)
            ).fetchone()
            enrolled = _enrol(db, campaign_id, on_list, due, after_contact=0)
            record = find_campaign(db, "c.id = ?", (campaign_id,))
        log.info("campaign %s on list %s: %d contacts enrolled now", name, list_name, enrolled)
        assert record is not None
        return record

    async def set_campaign_state(self, campaign_id: int, state: CampaignState) -> None:
        if state not in STORED_CAMPAIGN_STATES:
            expected = ", ".join(sorted(STORED_CAMPAIGN_STATES))
            raise ValueError(f"unknown campaign state {state!r}: expected one of {expected}")
        with self._conn.write() as db:
            cur = db.execute("UPDATE campaigns SET state = ? WHERE id = ?", (state, campaign_id))
            if cur.rowcount == 0:
                raise StoreError(f"no campaign with id {campaign_id}")

    async def enrol_new_contacts(self, campaign_id: int, now: datetime) -> int:
        with self._conn.write() as db:
            row = db.execute(
                "SELECT c.list_id, (SELECT coalesce(max(contact_id), 0) FROM campaign_contacts"
                "   WHERE campaign_id = c.id) FROM campaigns c WHERE c.id = ?",
                (campaign_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no campaign with id {campaign_id}")
            enrolled = _enrol(db, campaign_id, row[0], ts(now), after_contact=row[1])
        if enrolled:
            log.info("campaign %d: %d contacts added to its list enrolled", campaign_id, enrolled)
        return enrolled

    # --- dialling -----------------------------------------------------------------------
    async def lease_due(self, campaign_id: int, now: datetime, limit: int) -> list[LeasedContact]:
        if limit <= 0:
            return []
        with self._conn.write() as db:
            rows = db.execute(
                f"SELECT {CONTACT_COLUMNS}, cc.attempts"
                " FROM campaign_contacts cc JOIN contacts c ON c.id = cc.contact_id"
                " WHERE cc.campaign_id = ? AND cc.status = 'pending' AND cc.next_due_at <= ?"
                f" AND c.dead = 0 AND NOT {_NUMBER_IN_CALL} AND NOT {ON_DO_NOT_CALL}"
                " ORDER BY cc.next_due_at, cc.contact_id LIMIT ?",
                (campaign_id, ts(now), ts(now - STALE_OPEN_ATTEMPT), campaign_id, limit),
            ).fetchall()
            if not rows:
                return []
            # One statement for the batch (the ids as one JSON parameter): a thousand
            # single-row updates cost several times more.
            db.execute(
                "UPDATE campaign_contacts SET status = 'dialing' WHERE campaign_id = ?"
                " AND contact_id IN (SELECT value FROM json_each(?))",
                (campaign_id, json.dumps([r["id"] for r in rows])),
            )
            counts = _outcome_counts(db, campaign_id, [r["id"] for r in rows])
        return [leased_contact(campaign_id, r, counts) for r in rows]

    async def start_attempt(
        self,
        lease: LeasedContact,
        attempt_id: str,
        started_at: datetime,
        server: str | None = None,
    ) -> None:
        """Also refuses (StoreError) a contact that is not leased or already has an open
        attempt: whatever the caller's bug, one contact is never dialled twice at once."""
        started = ts(started_at)
        key = (lease.campaign_id, lease.contact_id)
        with self._conn.write() as db:
            if db.execute("SELECT 1 FROM attempts WHERE id = ?", (attempt_id,)).fetchone():
                raise StoreError(f"attempt {attempt_id} is already recorded: not dialling twice")
            cur = db.execute(
                "UPDATE campaign_contacts SET last_attempt_at = ?"
                " WHERE campaign_id = ? AND contact_id = ? AND status = 'dialing'",
                (started, *key),
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
            busy = db.execute(
                "SELECT campaign_id FROM attempts WHERE number = ? AND ended_at IS NULL"
                " AND started_at > ?",
                (lease.number, ts(started_at - STALE_OPEN_ATTEMPT)),
            ).fetchone()
            if busy is not None:
                # Leased here while another campaign's process started its call: the lease
                # stays for the caller to give back.
                raise NumberInCall(
                    f"contact {lease.contact_id}'s number is in a call of campaign {busy[0]}"
                )
            db.execute(
                "INSERT INTO attempts (id, campaign_id, contact_id, number, started_at, server)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (attempt_id, *key, lease.number, started, server),
            )

    async def finish_attempt(
        self, result: AttemptResult, next_step: NextStep, events: Sequence[NewWebhookEvent] = ()
    ) -> bool:
        due = next_due(next_step)
        final = None
        if next_step.status is ContactStatus.DONE:
            final = next_step.final_outcome or result.outcome
        ended = ts(result.ended_at)
        with self._conn.write() as db:
            cur = db.execute(
                "UPDATE attempts SET ended_at = ?, answered_at = coalesce(?, answered_at),"
                " outcome = ?, cause = ?, reason = ?, detail = ?, answers = ?"
                " WHERE id = ? AND ended_at IS NULL",
                (
                    ended,
                    ts_or_none(result.answered_at),
                    result.outcome.value,
                    result.cause,
                    result.reason,
                    result.detail,
                    to_json(result.answers),
                    result.attempt_id,
                ),
            )
            if cur.rowcount == 0:
                return False  # unknown or already closed: nothing was changed
            campaign_id, contact_id, number = db.execute(
                "SELECT campaign_id, contact_id, number FROM attempts WHERE id = ?",
                (result.attempt_id,),
            ).fetchone()
            limit = next_step.dead_after_failures
            if limit is not None and failure_streak(db, number) >= limit:
                next_step = replace(next_step, status=ContactStatus.DONE, mark_dead=True)
                due, final = None, next_step.final_outcome or result.outcome
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
            apply_to_contact(db, result.attempt_id, contact_id, next_step, ended)
            queue_webhook_events(db, events, result.ended_at)  # closed iff queued
        return True

    async def release_lease(
        self, campaign_id: int, contact_id: int, due_at: datetime | None
    ) -> None:
        await self.release_leases(campaign_id, [(contact_id, due_at)])

    async def release_leases(
        self, campaign_id: int, releases: Sequence[tuple[int, datetime | None]]
    ) -> None:
        # due None: retired from this campaign for a reason time does not end
        # (do-not-call, no consent): done with no outcome of a call, so the run can end.
        # Held contacts mostly share their time (the window's next opening for their
        # zones): one statement per distinct time.
        by_due: dict[datetime | None, list[int]] = {}
        for contact_id, due in releases:
            by_due.setdefault(due, []).append(contact_id)
        with self._conn.write() as db:
            retire_dead_leases(db, campaign_id, [contact_id for contact_id, _ in releases])
            for due, contact_ids in by_due.items():
                db.execute(
                    "UPDATE campaign_contacts SET status = ?, next_due_at = ?"
                    " WHERE campaign_id = ? AND status = 'dialing'"
                    " AND contact_id IN (SELECT value FROM json_each(?))",
                    (
                        "pending" if due is not None else "done",
                        ts(due) if due is not None else None,
                        campaign_id,
                        json.dumps(contact_ids),
                    ),
                )

    async def recover(self, campaign_id: int, now: datetime) -> list[OpenAttempt]:
        with self._conn.write() as db:
            retire_dead_leases(db, campaign_id, None)
            reset = db.execute(
                "UPDATE campaign_contacts SET status = 'pending', next_due_at = ?"
                " WHERE campaign_id = ? AND status = 'dialing' AND NOT EXISTS ("
                "   SELECT 1 FROM attempts a WHERE a.campaign_id = campaign_contacts.campaign_id"
                "   AND a.contact_id = campaign_contacts.contact_id AND a.ended_at IS NULL)",
                (ts(now), campaign_id),
            ).rowcount
            rows = db.execute(
                "SELECT a.id, a.contact_id, a.number, a.started_at, a.server,"
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
        return [open_attempt(campaign_id, r, counts) for r in rows]

    # --- runtime state ------------------------------------------------------------------
    async def save_runtime(
        self,
        campaign_id: int,
        ledger: Mapping[str, object],
        status: Mapping[str, object],
        now: datetime,
    ) -> None:
        with self._conn.write() as db:
            db.execute(
                "INSERT INTO campaign_runtime (campaign_id, ledger, status, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id) DO UPDATE SET"
                " ledger = excluded.ledger, status = excluded.status,"
                " updated_at = excluded.updated_at",
                (campaign_id, to_json(ledger), to_json(status), ts(now)),
            )

    async def load_runtime(
        self, campaign_id: int
    ) -> tuple[dict[str, object], dict[str, object], datetime | None]:
        row = self._conn.db.execute(
            "SELECT ledger, status, updated_at FROM campaign_runtime WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchone()
        if row is None:
            return {}, {}, None
        return json.loads(row[0]), json.loads(row[1]), dt(row[2])

    async def progress(self, campaign_id: int, now: datetime) -> CampaignProgress:
        by_status: dict[str, tuple[int, int, float | None]] = {}
        with self._conn.read() as db:
            require_campaign(db, campaign_id)
            for status, count, due, earliest in db.execute(
                "SELECT status, count(*), total(next_due_at <= ?), min(next_due_at)"
                " FROM campaign_contacts WHERE campaign_id = ? GROUP BY status",
                (ts(now), campaign_id),
            ):
                by_status[status] = (count, int(due), earliest)
            outcomes = dict(
                db.execute(
                    "SELECT outcome, count(*) FROM attempts"
                    " WHERE campaign_id = ? AND outcome IS NOT NULL GROUP BY outcome",
                    (campaign_id,),
                ).fetchall()
            )
        return campaign_progress(by_status, outcomes)


def _enrol(
    db: sqlite3.Connection, campaign_id: int, on_list: int, due: float, after_contact: int
) -> int:
    """Enrol the list's live contacts with an id above `after_contact` (ids only grow, so
    those are the contacts imported since the last enrolment), skipping do-not-call
    (the global list and this campaign's)."""
    # Later enrolments walk the rowids above the mark (+list_id: not the list's index).
    on = "+list_id" if after_contact else "list_id"
    enrolled: int = db.execute(
        "INSERT INTO campaign_contacts (campaign_id, contact_id, status, next_due_at)"
        f" SELECT ?, id, 'pending', ? FROM contacts WHERE {on} = ? AND dead = 0 AND id > ?"
        " ON CONFLICT (campaign_id, contact_id) DO NOTHING",
        (campaign_id, due, on_list, after_contact),
    ).rowcount
    db.execute(
        "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL"
        " WHERE campaign_id = ? AND status = 'pending' AND contact_id IN ("
        f"   SELECT c.id FROM contacts c WHERE c.list_id = ? AND c.id > ? AND {ON_DO_NOT_CALL})",
        (campaign_id, on_list, after_contact, campaign_id),
    )
    return enrolled


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
