"""What both backends work out in Python from the rows they fetched, the same on each:
a contact's standing in the base and the base's stats, what a campaign changed, each
number's past calls, a campaign's progress. Each backend keeps its own SQL and hands
the rows over, read here by position (sqlite3.Row, asyncpg.Record and plain tuples all
unpack)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dialer.call_history import PastCall
from dialer.outcomes import BaseStatus, Outcome
from dialer.store.base import (
    BaseStats,
    CampaignChanges,
    CampaignProgress,
    CampaignRecord,
    ContactFacts,
)
from dialer.store.column_values import dt_or_none, outcome

# Each stored outcome as a PastCall describes it, worked out once.
_KINDS: dict[str | None, PastCall] = {
    value: PastCall.of(datetime.min.replace(tzinfo=UTC), Outcome(value) if value else None, "")
    for value in (None, *(o.value for o in Outcome))
}


def contact_facts(row: Sequence[Any], standing: Sequence[Any] | None) -> ContactFacts:
    """row: the contact's id, fields (JSON text), dead, dnc (on a do-not-call list) and
    its `temperature` field (SQLite's json_extract gives a JSON number as a number, hence
    str()); standing: None (in no campaign) or its campaign rows summed: contact_id,
    waiting, reached, attempts, last_at and the last_outcome of that last attempt."""
    contact_id, fields, dead, dnc, temperature = row
    if standing is None:
        waiting = reached = attempts = 0
        last_at = last_outcome = None
    else:
        _, waiting, reached, attempts, last_at, last_outcome = standing
    if dnc:
        status = BaseStatus.DNC
    elif dead:
        status = BaseStatus.DEAD
    elif waiting:
        status = BaseStatus.PENDING
    elif reached:
        status = BaseStatus.REACHED
    elif attempts:
        status = BaseStatus.DONE
    else:
        status = BaseStatus.NEW
    return ContactFacts(
        contact_id,
        status,
        outcome(last_outcome) if last_at is not None else None,
        dt_or_none(last_at),
        int(attempts),
        bool(dead),
        bool(dnc),
        None if temperature is None else str(temperature),
        fields,
    )


async def base_stats_of(lists: Iterable[AsyncIterator[list[ContactFacts]]]) -> BaseStats:
    """The base's contacts counted by status and temperature, from each list's pages of
    contact_facts in turn."""
    by_status: Counter[BaseStatus] = Counter({status: 0 for status in BaseStatus})
    by_temperature: Counter[str] = Counter()
    for batches in lists:
        async for batch in batches:
            by_status.update(c.status for c in batch)
            by_temperature.update(c.temperature or "" for c in batch)
    return BaseStats(sum(by_status.values()), dict(by_status), dict(by_temperature))


def changes_from_notes(
    record: CampaignRecord, called: int, reached: int, notes: Iterable[Sequence[Any]]
) -> CampaignChanges:
    """notes: (contact_id, the attempt's `changes` as JSON text) of the campaign's
    attempts that changed something, in the order they ended."""
    dead: set[int] = set()
    dnc: set[int] = set()
    temperatures: dict[int, list[str]] = {}  # contact -> [before its first, latest]
    for contact_id, text in notes:
        note = json.loads(text)
        if note.get("dead"):
            dead.add(contact_id)
        if note.get("dnc"):
            dnc.add(contact_id)
        if "temperature" in note:
            before, after = (t or "" for t in note["temperature"])
            temperatures.setdefault(contact_id, [before, after])[1] = after
    net: Counter[str] = Counter()
    for before, after in temperatures.values():
        if before != after:
            net[after] += 1
            net[before] -= 1
    return CampaignChanges(record, called, reached, len(dead), len(dnc), dict(net))


def past_calls(wanted: Iterable[str], rows: Iterable[Sequence[Any]]) -> dict[str, list[PastCall]]:
    """Each wanted number's calls, from rows of (number, started_at, ended_at, outcome,
    campaign name, attempt id) in the order of the number then started_at."""
    histories: dict[str, list[PastCall]] = {number: [] for number in wanted}
    stamp = datetime.fromtimestamp
    for number, started, ended, stored, campaign, attempt_id in rows:
        kind = _KINDS[stored]
        histories[number].append(
            PastCall(
                stamp(started, UTC),
                kind.outcome,
                kind.connected,
                kind.abandoned,
                kind.machine,
                campaign,
                None if ended is None else stamp(ended, UTC),
                attempt_id,
            )
        )
    return histories


def campaign_progress(
    by_status: Mapping[str, tuple[int, int, float | None]], outcomes: Mapping[str, int]
) -> CampaignProgress:
    """by_status: per status of the campaign's contacts, (contacts, due now, earliest
    next_due_at); outcomes: attempts by outcome."""
    pending, due_now, earliest = by_status.get("pending", (0, 0, None))
    return CampaignProgress(
        total=sum(v[0] for v in by_status.values()),
        pending=pending,
        due_now=due_now,
        dialing=by_status.get("dialing", (0, 0, None))[0],
        done=by_status.get("done", (0, 0, None))[0],
        next_due_at=dt_or_none(earliest),
        outcomes=outcomes,
    )
