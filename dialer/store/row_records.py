"""Fetched rows as the store's records, the same on both backends: sqlite3.Row and
asyncpg.Record both give a column by its name, and the columns hold the same values
(times as epoch seconds, JSON objects as text, flags that bool() reads: SQLite's 0/1,
PostgreSQL's booleans). Each backend keeps its own SQL; its SELECT names the columns
a function here reads.

The JSON columns read with from_json are NOT NULL on both backends (asyncpg gives jsonb
as its text), so from_json and json.loads read them alike."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import (
    AttemptRecord,
    AuditEntry,
    CampaignHold,
    ContactRecord,
    ContactReport,
    LeasedContact,
    OpenAttempt,
)
from dialer.store.column_values import dt, dt_or_none, from_json, outcome
from dialer.store.due_view import DueView
from dialer.store.outbox_role import FailedDelivery, PendingWebhook, ReceiverState
from dialer.store.person_records import (
    DoNotCallEntry,
    PersonAttempt,
    PersonContact,
    PersonData,
)
from dialer.store.service_roles import ApiToken, CampaignFile, WantedState


class Row(Protocol):
    """A fetched row, read by column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: str, /) -> Any: ...


# --- contacts ---------------------------------------------------------------------------
def contact_record(r: Row, list_name: str) -> ContactRecord:
    """From the columns CONTACT_COLUMNS names."""
    return ContactRecord(
        id=r["id"],
        list_name=list_name,
        number=r["number"],
        name=r["name"],
        timezone=r["timezone"],
        fields=json.loads(r["fields"]),
        dead=bool(r["dead"]),
    )


def due_view(r: Row) -> DueView:
    """Columns: id, number, timezone, fields, dead (the contact's) and status,
    next_due_at, final_outcome (its campaign row's, NULL when not enrolled)."""
    return DueView(
        contact_id=r["id"],
        number=r["number"],
        timezone=r["timezone"],
        fields=from_json(r["fields"]),
        dead=bool(r["dead"]),
        status=ContactStatus(r["status"]) if r["status"] is not None else None,
        next_due_at=dt_or_none(r["next_due_at"]),
        retired=r["status"] == "done" and r["final_outcome"] is None,
    )


def do_not_call_entry(r: Row) -> DoNotCallEntry:
    """Columns: number, scope ('' for the global list), added_at, source."""
    return DoNotCallEntry(r["number"], r["scope"] or None, dt(r["added_at"]), r["source"])


# --- the campaign ledger ----------------------------------------------------------------
def leased_contact(
    campaign_id: int, r: Row, counts: Mapping[int, Mapping[Outcome, int]]
) -> LeasedContact:
    """Columns: id, number, name, timezone, fields (the contact's) and attempts (its
    campaign row's); counts: closed attempts by outcome per contact id."""
    return LeasedContact(
        campaign_id=campaign_id,
        contact_id=r["id"],
        number=r["number"],
        name=r["name"],
        timezone=r["timezone"],
        fields=from_json(r["fields"]),
        attempts_made=r["attempts"],
        outcome_counts=counts.get(r["id"], {}),
    )


def open_attempt(
    campaign_id: int, r: Row, counts: Mapping[int, Mapping[Outcome, int]]
) -> OpenAttempt:
    """Columns: id, contact_id, number, started_at, server (the attempt's) and attempts
    (its contact's campaign row's)."""
    return OpenAttempt(
        attempt_id=r["id"],
        campaign_id=campaign_id,
        contact_id=r["contact_id"],
        number=r["number"],
        started_at=dt(r["started_at"]),
        server=r["server"],
        attempts_made=r["attempts"],
        outcome_counts=counts.get(r["contact_id"], {}),
    )


def hold_record(r: Row) -> CampaignHold:
    """Columns: token, host, pid, since, seen_at, expires_at."""
    return CampaignHold(
        token=r["token"],
        host=r["host"],
        pid=r["pid"],
        since=dt(r["since"]),
        seen_at=dt(r["seen_at"]),
        expires_at=dt(r["expires_at"]),
    )


# --- reports ----------------------------------------------------------------------------
def report_line(r: Row) -> ContactReport:
    """Columns: CONTACT_COLUMNS, the campaign row's status, attempts, last_outcome,
    last_cause, final_outcome, next_due_at, last_attempt_at, and dnc (on a do-not-call
    list) and last_answers (of the last closed attempt, NULL when none)."""
    return ContactReport(
        contact_id=r["id"],
        number=r["number"],
        name=r["name"],
        fields=from_json(r["fields"]),
        dead=bool(r["dead"]),
        status=ContactStatus(r["status"]),
        attempts=r["attempts"],
        last_outcome=outcome(r["last_outcome"]),
        last_cause=r["last_cause"],
        final_outcome=outcome(r["final_outcome"]),
        next_due_at=dt_or_none(r["next_due_at"]),
        last_attempt_at=dt_or_none(r["last_attempt_at"]),
        do_not_call=bool(r["dnc"]),
        last_answers=json.loads(r["last_answers"] or "{}"),
    )


