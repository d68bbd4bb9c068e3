"""Event bookkeeping shared by the operator-driven pacers, and the two simple ones:
progressive (one call in progress per free operator) and power (a fixed ratio). Pure: the
caller passes the time. See dialer/policy/predictive.py for the predictive pacer.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dialer.operators import OperatorState
from dialer.policy.abandon import AbandonLedger, WindowCounts, is_abandoned
from dialer.policy.estimates import Durations, Estimate, Estimates
from dialer.policy.pacing import FixedPacer

RECHECK_S = 0.5  # talk ends grow likely between events: ask again this often
AMD_ALLOWANCE_S = 5.0  # answering-machine detection after the answer takes at most this


class Stage(StrEnum):
    RINGING = "ringing"  # placed, nobody answered yet
    MESSAGE = "message"  # a person answered; the message or menu plays
    QUEUED = "queued"  # at the transfer point, waiting for an operator
    CONNECTED = "connected"  # talking to an operator


@dataclass
class PacedCall:
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
        self._calls: dict[str, PacedCall] = {}
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
        self._calls[call_id] = PacedCall(now, Stage.RINGING, now, self._ahead_of_progressive())
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

    def adopted_call_abandoned(self, now: float, call_id: str) -> None:
        """A call placed by an earlier process (unknown here) ended abandoned: the
        regulator's ledger still counts it (its milestones were missed)."""
        if call_id not in self._calls:
            self.ledger.record_abandoned(now)

    def call_cut(self, now: float, call_id: str) -> None:
        """The PBX went away mid-call: not the callee's doing, so it settles nothing (no
        abandon, no talk time learnt); the call just leaves the pipeline."""
        call = self._calls.get(call_id)
        if call is not None:
            self._drop(call_id, call)

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

    def operator_moved(
        self, operator_id: str, state: OperatorState | None, since: float = 0.0
    ) -> None:
        """The operator joins this pacer's part of a queue other campaigns feed too (in
        `state`, entered at `since`) or leaves it (None): a move, not a change of state,
        so nothing is learnt from it (dialer/policy/queue_shares.py splits the queue)."""
        previous = self._operators.pop(operator_id, None)
        if previous is not None:
            self._operator_counts[previous[0]] -= 1
        self._wrap_started.pop(operator_id, None)
        if state is None or state is OperatorState.LOGGED_OUT:
            return
        self._operators[operator_id] = (state, since)
        self._operator_counts[state] += 1
        if state is OperatorState.WRAP_UP:
            self._wrap_started[operator_id] = since

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

    def _lead_settled(self, now: float, call: PacedCall, abandoned: bool) -> None:
        if abandoned:
            self.ledger.record_abandoned(now)

    # --- internals ------------------------------------------------------------------
    def _move(self, call: PacedCall, stage: Stage, now: float) -> None:
        if call.stage is Stage.RINGING:
            self._forget_ringing(call.placed_at)
        self._stage_counts[call.stage] -= 1
        self._stage_counts[stage] += 1
        call.stage = stage
        call.since = now

    def _drop(self, call_id: str, call: PacedCall) -> None:
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

    def _ring_ended(self, now: float, call: PacedCall, person: bool) -> None:
        at = call.placed_at + self.ring_settle_s
        self._learn_at(at, "person", 1.0 if person else 0.0)
        self._learn_at(at, "ring_s" if person else "miss_s", now - call.placed_at)

    def _message_ended(self, now: float, call: PacedCall, transferred: bool) -> None:
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
