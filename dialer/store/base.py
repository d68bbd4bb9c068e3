"""The contact base as the engine and the CLI see it: records and role interfaces.

Small role Protocols, each a part a caller can depend on alone: ContactBase (lists,
contacts, do-not-call), CampaignLedger (what a running campaign writes and reads) and
Reports (read-only views of campaigns and their history). ContactStore is all of them on
one backend, plus close(). SQLite (dialer.store.sqlite, one module per role) is the
embedded default; PostgreSQL implements the same Protocols later. Every method is async
so that a networked backend fits without touching the engine. Times are timezone-aware
UTC datetimes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dialer.call_history import PastCall
from dialer.outcomes import CampaignState, ContactStatus, Outcome
from dialer.store.due_view import DueView
from dialer.store.errors import NumberInCall, StoreBusy, StoreError
from dialer.store.outbox_role import NewWebhookEvent as NewWebhook
from dialer.store.outbox_role import WebhookOutbox as Outbox
from dialer.store.person_records import DoNotCallEntry, Erasure, PersonData
from dialer.store.service_roles import ApiTokens, CampaignFiles
from dialer.store.views import (
    AttemptRecord,
    BaseStats,
    CampaignChanges,
    CampaignFunnel,
    CampaignRecord,
    ContactFacts,
    ContactReport,
)

__all__ = [
    "AttemptRecord",
    "BaseStats",
    "CampaignChanges",
    "CampaignFunnel",
    "CampaignRecord",
    "ContactFacts",
    "ContactReport",
    "NumberInCall",
    "StoreBusy",
    "StoreError",
]


@dataclass(frozen=True)
class CampaignHold:
    """Which process drives a campaign: one at a time. Renewed by the holder's heartbeat;
    once expires_at has passed without one, the holder is taken for dead."""

    token: str  # the holder's own id: only it renews or releases the hold
    host: str
    pid: int
    since: datetime
    seen_at: datetime  # last heartbeat
    expires_at: datetime


@dataclass(frozen=True)
class NewContact:
    """One valid row of an import, already normalised."""

    number: str  # E.164, e.g. +79123456789
    name: str | None = None
    timezone: str | None = None  # IANA name, e.g. Europe/Moscow
    fields: Mapping[str, str] = field(default_factory=dict)
    source_row: int | None = None  # 1-based row number in the source file (header = row 1)


@dataclass(frozen=True)
class ImportStats:
    inserted: int  # new contacts in the list
    merged: int  # rows whose number was already in the list (fields merged, last value wins)


@dataclass(frozen=True)
class ContactRecord:
    id: int
    list_name: str
    number: str
    name: str | None
    timezone: str | None
    fields: Mapping[str, str]
    dead: bool  # number known not to exist (unallocated / invalid): never dialled again


@dataclass(frozen=True)
class LeasedContact:
    """A contact taken for dialling; its status is DIALING until the attempt closes."""

    campaign_id: int
    contact_id: int
    number: str
    name: str | None
    timezone: str | None
    fields: Mapping[str, str]
    attempts_made: int  # closed attempts before this one, in this campaign
    outcome_counts: Mapping[Outcome, int]  # closed attempts by outcome, in this campaign


@dataclass(frozen=True)
class AttemptResult:
    attempt_id: str
    outcome: Outcome
    ended_at: datetime
    cause: int | None = None  # Q.850 hangup cause when known
    reason: int | None = None  # OriginateResponse Reason when known
    answered_at: datetime | None = None
    detail: str = ""  # short free text: "queue timeout", "reconciled after reconnect"...
    # Collected answers (keys, transcript, survey...), as plain JSON-able values.
    answers: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class NextStep:
    """What becomes of the contact after an attempt (decided by dialer.policy.retry)."""

    status: ContactStatus  # PENDING (retry at due_at) or DONE
    due_at: datetime | None = None
    final_outcome: Outcome | None = None  # set when DONE
    # Invalid number: flag the number dead in every list and retire it from every campaign.
    mark_dead: bool = False
    # The same, if the number's failed attempts in a row across every campaign (this one
    # counted; a call that rang or was answered ends a streak) reach this. None: no check.
    dead_after_failures: int | None = None
    # The caller asked not to be called again (or was judged aggressive): the number joins
    # the do-not-call list at once and is retired from every campaign.
    opt_out: bool = False
    do_not_call_reason: str = "opt-out"  # the do-not-call entry's source says why
    # Contact fields the call set (lead temperature, disposition, custom fields),
    # merged into the contact's fields.
    set_fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenAttempt:
    """An attempt started but never closed (the process stopped or AMI dropped)."""

    attempt_id: str
    campaign_id: int
    contact_id: int
    number: str
    started_at: datetime
    attempts_made: int
    outcome_counts: Mapping[Outcome, int]
    server: str | None = None  # the Asterisk server it went to (None: not recorded)


@dataclass(frozen=True)
class CampaignProgress:
    total: int
    pending: int  # waiting, due now or later
    due_now: int  # pending with next_due_at <= now
    dialing: int
    done: int
    next_due_at: datetime | None  # earliest next_due_at among pending
    outcomes: Mapping[str, int]  # attempts by outcome so far


class ContactBase(Protocol):
    """The contacts themselves: lists, their contacts, the do-not-call lists, and one
    person's data (show, erase)."""

    async def import_contacts(self, list_name: str, contacts: Iterable[NewContact]) -> ImportStats:
        """Create the list if needed and add contacts, merging numbers already present.

        One transaction per call: the caller batches (e.g. 5,000 rows).
        """
        ...

    async def list_names(self) -> list[str]: ...

    async def count_contacts(self, list_name: str) -> int:
        """Raises StoreError if the list does not exist."""
        ...

    def contact_batches(
        self, list_name: str, batch_size: int = 2000
    ) -> AsyncIterator[list[ContactRecord]]:
        """The list's contacts in id order, a batch at a time: memory stays flat however
        long the list (StoreError for an unknown list)."""
        ...

    async def contacts(self, list_name: str) -> list[ContactRecord]:
        """Raises StoreError if the list does not exist."""
        ...

    # --- do-not-call: the global list and one per campaign (named, need not exist yet) --
    async def add_do_not_call(
        self, numbers: Iterable[str], source: str, now: datetime, campaign: str | None = None
    ) -> int:
        """Add E.164 numbers to the global list (campaign None) or that campaign's, and
        retire them at once wherever they wait (every campaign, or that one). Returns how
        many were new. One transaction: the caller batches (a register file: 50,000)."""
        ...

    async def remove_do_not_call(self, numbers: Iterable[str], campaign: str | None = None) -> int:
        """Take numbers off one list; returns how many were on it. Contacts retired when
        they were added stay retired."""
        ...

    async def do_not_call_among(self, numbers: Iterable[str], campaign: str | None) -> set[str]:
        """Those of `numbers` on the global list or on `campaign`'s: the check just
        before each Originate (one indexed lookup per batch)."""
        ...

    async def do_not_call_entries(self, numbers: Iterable[str]) -> list[DoNotCallEntry]:
        """Every list's entries for these numbers (global first, then by campaign)."""
        ...

    def do_not_call_batches(
        self, campaign: str | None = None, batch_size: int = 10_000
    ) -> AsyncIterator[list[DoNotCallEntry]]:
        """One list (global, or a campaign's) in number order, a batch at a time."""
        ...

    async def do_not_call(self) -> list[tuple[str, datetime, str]]:
        """The global list: (number, added at, source), oldest first."""
        ...

    async def erased_among(self, numbers: Iterable[str]) -> set[str]:
        """Those of `numbers` whose person asked to be erased (never imported again)."""
        ...

    # --- one person -----------------------------------------------------------------------
    async def person_data(self, number: str) -> PersonData:
        """Everything held about an E.164 number: contacts, attempts, do-not-call."""
        ...

    async def erase_person(self, number: str, now: datetime) -> Erasure:
        """Remove the number's personal data, keeping the rows that counts are made of,
        and put it on the global list (source ERASURE_SOURCE). NumberInCall if it is in
        a call now (the call's end would write its answers back)."""
        ...

    async def copy_contacts(
        self, from_list: str, contact_ids: Iterable[int], new_list: str, now: datetime
    ) -> int:
        """Create `new_list` holding copies of these contacts of `from_list` (number, name,
        zone, fields, dead), as an import would, in one transaction. StoreError if
        `from_list` is unknown or `new_list` exists. Returns how many were copied."""
        ...


