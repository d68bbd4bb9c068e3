"""Values between Python and SQLite columns, and the lookups several roles share.

Times are stored as REAL epoch seconds (UTC) and returned as aware UTC datetimes; JSON
objects as compact TEXT.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dialer.outcomes import CampaignState, Outcome
from dialer.store.base import CampaignRecord, StoreError

CONTACT_COLUMNS = "c.id, c.number, c.name, c.timezone, c.fields, c.dead"
CAMPAIGN_COLUMNS = "c.id, c.name, l.name AS list_name, c.state, c.created_at"


# --- lookups ----------------------------------------------------------------------------
def list_id(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT id FROM lists WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in db.execute("SELECT name FROM lists ORDER BY name LIMIT 20")]
        hint = f"known lists: {', '.join(known)}" if known else "no list imported yet"
        raise StoreError(f"unknown contact list {name!r} ({hint})")
    return int(row[0])


def require_campaign(db: sqlite3.Connection, campaign_id: int) -> None:
    if db.execute("SELECT 1 FROM campaigns WHERE id = ?", (campaign_id,)).fetchone() is None:
        raise StoreError(f"no campaign with id {campaign_id}")


def find_campaign(
    db: sqlite3.Connection, where: str, params: Sequence[Any]
) -> CampaignRecord | None:
    row = db.execute(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c JOIN lists l ON l.id = c.list_id"
        f" WHERE {where}",
        params,
    ).fetchone()
    return None if row is None else campaign_record(row)


def campaign_record(row: sqlite3.Row) -> CampaignRecord:
    return CampaignRecord(
        id=row["id"],
        name=row["name"],
        list_name=row["list_name"],
        state=CampaignState(row["state"]),
        created_at=dt(row["created_at"]),
    )


# --- values -----------------------------------------------------------------------------
def to_json(value: Mapping[str, object]) -> str:
    # default=str: an odd answer value must never stop an attempt from being closed.
    return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"), default=str)


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
