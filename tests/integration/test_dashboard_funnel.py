"""The dashboard's lead funnel over a real SQLite contact base: counted like `dialer
report` (each contact by the temperature its last call set), kept while nothing can
change it, and counted again (at most every FUNNEL_FRESH_S, by the given clock) while
the campaign runs, and once more when it stops."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dialer.control.service.dashboard_figures import FUNNEL_FRESH_S, FunnelCounts
from dialer.outcomes import Outcome
from dialer.store.sqlite import SqliteStore
from tests.store_cases import FINISHED, T0, done, open_spring, open_test_store


async def call(store: SqliteStore, campaign_id: int, n: int, temperature: str) -> None:
    """The next due contact called, its call ending with `temperature` set."""
    (lease,) = await store.lease_due(campaign_id, T0, 1)
    attempt = f"a{n}"
    await store.start_attempt(lease, attempt, T0)
    at = T0 + timedelta(seconds=n)
    result = done(attempt, Outcome.ANSWERED, at, answers={"temperature": temperature})
    assert await store.finish_attempt(result, FINISHED)


async def test_the_funnel_is_the_reports_and_is_counted_again_only_when_it_may_change(
    tmp_path: Path,
) -> None:
    now = [100.0]
    async with open_test_store(tmp_path / "base.db") as store:
        campaign_id = await open_spring(store, count=5)
        funnels = FunnelCounts(store, clock=lambda: now[0])
        assert await funnels.of("nope", running=False) is None  # never ran: no funnel
        await call(store, campaign_id, 1, "hot")
        await call(store, campaign_id, 2, "warm")

        first = await funnels.of("spring", running=True)
        assert first is not None
        assert first.as_json() == {
            "contacts": 5,
            "reached": 2,
            "leads": {"hot": 1, "warm": 1, "cold": 0},
        }
        await call(store, campaign_id, 3, "cold")
        now[0] += FUNNEL_FRESH_S / 2
        assert await funnels.of("spring", running=True) == first  # kept: counted just now
        now[0] += FUNNEL_FRESH_S / 2
        second = await funnels.of("spring", running=True)
        assert second is not None and second.leads == {"hot": 1, "warm": 1, "cold": 1}

        await call(store, campaign_id, 4, "lukewarm")  # a script's own word comes last
        stopped = await funnels.of("spring", running=False)  # stopped: one last count
        assert stopped is not None
        assert list(stopped.leads.items()) == [
            ("hot", 1),
            ("warm", 1),
            ("cold", 1),
            ("lukewarm", 1),
        ]
        now[0] += 10 * FUNNEL_FRESH_S
        assert await funnels.of("spring", running=False) == stopped  # nothing runs: kept
        assert await funnels.all([("spring", False), ("nope", False)]) == {
            "spring": stopped.as_json()
        }
