"""Reliability benchmark: a 500-contact campaign whose `dialer run` is killed with SIGKILL
10 times at seeded random moments, and rerun each time until the list is done.

The simulated PBX runs in this process, with the demo's persona mix (last digit of each
number) and its play-and-queue campaign; every `dialer run` is a separate process on a
real SQLite file. What is counted comes from the simulator's own record of the calls it
was asked to place and how each ended (`SimulatedPbx.calls`), not from our store:
people called again after a call that reached them (answered or taken by an operator),
dead numbers (unallocated) dialled again, and attempts whose stored outcome differs from
what the PBX did. From the store: contacts left non-final and attempts left open.
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from bench_report import print_figures

from dialer.outcomes import ContactStatus
from dialer.simpbx import SimConfig, SimTiming, SimulatedPbx
from dialer.store import open_store
from dialer.store.base import NewContact

SECRET = "bench-reliability"
DEMO_DIAL = "Local/{number}@dialer-test-callees"  # the demo's dial string
REACHED = frozenset({"answered", "transferred"})  # final: never to be called again
TIMING = SimTiming(
    ring=0.3,
    no_answer_after=1.0,
    message=0.8,
    early_hangup_after=0.3,
    operator_answer_delay=0.3,
    talk=1.5,
    talk_spread=0.5,
    abandon_patience=0.3,
)


def numbers(count: int) -> list[str]:
    """Every last digit (= persona) in turn, as in the demo's list."""
    return [f"+7912{i:07d}" for i in range(count)]


def campaign_file(path: Path, port: int, channels: int) -> Path:
    data: dict[str, Any] = {
        "name": "reliability",
        "list": "reliability",
        "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
        "ami": {"host": "127.0.0.1", "port": port, "secret_env": "DIALER_AMI_SECRET"},
        "dial": {"channel": DEMO_DIAL, "caller_id": '"Demo Shop" <+74950000000>'},
        "pacing": {"max_channels": channels, "calls_per_second": 40, "operator_guaranteed": True},
        "on_answer": {
            "action": "play_and_queue",
            "message": "demo-offer",
            "queue": "dialer-operators",
            "queue_timeout": "3s",
        },
        "retry": {
            "max_attempts": 3,
            "busy": {"delay": "1s", "max": 2},
            "no_answer": {"delay": "1s", "max": 1},
            "congestion": {"delay": "1s", "max": 2},
            "failed": {"delay": "1s", "max": 1},
            "abandoned": {"delay": "1s", "max": 1},
        },
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def dialer_run(db: Path, campaign: Path, log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "DIALER_AMI_SECRET": SECRET}
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dialer",
            "--db",
            str(db),
            "run",
            str(campaign),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
        )


def pbx_side(pbx: SimulatedPbx) -> dict[str, Any]:
    """From the simulator's own records: calls after a reach, dead numbers redialled."""
    by_number: dict[str, list[Any]] = defaultdict(list)
    for record in pbx.calls.values():
        by_number[record.number].append(record)
    called_again, dead_again = 0, 0
    for records in by_number.values():
        records.sort(key=lambda r: r.started)
        for index, record in enumerate(records[:-1]):
            later = records[index + 1 :]
            if record.result in REACHED and later:
                called_again += 1
                break
            if record.result == "invalid_number" and later:
                dead_again += 1
                break
    return {"calls": len(pbx.calls), "called_again": called_again, "dead_again": dead_again}


async def bench(contacts: int, kills: int, seed: int, channels: int, workdir: Path) -> dict:
    rng = random.Random(seed)
    pbx = SimulatedPbx(SimConfig(port=0, secret=SECRET, timing=TIMING, operators=4, seed=seed))
    await pbx.start()
    db = workdir / "reliability.db"
    store = await open_store(db)
    await store.import_contacts(
        "reliability", [NewContact(number=n, name="Клиент") for n in numbers(contacts)]
    )
    await store.close()
    campaign = campaign_file(workdir / "reliability.yaml", pbx.port, channels)
    log = workdir / "dialer.log"
    runs, killed, started = 0, 0, time.monotonic()
    try:
        while True:
            runs += 1
            proc = await dialer_run(db, campaign, log)
            if killed < kills:
                try:
                    await asyncio.wait_for(proc.wait(), rng.uniform(1.0, 6.0))
                except TimeoutError:
                    proc.send_signal(signal.SIGKILL)
                    await proc.wait()
                    killed += 1
                    continue
            else:
                await asyncio.wait_for(proc.wait(), 600)
            if proc.returncode != 0:
                raise RuntimeError(f"dialer run exited {proc.returncode}; see {log}")
            if killed >= kills:
                break
        # Calls of the last run are all closed; let the simulator finish its own records.
        await asyncio.sleep(0.5)
    finally:
        await pbx.stop()
    store = await open_store(db)
    try:
        record = await store.get_campaign("reliability")
        assert record is not None
        lines = await store.contact_report(record.id)
        attempts = await store.attempts(record.id)
    finally:
        await store.close()
    misfiled = 0
    for attempt in attempts:
        call = pbx.calls.get(attempt.attempt_id)
        if call is not None and call.result and attempt.outcome is not None:
            misfiled += call.result != attempt.outcome.value
    side = pbx_side(pbx)
    return {
        "contacts": contacts,
        "kills": killed,
        "runs": runs,
        "calls_placed": side["calls"],
        "reached_called_again": side["called_again"],
        "dead_numbers_dialled_again": side["dead_again"],
        "outcome_differs_from_pbx": misfiled,
        "closed_unknown": sum(1 for a in attempts if a.outcome and a.outcome.value == "unknown"),
        "contacts_not_final": sum(1 for line in lines if line.status is not ContactStatus.DONE),
        "attempts_open": sum(1 for a in attempts if a.outcome is None),
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--channels", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp:
        figures = asyncio.run(bench(args.contacts, args.kills, args.seed, args.channels, Path(tmp)))
    goals = {
        key: ("== 0", figures[key] == 0)
        for key in (
            "reached_called_again",
            "dead_numbers_dialled_again",
            "outcome_differs_from_pbx",
            "contacts_not_final",
            "attempts_open",
        )
    }
    title = f"dialer run killed -9 {figures['kills']} times, {figures['contacts']} contacts"
    print_figures(title, figures, goals)


if __name__ == "__main__":
    main()
