"""Import benchmark: a seeded CSV of N contacts through dialer.contacts.importer.

Generates N rows (default 1,000,000: Russian numbers written in the usual ways, ~5%
duplicates, ~1% bad rows), imports them into a temporary SQLite database through
import_file, and prints a table and, as the last line, one JSON object with the figures.
Run it through scripts/bench-import.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from dialer.contacts.importer import import_file
from dialer.store.sqlite import SqliteStore

FIRST = ["Иван", "Пётр", "Анна", "Мария", "Сергей", "Ольга", "Дмитрий", "Елена", "Алексей"]
LAST = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов"]
CITIES = ["Москва", "Санкт-Петербург", "Екатеринбург", "Казань", "Новосибирск"]
MOBILE = ["912", "916", "903", "926", "985", "999", "950", "977", "904", "965"]
LANDLINE = ["495", "499", "812", "343", "843"]
BAD = ["12345", "abc", "+7 912 345&PJSIP/999", "8 000 000 00 00", "123,1", "", "+7912"]

LABELS = {
    "rows": "rows read",
    "inserted": "inserted",
    "merged": "merged",
    "rejected": "rejected",
    "seconds": "import seconds",
    "rows_per_s": "rows/s",
    "peak_rss_mb": "peak RSS, MB",
    "all_processes_peak_rss_mb": "peak RSS + workers, MB",
    "workers": "parse workers",
    "file_mb": "CSV size, MB",
    "generate_seconds": "generation seconds",
}


def formats(code: str, rest: str) -> list[str]:
    a, b, c = rest[:3], rest[3:5], rest[5:]
    return [
        f"+7 {code} {a}-{b}-{c}",
        f"8{code}{rest}",
        f"8 ({code}) {a}-{b}-{c}",
        f"7{code}{rest}",
        f"{code}{rest}",
        f"+7({code}){a}{b}{c}",
        f"8-{code}-{a}-{b}-{c}",
    ]


def generate(path: Path, rows: int, seed: int) -> None:
    rnd = random.Random(seed)
    seen: list[tuple[str, str]] = []
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Телефон;ФИО;Город;comment\n")
        for i in range(rows):
            roll = rnd.random()
            if roll < 0.01:
                phone = rnd.choice(BAD)
            else:
                if roll < 0.06 and seen:
                    code, rest = rnd.choice(seen)  # a duplicate, maybe written differently
                else:
                    code = rnd.choice(MOBILE if rnd.random() < 0.85 else LANDLINE)
                    rest = f"{rnd.randrange(10**7):07d}"
                    if len(seen) < 50_000:
                        seen.append((code, rest))
                phone = rnd.choice(formats(code, rest))
            name = f"{rnd.choice(LAST)} {rnd.choice(FIRST)}"
            f.write(f"{phone};{name};{rnd.choice(CITIES)};id {i}\n")


class TreeRss:
    """Samples the resident memory of this process and its descendants (the worker
    processes): getrusage cannot see grandchildren of a forkserver."""

    def __init__(self) -> None:
        self.peak_total_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_total_kb = max(self.peak_total_kb, sum(rss for _, rss in tree()))


def tree() -> list[tuple[int, int]]:
    """(pid, resident KB) of this process and every descendant."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    mine, found = {os.getpid()}, True
    while found:
        found = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                found = True
    result = []
    for pid in mine:
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            result.append((pid, rss))
        except (OSError, StopIteration):
            pass
    return result


async def run(args: argparse.Namespace, work: Path) -> dict[str, int | float]:
    source = work / "contacts.csv"
    t0 = time.perf_counter()
    generate(source, args.rows, args.seed)
    generated = time.perf_counter() - t0
    store = await SqliteStore.open(work / "bench.db")
    try:
        with TreeRss() as sampler:
            report = await import_file(
                store,
                source,
                "bench",
                "RU",
                reject_path=work / "rejects.csv",
                workers=args.workers,
                batch_size=args.batch_size,
            )
    finally:
        await store.close()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return {
        "rows": report.rows_read,
        "inserted": report.inserted,
        "merged": report.merged,
        "rejected": report.rejected,
        "seconds": round(report.seconds, 2),
        "rows_per_s": round(report.rows_read / report.seconds),
        "peak_rss_mb": own,
        "all_processes_peak_rss_mb": sampler.peak_total_kb // 1024,
        "workers": report.workers,
        "file_mb": round(source.stat().st_size / 2**20, 1),
        "generate_seconds": round(generated, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench-import")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=None, help="default: automatic")
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        figures = asyncio.run(run(args, Path(tmp)))
    for key, label in LABELS.items():
        value = figures[key]
        text = f"{value:,}" if isinstance(value, int) else str(value)
        print(f"  {label:<22} {text:>14}")
    sys.stdout.flush()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
