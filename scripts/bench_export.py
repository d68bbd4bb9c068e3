"""Export and report memory on a large list: builds a contact base of N contacts (default
1,000,000, with custom fields, enrolled in a campaign part of which has been called),
then runs `dialer contacts export` (csv, xlsx, json) and `dialer report` (csv, json,
the table with --limit 50) as separate processes, and measures each one's peak RSS
(wait4) and time. Goal: every command under 150 MB, whatever the list size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_report import print_figures

from dialer.control.app import opened_store
from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import AttemptResult, NewContact, NextStep

GOAL_MB = 150
LIST = "bench"
CAMPAIGN = "bench-campaign"


async def build_base(db: Path, contacts: int, called: int) -> float:
    began = time.perf_counter()
    async with opened_store(db) as store:
        batch = 20_000
        for start in range(0, contacts, batch):
            await store.import_contacts(
                LIST,
                [
                    NewContact(
                        number=f"+7912{i:07d}",
                        name=f"Контакт {i}",
                        fields={"city": "Москва", "segment": f"s{i % 7}", "debt": str(i % 9000)},
                    )
                    for i in range(start, min(contacts, start + batch))
                ],
            )
        now = datetime.now(UTC)
        record = await store.open_campaign(CAMPAIGN, LIST, now)
        # Part of the list has been called: the report carries outcomes and answers.
        for start in range(0, called, 1000):
            leases = await store.lease_due(record.id, now, min(1000, called - start))
            for n, lease in enumerate(leases):
                attempt = f"a-{start + n}"
                await store.start_attempt(lease, attempt, now)
                await store.finish_attempt(
                    AttemptResult(
                        attempt,
                        Outcome.ANSWERED,
                        now + timedelta(seconds=30),
                        answered_at=now + timedelta(seconds=5),
                        answers={"temperature": "warm", "survey": {"nps": n % 11}},
                    ),
                    NextStep(ContactStatus.DONE, final_outcome=Outcome.ANSWERED),
                )
    return time.perf_counter() - began


# Runs `dialer` and, at its exit, writes the process's VmHWM (peak resident memory of
# its own address space, in kB) to the file named first. Not wait4's ru_maxrss: a child
# started by a process that has built a million-contact base inherits that process's
# high-water mark at exec, which would hide what the command itself uses.
PEAK_OF_DIALER = """
import atexit, sys
peak_file = sys.argv[1]
sys.argv = ["dialer", *sys.argv[2:]]

def write_peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(peak_file, "w").write(line.split()[1])

atexit.register(write_peak)
from dialer.control.cli import main
raise SystemExit(main())
"""


def measure(args: list[str], env: dict[str, str], tmp: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `dialer` process, its output thrown away."""
    peak_file, err_file = tmp / "peak.txt", tmp / "stderr.txt"
    began = time.perf_counter()
    with open(os.devnull, "wb") as devnull, err_file.open("wb") as err:
        done = subprocess.run(
            [sys.executable, "-c", PEAK_OF_DIALER, str(peak_file), *args],
            stdout=devnull,
            stderr=err,
            env=env,
            check=False,
        )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"dialer {' '.join(args)} failed: {err_file.read_text()}")
    return seconds, int(peak_file.read_text()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--called", type=int, default=20_000, help="contacts already called")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        build_s = asyncio.run(build_base(db, opts.contacts, min(opts.called, opts.contacts)))
        env = {**os.environ, "DIALER_DB": str(db)}
        commands = {
            "export_csv": ["contacts", "export", "--list", LIST, "-o", f"{tmp}/out.csv"],
            "export_xlsx": ["contacts", "export", "--list", LIST, "-o", f"{tmp}/out.xlsx"],
            "export_json": ["contacts", "export", "--list", LIST, "--format", "json"],
            "report_csv": ["report", CAMPAIGN, "--format", "csv"],
            "report_json": ["report", CAMPAIGN, "--format", "json"],
            "report_table_limit_50": ["report", CAMPAIGN, "--limit", "50"],
        }
        figures: dict[str, object] = {
            "contacts": opts.contacts,
            "build_base_s": round(build_s, 1),
        }
        goals = {}
        for name, args in commands.items():
            seconds, peak_mb = measure(args, env, Path(tmp))
            figures[f"{name}_s"] = round(seconds, 1)
            figures[f"{name}_peak_rss_mb"] = round(peak_mb, 1)
            goals[f"{name}_peak_rss_mb"] = (f"< {GOAL_MB} MB", peak_mb < GOAL_MB)
        figures["xlsx_mb"] = round(Path(f"{tmp}/out.xlsx").stat().st_size / 2**20, 1)
    print_figures(f"Export and report of {opts.contacts:,} contacts", figures, goals)


if __name__ == "__main__":
    main()