def attempt_record(r: Row) -> AttemptRecord:
    """Columns: the attempt's id, contact_id, number, started_at, answered_at, ended_at,
    outcome, cause, reason, detail, answers, and its campaign's name as campaign."""
    return AttemptRecord(
        attempt_id=r["id"],
        campaign_name=r["campaign"],
        contact_id=r["contact_id"],
        number=r["number"],
        started_at=dt(r["started_at"]),
        answered_at=dt_or_none(r["answered_at"]),
        ended_at=dt_or_none(r["ended_at"]),
        outcome=outcome(r["outcome"]),
        cause=r["cause"],
        reason=r["reason"],
        detail=r["detail"],
        answers=from_json(r["answers"]),
    )


# --- one person -------------------------------------------------------------------------
def person_record(
    number: str, contacts: Iterable[Row], attempts: Iterable[Row], entries: Iterable[DoNotCallEntry]
) -> PersonData:
    """Everything held about a number: its contact rows (person_contact's columns), its
    attempts (person_attempt's) and its do-not-call entries."""
    return PersonData(
        number=number,
        contacts=tuple(person_contact(r) for r in contacts),
        attempts=tuple(person_attempt(r) for r in attempts),
        do_not_call=tuple(entries),
    )


def person_contact(r: Row) -> PersonContact:
    """Columns: id, list_name, name, timezone, fields, dead."""
    return PersonContact(
        list_name=r["list_name"],
        contact_id=r["id"],
        name=r["name"],
        timezone=r["timezone"],
        fields=from_json(r["fields"]),
        dead=bool(r["dead"]),
    )


def person_attempt(r: Row) -> PersonAttempt:
    """Columns: the attempt's id, started_at, answered_at, ended_at, outcome, cause,
    detail, answers, and its campaign's name as campaign."""
    return PersonAttempt(
        attempt_id=r["id"],
        campaign=r["campaign"],
        started_at=dt(r["started_at"]),
        answered_at=dt_or_none(r["answered_at"]),
        ended_at=dt_or_none(r["ended_at"]),
        outcome=r["outcome"],
        cause=r["cause"],
        detail=r["detail"],
        answers=from_json(r["answers"]),
    )


# --- the webhook outbox -----------------------------------------------------------------
def pending_webhook(r: Row) -> PendingWebhook:
    """Columns: id, event_id, campaign, kind, url, secret_env, body, tries, next_try_at."""
    return PendingWebhook(
        int(r["id"]),
        r["event_id"],
        r["campaign"],
        r["kind"],
        r["url"],
        r["secret_env"],
        r["body"],
        int(r["tries"]),
        dt(r["next_try_at"]),
    )


def failed_delivery(r: Row) -> FailedDelivery:
    """Columns: event_id, kind, url, tries, last_error, next_try_at."""
    return FailedDelivery(
        r["event_id"], r["kind"], r["url"], int(r["tries"]), r["last_error"], dt(r["next_try_at"])
    )


def receiver_state(r: Sequence[Any]) -> ReceiverState:
    """By position: url, pending, failing and delivered counts, the earliest next try of
    its undelivered rows (NULL when none)."""
    return ReceiverState(r[0], int(r[1]), int(r[2]), int(r[3]), dt_or_none(r[4]))


# --- what the service keeps -------------------------------------------------------------
def file_record(r: Row) -> CampaignFile:
    """Columns: name, version, content, source, added_at, added_by."""
    return CampaignFile(
        r["name"], r["version"], r["content"], r["source"], dt(r["added_at"]), r["added_by"]
    )


def wanted_state(r: Row) -> WantedState:
    """Columns: name, wanted, changed_at, changed_by."""
    return WantedState(r["name"], r["wanted"], dt(r["changed_at"]), r["changed_by"])


def token_record(r: Row) -> ApiToken:
    """Columns: id, role, name, created_at, revoked_at (NULL while live)."""
    revoked = r["revoked_at"]
    return ApiToken(
        int(r["id"]), str(r["role"]), str(r["name"]), dt(r["created_at"]),
        None if revoked is None else dt(revoked),
    )  # fmt: skip


def audit_entry(r: Row) -> AuditEntry:
    """Columns: at, actor, action, subject, detail, rows."""
    return AuditEntry(dt(r["at"]), r["actor"], r["action"], r["subject"], r["detail"], r["rows"])
