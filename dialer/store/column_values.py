"""Values between Python and the store's columns, the same on every backend: times are
epoch seconds (UTC) returned as aware UTC datetimes; JSON objects are compact text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dialer.outcomes import CampaignState, ContactStatus, Outcome
from dialer.store.base import NextStep
from dialer.store.views import CampaignRecord

CONTACT_COLUMNS = "c.id, c.number, c.name, c.timezone, c.fields, c.dead"
CAMPAIGN_COLUMNS = "c.id, c.name, l.name AS list_name, c.state, c.created_at"
GLOBAL_SCOPE = ""  # the do-not-call scope of the global list (else a campaign's name)


def unknown_list(name: str, known: list[str]) -> str:
    hint = f"known lists: {', '.join(known)}" if known else "no list imported yet"
    return f"unknown contact list {name!r} ({hint})"


def campaign_record(row: Mapping[str, Any]) -> CampaignRecord:
    return CampaignRecord(
        id=row["id"],
        name=row["name"],
        list_name=row["list_name"],
        state=CampaignState(row["state"]),
        created_at=dt(row["created_at"]),
    )


def to_json(value: Mapping[str, object]) -> str:
    # default=str: an odd answer value must never stop an attempt from being closed.
    return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"), default=str)


def from_json(text: str | None) -> Any:
    return {} if text is None else json.loads(text)


def ts(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment}: the store takes timezone-aware datetimes")
    return moment.timestamp()


def ts_or_none(moment: datetime | None) -> float | None:
    return None if moment is None else ts(moment)


def dt(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def dt_or_none(stamp: float | None) -> datetime | None:
    return None if stamp is None else dt(stamp)


def outcome(value: str | None) -> Outcome | None:
    return None if value is None else Outcome(value)


def scope_of(campaign: str | None) -> str:
    """The do-not-call scope of a campaign's list (None: the global list)."""
    if campaign is None:
        return GLOBAL_SCOPE
    if not campaign.strip():
        raise ValueError("a campaign's do-not-call list needs the campaign's name")
    return campaign


def next_due(step: NextStep) -> float | None:
    """The contact's next_due_at after an attempt: its step's due_at, or None when done."""
    if step.status is ContactStatus.PENDING:
        if step.due_at is None:
            raise ValueError("a PENDING next step needs due_at")
        return ts(step.due_at)
    if step.status is ContactStatus.DONE:
        return None
    raise ValueError(f"a next step is PENDING or DONE, not {step.status}")
