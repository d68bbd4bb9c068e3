"""What a closed attempt changes in the contact base itself, across every list and
campaign: a number found dead, put on the do-not-call list, new fields (temperature,
disposition), and a streak of failures that says the number is out of service; and the
leases given back on a number that died meanwhile (retire_dead_leases)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from dialer.outcomes import Outcome
from dialer.store.base import NextStep
from dialer.store.column_values import to_json
from dialer.store.sqlite.contact_base import mark_dead, record_do_not_call

_FAILURES = tuple(o.value for o in Outcome if o.number_failure)
_IN_SERVICE = tuple(o.value for o in Outcome if o.number_in_service)


def failure_streak(db: sqlite3.Connection, number: str) -> int:
    """The number's closed attempts, in every campaign, that failed since the last one
    that rang or was answered (index attempts (number, started_at))."""
    failures = ",".join("?" * len(_FAILURES))
    in_service = ",".join("?" * len(_IN_SERVICE))
    (count,) = db.execute(
        f"SELECT count(*) FROM attempts WHERE number = ? AND outcome IN ({failures})"
        " AND started_at > coalesce((SELECT max(started_at) FROM attempts"
        f"   WHERE number = ? AND outcome IN ({in_service})), -1)",
        (number, *_FAILURES, number, *_IN_SERVICE),
    ).fetchone()
    return int(count)


def apply_to_contact(
    db: sqlite3.Connection, attempt_id: str, contact_id: int, step: NextStep, now: float
) -> None:
    """What the closed attempt changes in the contact base itself, and a note of it on
    the attempt (what `dialer contacts stats` counts per campaign)."""
    if not (step.mark_dead or step.set_fields or step.opt_out):
        return  # most closes: no read of the contact on the hot path
    number, was_dead, temperature = db.execute(
        "SELECT number, dead, json_extract(fields, '$.temperature') FROM contacts WHERE id = ?",
        (contact_id,),
    ).fetchone()
    changes: dict[str, object] = {}
    if step.mark_dead:
        mark_dead(db, contact_id, now)
        changes["dead"] = not was_dead
    if step.set_fields:
        db.execute(
            "UPDATE contacts SET fields = json_patch(fields, ?), updated_at = ? WHERE id = ?",
            (to_json(step.set_fields), now, contact_id),
        )
        if step.set_fields.get("temperature", temperature) != temperature:
            changes["temperature"] = [temperature, step.set_fields["temperature"]]
    if step.opt_out:
        # Often listed already, during the call (the opt-out step takes effect at once):
        # the call that asked is still the one that put the number there.
        reason = f"{step.do_not_call_reason} (attempt {attempt_id})"
        record_do_not_call(db, [number], reason, now)
        changes["dnc"] = True
    changes = {key: value for key, value in changes.items() if value}
    if changes:
        db.execute("UPDATE attempts SET changes = ? WHERE id = ?", (to_json(changes), attempt_id))


def retire_dead_leases(
    db: sqlite3.Connection, campaign_id: int, contact_ids: Sequence[int] | None
) -> None:
    """Leases given back (these, or None: all without an open attempt) whose number died
    meanwhile are retired: mark_dead skipped them, pending they would wait forever."""
    which = (
        " AND contact_id IN (SELECT value FROM json_each(?))"
        if contact_ids is not None
        else " AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.campaign_id = ?"
        " AND a.contact_id = campaign_contacts.contact_id AND a.ended_at IS NULL)"
    )
    db.execute(
        "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL,"
        " final_outcome = coalesce(final_outcome, ?)"
        " WHERE campaign_id = ? AND status = 'dialing'"
        " AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = contact_id AND c.dead = 1)" + which,
        (
            Outcome.INVALID_NUMBER.value,
            campaign_id,
            json.dumps(list(contact_ids)) if contact_ids is not None else campaign_id,
        ),
    )
