"""One bench case (scenario x seed): every policy on the same contacts and operators.

Besides our predictive pacer and the two baselines as configured by default, a case
searches, with hindsight and on the same seed:
- the best fixed dial level (VICIdial's RATIO method): the highest level whose abandon
  rate stays at or under the cap, by bisection (talk time grows with the level);
- WombatDialer at our abandon rate: the highest boost factor (from 0.2 to 3 times the
  configured one) whose abandon rate is no higher than ours, so the two are compared at
  the same abandon rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dialer.policy.predictive import PredictivePacer, PredictiveSettings

from .policies import DialerPolicy, FixedRatio, VicidialAdaptive, WombatBoost
from .scenario import Scenario
from .sim import Result, simulate

CAP = 0.03
BISECTIONS = 7

OURS = "ours (predictive)"
VICIDIAL = "VICIdial adaptive"
WOMBAT = "WombatDialer boost"
WOMBAT_MATCHED = "WombatDialer at our abandon"
BEST_FIXED = "best fixed ratio (hindsight)"
CEILING = "ceiling (oracle)"
POLICIES = (OURS, VICIDIAL, WOMBAT, WOMBAT_MATCHED, BEST_FIXED)


@dataclass(frozen=True)
class Figures:
    talk_min_per_op_hour: float
    occupancy: float
    abandon_rate: float
    wait_between_calls_s: float
    peak_rate: float
    setting: float = 0.0  # dial level or boost factor, where the policy has one
    max_abandoned_in_60s: int = 0

    @classmethod
    def of(cls, result: Result, setting: float = 0.0) -> Figures:
        return cls(
            result.talk_min_per_op_hour,
            result.occupancy,
            result.abandon_rate,
            result.wait_between_calls_s,
            result.peak_rate,
            setting,
            result.max_abandoned_in_60s,
        )


@dataclass
class Case:
    scenario: str
    seed: int
    figures: dict[str, Figures] = field(default_factory=dict)
    fixed_sweep: list[Figures] = field(default_factory=list)  # every level tried


def ours(scenario: Scenario) -> DialerPolicy:
    settings = PredictiveSettings(abandon_target=scenario.abandon_target)
    return DialerPolicy(OURS, PredictivePacer(settings, ring_timeout_s=scenario.ring_timeout))


def run_case(scenario: Scenario, seed: int, hindsight: bool = True) -> Case:
    case = Case(scenario.name, seed)
    mine = simulate(scenario, ours(scenario), seed)
    case.figures[OURS] = Figures.of(mine)
    vicidial = VicidialAdaptive(drop_target=scenario.abandon_target)
    case.figures[VICIDIAL] = Figures.of(simulate(scenario, vicidial, seed))
    boost = 1.0 / scenario.lead_yield  # what a supervisor sets from the campaign's rates
    wombat = simulate(scenario, WombatBoost(boost), seed)
    case.figures[WOMBAT] = Figures.of(wombat, boost)
    if not hindsight:  # the two searches take 16 runs of the 19
        return case
    case.figures[WOMBAT_MATCHED] = _wombat_matched(scenario, seed, mine.abandon_rate)
    best, tried = _highest_within(
        lambda level: simulate(scenario, FixedRatio(level), seed),
        1.0,
        4.0,
        scenario.abandon_target,
    )
    case.figures[BEST_FIXED] = best
    case.fixed_sweep = tried
    return case


def _wombat_matched(scenario: Scenario, seed: int, cap: float) -> Figures:
    boost = 1.0 / scenario.lead_yield
    best, _ = _highest_within(
        lambda b: simulate(scenario, WombatBoost(b), seed), 0.2 * boost, 3.0 * boost, cap
    )
    return best


def _highest_within(
    run: Callable[[float], Result], low: float, high: float, cap: float
) -> tuple[Figures, list[Figures]]:
    """Highest setting in [low, high] whose abandon rate is at most `cap` (bisection)."""
    tried: list[Figures] = []
    best = Figures.of(run(low), low)
    tried.append(best)
    for _ in range(BISECTIONS):
        middle = (low + high) / 2.0
        figures = Figures.of(run(middle), middle)
        tried.append(figures)
        if figures.abandon_rate <= cap:
            best, low = figures, middle
        else:
            high = middle
    return best, tried


def ceiling(scenario: Scenario) -> Figures:
    """An oracle that knows every call's future has a lead arrive as each operator frees:
    operators talk back to back, with only wrap-up between calls, and nobody waits."""
    return Figures(scenario.talk_ceiling, 1.0, 0.0, 0.0, 0.0)
