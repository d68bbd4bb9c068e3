"""Our pacer told what no pacer can know sooner: the bounds `scripts/bench-pacing-bound`
measures.

After a sudden change of the answer rate, any pacer that learns from its own calls
places the calls of the first seconds exactly as if nothing had changed: until a call
placed after the change is answered, nothing it sees differs. `Informed` wraps our
pacer and sets its learnt person-answer rate to the scenario's true new rate, with the
weight of a thousand calls,
- `first-answer`: at the first answer of a call placed after the change (the earliest
  evidence there is; a real test needs several answers), or
- `change`: at the moment of the change (clairvoyant: no pacer can do this).
What `first-answer` still abandons after the change is a floor for any pacer built
like ours at the same steady-state efficiency. `HeldBackPacer` keeps a share of the
operators out of its supply all day: the standing cushion it would take to absorb those
calls, and what it costs when nothing changes.

In steady campaigns the gap to the ceiling could come from not knowing when operators
free up, or from not knowing which calls a person answers. `foreseeing` runs our pacer
knowing, at every tick, when each operator's call and wrap-up end (the simulation's own
schedule): what is still missing then is owed to the calls' fates, which no pacer knows.
"""

from __future__ import annotations

import math

from dialer.operators import OperatorState
from dialer.policy.predictive import PredictivePacer, PredictiveSettings

from .policies import DialerPolicy
from .scenario import Scenario
from .sim import Ev, Policy, Result, Simulation, View, _Due

TOLD_WEIGHT = 1000.0
TOLD_WHEN = ("first-answer", "change")
FORESEEN = "operators foreseen"


class Informed:
    def __init__(self, inner: DialerPolicy, scenario: Scenario, when: str) -> None:
        if when not in TOLD_WHEN:
            raise ValueError(f"told when: {when!r} is not one of {', '.join(TOLD_WHEN)}")
        self.inner = inner
        self.name = f"{inner.name}, told at {when.replace('-', ' ')}"
        self.when = when
        self.change = scenario.answer_drop
        self.person_rate = (
            scenario.answer_drop[1] * (1.0 - scenario.machine_share)
            if scenario.answer_drop is not None
            else 0.0
        )
        self.told_at: float | None = None
        self._placed_at: dict[int, float] = {}

    def want(self, now: float, view: View) -> int:
        if self.when == "change" and self.change is not None and now >= self.change[0]:
            self._tell(now)
        return self.inner.want(now, view)

    def event(self, now: float, kind: Ev, key: int) -> None:
        self.inner.event(now, kind, key)
        if self.told_at is not None or self.change is None or self.when != "first-answer":
            return
        if kind is Ev.PLACED:
            self._placed_at[key] = now
        elif kind is Ev.ANSWERED and self._placed_at.get(key, -1.0) >= self.change[0]:
            self._tell(now)
        elif kind in (Ev.UNANSWERED, Ev.ENDED):
            self._placed_at.pop(key, None)

    def _tell(self, now: float) -> None:
        if self.told_at is not None:
            return
        self.told_at = now
        person = self.inner.pacer.estimates.person
        person.value = self.person_rate
        person.weight = TOLD_WEIGHT


class HeldBackPacer(PredictivePacer):
    """Our pacer planning as if `share` of the operators logged in were never free."""

    def __init__(self, share: float, settings: PredictiveSettings, ring_timeout_s: float) -> None:
        super().__init__(settings, ring_timeout_s=ring_timeout_s)
        self.share = share

    def _supply(self, now: float, lookahead: float) -> tuple[float, float]:
        supply, variance = super()._supply(now, lookahead)
        return supply - self.share * self.logged_in(), variance


class OperatorsForeseen(Simulation):
    """A simulation that shows the policy when each operator's call and wrap-up end."""

    def __init__(
        self, scenario: Scenario, policy: Policy, seed: int, ends: dict[str, tuple[int, float]]
    ) -> None:
        super().__init__(scenario, policy, seed)
        self.ends = ends  # operator -> (what ends, when)

    def _at(self, t: float, due: int, key: int) -> None:
        if due in (_Due.TALK_END, _Due.WRAP_END):
            self.ends[str(key)] = (due, t)
        super()._at(t, due, key)


class ForeseeingPacer(PredictivePacer):
    """Our pacer knowing when each operator frees (not which calls answer): an operator
    counts as free within the lookahead if their wrap-up ends by then, or their call ends
    early enough for the learnt wrap-up to be over within `reach` x the lead time."""

    def __init__(
        self,
        ends: dict[str, tuple[int, float]],
        settings: PredictiveSettings,
        ring_timeout_s: float,
        reach: float = 0.5,
    ) -> None:
        super().__init__(settings, ring_timeout_s=ring_timeout_s)
        self.ends = ends
        self.reach = reach

    def _supply(self, now: float, lookahead: float) -> tuple[float, float]:
        e = self.estimates
        talk_horizon = now + self.reach * (e.ring_s.value + e.message_s.value) - e.wrap_s.value
        supply = float(self.operators(OperatorState.AVAILABLE))
        for operator_id, (state, _) in self._operators.items():
            due, at = self.ends.get(operator_id, (-1, math.inf))
            if state is OperatorState.ON_CALL and due == _Due.TALK_END:
                supply += at <= talk_horizon
            elif state is OperatorState.WRAP_UP and due == _Due.WRAP_END:
                supply += at <= now + lookahead
        return supply, 0.0  # nothing left to chance about the operators


def foreseeing(scenario: Scenario, seed: int, aim: float = 0.75, reach: float = 0.5) -> Result:
    """Run our pacer knowing each operator's future on one seed of `scenario`."""
    settings = PredictiveSettings(abandon_target=scenario.abandon_target, aim=aim)
    ends: dict[str, tuple[int, float]] = {}
    pacer = ForeseeingPacer(ends, settings, scenario.ring_timeout, reach)
    return OperatorsForeseen(scenario, DialerPolicy(FORESEEN, pacer), seed, ends).run()
