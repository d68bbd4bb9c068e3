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
from dataclasses import dataclass, field, replace
from enum import StrEnum
from statistics import NormalDist
from typing import Any

from dialer.policy.abandon import AbandonLedger, WindowCounts, is_abandoned
from dialer.policy.pacing import FixedPacer

RECHECK_S = 0.5  # talk ends grow likely between events: ask again this often
AMD_ALLOWANCE_S = 5.0  # answering-machine detection after the answer takes at most this
ESTIMATE_Z = 1.0  # standard errors of the estimated lead yield the plan allows for
PRESSURE_FROM = 0.85  # share of the abandon target from which the margin grows ...
PRESSURE_GAIN = 15.0  # ... by this much per unit of share (+1.5 at 95% of the target)


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

    def observe_all(self, samples: list[float]) -> None:
        self.observe(sum(samples) / len(samples), len(samples))

    def relative_variance(self) -> float:
        """Squared relative standard error of a proportion estimated this way."""
        p = min(max(self.value, 0.01), 1.0)
        return (1.0 - p) / (p * self.weight)


@dataclass
class Durations:
    """How long something takes, as a histogram of 1 s bins up to `longest_s`.

    Weighted like `Estimate` (older samples fade) and started from an exponential prior
    worth `prior_weight` samples. Beside the mean it tells the share still going on at a
    given age: ring times are far from memoryless (almost nobody answers in the first two
    seconds, unanswered calls ring to the timeout), and a burst of calls placed together
    is only judged right with their real shape.
    """

    prior_mean: float
    longest_s: float
    memory: float = 500.0
    prior_weight: float = 2.0
    samples: int = 0
    _bins: list[float] = field(init=False)
    _tails: list[float] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        shape = [math.exp(-(i + 0.5) / self.prior_mean) for i in range(math.ceil(self.longest_s))]
        self._bins = [self.prior_weight * w / sum(shape) for w in shape]

    @property
    def value(self) -> float:
        return sum((i + 0.5) * w for i, w in enumerate(self._bins)) / sum(self._bins)

    def observe_all(self, samples: list[float]) -> None:
        fade = (1.0 - 1.0 / self.memory) ** len(samples)
        self._bins = [w * fade for w in self._bins]
        last = len(self._bins) - 1
        for sample in samples:
            self._bins[min(max(int(sample), 0), last)] += 1.0
        self.samples += len(samples)
        self._tails = None

    def survival(self, age: float) -> float:
        """Share of the durations longer than `age`."""
        if self._tails is None:
            tails = [0.0] * (len(self._bins) + 1)
            for i in range(len(self._bins) - 1, -1, -1):
                tails[i] = tails[i + 1] + self._bins[i]
            self._tails = tails
        if age <= 0.0:
            return 1.0
        i = int(age)
        if i >= len(self._bins):
            return 0.0
        inside = self._bins[i] * (1.0 - (age - i))
        return (self._tails[i + 1] + inside) / self._tails[0]


def _share(prior: float) -> Estimate:
    # Proportions need more samples than times for the same precision.
    return Estimate(prior, memory=500.0)


