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
"""

from __future__ import annotations

from dialer.policy.predictive import PredictivePacer, PredictiveSettings

from .policies import DialerPolicy
from .scenario import Scenario
from .sim import Ev, View

TOLD_WEIGHT = 1000.0
TOLD_WHEN = ("first-answer", "change")


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
