"""What a closed attempt changes in the contact base itself, on PostgreSQL, across every
list and campaign: a number found dead, put on the do-not-call list, new fields
(temperature, disposition), and a streak of failures that says it is out of service."""

from __future__ import annotations

import asyncpg

from dialer.outcomes import Outcome
from dialer.store.base import NextStep
from dialer.store.column_values import to_json
from dialer.store.postgres.contact_base import mark_dead
from dialer.store.postgres.do_not_call import add_entries

_FAILURES = [o.value for o in Outcome if o.number_failure]
_IN_SERVICE = [o.value for o in Outcome if o.number_in_service]


async def failure_streak(db: asyncpg.Connection, number: str) -> int:
    """The number's closed attempts, in every campaign, that failed since the last one
    that rang or was answered (index attempts (number, started_at))."""
    count = await db.fetchval(
        "SELECT count(*) FROM attempts WHERE number = $1 AND outcome = ANY($2::text[])"
        " AND started_at > coalesce((SELECT max(started_at) FROM attempts"
        "   WHERE number = $1 AND outcome = ANY($3::text[])), -1)",
        number,
        _FAILURES,
        _IN_SERVICE,
    )
    return int(count)


async def apply_to_contact(
    db: asyncpg.Connection, attempt_id: str, contact_id: int, step: NextStep, now: float
) -> None:
    """What the closed attempt changes in the contact base itself, and a note of it on
    the attempt (what `dialer contacts stats` counts per campaign)."""
    if not (step.mark_dead or step.set_fields or step.opt_out):
        return  # most closes: no read of the contact on the hot path
    number, was_dead, temperature = await db.fetchrow(
        "SELECT number, dead, fields ->> 'temperature' FROM contacts WHERE id = $1", contact_id
    )
    changes: dict[str, object] = {}
    if step.mark_dead:
        await mark_dead(db, contact_id, now)
        changes["dead"] = not was_dead
    if step.set_fields:
        await db.execute(
            "UPDATE contacts SET fields = fields || $1::jsonb, updated_at = $2 WHERE id = $3",
            to_json(step.set_fields),
            now,
            contact_id,
        )
        if step.set_fields.get("temperature", temperature) != temperature:
            changes["temperature"] = [temperature, step.set_fields["temperature"]]
    if step.opt_out:
        reason = f"{step.do_not_call_reason} (attempt {attempt_id})"
        await add_entries(db, [number], reason, now, campaign=None)
        changes["dnc"] = True
    changes = {key: value for key, value in changes.items() if value}
    if changes:
        await db.execute(
            "UPDATE attempts SET changes = $1::jsonb WHERE id = $2", to_json(changes), attempt_id
        )
