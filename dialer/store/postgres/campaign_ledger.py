"""CampaignLedger on PostgreSQL: enrolment, leases, attempts closed exactly once (the
runtime state and progress are in campaign_runtime.py, the holds in campaign_holds.py).

Several nodes share the base, so what SQLite gets from its single writer is said here:
- lease_due takes rows FOR UPDATE SKIP LOCKED: two nodes leasing at once get disjoint
  contacts, neither waits for the other. A leased contact records its owner (this node)
  and the lease's expiry; start_attempt accepts only a lease of this node.
- start_attempt takes a transaction advisory lock on the number: two nodes starting a
  call to one person (two campaigns, two lists) are ordered, and the second sees the
  first's open attempt (one person, one call).
- finish_attempt closes with `WHERE ended_at IS NULL`: the row lock makes it once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg

from dialer.outcomes import STORED_CAMPAIGN_STATES, CampaignState, ContactStatus, Outcome
from dialer.store.base import (
    AttemptResult,
    CampaignRecord,
    LeasedContact,
    NextStep,
    NumberInCall,
    OpenAttempt,
    StoreError,
)
from dialer.store.column_values import next_due, to_json, ts, ts_or_none
from dialer.store.outbox_role import NewWebhookEvent
from dialer.store.postgres.campaign_runtime import PgCampaignRuntime
from dialer.store.postgres.do_not_call import on_do_not_call
from dialer.store.postgres.number_hygiene import apply_to_contact, failure_streak
from dialer.store.postgres.outbox import queue_webhook_events
from dialer.store.postgres.rows import find_campaign, list_id
from dialer.store.row_records import leased_contact, open_attempt

log = logging.getLogger(__name__)

# An attempt left open longer than any call lasts stops blocking its number (as on SQLite).
STALE_OPEN_ATTEMPT = timedelta(hours=4)
# How long a lease is its node's: past it (the node died before starting the call) the
# campaign's next driver gives the contact back (recover). Far above a batch's life.
LEASE_TTL = timedelta(minutes=15)

_NUMBER_IN_CALL = (
    "EXISTS (SELECT 1 FROM attempts a WHERE a.number = c.number AND a.ended_at IS NULL"
    " AND a.started_at > $3)"
)


class PgCampaignLedger(PgCampaignRuntime):
    """CampaignLedger on the shared pool (see dialer.store.base for the contract)."""

    async def open_campaign(self, name: str, list_name: str, now: datetime) -> CampaignRecord:
        due = ts(now)
        async with self._conn.write() as db:
            on_list = await list_id(db, list_name)
            row = await db.fetchrow(
                "SELECT c.id, l.name FROM campaigns c JOIN lists l ON l.id = c.list_id"
                " WHERE c.name = $1",
                name,
            )
            if row is not None and row[1] != list_name:
                raise StoreError(
                    f"campaign {name!r} already exists on contact list {row[1]!r},"
                    f" not {list_name!r}: use another campaign name"
                )
            total, live = await db.fetchrow(
                "SELECT count(*), count(*) FILTER (WHERE NOT dead) FROM contacts"
                " WHERE list_id = $1",
                on_list,
            )
            if total == 0:
                raise StoreError(f"contact list {list_name!r} is empty: import contacts first")
            if row is None and live == 0:
                raise StoreError(f"every number of contact list {list_name!r} is dead")
            await db.execute(
                "INSERT INTO campaigns (name, list_id, state, created_at)"
                " VALUES ($1, $2, 'new', $3) ON CONFLICT (name) DO NOTHING",
                name,
                on_list,
                due,
            )
            campaign_id = await db.fetchval("SELECT id FROM campaigns WHERE name = $1", name)
            enrolled = await _enrol(db, campaign_id, on_list, due, after_contact=0)
            record = await find_campaign(db, "c.id = $1", campaign_id)
        log.info("campaign %s on list %s: %d contacts enrolled now", name, list_name, enrolled)
        assert record is not None
        return record

    async def set_campaign_state(self, campaign_id: int, state: CampaignState) -> None:
        if state not in STORED_CAMPAIGN_STATES:
            expected = ", ".join(sorted(STORED_CAMPAIGN_STATES))
            raise ValueError(f"unknown campaign state {state!r}: expected one of {expected}")
        async with self._conn.write() as db:
            done = await db.execute(
                "UPDATE campaigns SET state = $1 WHERE id = $2", str(state), campaign_id
            )
            if done == "UPDATE 0":
                raise StoreError(f"no campaign with id {campaign_id}")

    async def enrol_new_contacts(self, campaign_id: int, now: datetime) -> int:
        async with self._conn.write() as db:
            row = await db.fetchrow(
                "SELECT c.list_id, (SELECT coalesce(max(contact_id), 0) FROM campaign_contacts"
                "   WHERE campaign_id = c.id) FROM campaigns c WHERE c.id = $1",
                campaign_id,
            )
            if row is None:
                raise StoreError(f"no campaign with id {campaign_id}")
            enrolled = await _enrol(db, campaign_id, row[0], ts(now), after_contact=row[1])
        if enrolled:
            log.info("campaign %d: %d contacts added to its list enrolled", campaign_id, enrolled)
        return enrolled

    async def lease_due(self, campaign_id: int, now: datetime, limit: int) -> list[LeasedContact]:
        if limit <= 0:
            return []
        async with self._conn.write() as db:
            # Two statements, each with a plan that stays right at any size: the pick
            # walks the due index, the update finds its rows by primary key.
            rows = await db.fetch(
                "SELECT c.id, c.number, c.name, c.timezone, c.fields, cc.attempts"
                " FROM campaign_contacts cc JOIN contacts c ON c.id = cc.contact_id"
                " WHERE cc.campaign_id = $1 AND cc.status = 'pending' AND cc.next_due_at <= $2"
                f" AND NOT c.dead AND NOT {_NUMBER_IN_CALL} AND NOT {on_do_not_call('$1')}"
                " ORDER BY cc.next_due_at, cc.contact_id LIMIT $4"
                " FOR UPDATE OF cc SKIP LOCKED",
                campaign_id,
                ts(now),
                ts(now - STALE_OPEN_ATTEMPT),
                limit,
            )
            if not rows:
                return []
            await db.execute(
                "UPDATE campaign_contacts SET status = 'dialing', lease_owner = $3,"
                " lease_expires_at = $4 WHERE campaign_id = $1 AND contact_id = ANY($2::bigint[])",
                campaign_id,
                [r["id"] for r in rows],
                self._node,
                ts(now + LEASE_TTL),
            )
            counts = await outcome_counts(db, campaign_id, [r["id"] for r in rows])
        return [leased_contact(campaign_id, r, counts) for r in rows]

    async def start_attempt(
        self,
        lease: LeasedContact,
        attempt_id: str,
        started_at: datetime,
        server: str | None = None,
    ) -> None:
        """Also refuses (StoreError) a contact that is not leased by this node or already
        has an open attempt: one contact is never dialled twice at once."""
        started = ts(started_at)
        key = (lease.campaign_id, lease.contact_id)
        async with self._conn.write() as db:
            # Orders two nodes starting a call to one number (released at commit).
            await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lease.number)
            if await db.fetchval("SELECT 1 FROM attempts WHERE id = $1", attempt_id):
                raise StoreError(f"attempt {attempt_id} is already recorded: not dialling twice")
            done = await db.execute(
                "UPDATE campaign_contacts SET last_attempt_at = $1 WHERE campaign_id = $2"
                " AND contact_id = $3 AND status = 'dialing'"
                " AND (lease_owner IS NULL OR lease_owner = $4)",
                started,
                *key,
                self._node,
            )
            if done == "UPDATE 0":
                raise StoreError(
                    f"contact {lease.contact_id} is not leased by this node in campaign"
                    f" {lease.campaign_id}"
                )
            other = await db.fetchval(
                "SELECT id FROM attempts WHERE campaign_id = $1 AND contact_id = $2"
                " AND ended_at IS NULL",
                *key,
            )
            if other is not None:
                raise StoreError(f"contact {lease.contact_id} already has open attempt {other}")
            busy = await db.fetchval(
                "SELECT campaign_id FROM attempts WHERE number = $1 AND ended_at IS NULL"
                " AND started_at > $2 LIMIT 1",
                lease.number,
                ts(started_at - STALE_OPEN_ATTEMPT),
            )
            if busy is not None:
                raise NumberInCall(
                    f"contact {lease.contact_id}'s number is in a call of campaign {busy}"
                )
            await db.execute(
                "INSERT INTO attempts (id, campaign_id, contact_id, number, started_at, server)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                attempt_id,
                *key,
                lease.number,
                started,
                server,
            )

    async def finish_attempt(
        self, result: AttemptResult, next_step: NextStep, events: Sequence[NewWebhookEvent] = ()
    ) -> bool:
        due = next_due(next_step)
        final = None
        if next_step.status is ContactStatus.DONE:
            final = next_step.final_outcome or result.outcome
        ended = ts(result.ended_at)
        async with self._conn.write() as db:
            row = await db.fetchrow(
                "UPDATE attempts SET ended_at = $1, answered_at = coalesce($2, answered_at),"
                " outcome = $3, cause = $4, reason = $5, detail = $6, answers = $7::jsonb"
                " WHERE id = $8 AND ended_at IS NULL"
                " RETURNING campaign_id, contact_id, number",
                ended,
                ts_or_none(result.answered_at),
                result.outcome.value,
                result.cause,
                result.reason,
                result.detail,
                to_json(result.answers),
                result.attempt_id,
            )
            if row is None:
                return False  # unknown or already closed: nothing was changed
            campaign_id, contact_id, number = row
            limit = next_step.dead_after_failures
            if limit is not None and await failure_streak(db, number) >= limit:
                next_step = replace(next_step, status=ContactStatus.DONE, mark_dead=True)
                due, final = None, next_step.final_outcome or result.outcome
            await db.execute(
                "UPDATE campaign_contacts SET status = $1, next_due_at = $2,"
                " attempts = attempts + 1, last_outcome = $3, last_cause = $4,"
                " final_outcome = $5, lease_owner = NULL, lease_expires_at = NULL"
                " WHERE campaign_id = $6 AND contact_id = $7",
                next_step.status.value,
                due,
                result.outcome.value,
                result.cause,
                final.value if final else None,
                campaign_id,
                contact_id,
            )
            await apply_to_contact(db, result.attempt_id, contact_id, next_step, ended)
            await queue_webhook_events(db, events, result.ended_at)  # closed iff queued
        return True

    async def release_lease(
        self, campaign_id: int, contact_id: int, due_at: datetime | None
    ) -> None:
        await self.release_leases(campaign_id, [(contact_id, due_at)])

    async def release_leases(
        self, campaign_id: int, releases: Sequence[tuple[int, datetime | None]]
    ) -> None:
        # due None: retired from this campaign (done, with no outcome of a call). Held
        # contacts mostly share their time (the window's next opening for their zones):
        # one statement per distinct time, its rows found by primary key.
        by_due: dict[datetime | None, list[int]] = {}
        for contact_id, due in releases:
            by_due.setdefault(due, []).append(contact_id)
        if not by_due:
            return
        async with self._conn.write() as db:
            await _retire_dead_leases(db, campaign_id, [c for c, _ in releases])
            for due, contact_ids in by_due.items():
                await db.execute(
                    "UPDATE campaign_contacts SET status = $1, next_due_at = $2,"
                    " lease_owner = NULL, lease_expires_at = NULL"
                    " WHERE campaign_id = $3 AND contact_id = ANY($4::bigint[])"
                    " AND status = 'dialing'",
                    "pending" if due is not None else "done",
                    ts_or_none(due),
                    campaign_id,
                    contact_ids,
                )

    async def recover(self, campaign_id: int, now: datetime) -> list[OpenAttempt]:
        """The campaign's (new) driver takes back every lease with no open attempt,
        whichever node held it: one node drives a campaign at a time (its hold)."""
        async with self._conn.write() as db:
            await _retire_dead_leases(db, campaign_id, None)
            reset = await db.execute(
                "UPDATE campaign_contacts cc SET status = 'pending', next_due_at = $1,"
                " lease_owner = NULL, lease_expires_at = NULL"
                " WHERE cc.campaign_id = $2 AND cc.status = 'dialing' AND NOT EXISTS ("
                "   SELECT 1 FROM attempts a WHERE a.campaign_id = cc.campaign_id"
                "   AND a.contact_id = cc.contact_id AND a.ended_at IS NULL)",
                ts(now),
                campaign_id,
            )
            rows = await db.fetch(
                "SELECT a.id, a.contact_id, a.number, a.started_at, a.server,"
                " coalesce(cc.attempts, 0) AS attempts"
                " FROM attempts a LEFT JOIN campaign_contacts cc"
                "   ON cc.campaign_id = a.campaign_id AND cc.contact_id = a.contact_id"
                " WHERE a.campaign_id = $1 AND a.ended_at IS NULL ORDER BY a.started_at, a.id",
                campaign_id,
            )
            counts = await outcome_counts(db, campaign_id, [r["contact_id"] for r in rows])
        given_back = int(reset.split()[-1])
        if given_back or rows:
            log.info(
                "campaign %d recovered: %d leases given back, %d open attempts to reconcile",
                campaign_id,
                given_back,
                len(rows),
            )
        return [open_attempt(campaign_id, r, counts) for r in rows]


async def _enrol(
    db: asyncpg.Connection, campaign_id: int, on_list: int, due: float, after_contact: int
) -> int:
    """Enrol the list's live contacts with an id above `after_contact` (ids only grow),
    skipping do-not-call (the global list and this campaign's)."""
    inserted = await db.execute(
        "INSERT INTO campaign_contacts (campaign_id, contact_id, status, next_due_at)"
        " SELECT $1, id, 'pending', $2 FROM contacts WHERE list_id = $3 AND NOT dead"
        " AND id > $4 ORDER BY id ON CONFLICT (campaign_id, contact_id) DO NOTHING",
        campaign_id,
        due,
        on_list,
        after_contact,
    )
    await db.execute(
        "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL"
        " WHERE campaign_id = $1 AND status = 'pending' AND contact_id IN ("
        "   SELECT c.id FROM contacts c WHERE c.list_id = $2 AND c.id > $3"
        f"   AND {on_do_not_call('$1')})",
        campaign_id,
        on_list,
        after_contact,
    )
    return int(inserted.split()[-1])


async def _retire_dead_leases(
    db: asyncpg.Connection, campaign_id: int, contact_ids: Sequence[int] | None
) -> None:
    """Leases about to be given back (these contacts, or None: every lease without an
    open attempt) whose number another campaign found dead meanwhile: retired as
    mark_dead retires waiting contacts (it skips leased ones), not left pending forever."""
    which = (
        " AND cc.contact_id = ANY($3::bigint[])"
        if contact_ids is not None
        else " AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.campaign_id = cc.campaign_id"
        " AND a.contact_id = cc.contact_id AND a.ended_at IS NULL)"
    )
    await db.execute(
        "UPDATE campaign_contacts cc SET status = 'done', next_due_at = NULL,"
        " final_outcome = coalesce(final_outcome, $1), lease_owner = NULL,"
        " lease_expires_at = NULL WHERE cc.campaign_id = $2 AND cc.status = 'dialing'"
        " AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = cc.contact_id AND c.dead)" + which,
        Outcome.INVALID_NUMBER.value,
        campaign_id,
        *([list(contact_ids)] if contact_ids is not None else []),
    )


async def outcome_counts(
    db: asyncpg.Connection, campaign_id: int, contact_ids: Sequence[int]
) -> dict[int, dict[Outcome, int]]:
    counts: dict[int, dict[Outcome, int]] = {}
    if not contact_ids:
        return counts
    for contact_id, outcome, count in await db.fetch(
        "SELECT contact_id, outcome, count(*) FROM attempts"
        " WHERE campaign_id = $1 AND contact_id = ANY($2::bigint[]) AND outcome IS NOT NULL"
        " GROUP BY contact_id, outcome",
        campaign_id,
        list(contact_ids),
    ):
        counts.setdefault(contact_id, {})[Outcome(outcome)] = count
    return counts
