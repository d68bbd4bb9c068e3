"""The bounds of scripts/bench-pacing-bound: our pacer told of an answer-rate change at
the earliest evidence or at the change, and with operators held back
(scripts/pacing_sim/informed.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dialer.operators import OperatorState
from dialer.policy.predictive import PredictiveSettings
from scripts.pacing_sim.experiment import ours
from scripts.pacing_sim.informed import ForeseeingPacer, HeldBackPacer, Informed, foreseeing
from scripts.pacing_sim.policies import DialerPolicy
from scripts.pacing_sim.scenario import Scenario
from scripts.pacing_sim.sim import Ev, View, _Due, simulate

REPO = Path(__file__).resolve().parents[2]
RISE = Scenario("rise", 10, 0.1, answer_drop=(300.0, 0.5), duration=600.0)


class Recorder:
    """Wraps a policy and keeps when each call was placed and first answered after."""

    def __init__(self, inner: Informed) -> None:
        self.inner = inner
        self.name = inner.name
        self.placed_at: dict[int, float] = {}
        self.first_answer_after_change: float | None = None

    def want(self, now: float, view: View) -> int:
        return self.inner.want(now, view)

    def event(self, now: float, kind: Ev, key: int) -> None:
        if kind is Ev.PLACED:
            self.placed_at[key] = now
        if (
            kind is Ev.ANSWERED
            and self.first_answer_after_change is None
            and self.placed_at[key] >= 300.0
        ):
            self.first_answer_after_change = now
        self.inner.event(now, kind, key)


def test_told_at_first_answer_is_told_then_and_learns_the_new_person_rate():
    informed = Informed(ours(RISE), RISE, "first-answer")
    recorder = Recorder(informed)
    simulate(RISE, recorder, seed=1)
    assert informed.told_at == recorder.first_answer_after_change
    assert informed.told_at is not None and informed.told_at > 300.0
    # 50% answered, a fifth of them by machines: 40% by a person, learnt since.
    assert abs(informed.inner.pacer.estimates.person.value - 0.4) < 0.05


def test_told_at_the_change_is_told_on_the_first_tick_after_it():
    informed = Informed(ours(RISE), RISE, "change")
    simulate(RISE, informed, seed=1)
    assert informed.told_at is not None and 300.0 <= informed.told_at <= 300.5


def test_operators_held_back_keep_calls_from_being_abandoned():
    steady = Scenario("steady", 50, 0.4, duration=3600.0)
    settings = PredictiveSettings()
    held = simulate(steady, DialerPolicy("held", HeldBackPacer(0.2, settings, 25.0)), seed=2)
    plain = simulate(steady, ours(steady), seed=2)
    assert held.abandoned < plain.abandoned
    assert held.talk_min_per_op_hour < plain.talk_min_per_op_hour


def test_the_bound_bench_prints_a_table_then_one_json_line(tmp_path: Path):
    path = tmp_path / "rise.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "rise",
                    "operators": 5,
                    "answer_rate": 0.1,
                    "answer_rate_change": {"at_s": 300, "rate": 0.5},
                    "hours": 0.2,
                }
            ]
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "bench_pacing_bound.py"),
            "--scenarios",
            str(path),
            "--seeds",
            "1",
            "--hold-back",
            "10",
            "--jobs",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Pacing bounds" in done.stdout
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    rows = figures["scenarios"]["rise"]
    assert list(rows) == [
        "ours (predictive)",
        "told at first answer",
        "told at change",
        "operators foreseen",
        "10% held back",
    ]
    assert rows["10% held back"]["burst_limit"] == 5
    assert len(rows["told at change"]["abandoned_in_60s_by_seed"]) == 1


def test_a_bad_hold_back_is_refused_without_traceback():
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_pacing_bound.py"), "--hold-back", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--hold-back: 'x' is not a list of whole numbers" in done.stderr
    assert "Traceback" not in done.stderr


def test_foreseeing_counts_the_operators_whose_call_or_wrap_up_ends_in_time():
    ends: dict[str, tuple[int, float]] = {}
    pacer = ForeseeingPacer(ends, PredictiveSettings(), 25.0, reach=1.0)
    e = pacer.estimates
    lead = e.ring_s.value + e.message_s.value
    for operator_id, state in [
        ("free", OperatorState.AVAILABLE),
        ("talks-briefly", OperatorState.ON_CALL),
        ("talks-long", OperatorState.ON_CALL),
        ("wraps-briefly", OperatorState.WRAP_UP),
        ("wraps-long", OperatorState.WRAP_UP),
    ]:
        pacer.operator_state(100.0, operator_id, state)
    ends["talks-briefly"] = (_Due.TALK_END, 100.0 + lead - e.wrap_s.value - 1.0)
    ends["talks-long"] = (_Due.TALK_END, 100.0 + lead - e.wrap_s.value + 1.0)
    ends["wraps-briefly"] = (_Due.WRAP_END, 104.0)
    ends["wraps-long"] = (_Due.WRAP_END, 106.0)
    supply, variance = pacer._supply(100.0, lookahead=5.0)
    assert (supply, variance) == (3.0, 0.0)


def test_foreseeing_runs_a_campaign_and_keeps_under_the_cap():
    result = foreseeing(Scenario("steady", 20, 0.4, duration=1800.0), seed=1)
    assert result.policy == "operators foreseen"
    assert result.leads > 100
    assert result.abandon_rate <= 0.03