class CampaignLedger(Protocol):
    """What a running campaign writes and reads: enrolment, leases, attempts closed
    exactly once, the runtime state kept across restarts, and its progress."""

    # --- campaigns ----------------------------------------------------------------------
    async def open_campaign(self, name: str, list_name: str, now: datetime) -> CampaignRecord:
        """Create the campaign (or return the existing one) and enrol every live contact
        of the list not enrolled yet, due now. Raises StoreError for an unknown or empty
        list, or if an existing campaign of that name uses another list."""
        ...

    async def set_campaign_state(self, campaign_id: int, state: CampaignState) -> None: ...

    async def enrol_new_contacts(self, campaign_id: int, now: datetime) -> int:
        """Enrol, due now, the live contacts added to the campaign's list since it was
        opened or last enrolled (an import while it runs); returns how many."""
        ...

    # --- who drives the campaign --------------------------------------------------------
    async def campaign_hold(self, campaign_id: int) -> CampaignHold | None:
        """The current hold, expired or not (None: nobody ever held it or it was released)."""
        ...

    async def take_hold(
        self, campaign_id: int, hold: CampaignHold, replacing: str | None
    ) -> CampaignHold | None:
        """Atomically take the campaign for `hold` if it has no hold, or if its hold is
        still the one of token `replacing` (that the caller judged dead). Returns None when
        taken, else the hold in the way."""
        ...

    async def renew_hold(
        self, campaign_id: int, token: str, seen_at: datetime, expires_at: datetime
    ) -> bool:
        """The holder's heartbeat. False: the hold is no longer this token's."""
        ...

    async def release_hold(self, campaign_id: int, token: str) -> None:
        """Give the campaign up (only if the hold is still this token's)."""
        ...

    # --- dialling -----------------------------------------------------------------------
    async def lease_due(self, campaign_id: int, now: datetime, limit: int) -> list[LeasedContact]:
        """Atomically move up to `limit` PENDING contacts with next_due_at <= now (oldest
        due first) to DIALING and return them. Dead contacts, and contacts whose number
        has an open attempt in any campaign (one person, one call), are never returned."""
        ...

    async def start_attempt(
        self,
        lease: LeasedContact,
        attempt_id: str,
        started_at: datetime,
        server: str | None = None,
    ) -> None:
        """Record the attempt, with the Asterisk server it goes to, before anything is
        sent to the PBX (so a crash leaves a trace that prevents a second dial for the
        same attempt, and says where to reconcile it). Raises NumberInCall if
        the number has an open attempt in any campaign (the lease stays to release)."""
        ...

    async def finish_attempt(
        self, result: AttemptResult, next_step: NextStep, events: Sequence[NewWebhook] = ()
    ) -> bool:
        """Close the attempt, apply next_step to its contact and queue `events` (webhook
        outbox rows), in one transaction. False (and nothing changed) if the attempt is
        already closed: an attempt is closed exactly once."""
        ...

    async def release_lease(
        self, campaign_id: int, contact_id: int, due_at: datetime | None
    ) -> None:
        """Give back a leased contact for which no attempt was started, due again at
        due_at; None retires it from this campaign (done, with no outcome of a call)."""
        ...

    async def release_leases(
        self, campaign_id: int, releases: Sequence[tuple[int, datetime | None]]
    ) -> None:
        """release_lease for many (contact_id, due_at) in one write."""
        ...

    async def recover(self, campaign_id: int, now: datetime) -> list[OpenAttempt]:
        """After a restart: DIALING contacts with no open attempt go back to PENDING (due
        now); attempts still open are returned for reconciliation."""
        ...

    # --- runtime state ------------------------------------------------------------------
    async def save_runtime(
        self,
        campaign_id: int,
        ledger: Mapping[str, object],
        status: Mapping[str, object],
        now: datetime,
    ) -> None:
        """Keep a running campaign's abandon ledger and status snapshot."""
        ...

    async def load_runtime(
        self, campaign_id: int
    ) -> tuple[dict[str, object], dict[str, object], datetime | None]:
        """(ledger, status, saved at); empty dicts and None if never saved."""
        ...

    async def progress(self, campaign_id: int, now: datetime) -> CampaignProgress:
        """Where the campaign stands: the runner reads it to know when it is finished."""
        ...


