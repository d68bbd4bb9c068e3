"""Do-not-call benchmark: import a register file, then the check before each Originate.

Generates a CSV of N unique Russian numbers written the ways registers and clients write
them (E.164 for --e164-share of them, else 7XXXXXXXXXX or 8 (XXX) XXX-XX-XX) with ~0.5%
bad rows; opens a base with a
list of C contacts (a tenth of them in the register) and a campaign on it; imports the
file through dialer.contacts.dnc_import (numbers parsed by the same code as contacts,
in worker processes); then times do_not_call_among on batches of 100 numbers (what the
engine asks just before an Originate) and the store's share alone (add_do_not_call of
numbers already normalised, into a second base). Run it through scripts/bench-dnc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from dialer.contacts.dnc_import import import_do_not_call, parse_rows
from dialer.store.base import NewContact
from dialer.store.sqlite import SqliteStore

LABELS = {
    "numbers": "rows in the file",
    "added": "numbers added",
    "e164_share": "rows already in E.164",
    "rejected": "rows rejected",
    "retired": "contacts retired",
    "workers": "parse workers",
    "seconds": "import seconds",
    "numbers_per_s": "import numbers/s",
    "store_seconds": "store only, seconds",
    "store_numbers_per_s": "store only, numbers/s",
    "check_100_median_ms": "check 100, median ms",
    "check_100_p95_ms": "check 100, p95 ms",
    "import_main_cpu_seconds": "import, CPU s (main proc.)",
    "parse_cpu_us": "parse, CPU us a number",
    "store_cpu_us": "store, CPU us a number",
    "file_mb": "CSV size, MB",
}
MOBILE = ["912", "916", "903", "926", "985", "999", "950", "977", "904", "965"]


def numbers(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    found: set[str] = set()
    while len(found) < count:
        found.add(f"+7{rnd.choice(MOBILE)}{rnd.randrange(10**7):07d}")
    return sorted(found, key=lambda _: rnd.random())


def written(e164: str, rnd: random.Random, e164_share: float = 0.5) -> str:
    national = e164[2:]
    roll = rnd.random()
    if roll < 0.005:
        return rnd.choice(["12345", "abc", "+7912", "8 000 000 00 00"])
    if roll < e164_share:
        return e164
    if roll < 0.8:
        return "7" + national
    return f"8 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"


async def run(args: argparse.Namespace, work: Path) -> dict[str, int | float]:
    rnd = random.Random(args.seed)
    register = numbers(args.numbers, args.seed)
    source = work / "register.csv"
    with source.open("w", encoding="utf-8") as f:
        f.write("phone\n")
        f.writelines(written(n, rnd, args.e164_share) + "\n" for n in register)
    in_base = register[: args.contacts // 10]
    listed = set(register)
    others = [n for n in numbers(args.contacts, args.seed + 1) if n not in listed]
    base = in_base + others[: args.contacts - len(in_base)]
    store = await SqliteStore.open(work / "bench.db")
    try:
        for start in range(0, len(base), 5000):
            await store.import_contacts("base", [NewContact(n) for n in base[start : start + 5000]])
        campaign = await store.open_campaign("bench", "base", datetime.now(UTC))
        before = (await store.progress(campaign.id, datetime.now(UTC))).done
        cpu0 = time.process_time()
        report = await import_do_not_call(
            store, source, None, "RU", work / "rejects.csv", workers=args.workers
        )
        import_cpu = time.process_time() - cpu0
        retired = (await store.progress(campaign.id, datetime.now(UTC))).done - before
        checks = []
        for _ in range(200):
            batch = rnd.sample(register, 50) + rnd.sample(others, 50)
            t0 = time.perf_counter()
            await store.do_not_call_among(batch, "bench")
            checks.append((time.perf_counter() - t0) * 1000)
    finally:
        await store.close()
    alone = await SqliteStore.open(work / "alone.db")
    try:
        t0, cpu0 = time.perf_counter(), time.process_time()
        now = datetime.now(UTC)
        for start in range(0, len(register), 50_000):
            await alone.add_do_not_call(register[start : start + 50_000], "bench", now)
        store_seconds = time.perf_counter() - t0
        store_cpu = time.process_time() - cpu0
    finally:
        await alone.close()
    # CPU time, not wall time: what a number costs whatever else the machine runs.
    sample = [(i + 2, (written(n, rnd, args.e164_share),)) for i, n in enumerate(register[:20_000])]
    cpu0 = time.process_time()
    parse_rows(sample, phone=0, region="RU")
    parse_cpu = (time.process_time() - cpu0) / len(sample)
    checks.sort()
    return {
        "numbers": report.rows_read,
        "added": report.added,
        "e164_share": args.e164_share,
        "rejected": report.rejected,
        "retired": retired,
        "workers": report.workers,
        "seconds": round(report.seconds, 2),
        "numbers_per_s": round(report.rows_read / report.seconds),
        "store_seconds": round(store_seconds, 2),
        "store_numbers_per_s": round(len(register) / store_seconds),
        "check_100_median_ms": round(statistics.median(checks), 3),
        "check_100_p95_ms": round(checks[int(len(checks) * 0.95)], 3),
        "import_main_cpu_seconds": round(import_cpu, 2),
        "parse_cpu_us": round(parse_cpu * 1e6, 1),
        "store_cpu_us": round(store_cpu / len(register) * 1e6, 1),
        "file_mb": round(source.stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench-dnc")
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000, help="size of the base")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=None, help="default: automatic")
    parser.add_argument(
        "--e164-share", type=float, default=0.5, help="rows already in E.164 (default 0.5)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dnc-") as tmp:
        figures = asyncio.run(run(args, Path(tmp)))
    for key, label in LABELS.items():
        value = figures[key]
        text = f"{value:,}" if isinstance(value, int) else str(value)
        print(f"  {label:<24} {text:>12}")
    sys.stdout.flush()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
