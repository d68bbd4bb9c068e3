"""Leasing with every compliance rule on, on a large base: N contacts (default
1,000,000) from numbers in many zones (Russian mobiles that span eleven zones, Moscow,
Arizona, New York, London, Berlin), 10% of them on the do-not-call list, per-person
frequency caps on and a recent call history for part of the list. Measures the time to
lease the next 1,000 due contacts and judge them (do-not-call at dial time, calling
windows in every candidate zone, caps across campaigns) and give back the ones held,
its median over many rounds, the steady rate over those rounds, and a do-not-call import
of N numbers through `dialer dnc import`.

Goals (issue #9): median <= 50 ms per 1,000, >= 5,000 contacts/s, DNC import >= 100,000
numbers/s. The same on PostgreSQL (issue #11: lease latency <= 50 ms per 1,000 with
1,000,000 contacts): `--postgres` starts a private server (tests/pg_server.py, Debian's
postgresql) for the run; `--db postgresql://...` uses an EMPTY database of yours (the
full-register import then needs `--register-db`, a second empty one, or is skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_report import print_figures

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.pg_server

from dialer.campaign.loader import load_campaign
from dialer.control.app import opened_store
from dialer.engine.compliance_gate import ComplianceGate, callee_of_lease
from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import AttemptResult, NewContact, NextStep

LIST = "bench"
# 15:00 UTC on a Wednesday: Moscow and London open, Vladivostok and Arizona closed.
AT = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
PREFIXES = ("+7912", "+7495", "+1602", "+1212", "+4420", "+4930")
CAMPAIGN_YAML = """\
name: bench-lease
list: bench
ami: {host: 127.0.0.1, port: 5038, username: dialer, secret: bench}
dial: {channel: "Local/{number}@callees"}
compliance:
  profile: none
  frequency:
    attempts_per_day: 1
    attempts_per_week: 5
    connected_per_month: 3