class Reports(Protocol):
    """Read-only views of the campaigns and their history (report, export, status)."""

    async def get_campaign(self, name: str) -> CampaignRecord | None: ...

    async def campaigns(self) -> list[CampaignRecord]: ...

    async def contact_report(self, campaign_id: int) -> list[ContactReport]: ...

    def contact_report_batches(
        self, campaign_id: int, batch_size: int = 2000
    ) -> AsyncIterator[list[ContactReport]]:
        """contact_report in contact id order, a batch at a time (memory stays flat)."""
        ...

    async def campaign_funnel(self, campaign_id: int) -> CampaignFunnel:
        """What ReportTotals counts of contacts, reached and temperatures, by one
        aggregate query (no contact is read out): StoreError for an unknown campaign."""
        ...

    async def attempts(self, campaign_id: int) -> list[AttemptRecord]: ...

    def due_view_batches(
        self, list_name: str, campaign_id: int | None, batch_size: int = 5000
    ) -> AsyncIterator[list[DueView]]:
        """Every contact of the list with its standing in the campaign (None: the
        campaign was never opened), in pages. Raises StoreError for an unknown list."""
        ...

    async def attempt_outcomes(self, campaign_id: int) -> dict[Outcome, int]:
        """How many closed attempts of the campaign ended with each outcome."""
        ...

    async def number_histories(
        self, numbers: Iterable[str], since: datetime
    ) -> dict[str, list[PastCall]]:
        """Each number's calls started at or after `since`, in every campaign (open ones
        too), oldest first: one entry per number asked, an empty list for none. One
        indexed query per call, whatever the batch's size."""
        ...

    def contact_facts_batches(
        self, list_name: str, batch_size: int = 5000
    ) -> AsyncIterator[list[ContactFacts]]:
        """Every contact of the list with its standing across campaigns, in id order, a
        batch at a time (StoreError for an unknown list)."""
        ...

    async def base_stats(self, list_name: str | None = None) -> BaseStats:
        """The list (None: every list) by status and temperature."""
        ...

    async def campaign_changes(self, campaign_id: int) -> CampaignChanges:
        """What the campaign's calls changed: dead, do-not-call, temperatures."""
        ...

    async def attempt_details_count(
        self, campaign_id: int, outcome: Outcome, detail_prefix: str
    ) -> int:
        """How many closed attempts ended with `outcome` and a detail starting with
        detail_prefix (e.g. machines with "message left")."""
        ...


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject: str
    detail: str
    rows: int


class AuditLog(Protocol):
    """Who took contact data out of the base (exports), when, and how many rows."""

    async def record_audit(
        self, at: datetime, actor: str, action: str, subject: str, detail: str, rows: int
    ) -> None: ...

    async def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        """The latest entries first."""
        ...


class ContactStore(
    ContactBase, CampaignLedger, Reports, AuditLog, CampaignFiles, ApiTokens, Outbox, Protocol
):
    """The whole store, as the engine and the CLI open it: every role on one backend."""

    async def close(self) -> None: ...