@dataclass
class Estimates:
    """What the pacers learn. The priors say every call yields a lead, so with no data the
    predictive pacer dials about one call per free operator (progressive) and learns."""

    ring_s: Durations  # placed -> person on the line
    miss_s: Durations  # placed -> over with no person
    person: Estimate = field(default_factory=lambda: _share(1.0))  # P(a person answers)
    transfer: Estimate = field(default_factory=lambda: _share(1.0))  # P(lead | person)
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
    # progressive | power | predictive; or, dialling progressively meanwhile, learning
    # (too few calls settled yet) or guarded (abandon headroom under the reserve)
    state: str
    dial_level: float  # calls that may still want an operator, per operator expected free
    operators: dict[str, int]
    calls: dict[str, int]
    estimates: dict[str, float]
    abandon: dict[str, WindowCounts]  # "24h" and "30d"
    margin: float | None = None  # predictive safety margin, in standard deviations
    abandon_target: float | None = None


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
        self.estimates = Estimates(
            ring_s=Durations(10.0, self.ring_settle_s), miss_s=Durations(20.0, self.ring_settle_s)
        )
        # Outcomes waiting to be learnt: a heap of (when, seq, estimate name, samples), and
        # the same lists by (when, estimate name) to pool the samples of one batch.
        self._later: list[tuple[float, int, str, list[float]]] = []
        self._pools: dict[tuple[float, str], list[float]] = {}
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
        if call is None or call.stage in (Stage.QUEUED, Stage.CONNECTED):
            return
        if call.stage is Stage.MESSAGE:  # else the answer event went missing: learn nothing
            self._message_ended(now, call, transferred=True)
        self._move(call, Stage.QUEUED, now)
        self.ledger.record_transfer(now)

    def call_connected(self, now: float, call_id: str) -> None:
        """An operator took the call; a wait past the limit still counts as abandoned."""
        call = self._calls.get(call_id)
        if call is None or call.stage is Stage.CONNECTED:
            return
        # Without the transfer event the wait is unknown: it is taken as in time.
        waited = now - call.since if call.stage is Stage.QUEUED else 0.0
        self._move(call, Stage.CONNECTED, now)
        self._lead_settled(now, call, is_abandoned(waited, self.connect_limit_s, True))

    def call_abandoned(self, now: float, call_id: str) -> None:
        """The call left the queue without an operator (queue timeout or caller hung up)."""
        call = self._calls.get(call_id)
        if call is None or call.stage is Stage.CONNECTED:
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
        free = max(1, self.operators(OperatorState.AVAILABLE))
        return PacerSnapshot(
            mode=self.mode,
            state=self.mode,
            dial_level=round(self.waiting_for_operator / free, 3),
            operators={
                s.value: n
                for s, n in self._operator_counts.items()
                if s is not OperatorState.LOGGED_OUT  # forgotten once logged out
            },
            calls={s.value: n for s, n in self._stage_counts.items()},
            estimates=self.estimates.as_dict(),
            abandon=self.ledger.counts(now),
        )

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
        self._learn_at(at, "person", 1.0 if person else 0.0)
        self._learn_at(at, "ring_s" if person else "miss_s", now - call.placed_at)

    def _message_ended(self, now: float, call: _Call, transferred: bool) -> None:
        message = self.estimates.message_s
        at = call.since + max(2.0 * message.value, message.value + 20.0)
        self._learn_at(at, "transfer", 1.0 if transferred else 0.0)
        if transferred:
            self._learn_at(at, "message_s", now - call.since)

    def _learn_at(self, at: float, estimate: str, sample: float) -> None:
        pool = self._pools.get((at, estimate))
        if pool is None:
            pool = self._pools[(at, estimate)] = []
            heapq.heappush(self._later, (at, next(self._seq), estimate, pool))
        pool.append(sample)

    def _learn_due(self, now: float) -> None:
        while self._later and self._later[0][0] <= now:
            at, _, name, samples = heapq.heappop(self._later)
            del self._pools[(at, name)]
            estimate: Estimate | Durations = getattr(self.estimates, name)
            estimate.observe_all(samples)


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
    # Calls that must have settled (rung out, and heard the message) before it dials ahead:
    # a yield learnt from a handful of calls can be off by half.
    learn_rings: int = 100
    learn_messages: int = 30
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

    def _lead_target(self) -> float:
        """Share of leads that may be abandoned for the live-answered rate to sit at aim."""
        s = self.settings
        return min(0.5, s.abandon_target * s.aim / max(self.estimates.transfer.value, 0.01))

    def _wanted(self, now: float) -> int:
        s = self.settings
        windows = self.ledger.counts(now).values()
        self._state = self._state_now(min(w.headroom(s.abandon_target) for w in windows))
        progressive = self.progressive_gap()
        if self._state != "predictive":
            return progressive
        plan = self._plan(now)
        self._last_plan = plan
        q, k = plan.lead_yield, ESTIMATE_Z * plan.uncertainty
        ahead = calls_within(
            gap=plan.supply - plan.demand * (1.0 + k),
            variance=plan.variance,
            per_call_mean=q * (1.0 + k),
            per_call_variance=q * (1.0 - q),
            margin=self.margin + self._pressure(max(w.rate for w in windows)),
        )
        return max(progressive, ahead)

    def _state_now(self, headroom: float) -> str:
        s, e = self.settings, self.estimates
        if e.person.samples < s.learn_rings or e.transfer.samples < s.learn_messages:
            return "learning"
        return "guarded" if headroom < s.reserve else "predictive"

    def _pressure(self, worst_rate: float) -> float:
        """Extra margin as the worst window's abandon rate nears the target."""
        share = worst_rate / self.settings.abandon_target
        return max(0.0, share - PRESSURE_FROM) * PRESSURE_GAIN

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

    def _lead_settled(self, now: float, call: _Call, abandoned: bool) -> None:
        super()._lead_settled(now, call, abandoned)
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
