"""The lookups several SQLite role modules share; column values (times, JSON, records)
are in dialer.store.column_values, the same for both backends."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from dialer.store.base import CampaignRecord, StoreError
from dialer.store.column_values import (
    CAMPAIGN_COLUMNS,
    campaign_record,
    unknown_list,
)


# --- lookups ----------------------------------------------------------------------------
def list_id(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT id FROM lists WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in db.execute("SELECT name FROM lists ORDER BY name LIMIT 20")]
        raise StoreError(unknown_list(name, known))
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
