"""Scenario files for scripts/bench-pacing and the simulator's answer-rate changes,
operator schedules and burst count (scripts/pacing_sim)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.pacing_sim.policies import FixedRatio
from scripts.pacing_sim.scenario import Scenario
from scripts.pacing_sim.scenario_file import ScenarioFileError, load_scenarios
from scripts.pacing_sim.sim import Ev, View, simulate

REPO = Path(__file__).resolve().parents[2]
HOUR = 3600.0


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_given_every_key_when_loaded_then_the_scenario_has_them(tmp_path: Path):
    path = write(
        tmp_path,
        [
            {
                "name": "rise",
                "operators": 50,
                "answer_rate": 0.1,
                "answer_rate_change": {"at_s": 600, "rate": 0.5},
                "talk_mean_s": 25,
                "talk_sd_s": 10,
                "wrap_mean_s": 5,
                "machine_rate": 0.3,
                "operators_schedule": [
                    {"at_s": 900, "operators": 10},
                    {"at_s": 300, "operators": 60},
                ],
                "abandon_target": 0.01,
                "hours": 0.5,
                "seeds": 7,
            },
            {"name": "plain", "operators": 3, "answer_rate": 0.25},
        ],
    )
    rise, plain = load_scenarios(path, default_hours=2.0)
    assert (rise.answer_rate_at(599.0), rise.answer_rate_at(600.0)) == (0.1, 0.5)
    assert (rise.talk_mean, rise.talk_sd, rise.wrap_mean, rise.machine_share) == (25, 10, 5, 0.3)
    assert rise.operators_schedule == ((300.0, 60), (900.0, 10))
    assert (rise.abandon_target, rise.duration, rise.seeds) == (0.01, 1800.0, 7)
    defaults = Scenario("d", 3, 0.25)
    assert plain.talk_mean == defaults.talk_mean and plain.abandon_target == 0.03
    assert (plain.duration, plain.seeds, plain.answer_drop) == (7200.0, None, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, "expected a non-empty JSON list"),
        ([{"name": "x", "operators": 5}], "scenario 'x': `answer_rate` is required"),
        ([{"name": "x", "operators": 5, "answer_rate": 2}], "`answer_rate` must be in"),
        ([{"name": "x", "operators": 5, "answer_rate": 0.2, "talk": 3}], "unknown keys talk"),
        (
            [{"name": "x", "operators": 5, "answer_rate": 0.2, "answer_rate_change": {"rate": 1}}],
            "answer_rate_change: `at_s` is required",
        ),
    ],
)
def test_given_a_bad_file_when_loaded_then_a_clear_error(
    tmp_path: Path, data: object, message: str
):
    with pytest.raises(ScenarioFileError, match=message):
        load_scenarios(write(tmp_path, data), default_hours=2.0)


def test_given_a_bad_file_when_the_bench_runs_then_exit_2_without_traceback(tmp_path: Path):
    path = write(tmp_path, [{"name": "x", "operators": -1, "answer_rate": 0.2}])
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_pacing.py"), "--scenarios", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "scenario 'x': `operators` must be a whole number >= 1" in done.stderr
    assert "Traceback" not in done.stderr


class Watcher:
    """A fixed ratio that also records operator events and live counts."""

    def __init__(self, level: float) -> None:
        self.inner = FixedRatio(level)
        self.name = "watcher"
        self.logged_in: dict[float, int] = {}
        self.operator_ids: set[int] = set()

    def want(self, now: float, view: View) -> int:
        self.logged_in[now] = view.logged_in
        return self.inner.want(now, view)

    def event(self, now: float, kind: Ev, key: int) -> None:
        if kind is Ev.OP_AVAILABLE:
            self.operator_ids.add(key)


def test_given_an_operators_schedule_when_simulated_then_operators_log_in_and_out():
    scenario = Scenario(
        "schedule",
        10,
        0.4,
        duration=HOUR,
        operators_schedule=((600.0, 20), (1800.0, 5)),
    )
    watcher = Watcher(1.0)
    result = simulate(scenario, watcher, 1)
    assert watcher.operator_ids == set(range(20))
    assert max(n for t, n in watcher.logged_in.items() if t < 600.0) == 10
    assert watcher.logged_in[900.0] == 20
    assert max(n for t, n in watcher.logged_in.items() if t > 1800.0 + 600.0) == 5
    # 10 for 10 min, 20 for 20 min, then 5 for 30 min (leavers finish their call first).
    assert 39000.0 < result.logged_in_s < 39000.0 + 15 * 400.0


def test_given_an_answer_rate_rise_when_simulated_then_more_people_answer_after_it():
    before = Scenario("before", 20, 0.1, duration=HOUR / 2)
    rise = Scenario("rise", 20, 0.1, duration=HOUR / 2, answer_drop=(0.0, 0.5))
    low, high = simulate(before, FixedRatio(1.0), 1), simulate(rise, FixedRatio(1.0), 1)
    assert high.live / high.placed > 3 * low.live / low.placed


def test_given_overdialling_when_simulated_then_bursts_of_abandoned_calls_are_counted():
    calm = simulate(Scenario("calm", 10, 0.4, duration=HOUR / 2), FixedRatio(1.0), 1)
    wild = simulate(Scenario("wild", 10, 0.4, duration=HOUR / 2), FixedRatio(4.0), 1)
    assert calm.max_abandoned_in_60s == 0
    assert 5 < wild.max_abandoned_in_60s < wild.abandoned