"""


def number(i: int) -> str:
    """A valid number of the i-th zone mix, unique per i."""
    prefix = PREFIXES[i % len(PREFIXES)]
    digits = 7 if prefix[:2] in ("+7", "+1") else 8  # +7 912 and +1 602: 10 digits
    body = f"{i:0{digits}d}"[-digits:]
    return prefix + "7" + body[1:]  # a subscriber range in use in every one of these areas


async def build_base(db: Path | str, contacts: int) -> tuple[float, list[str]]:
    began = time.perf_counter()
    dnc = [number(i) for i in range(0, contacts, 10)]
    async with opened_store(db) as store:
        for start in range(0, contacts, 20_000):
            await store.import_contacts(
                LIST,
                [NewContact(number=number(i)) for i in range(start, min(contacts, start + 20_000))],
            )
        # History in another campaign for 1 in 7 numbers, spread over the list: the caps
        # count it, and hold those numbers (one attempt a day at most).
        other = await store.open_campaign("earlier", LIST, AT - timedelta(days=3))
        earlier = AT - timedelta(hours=5)
        while leases := await store.lease_due(other.id, earlier, 7000):
            called = [lease for lease in leases if lease.contact_id % 7 == 0]
            for lease in called:
                attempt = f"h-{lease.contact_id}"
                await store.start_attempt(lease, attempt, earlier)
                await store.finish_attempt(
                    AttemptResult(attempt, Outcome.NO_ANSWER, earlier + timedelta(seconds=30)),
                    NextStep(ContactStatus.DONE, final_outcome=Outcome.NO_ANSWER),
                )
            await store.release_leases(
                other.id, [(lease.contact_id, None) for lease in leases if lease.contact_id % 7]
            )
    return time.perf_counter() - began, dnc


def dnc_import(db: Path | str, numbers: list[str], folder: Path) -> float:
    path = folder / "register.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["phone"])
        writer.writerows([n] for n in numbers)
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dialer", "--db", str(db), "dnc", "import", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


async def lease_rounds(
    db: Path | str, folder: Path, rounds: int
) -> tuple[list[float], Counter[str]]:
    campaign_file = folder / "campaign.yaml"
    campaign_file.write_text(CAMPAIGN_YAML)
    campaign = load_campaign(campaign_file)
    held: Counter[str] = Counter()
    took: list[float] = []
    async with opened_store(db) as store:
        record = await store.open_campaign(campaign.name, LIST, AT - timedelta(minutes=1))
        gate = ComplianceGate(campaign, store)
        for _ in range(rounds):
            began = time.perf_counter()
            leases = await store.lease_due(record.id, AT, 1000)
            if not leases:
                break
            verdicts = await gate.verdicts([callee_of_lease(lease) for lease in leases], AT)
            releases = []
            for lease, verdict in zip(leases, verdicts, strict=True):
                if verdict is not None:
                    held[verdict.reason.value] += 1
                    releases.append((lease.contact_id, verdict.until))
                else:
                    # Admitted: given back for tomorrow, as if dialled, so the next round
                    # leases the next 1,000.
                    releases.append((lease.contact_id, AT + timedelta(days=1)))
            await store.release_leases(record.id, releases)
            took.append(time.perf_counter() - began)
    return took, held


def main() -> None:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or ""))
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=50, help="lease rounds of 1,000")
    parser.add_argument("--db", help="an empty postgresql:// database (default: SQLite file)")
    parser.add_argument("--register-db", help="with --db: a second empty one for the register")
    parser.add_argument(
        "--postgres", action="store_true", help="on a private PostgreSQL started for the run"
    )
    args = parser.parse_args()
    server = None
    if args.postgres:
        from tests.pg_server import PrivatePostgres, why_unavailable

        if (reason := why_unavailable()) is not None:
            sys.exit(f"--postgres: {reason}")
        server = PrivatePostgres().start()
        args.db, args.register_db = server.new_database(), server.new_database()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures = run(args, Path(tmp))
    finally:
        if server is not None:
            server.stop()
    median_ms = figures["lease_1000_median_ms"]
    rate = figures["lease_rate_per_s"]
    register_rate = figures.get("dnc_import_per_s")
    goals = {
        "lease_1000_median_ms": ("<= 50", median_ms <= 50),
        "lease_rate_per_s": (">= 5000", rate >= 5000),
    }
    if register_rate is not None:
        goals["dnc_import_per_s"] = (">= 100000", register_rate >= 100_000)
    title = "Leasing with every rule on" + (" (PostgreSQL)" if args.db else " (SQLite)")
    print_figures(title, figures, goals)


def run(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    db: Path | str = args.db or folder / "bench.db"
    build_s, dnc = asyncio.run(build_base(db, args.contacts))
    import_s = dnc_import(db, dnc, folder)
    dnc_rate = len(dnc) / import_s
    # A national register is the size of the base: imported once more, in full.
    register = [number(i) for i in range(args.contacts)]
    register_db = args.register_db if args.db else folder / "register.db"
    register_s = dnc_import(register_db, register, folder) if register_db else None
    took, held = asyncio.run(lease_rounds(db, folder, args.rounds))
    median_ms = 1000 * statistics.median(took)
    leased = 1000 * len(took)
    rate = leased / sum(took)
    figures: dict[str, float] = {
        "contacts": args.contacts,
        "build_s": round(build_s, 1),
        "rounds": len(took),
        "lease_1000_median_ms": round(median_ms, 1),
        "lease_1000_p95_ms": round(1000 * sorted(took)[int(0.95 * (len(took) - 1))], 1),
        "lease_rate_per_s": round(rate),
        "held_share": round(sum(held.values()) / max(1, leased), 3),
        **{f"held_{reason}": count for reason, count in sorted(held.items())},
        "dnc_10pct_import_per_s": round(dnc_rate),
    }
    if register_s is not None:
        figures["dnc_import_numbers"] = len(register)
        figures["dnc_import_s"] = round(register_s, 2)
        figures["dnc_import_per_s"] = round(len(register) / register_s)
    return figures


if __name__ == "__main__":
    main()
