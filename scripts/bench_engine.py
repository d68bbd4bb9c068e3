"""Engine benchmark: 5,000 calls through the simulated PBX, 500 up at once, ~2 s each.

The simulator runs in its own process (so its CPU is not billed to the dialer); the
dialer runs here with a real SQLite file. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench_report import print_figures

from dialer.campaign.model import Campaign
from dialer.control.app import opened_store, run_campaign
from dialer.store.base import NewContact

SECRET = "bench"
SIMULATOR = """
import asyncio, sys
from dialer.control.app import running_simulator
from dialer.simpbx import SimConfig, SimTiming

async def main():
    timing = SimTiming(ring=float(sys.argv[2]), message=float(sys.argv[3]))
    async with running_simulator(SimConfig(port=0, secret=sys.argv[1], channel_limit=100000,
                                 timing=timing)) as pbx:
        print(pbx.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def cpu_seconds_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def start_simulator(ring: float, message: float) -> tuple[asyncio.subprocess.Process, int]:
    """The simulated PBX in a process of its own (its CPU is not the dialer's), and its
    AMI port. Closing its stdin stops it."""
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SIMULATOR, SECRET, str(ring), str(message),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert sim.stdout is not None and sim.stdin is not None
    return sim, int((await sim.stdout.readline()).decode())


async def bench(calls: int, channels: int, rate: float, ring: float, message: float) -> dict:
    sim, port = await start_simulator(ring, message)
    assert sim.stdin is not None
    with tempfile.TemporaryDirectory() as tmp:
        async with opened_store(Path(tmp) / "bench.db") as store:
            # Numbers ending in 0 are the "answer" persona: answered, message, hang up.
            await store.import_contacts(
                "bench", [NewContact(number=f"+7912{i:06d}0") for i in range(calls)]
            )
            campaign = Campaign.model_validate(
                {
                    "name": "bench",
                    "list": "bench",
                    "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
                    "ami": {"port": port, "secret": SECRET},
                    "dial": {"channel": "Local/{number}@dialer-test-callees"},
                    "pacing": {"max_channels": channels, "calls_per_second": rate},
                    "retry": {"max_attempts": 1},
                }
            )
            sim_cpu_before = cpu_seconds_of(sim.pid)
            cpu_before, wall_before = self_cpu(), time.perf_counter()
            snapshot = await run_campaign(campaign, store, SECRET, asyncio.Event())
            wall = time.perf_counter() - wall_before
            dialer_cpu = self_cpu() - cpu_before
            sim_cpu = cpu_seconds_of(sim.pid) - sim_cpu_before
            record = await store.get_campaign("bench")
            assert record is not None
            attempts = await store.attempts(record.id)
    sim.stdin.close()
    await sim.wait()
    starts = sorted(a.started_at for a in attempts)
    span = (starts[-1] - starts[0]).total_seconds() or 1e-9
    durations = sorted(
        (a.ended_at - a.answered_at).total_seconds()
        for a in attempts
        if a.ended_at and a.answered_at
    )
    return {
        "calls": len(attempts),
        "answered": snapshot.outcomes.get("answered", 0),
        "max_channels": channels,
        "wall_s": round(wall, 2),
        "originate_rate_per_s": round((len(starts) - 1) / span, 1),
        "dialer_cpu_s": round(dialer_cpu, 2),
        "dialer_cpu_s_per_1000_calls": round(1000 * dialer_cpu / max(1, len(attempts)), 3),
        "dialer_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "simulator_cpu_s": round(sim_cpu, 2),
        "median_answered_call_s": round(durations[len(durations) // 2], 2) if durations else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--rate", type=float, default=250.0, help="calls_per_second limit")
    parser.add_argument("--ring", type=float, default=0.2)
    parser.add_argument("--message", type=float, default=1.8)
    args = parser.parse_args()
    figures = asyncio.run(bench(args.calls, args.channels, args.rate, args.ring, args.message))
    goals = {
        "originate_rate_per_s": (">= 100", figures["originate_rate_per_s"] >= 100),
        "dialer_cpu_s_per_1000_calls": ("<= 1.0", figures["dialer_cpu_s_per_1000_calls"] <= 1.0),
        "dialer_peak_rss_mb": ("<= 150", figures["dialer_peak_rss_mb"] <= 150),
    }
    print_figures("Engine benchmark (simulated PBX in a separate process)", figures, goals)


if __name__ == "__main__":
    main()
