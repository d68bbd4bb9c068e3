"""IVR benchmark: 200 simultaneous scripted keypad calls through the simulated PBX.

The simulator (with its FastAGI client playing each callee) runs in its own process; the
dialer runs here. Dialler-side latency is measured at our FastAGI socket: from the moment
an AGI reply arrives to the moment our next command leaves, i.e. everything the dialer
does between two steps of a script (interpreter, event loop, parsing). Goal: p99 <= 50 ms.
Prints a table, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from bench_report import print_figures

from dialer.control.app import opened_store, run_campaign
from dialer.control.demo import keypad_campaign, keypad_personas
from dialer.engine.runner import CampaignRunner
from dialer.store.base import NewContact

SECRET = "bench"
SIMULATOR = """
import asyncio, json, sys
from dialer.control.app import running_simulator
from dialer.simpbx import SimConfig, SimTiming

async def main():
    personas = json.loads(open(sys.argv[2]).read())
    timing = SimTiming(ring=0.3, prompt=float(sys.argv[3]), amd=0.5, operator_answer_delay=0.3,
                       talk=1.0)
    async with running_simulator(SimConfig(port=0, secret=sys.argv[1], channel_limit=100000,
                                 operators=200, personas=personas, timing=timing)) as pbx:
        print(pbx.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(pbx.max_concurrent, flush=True)

asyncio.run(main())
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def bench(calls: int, channels: int, prompt: float) -> dict[str, float | int]:
    personas = keypad_personas(calls)
    with tempfile.TemporaryDirectory() as tmp:
        personas_file = Path(tmp) / "personas.json"
        personas_file.write_text(json.dumps(personas))
        sim = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SIMULATOR, SECRET, str(personas_file), str(prompt),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert sim.stdout is not None and sim.stdin is not None
        port = int((await sim.stdout.readline()).decode())
        async with opened_store(Path(tmp) / "bench.db") as store:
            await store.import_contacts("demo-keypad", [NewContact(number=n) for n in personas])
            campaign = keypad_campaign(port)
            campaign = campaign.model_copy(
                update={
                    "pacing": campaign.pacing.model_copy(
                        update={"max_channels": channels, "calls_per_second": float(channels)}
                    )
                }
            )
            turnarounds: list[float] = []
            peak = 0
            runner: CampaignRunner | None = None

            def started(r: CampaignRunner) -> None:
                nonlocal runner
                runner = r

            async def sample() -> None:
                nonlocal peak
                while True:
                    if runner is not None:
                        peak = max(peak, runner.snapshot.in_flight)
                    await asyncio.sleep(0.05)

            sampler = asyncio.create_task(sample())
            began = time.perf_counter()
            snapshot = await run_campaign(
                campaign,
                store,
                SECRET,
                asyncio.Event(),
                on_started=started,
                agi_turnaround=turnarounds.append,
            )
            wall = time.perf_counter() - began
            sampler.cancel()
        sim.stdin.close()
        sim_peak = int((await sim.stdout.readline()).decode() or 0)
        await sim.wait()
    ms = [t * 1000 for t in turnarounds]
    return {
        "calls": snapshot.closed,
        "transferred": snapshot.outcomes.get("transferred", 0),
        "peak_calls_up": max(peak, sim_peak),
        "agi_commands_timed": len(ms),
        "latency_p50_ms": round(percentile(ms, 0.50), 2),
        "latency_p95_ms": round(percentile(ms, 0.95), 2),
        "latency_p99_ms": round(percentile(ms, 0.99), 2),
        "latency_max_ms": round(max(ms, default=0.0), 2),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--prompt", type=float, default=1.0, help="simulated prompt length, s")
    args = parser.parse_args()
    figures = asyncio.run(bench(args.calls, args.channels, args.prompt))
    goals = {
        "latency_p99_ms": ("<= 50", figures["latency_p99_ms"] <= 50),
        "peak_calls_up": (f">= {args.channels}", figures["peak_calls_up"] >= args.channels),
    }
    print_figures("IVR benchmark (keypad script, simulated PBX in its own process)", figures, goals)


if __name__ == "__main__":
    main()
