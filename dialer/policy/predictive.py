"""The predictive pacer: calls placed ahead of operators becoming free, sized from live
estimates, with a safety margin tuned so the abandon rate stays under target. Pure: the
caller passes the time.

Every operator pacer (dialer/policy/operator_pacer.py) is fed the same events by the
engine and asked `allowance(now, in_flight)`. Times are float seconds from one clock for
every call into one pacer. The pacer's `AbandonLedger` keeps the regulators' 24 h and
30 day windows in that clock, so it must be one that survives a restart: pass Unix time
(`time.time()`), not `time.monotonic()`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from statistics import NormalDist

from dialer.operators import OperatorState
from dialer.policy.abandon import AbandonLedger
from dialer.policy.answer_watch import AnswerWatch
from dialer.policy.operator_pacer import (
    OperatorPacer,
    PacedCall,
    PacerSnapshot,
    Stage,
)
from dialer.policy.pacing import FixedPacer

ESTIMATE_Z = 1.0  # standard errors of the estimated lead yield the plan allows for
PRESSURE_FROM = 0.85  # share of the abandon target from which the margin grows ...
PRESSURE_GAIN = 15.0  # ... by this much per unit of share (+1.5 at 95% of the target)
BURST_FROM = 0.4  # share of the burst limit abandoned within 60 s from which ...
BURST_GAIN = 2.0  # ... the margin grows by this much per unit of share
# A lower bound of the newest calls' answer rate this far above the learnt one restarts
# it there, worth this many samples (the old ones no longer describe the list).
RISE_FACTOR = 1.5
RISE_RESTART_WEIGHT = 20.0
TALK_REFRESH_S = 5.0  # how often the talk-time curve takes in the calls going on


@dataclass(frozen=True)
class PredictiveSettings:
    abandon_target: float = 0.03  # abandoned share of live-answered calls, per window
    connect_limit_s: float = 2.0  # an operator must take the call within this
    aim: float = 0.75  # the margin loop aims at this share of the target
    lookahead: float = 0.5  # count operators freeing within this share of the lead time
    # A talking operator counts with the chance that the call ends, and the wrap-up after
    # it, within this share of the lead time: calls for them go out before they hang up.
    talk_reach: float = 0.0
    # Headroom, in abandoned calls, under which it dials progressively: at least
    # `reserve`, and `reserve_per_operator` per operator logged in (a big team's one
    # mistake abandons more calls at once).
    reserve: float = 1.0
    reserve_per_operator: float = 0.02
    # Calls that must have settled (rung out, and heard the message) before it dials ahead,
    # at least these and these per operator logged in: a yield learnt from a handful of
    # calls can be off by half, and a big team places its error many times over.
    learn_rings: int = 100
    learn_messages: int = 30
    learn_rings_per_operator: float = 2.0
    learn_messages_per_operator: float = 0.5
    # Once it may dial ahead, the calls it places beyond progressive grow from none to
    # the plan's over this long (the guard lifting must not place the whole headroom at
    # once on estimates that just passed the bar).
    ramp_s: float = 30.0
    # Abandoned calls within 60 s that it tolerates (a burst of silent calls is what
    # callees complain about, whatever the daily rate): at least `burst_floor` and one per
    # `burst_operators` operators. Past 40% of them the margin grows.
    burst_floor: int = 5
    burst_operators: int = 20
    gain: float = 0.3  # margin added by one abandoned call
    min_margin: float = -2.0
    max_margin: float = 5.0


@dataclass(frozen=True)
class Plan:
    supply: float  # operators expected free within the lookahead
    demand: float  # calls already placed expected to want one
    variance: float  # of supply - demand, outcomes drawn independently
    lead_yield: float  # leads per call placed
    uncertainty: float  # relative standard error of lead_yield


class PredictivePacer(OperatorPacer):
    """Places calls ahead of operators becoming free.

    Each decision compares supply and demand over a lookahead of `lookahead` x the mean
    lead time (ring + message). Supply: operators free now, those in wrap-up likely done
    by then, and the share of those talking whose call and wrap-up will be over (talk
    treated as memoryless). Demand: each queued caller, each message listener times the
    transfer share, each ringing call times the chance that a call still ringing at its
    age is answered by a person and transfers. It places the most calls N such that
    expected leads stay `margin` standard deviations of the independent draws, plus one
    standard error of the estimated yield, below the expected supply. Looking only half a
    lead time ahead leaves operators who free later as the cushion for leads that arrive
    early (in scripts/bench-pacing it matched the full lead time at 10 and 50 operators
    and did better at 200).

    `margin` is tuned by stochastic approximation on every settled lead that was placed
    predictively: up by `gain` on an abandoned call, down a little on a connected one, so
    it settles where the share of leads abandoned is `aim` x target (the target converted
    from live-answered calls to leads). It dials progressively, which cannot abandon a
    call while operators stay logged in, until `learn_rings` and `learn_messages` calls
    have settled, and whenever the headroom under the target in a window is below
    `reserve` abandoned calls (so too at the very start). As the worst window's rate
    passes 85% of the target the margin grows, slowing it down before the cap. It never
    places fewer calls than progressive dialling would.

    Sudden changes: the answers of calls still ringing are compared with what the learnt
    rate expects at their age (dialer/policy/answer_watch.py); a clear rise restarts the
    learnt rate from the newest calls, so it brakes some 10 s after the rise instead of
    35 s. The bars to leave learning and the abandon reserve grow with the team (a big
    team places its error many times over); when it may dial ahead again, the calls
    beyond progressive ramp up over `ramp_s` rather than leaving in one tick; and the
    margin grows as the calls abandoned within 60 s near the burst limit.
    """

    mode = "predictive"

    def __init__(
        self,
        settings: PredictiveSettings | None = None,
        limiter: FixedPacer | None = None,
        ledger: AbandonLedger | None = None,
        ring_timeout_s: float = 30.0,
    ) -> None:
        self.settings = settings or PredictiveSettings()
        super().__init__(limiter, ledger, self.settings.connect_limit_s, ring_timeout_s)
        self.margin = NormalDist().inv_cdf(1.0 - self._lead_target())
        self._state = "learning"
        self._last_plan = Plan(0.0, 0.0, 0.0, 1.0, 0.0)
        self._talk_due = float("-inf")
        self._ahead_since: float | None = None  # when it last started dialling ahead
        self._answers = AnswerWatch(self.ring_settle_s)
        self._abandoned_at: deque[float] = deque()  # the last 60 s

    def _lead_target(self) -> float:
        """Share of leads that may be abandoned for the live-answered rate to sit at aim."""
        s = self.settings
        return min(0.5, s.abandon_target * s.aim / max(self.estimates.transfer.value, 0.01))

    def _wanted(self, now: float) -> int:
        s = self.settings
        windows = self.ledger.counts(now).values()
        if now >= self._talk_due:  # the calls going on count too (talk_times.py)
            self.estimates.talk_s.refresh(
                now - since
                for state, since in self._operators.values()
                if state is OperatorState.ON_CALL
            )
            self._talk_due = now + TALK_REFRESH_S
        self._notice_a_rise(now)
        self._state = self._state_now(now, min(w.headroom(s.abandon_target) for w in windows))
        progressive = self.progressive_gap()
        if self._state != "predictive":
            self._ahead_since = None
            return progressive
        if self._ahead_since is None:
            self._ahead_since = now
        plan = self._plan(now)
        self._last_plan = plan
        q, k = plan.lead_yield, ESTIMATE_Z * plan.uncertainty
        ahead = calls_within(
            gap=plan.supply - plan.demand * (1.0 + k),
            variance=plan.variance,
            per_call_mean=q * (1.0 + k),
            per_call_variance=q * (1.0 - q),
            margin=self.margin
            + self._pressure(max(w.rate for w in windows))
            + self._burst_pressure(now),
        )
        ramp = min(1.0, (now - self._ahead_since) / s.ramp_s) if s.ramp_s > 0.0 else 1.0
        return max(progressive, progressive + math.floor(ramp * (ahead - progressive)))

    def _state_now(self, now: float, headroom: float) -> str:
        s, e = self.settings, self.estimates
        team = self.logged_in()
        if e.person.samples < max(s.learn_rings, s.learn_rings_per_operator * team) or (
            e.transfer.samples < max(s.learn_messages, s.learn_messages_per_operator * team)
        ):
            return "learning"
        if headroom < max(s.reserve, s.reserve_per_operator * team):
            return "guarded"
        return "predictive"

    def logged_in(self) -> int:
        return sum(
            n for state, n in self._operator_counts.items() if state is not OperatorState.LOGGED_OUT
        )

    def burst_limit(self) -> int:
        """Abandoned calls within 60 s it may cause: max(5, operators / 20) by default."""
        s = self.settings
        return max(s.burst_floor, self.logged_in() // s.burst_operators)

    def _pressure(self, worst_rate: float) -> float:
        """Extra margin as the worst window's abandon rate nears the target."""
        share = worst_rate / self.settings.abandon_target
        return max(0.0, share - PRESSURE_FROM) * PRESSURE_GAIN

    def _burst_pressure(self, now: float) -> float:
        """Extra margin as the calls abandoned within 60 s near the burst limit."""
        while self._abandoned_at and self._abandoned_at[0] <= now - 60.0:
            self._abandoned_at.popleft()
        share = len(self._abandoned_at) / self.burst_limit()
        return max(0.0, share - BURST_FROM) * BURST_GAIN

    def _plan(self, now: float) -> Plan:
        e = self.estimates
        lookahead = self.settings.lookahead * (e.ring_s.value + e.message_s.value)
        supply, supply_var = self._supply(now, lookahead)
        demand, demand_var = self._demand(now)
        return Plan(supply, demand, supply_var + demand_var, e.lead_yield, e.yield_uncertainty())

    def _notice_a_rise(self, now: float) -> None:
        """Restart the answer rate from the newest calls when they show a clear rise.

        The settled estimate remembers hundreds of calls: left alone it would take
        minutes to follow a jump from 10% to 50%, and dial at the old yield meanwhile.
        """
        person = self.estimates.person
        floor = self._answers.rate_floor(now, self._answered_by, person.value)
        if floor > RISE_FACTOR * person.value:
            person.value = floor
            person.weight = min(person.weight, RISE_RESTART_WEIGHT)

    def _answered_by(self, age: float) -> float:
        return 1.0 - self.estimates.ring_s.survival(age)

    def _supply(self, now: float, lookahead: float) -> tuple[float, float]:
        """Operators expected free within the lookahead: those free now, those in wrap-up
        likely done by then, and each talking operator whose call, `elapsed` seconds old,
        is likely to end (the learnt talk-time distribution) early enough that the
        wrap-up is over when a lead of a call placed now arrives (the whole lead time)."""
        e = self.estimates
        wrap = e.wrap_s.value
        talk_horizon = self.settings.talk_reach * (e.ring_s.value + e.message_s.value) - wrap
        supply = float(self.operators(OperatorState.AVAILABLE))
        variance = 0.0
        talking: dict[float, int] = {}
        for operator_id, (state, since) in self._operators.items():
            if state is OperatorState.ON_CALL:
                key = _coarse(now - since, e.talk_s.step_s)
                talking[key] = talking.get(key, 0) + 1
            elif state is OperatorState.WRAP_UP:
                started = self._wrap_started.get(operator_id, since)
                left = max(wrap - (now - started), 1.0)
                p = 1.0 - math.exp(-lookahead / left)
                supply += p
                variance += p * (1.0 - p)
        if talk_horizon > 0.0:
            for elapsed, count in talking.items():
                p = e.talk_s.free_within(elapsed, talk_horizon)
                supply += count * p
                variance += count * p * (1.0 - p)
        return supply, variance

    def _demand(self, now: float) -> tuple[float, float]:
        e = self.estimates
        p_lead = e.transfer.value
        listening = self.calls(Stage.MESSAGE)
        demand = self.calls(Stage.QUEUED) + listening * p_lead
        variance = listening * p_lead * (1.0 - p_lead)
        person = e.person.value
        for placed_at, count in self._ringing_by_start.items():
            age = now - placed_at
            # Odds that a call still ringing at this age ends with a person.
            yes = person * e.ring_s.survival(age)
            no = (1.0 - person) * e.miss_s.survival(age)
            p = p_lead * yes / (yes + no) if yes + no > 0.0 else 0.0
            demand += count * p
            variance += count * p * (1.0 - p)
        return demand, variance

    def _ahead_of_progressive(self) -> bool:
        return self._state == "predictive"

    def call_placed(self, now: float, call_id: str) -> None:
        super().call_placed(now, call_id)
        self._answers.placed(now)

    def call_answered(self, now: float, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None and call.stage is Stage.RINGING:
            self._answers.answered(call.placed_at)
        super().call_answered(now, call_id)

    def _lead_settled(self, now: float, call: PacedCall, abandoned: bool) -> None:
        super()._lead_settled(now, call, abandoned)
        if abandoned:
            self._abandoned_at.append(now)
        if not call.predictive:
            return  # a progressive call says nothing about the margin
        target = self._lead_target()
        step = self.settings.gain * ((1.0 if abandoned else 0.0) - target) / (1.0 - target)
        s = self.settings
        self.margin = min(s.max_margin, max(s.min_margin, self.margin + step))

    def snapshot(self, now: float) -> PacerSnapshot:
        return replace(
            super().snapshot(now),
            state=self._state,
            dial_level=round(self.waiting_for_operator / max(1.0, self._last_plan.supply), 3),
            margin=round(self.margin, 3),
            abandon_target=self.settings.abandon_target,
        )


def _coarse(elapsed: float, step: float) -> float:
    """Elapsed talk time rounded to `step` for the first minute, then to a tenth of itself
    (the chance a call ends soon changes slowly once it is long)."""
    width = max(step, elapsed / 10.0)
    return width * round(elapsed / width)


def calls_within(
    gap: float, variance: float, per_call_mean: float, per_call_variance: float, margin: float
) -> int:
    """Most calls N with  N*m + margin*sqrt(variance + N*v) <= gap  (m, v: per call).

    In x = sqrt(variance + N*v) that is  x^2 + margin*(v/m)*x - (gap*v/m + variance) <= 0,
    so x is at most the positive root.
    """
    m = max(per_call_mean, 1e-6)
    v = per_call_variance
    if v < 1e-9:  # every call surely yields a lead (or surely not): nothing to hedge
        return max(0, math.floor((gap - margin * math.sqrt(variance)) / m))
    b = margin * v / m
    c = gap * v / m + variance
    disc = b * b + 4.0 * c
    if disc < 0.0:
        return 0
    x = (-b + math.sqrt(disc)) / 2.0
    if x <= 0.0 or x * x <= variance:
        return 0
    return math.floor((x * x - variance) / v)
