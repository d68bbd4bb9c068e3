"""Each person's calls across every campaign (Reports.number_histories), for the
frequency caps and recall rules of the lease gate and `dialer preview`.

One query per batch of numbers whatever its size: the numbers travel as one JSON array
parameter (no bound-parameter limit), and each is a range scan of the index on
attempts (number, started_at).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from dialer.call_history import PastCall
from dialer.store.column_values import ts
from dialer.store.row_summaries import past_calls
from dialer.store.sqlite.connection import SqliteRole

HISTORIES_QUERY = (
    "SELECT a.number, a.started_at, a.ended_at, a.outcome, c.name AS campaign, a.id"
    " FROM attempts a JOIN campaigns c ON c.id = a.campaign_id"
    " WHERE a.number IN (SELECT value FROM json_each(?)) AND a.started_at >= ?"
    " ORDER BY a.number, a.started_at"
)


class SqliteCallHistories(SqliteRole):
    async def number_histories(
        self, numbers: Iterable[str], since: datetime
    ) -> dict[str, list[PastCall]]:
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        with self._conn.read() as db:
            cursor = db.cursor()
            cursor.row_factory = None  # plain tuples: this runs for every batch leased
            rows = cursor.execute(HISTORIES_QUERY, (json.dumps(wanted), ts(since))).fetchall()
        return past_calls(wanted, rows)
