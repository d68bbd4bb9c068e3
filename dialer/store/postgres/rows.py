"""Values between Python and PostgreSQL columns, and the lookups several roles share.

Times are epoch seconds (UTC) in double precision, as on SQLite, returned as aware UTC
datetimes; JSON objects are jsonb, sent and read as compact text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from dialer.outcomes import CampaignState, Outcome
from dialer.store.base import CampaignRecord, StoreError

CONTACT_COLUMNS = "c.id, c.number, c.name, c.timezone, c.fields, c.dead"
CAMPAIGN_COLUMNS = "c.id, c.name, l.name AS list_name, c.state, c.created_at"


# --- lookups ----------------------------------------------------------------------------
async def list_id(db: asyncpg.Connection, name: str) -> int:
    found = await db.fetchval("SELECT id FROM lists WHERE name = $1", name)
    if found is None:
        known = [r[0] for r in await db.fetch("SELECT name FROM lists ORDER BY name LIMIT 20")]
        hint = f"known lists: {', '.join(known)}" if known else "no list imported yet"
        raise StoreError(f"unknown contact list {name!r} ({hint})")
    return int(found)


async def require_campaign(db: asyncpg.Connection, campaign_id: int) -> None:
    if await db.fetchval("SELECT 1 FROM campaigns WHERE id = $1", campaign_id) is None:
        raise StoreError(f"no campaign with id {campaign_id}")


async def find_campaign(db: asyncpg.Connection, where: str, *params: Any) -> CampaignRecord | None:
    row = await db.fetchrow(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c JOIN lists l ON l.id = c.list_id"
        f" WHERE {where}",
        *params,
    )
    return None if row is None else campaign_record(row)


def campaign_record(row: asyncpg.Record) -> CampaignRecord:
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
