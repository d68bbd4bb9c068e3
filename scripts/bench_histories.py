"""Per-person call histories across campaigns: builds a base of N contacts (default
1,000,000) on one list, three campaigns on it and about three attempts per contact spread
over 60 days (mixed outcomes, some still open), then measures number_histories for
batches of 1,000 random numbers (what the lease gate reads per batch leased), one pass
over every number in batches of 2,000 (what `dialer preview` reads), and frequency_verdict
over each batch's histories (pure CPU). Goal: a 1,000-number batch read in <= 20 ms, a
small part of the lease's 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_report import print_figures

from dialer.control.app import opened_store
from dialer.outcomes import Outcome
from dialer.policy.frequency import FrequencyCaps, frequency_verdict
from dialer.store.base import NewContact

LIST = "bench"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MONTH = timedelta(days=30)
GOAL_BATCH_MS = 20.0
CAPS = FrequencyCaps(
    attempts_per_day=2,
    attempts_per_week=4,
    attempts_per_month=8,
    connected_per_month=2,
    abandoned_recall_hold=timedelta(hours=72),
    no_same_day_machine_recall=True,
)
OUTCOMES = [
    Outcome.NO_ANSWER,
    Outcome.NO_ANSWER,
    Outcome.BUSY,
    Outcome.ANSWERED,
    Outcome.TRANSFERRED,
    Outcome.MACHINE,
    Outcome.ABANDONED,
    Outcome.FAILED,
    Outcome.CONGESTION,
]


def number(i: int) -> str:
    return f"+7912{i:07d}"


async def build_base(db: Path, contacts: int, rng: random.Random) -> tuple[float, int]:
    began = time.perf_counter()
    async with opened_store(db) as store:
        for start in range(0, contacts, 20_000):
            await store.import_contacts(
                LIST, [NewContact(number(i)) for i in range(start, min(contacts, start + 20_000))]
            )
        campaigns = [(await store.open_campaign(f"c{k}", LIST, NOW)).id for k in range(3)]
    # The attempts go in with plain SQL: a million closes through the ledger would take
    # longer than everything measured here, and only the rows matter to the reads.
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")
    rows = []
    for i in range(contacts):
        for n in range(rng.choice((0, 1, 2, 3, 4, 5))):
            started = (NOW - timedelta(seconds=rng.uniform(0, 60 * 86400))).timestamp()
            outcome = None if rng.random() < 0.002 else rng.choice(OUTCOMES).value
            ended = None if outcome is None else started + 30
            rows.append(
                (f"a{i}-{n}", rng.choice(campaigns), i + 1, number(i), started, ended, outcome)
            )
        if len(rows) >= 100_000 or i == contacts - 1:
            conn.executemany(
                "INSERT INTO attempts (id, campaign_id, contact_id, number, started_at,"
                " ended_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.commit()
            rows = []
    (attempts,) = conn.execute("SELECT count(*) FROM attempts").fetchone()
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - began, int(attempts)


async def measure(db: Path, contacts: int, batches: int, rng: random.Random) -> dict[str, object]:
    figures: dict[str, object] = {}
    async with opened_store(db) as store:
        read_ms, judge_ms, held = [], [], 0
        for _ in range(batches):
            wanted = [number(rng.randrange(contacts)) for _ in range(1000)]
            began = time.perf_counter()
            histories = await store.number_histories(wanted, NOW - MONTH)
            read_ms.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            for past in histories.values():
                held += frequency_verdict(CAPS, past, NOW, UTC, False) is not None
            judge_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        calls = 0
        for start in range(0, contacts, 2000):
            numbers = [number(i) for i in range(start, min(contacts, start + 2000))]
            calls += sum(map(len, (await store.number_histories(numbers, NOW - MONTH)).values()))
        every_s = time.perf_counter() - began
    quantiles = statistics.quantiles(read_ms, n=20)
    figures["batch_1000_read_median_ms"] = round(statistics.median(read_ms), 2)
    figures["batch_1000_read_p95_ms"] = round(quantiles[18], 2)
    figures["batch_1000_verdicts_median_ms"] = round(statistics.median(judge_ms), 2)
    figures["held_share"] = round(held / (batches * 1000), 3)
    figures["every_number_s"] = round(every_s, 1)
    figures["every_number_per_s"] = round(contacts / every_s)
    figures["calls_in_last_30_days_read"] = calls
    return figures


def _attempts(db: Path) -> int:
    conn = sqlite3.connect(db)
    (count,) = conn.execute("SELECT count(*) FROM attempts").fetchone()
    conn.close()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=200, help="random 1,000-number batches")
    parser.add_argument(
        "--db", type=Path, help="keep the base in this file and reuse it when it is there"
    )
    opts = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db = opts.db or Path(tmp) / "bench.db"
        build_s, attempts = 0.0, 0
        if not db.exists():
            build_s, attempts = asyncio.run(build_base(db, opts.contacts, rng))
        figures: dict[str, object] = {
            "contacts": opts.contacts,
            "attempts": attempts or _attempts(db),
            "build_base_s": round(build_s, 1),
        }
        figures.update(asyncio.run(measure(db, opts.contacts, opts.batches, rng)))
    median = figures["batch_1000_read_median_ms"]
    assert isinstance(median, float)
    goals = {"batch_1000_read_median_ms": (f"<= {GOAL_BATCH_MS:g}", median <= GOAL_BATCH_MS)}
    print_figures(f"Call histories of {opts.contacts:,} contacts", figures, goals)


if __name__ == "__main__":
    main()
