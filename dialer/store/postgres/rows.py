"""The lookups several PostgreSQL role modules share; column values (times, JSON, records)
are in dialer.store.column_values, the same for both backends."""

from __future__ import annotations

from typing import Any

import asyncpg

from dialer.store.base import CampaignRecord, StoreError
from dialer.store.column_values import (
    CAMPAIGN_COLUMNS,
    campaign_record,
    unknown_list,
)


# --- lookups ----------------------------------------------------------------------------
async def list_id(db: asyncpg.Connection, name: str) -> int:
    found = await db.fetchval("SELECT id FROM lists WHERE name = $1", name)
    if found is None:
        known = [r[0] for r in await db.fetch("SELECT name FROM lists ORDER BY name LIMIT 20")]
        raise StoreError(unknown_list(name, known))
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
