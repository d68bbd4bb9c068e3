"""Each person's calls across every campaign (Reports.number_histories), for the
frequency caps and recall rules of the lease gate and `dialer preview`: one query per
batch of numbers (an array parameter), a range scan of attempts (number, started_at)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from dialer.call_history import PastCall
from dialer.outcomes import Outcome
from dialer.store.column_values import ts
from dialer.store.postgres.connection import PgRole


class PgCallHistories(PgRole):
    async def number_histories(
        self, numbers: Iterable[str], since: datetime
    ) -> dict[str, list[PastCall]]:
        wanted = sorted(set(numbers))
        histories: dict[str, list[PastCall]] = {number: [] for number in wanted}
        if not wanted:
            return histories
        async with self._conn.read() as db:
            rows = await db.fetch(
                "SELECT a.number, a.started_at, a.ended_at, a.outcome, c.name, a.id"
                " FROM attempts a JOIN campaigns c ON c.id = a.campaign_id"
                " WHERE a.number = ANY($1::text[]) AND a.started_at >= $2"
                " ORDER BY a.number, a.started_at",
                wanted,
                ts(since),
            )
        stamp = datetime.fromtimestamp
        for number, started, ended, outcome, campaign, attempt_id in rows:
            kind = _KINDS[outcome]
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


# Each stored outcome as a PastCall describes it, worked out once.
_KINDS: dict[str | None, PastCall] = {
    value: PastCall.of(datetime.min.replace(tzinfo=UTC), Outcome(value) if value else None, "")
    for value in (None, *(o.value for o in Outcome))
}
