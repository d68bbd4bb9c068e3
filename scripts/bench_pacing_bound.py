"""How near the pacing goals can a pacer get? Bounds for them, in the simulation.

Runs the scenarios of a file (default: scripts/pacing_sim/hard_cases.json) with our
predictive pacer as it is; after an answer-rate change, the same pacer told the true new
rate at the first answer of a call placed after the change (the earliest evidence there
is) and at the change itself (clairvoyant); our pacer knowing when each operator frees
up, but not which calls answer; and with `--hold-back P,...` our pacer keeping P% of
the operators out of its supply all day. scripts/pacing_sim/informed.py says why these
are bounds. Prints a table (talk minutes per operator-hour and their share of the
ceiling, mean abandon rate, the worst seed's peak running rate, the calls abandoned
within 60 s on each seed against max(5, operators / 20)), then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_pacing import burst_limit
from pacing_sim.experiment import OURS, ours
from pacing_sim.informed import FORESEEN, TOLD_WHEN, HeldBackPacer, Informed, foreseeing
from pacing_sim.policies import DialerPolicy
from pacing_sim.scenario import Scenario, scenarios
from pacing_sim.scenario_file import ScenarioFileError, load_scenarios
from pacing_sim.sim import Policy, Result, simulate
from rich.console import Console
from rich.table import Table

from dialer.policy.predictive import PredictiveSettings

HARD_CASES = Path(__file__).resolve().parent / "pacing_sim" / "hard_cases.json"


def variants(scenario: Scenario, hold_back: list[int]) -> list[str]:
    """Policy names; `hold_back`: percentages of the operators logged in."""
    told = [f"told at {w.replace('-', ' ')}" for w in TOLD_WHEN] if scenario.answer_drop else []
    return [OURS, *told, FORESEEN, *(f"{n}% held back" for n in hold_back)]


def policy(scenario: Scenario, variant: str) -> Policy:
    if variant.startswith("told at "):
        when = variant.removeprefix("told at ").replace(" ", "-")
        return Informed(ours(scenario), scenario, when)
    if variant.endswith(" held back"):
        share = int(variant.split("%")[0]) / 100.0
        settings = PredictiveSettings(abandon_target=scenario.abandon_target)
        return DialerPolicy(variant, HeldBackPacer(share, settings, scenario.ring_timeout))
    return ours(scenario)


def run_one(scenario: Scenario, variant: str, seed: int) -> tuple[str, str, Result]:
    if variant == FORESEEN:
        return scenario.name, variant, foreseeing(scenario, seed)
    return scenario.name, variant, simulate(scenario, policy(scenario, variant), seed)


@dataclass(frozen=True)
class Row:
    talk_min_per_op_hour: float
    share_of_ceiling: float
    abandon_rate: float
    peak_abandon_rate: float  # the worst seed's highest running rate (100 live answers on)
    max_abandoned_in_60s: int
    abandoned_in_60s_by_seed: list[int]
    ceiling: float
    burst_limit: int


def figures(scenario: Scenario, results: list[Result]) -> Row:
    talk = statistics.mean(r.talk_min_per_op_hour for r in results)
    return Row(
        talk_min_per_op_hour=round(talk, 2),
        share_of_ceiling=round(talk / scenario.talk_ceiling, 4),
        abandon_rate=round(statistics.mean(r.abandon_rate for r in results), 5),
        peak_abandon_rate=round(max(r.peak_rate for r in results), 5),
        max_abandoned_in_60s=max(r.max_abandoned_in_60s for r in results),
        abandoned_in_60s_by_seed=[r.max_abandoned_in_60s for r in results],
        ceiling=round(scenario.talk_ceiling, 2),
        burst_limit=burst_limit(scenario),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", type=Path, default=HARD_CASES)
    parser.add_argument("--builtin", action="store_true", help="the bench's own scenarios")
    parser.add_argument("--hours", type=float, default=1.0, help="where a scenario says none")
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--only", default="", help="the scenarios whose name has this")
    parser.add_argument("--hold-back", default="", help="%% of operators kept idle, e.g. 5,10")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    started = time.monotonic()
    try:
        hold_back = [int(n) for n in args.hold_back.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--hold-back: {args.hold_back!r} is not a list of whole numbers")
    if args.builtin:
        listed = scenarios(args.hours * 3600.0)
    else:
        try:
            listed = load_scenarios(args.scenarios, args.hours)
        except ScenarioFileError as e:
            print(f"bench-pacing-bound: {e}", file=sys.stderr)
            sys.exit(2)
    chosen = [s for s in listed if args.only in s.name]
    if not chosen:
        parser.error(f"no scenario name contains {args.only!r}")
    work = [
        (s, v, seed)
        for s in chosen
        for v in variants(s, hold_back)
        for seed in range(s.seeds or args.seeds)
    ]
    work.sort(key=lambda item: -item[0].operators / item[0].answer_rate)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        done = [f.result() for f in [pool.submit(run_one, *w) for w in work]]
    table: dict[str, dict[str, Row]] = {}
    for s in chosen:
        table[s.name] = {
            v: figures(s, [r for name, variant, r in done if name == s.name and variant == v])
            for v in variants(s, hold_back)
        }
    print_table(table)
    print(
        json.dumps(
            {
                "seeds": args.seeds,
                "elapsed_s": round(time.monotonic() - started, 1),
                "scenarios": {
                    name: {v: asdict(row) for v, row in rows.items()}
                    for name, rows in table.items()
                },
            }
        )
    )


def print_table(table: dict[str, dict[str, Row]]) -> None:
    out = Table(title="Pacing bounds (simulated; means over seeds, worst seed's peak)")
    for header in ("scenario", "policy", "talk min/op-hour", "abandoned", "peak", "in 60 s"):
        out.add_column(header, no_wrap=header != "in 60 s")
    for name, rows in table.items():
        for i, (variant, f) in enumerate(rows.items()):
            out.add_row(
                name if i == 0 else "",
                variant,
                f"{f.talk_min_per_op_hour:.1f} ({100 * f.share_of_ceiling:.0f}%)",
                f"{100 * f.abandon_rate:.2f}%",
                f"{100 * f.peak_abandon_rate:.2f}%",
                f"{f.abandoned_in_60s_by_seed} (limit {f.burst_limit})",
                end_section=i == len(rows) - 1,
            )
    Console(width=140).print(out)


if __name__ == "__main__":
    main()
