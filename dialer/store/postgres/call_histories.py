"""Each person's calls across every campaign (Reports.number_histories), for the
frequency caps and recall rules of the lease gate and `dialer preview`: one query per
batch of numbers (an array parameter), a range scan of attempts (number, started_at)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from dialer.call_history import PastCall
from dialer.store.column_values import ts
from dialer.store.postgres.connection import PgRole
from dialer.store.row_summaries import past_calls


class PgCallHistories(PgRole):
    async def number_histories(
        self, numbers: Iterable[str], since: datetime
    ) -> dict[str, list[PastCall]]:
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        async with self._conn.read() as db:
            rows = await db.fetch(
                "SELECT a.number, a.started_at, a.ended_at, a.outcome, c.name, a.id"
                " FROM attempts a JOIN campaigns c ON c.id = a.campaign_id"
                " WHERE a.number = ANY($1::text[]) AND a.started_at >= $2"
                " ORDER BY a.number, a.started_at",
                wanted,
                ts(since),
            )
        return past_calls(wanted, rows)
