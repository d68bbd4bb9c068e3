"""Operator-driven pacing: progressive, power and predictive. Pure: the caller passes the time.

The engine feeds every pacer here the same events (call placed, answered by a person, not
answered by one, reached the transfer point, connected to an operator, abandoned, ended;
operators changing state) and asks `allowance(now, in_flight)` how many calls to place
now. Each pacer keeps its own picture of the pipeline from those events:

- progressive: one call in progress per free operator, never more, so no call is
  abandoned while operators stay logged in;
- power: `ratio` calls in progress per free operator;
- predictive: calls placed ahead of operators becoming free, sized from live estimates,
  with a safety margin tuned so the abandon rate stays under target (`PredictivePacer`).

Times are float seconds from one clock for every call into one pacer. The pacer's
`AbandonLedger` keeps the regulators' 24 h and 30 day windows in that clock, so it must be
one that survives a restart: pass Unix time (`time.time()`), not `time.monotonic()`.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field
from enum import StrEnum
from statistics import NormalDist
from typing import Any

from dialer.policy.abandon import AbandonLedger, WindowCounts, is_abandoned
from dialer.policy.pacing import FixedPacer

RECHECK_S = 0.5  # talk ends grow likely between events: ask again this often
AMD_ALLOWANCE_S = 5.0  # answering-machine detection after the answer takes at most this
ESTIMATE_Z = 1.0  # standard errors of the estimated lead yield the plan allows for


class OperatorState(StrEnum):
    AVAILABLE = "available"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    LOGGED_OUT = "logged_out"


class Stage(StrEnum):
    RINGING = "ringing"  # placed, nobody answered yet
    MESSAGE = "message"  # a person answered; the message or menu plays
    QUEUED = "queued"  # at the transfer point, waiting for an operator
    CONNECTED = "connected"  # talking to an operator


@dataclass
class Estimate:
    """Exponentially weighted mean that starts from a prior worth `prior_weight` samples.

    Each sample weighs 1 and older ones fade by (1 - 1/memory) per new sample: the mean
    follows a change within about `memory` samples, and a handful already move it off the
    prior. `weight` doubles as the sample size behind the mean.
    """

    value: float
    memory: float = 200.0
    prior_weight: float = 2.0
    weight: float = field(init=False)
    samples: int = 0

    def __post_init__(self) -> None:
        self.weight = self.prior_weight

    def observe(self, sample: float, count: int = 1) -> None:
        """Add `count` samples whose mean is `sample` (in whatever order they came)."""
        self.weight = self.weight * (1.0 - 1.0 / self.memory) ** count + count
        self.value += (sample - self.value) * count / self.weight
        self.samples += count

    def relative_variance(self) -> float:
        """Squared relative standard error of a proportion estimated this way."""
        p = min(max(self.value, 0.01), 1.0)
        return (1.0 - p) / (p * self.weight)


def _share(prior: float) -> Estimate:
    # Proportions need more samples than times for the same precision.
    return Estimate(prior, memory=500.0)


@dataclass
class Estimates:
    """What the pacers learn. The priors say every call yields a lead, so with no data the
    predictive pacer dials about one call per free operator (progressive) and learns."""

    person: Estimate = field(default_factory=lambda: _share(1.0))  # P(a person answers)
    transfer: Estimate = field(default_factory=lambda: _share(1.0))  # P(lead | person)
    ring_s: Estimate = field(default_factory=lambda: Estimate(10.0))  # placed -> person
    miss_s: Estimate = field(default_factory=lambda: Estimate(20.0))  # placed -> no person
    message_s: Estimate = field(default_factory=lambda: Estimate(15.0))  # person -> transfer
    talk_s: Estimate = field(default_factory=lambda: Estimate(180.0))
    wrap_s: Estimate = field(default_factory=lambda: Estimate(15.0))

    @property
    def lead_yield(self) -> float:
        """Share of placed calls that end up asking for an operator."""
        return self.person.value * self.transfer.value

    def yield_uncertainty(self) -> float:
        """Relative standard error of `lead_yield`."""
        return math.sqrt(self.person.relative_variance() + self.transfer.relative_variance())

    def as_dict(self) -> dict[str, float]:
        return {
            "person_answer_rate": round(self.person.value, 4),
            "transfer_share": round(self.transfer.value, 4),
            "ring_s": round(self.ring_s.value, 2),
            "message_s": round(self.message_s.value, 2),
            "talk_s": round(self.talk_s.value, 1),
            "wrap_s": round(self.wrap_s.value, 1),
        }


@dataclass
class _Call:
    placed_at: float
    stage: Stage
    since: float
    predictive: bool  # placed while the predictive pacer was ahead of progressive


@dataclass(frozen=True)
class PacerSnapshot:
    """What a status display shows about a pacer."""

    mode: str
    state: str  # progressive | power | predictive | guarded (dialling progressively)
    dial_level: float  # calls that may still want an operator, per operator expected free
    operators: dict[str, int]
    calls: dict[str, int]
    estimates: dict[str, float]
    margin: float  # predictive safety margin, in standard deviations
    abandon_target: float
    abandon: dict[str, WindowCounts]  # "24h" and "30d"


class OperatorPacer:
    """Event bookkeeping shared by the progressive, power and predictive pacers.

    `limiter` (a `FixedPacer`) caps channels and calls per second on top of whatever the
    operators call for: `placed(count)` spends its tokens, `call_placed` tracks each call.

    Outcomes are learnt late on purpose. Busy and failed calls end within seconds while
    people take several to answer, and people who leave during the message leave before
    those who stay to its end: learning each outcome as it comes would first see only the
    quick ones, read the answer rate or the transfer share as far too low, and dial far
    too many calls. So a ringing outcome is learnt `ring_timeout_s` (plus detection time)
    after the call was placed and a message outcome well after the answer, when every
    call of that moment has settled. Calls placed together are learnt together, as one
    mean: in the order they ended, the last (slowest) ones would outweigh the others.
    """

    mode = "operator"

    def __init__(
        self,
        limiter: FixedPacer | None = None,
        ledger: AbandonLedger | None = None,
        connect_limit_s: float = 2.0,
        ring_timeout_s: float = 30.0,
    ) -> None:
        self.limiter = limiter
        self.ledger = ledger if ledger is not None else AbandonLedger()
        self.connect_limit_s = connect_limit_s
        self.ring_settle_s = ring_timeout_s + AMD_ALLOWANCE_S
        self.estimates = Estimates()
        # Outcomes waiting to be learnt: a heap of (when, seq, estimate, [sum, count]), and
        # the same lists by (when, estimate name) to pool the samples of one batch.
        self._later: list[tuple[float, int, Estimate, list[float]]] = []
        self._pools: dict[tuple[float, int], list[float]] = {}
        self._seq = itertools.count()
        self._calls: dict[str, _Call] = {}
        self._stage_counts = dict.fromkeys(Stage, 0)
        self._ringing_by_start: dict[float, int] = {}  # placement time -> calls still ringing
        self._operators: dict[str, tuple[OperatorState, float]] = {}
        self._operator_counts = dict.fromkeys(OperatorState, 0)
        self._wrap_started: dict[str, float] = {}
        self._operator_bound = True

    # --- Pacer protocol -------------------------------------------------------------
    def allowance(self, now: float, in_flight: int) -> int:
        self._learn_due(now)
        wanted = max(0, self._wanted(now))
        if self.limiter is None:
            self._operator_bound = True
            return wanted
        allowed = self.limiter.allowance(now, in_flight)
        self._operator_bound = wanted < allowed
        return min(wanted, allowed)

    def placed(self, count: int) -> None:
        if self.limiter is not None:
            self.limiter.placed(count)

    def seconds_until_next_token(self) -> float:
        if self._operator_bound or self.limiter is None:
            return RECHECK_S
        return self.limiter.seconds_until_next_token()

    def _wanted(self, now: float) -> int:
        raise NotImplementedError

    # --- call events ----------------------------------------------------------------
    def call_placed(self, now: float, call_id: str) -> None:
        self._calls[call_id] = _Call(now, Stage.RINGING, now, self._ahead_of_progressive())
        self._stage_counts[Stage.RINGING] += 1
        self._ringing_by_start[now] = self._ringing_by_start.get(now, 0) + 1

    def call_answered(self, now: float, call_id: str) -> None:
        """A person answered (after answering-machine detection, if the campaign runs it)."""
        call = self._calls.get(call_id)
        if call is None or call.stage is not Stage.RINGING:
            return  # unknown or out of order: the pipeline keeps its view
        self._ring_ended(now, call, person=True)
        self._move(call, Stage.MESSAGE, now)
        self.ledger.record_live(now)

    def call_unanswered(self, now: float, call_id: str) -> None:
        """No person on the line: machine, no answer, busy, congestion, failed."""
        call = self._calls.get(call_id)
        if call is None or call.stage is not Stage.RINGING:
            return
        self._ring_ended(now, call, person=False)
        self._drop(call_id, call)

    def call_transfer(self, now: float, call_id: str) -> None:
        """The call reached the transfer point and waits for an operator."""
        call = self._calls.get(call_id)
        if call is None or call.stage is not Stage.MESSAGE:
            return
        self._message_ended(now, call, transferred=True)
        self._move(call, Stage.QUEUED, now)
        self.ledger.record_transfer(now)

    def call_connected(self, now: float, call_id: str) -> None:
        """An operator took the call; a wait past the limit still counts as abandoned."""
        call = self._calls.get(call_id)
        if call is None or call.stage is not Stage.QUEUED:
            return
        waited = now - call.since
        self._move(call, Stage.CONNECTED, now)
        self._lead_settled(now, call, is_abandoned(waited, self.connect_limit_s, True))

    def call_abandoned(self, now: float, call_id: str) -> None:
        """The call left the queue without an operator (queue timeout or caller hung up)."""
        call = self._calls.get(call_id)
        if call is None or call.stage is not Stage.QUEUED:
            return
        self._drop(call_id, call)
        self._lead_settled(now, call, True)

    def call_ended(self, now: float, call_id: str) -> None:
        """Hangup, whatever the stage: the one event every call gets, last."""
        call = self._calls.get(call_id)
        if call is None:
            return
        if call.stage is Stage.RINGING:
            self.call_unanswered(now, call_id)
        elif call.stage is Stage.QUEUED:
            self.call_abandoned(now, call_id)  # hung up waiting for an operator
        else:
            if call.stage is Stage.MESSAGE:
                self._message_ended(now, call, transferred=False)
            self._drop(call_id, call)

    # --- operator events ------------------------------------------------------------
    def operator_state(self, now: float, operator_id: str, state: OperatorState) -> None:
        previous = self._operators.get(operator_id)
        if previous is not None:
            old, since = previous
            if old is state:
                return
            self._operator_counts[old] -= 1
            self._learn_from_operator(old, state, now - since)
        self._wrap_started.pop(operator_id, None)
        if state is OperatorState.LOGGED_OUT:
            self._operators.pop(operator_id, None)
            return
        self._operators[operator_id] = (state, now)
        self._operator_counts[state] += 1
        if state is OperatorState.WRAP_UP:
            self._wrap_started[operator_id] = now

    def _learn_from_operator(self, old: OperatorState, new: OperatorState, spent: float) -> None:
        if old is OperatorState.ON_CALL:
            self.estimates.talk_s.observe(spent)
            if new is OperatorState.AVAILABLE:
                self.estimates.wrap_s.observe(0.0)  # this campaign has no wrap-up
        elif old is OperatorState.WRAP_UP and new is OperatorState.AVAILABLE:
            self.estimates.wrap_s.observe(spent)

    # --- views ----------------------------------------------------------------------
    def operators(self, state: OperatorState) -> int:
        return self._operator_counts[state]

    def calls(self, stage: Stage) -> int:
        return self._stage_counts[stage]

    @property
    def waiting_for_operator(self) -> int:
        """Calls placed that may still ask for an operator and have none yet."""
        counts = self._stage_counts
        return counts[Stage.RINGING] + counts[Stage.MESSAGE] + counts[Stage.QUEUED]

    def progressive_gap(self) -> int:
        """Calls to place so that every call that may want an operator has a free one."""
        return self.operators(OperatorState.AVAILABLE) - self.waiting_for_operator

    def snapshot(self, now: float) -> PacerSnapshot:
        self._learn_due(now)
        return PacerSnapshot(
            mode=self.mode,
            state=self._state_name(),
            dial_level=round(self._dial_level(), 3),
            operators={s.value: n for s, n in self._operator_counts.items()},
            calls={s.value: n for s, n in self._stage_counts.items()},
            estimates=self.estimates.as_dict(),
            margin=round(self._margin_shown(), 3),
            abandon_target=self._target_shown(),
            abandon=self.ledger.counts(now),
        )

    def _state_name(self) -> str:
        return self.mode

    def _dial_level(self) -> float:
        return self.waiting_for_operator / max(1, self.operators(OperatorState.AVAILABLE))

    def _margin_shown(self) -> float:
        return 0.0

    def _target_shown(self) -> float:
        return 0.0

    def _ahead_of_progressive(self) -> bool:
        return False

    def _lead_settled(self, now: float, call: _Call, abandoned: bool) -> None:
        if abandoned:
            self.ledger.record_abandoned(now)

    # --- internals ------------------------------------------------------------------
    def _move(self, call: _Call, stage: Stage, now: float) -> None:
        if call.stage is Stage.RINGING:
            self._forget_ringing(call.placed_at)
        self._stage_counts[call.stage] -= 1
        self._stage_counts[stage] += 1
        call.stage = stage
        call.since = now

    def _drop(self, call_id: str, call: _Call) -> None:
        if call.stage is Stage.RINGING:
            self._forget_ringing(call.placed_at)
        self._stage_counts[call.stage] -= 1
        del self._calls[call_id]

    def _forget_ringing(self, placed_at: float) -> None:
        left = self._ringing_by_start[placed_at] - 1
        if left:
            self._ringing_by_start[placed_at] = left
        else:
            del self._ringing_by_start[placed_at]

    def _ring_ended(self, now: float, call: _Call, person: bool) -> None:
        at = call.placed_at + self.ring_settle_s
        self._learn_at(at, self.estimates.person, 1.0 if person else 0.0)
        took = now - call.placed_at
        self._learn_at(at, self.estimates.ring_s if person else self.estimates.miss_s, took)

    def _message_ended(self, now: float, call: _Call, transferred: bool) -> None:
        message = self.estimates.message_s
        at = call.since + max(2.0 * message.value, message.value + 20.0)
        self._learn_at(at, self.estimates.transfer, 1.0 if transferred else 0.0)
        if transferred:
            self._learn_at(at, message, now - call.since)

    def _learn_at(self, at: float, estimate: Estimate, sample: float) -> None:
        key = (at, id(estimate))
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = [0.0, 0.0]
            heapq.heappush(self._later, (at, next(self._seq), estimate, pool))
        pool[0] += sample
        pool[1] += 1

    def _learn_due(self, now: float) -> None:
        while self._later and self._later[0][0] <= now:
            at, _, estimate, (total, count) = heapq.heappop(self._later)
            del self._pools[(at, id(estimate))]
            estimate.observe(total / count, int(count))


class ProgressivePacer(OperatorPacer):
    """One call in progress per free operator."""

    mode = "progressive"

    def _wanted(self, now: float) -> int:
        return self.progressive_gap()


class PowerPacer(OperatorPacer):
    """`ratio` calls in progress per free operator (fixed, set by the campaign)."""

    mode = "power"

    def __init__(self, ratio: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if ratio < 1.0:
            raise ValueError("power dialling needs a ratio of at least 1 call per operator")
        self.ratio = ratio

    def _wanted(self, now: float) -> int:
        target = math.floor(self.ratio * self.operators(OperatorState.AVAILABLE) + 0.5)
        return target - self.waiting_for_operator


@dataclass(frozen=True)
class PredictiveSettings:
    abandon_target: float = 0.03  # abandoned share of live-answered calls, per window
    connect_limit_s: float = 2.0  # an operator must take the call within this
    aim: float = 0.75  # the margin loop aims at this share of the target
    lookahead: float = 0.5  # count operators freeing within this share of the lead time
    reserve: float = 1.0  # headroom, in abandoned calls, under which it dials progressively
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
    early; measured in scripts/bench-pacing, it beats the full lead time at every size.

    `margin` is tuned by stochastic approximation on every settled lead that was placed
    predictively: up by `gain` on an abandoned call, down a little on a connected one, so
    it settles where the share of leads abandoned is `aim` x target (the target converted
    from live-answered calls to leads). Two guards keep the regulators' windows safe
    whatever the model gets wrong: as the worst window's rate passes 85% of the target
    the margin grows, and while the headroom under the target is below `reserve`
    abandoned calls (always so at the very start) it dials progressively, which cannot
    abandon a call while operators stay logged in. It never places fewer calls than
    progressive dialling would.
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
        self._guarded = True
        self._last_plan = Plan(0.0, 0.0, 0.0, 1.0, 0.0)

    def _lead_target(self) -> float:
        """Share of leads that may be abandoned for the live-answered rate to sit at aim."""
        s = self.settings
        return min(0.5, s.abandon_target * s.aim / max(self.estimates.transfer.value, 0.01))

    def _wanted(self, now: float) -> int:
        s = self.settings
        self._guarded = self.ledger.headroom(now, s.abandon_target) < s.reserve
        progressive = self.progressive_gap()
        if self._guarded:
            return progressive
        plan = self._plan(now)
        self._last_plan = plan
        q, k = plan.lead_yield, ESTIMATE_Z * plan.uncertainty
        ahead = calls_within(
            gap=plan.supply - plan.demand * (1.0 + k),
            variance=plan.variance,
            per_call_mean=q * (1.0 + k),
            per_call_variance=q * (1.0 - q),
            margin=self.margin + self._pressure(now),
        )
        return max(progressive, ahead)

    def _pressure(self, now: float) -> float:
        """Extra margin as the worst window's abandon rate nears the target."""
        share = self.ledger.worst_rate(now) / self.settings.abandon_target
        return max(0.0, share - 0.85) * 15.0

    def _plan(self, now: float) -> Plan:
        e = self.estimates
        lookahead = self.settings.lookahead * (e.ring_s.value + e.message_s.value)
        supply, supply_var = self._supply(now, lookahead)
        demand, demand_var = self._demand(now)
        return Plan(supply, demand, supply_var + demand_var, e.lead_yield, e.yield_uncertainty())

    def _supply(self, now: float, lookahead: float) -> tuple[float, float]:
        e = self.estimates
        talking = self.operators(OperatorState.ON_CALL)
        wrap = e.wrap_s.value
        p_talk = 1.0 - math.exp(-max(0.0, lookahead - wrap) / max(e.talk_s.value, 1.0))
        supply = self.operators(OperatorState.AVAILABLE) + talking * p_talk
        variance = talking * p_talk * (1.0 - p_talk)
        for started in self._wrap_started.values():
            left = max(wrap - (now - started), 1.0)
            p = 1.0 - math.exp(-lookahead / left)
            supply += p
            variance += p * (1.0 - p)
        return supply, variance

    def _demand(self, now: float) -> tuple[float, float]:
        e = self.estimates
        p_lead = e.transfer.value
        listening = self.calls(Stage.MESSAGE)
        demand = self.calls(Stage.QUEUED) + listening * p_lead
        variance = listening * p_lead * (1.0 - p_lead)
        person, ring, miss = e.person.value, max(e.ring_s.value, 0.1), max(e.miss_s.value, 0.1)
        for placed_at, count in self._ringing_by_start.items():
            age = now - placed_at
            # Odds that a call still ringing at this age ends with a person: answered calls
            # leave ringing at rate 1/ring, the others at rate 1/miss.
            yes = person * math.exp(-age / ring)
            no = (1.0 - person) * math.exp(-age / miss)
            p = p_lead * yes / (yes + no) if yes + no > 0.0 else 0.0
            demand += count * p
            variance += count * p * (1.0 - p)
        return demand, variance

    def _ahead_of_progressive(self) -> bool:
        return not self._guarded

    def _lead_settled(self, now: float, call: _Call, abandoned: bool) -> None:
        super()._lead_settled(now, call, abandoned)
        if not call.predictive:
            return  # a progressive call says nothing about the margin
        target = self._lead_target()
        step = self.settings.gain * ((1.0 if abandoned else 0.0) - target) / (1.0 - target)
        s = self.settings
        self.margin = min(s.max_margin, max(s.min_margin, self.margin + step))

    def _state_name(self) -> str:
        return "guarded" if self._guarded else "predictive"

    def _dial_level(self) -> float:
        return self.waiting_for_operator / max(1.0, self._last_plan.supply)

    def _margin_shown(self) -> float:
        return self.margin

    def _target_shown(self) -> float:
        return self.settings.abandon_target


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
