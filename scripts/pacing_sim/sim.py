"""Discrete-event simulation of one campaign: calls, a message, a queue, operators.

Virtual time, no sockets. Every `tick` seconds the policy says how many calls to place;
every call then rings, is answered by a person, a machine or nobody, a person hears the
message and may ask for an operator, and a lead waits in the queue at most
`connect_limit` seconds (then the dialer plays its identification message and hangs up:
abandoned) or less if the caller hangs up first. Operators talk, wrap up, and take the
longest-waiting lead as soon as they are free. A shift change logs half of the operators
out (those busy finish their call and wrap-up first).

The policy sees what a real dialer would: the events of its calls and of operators,
plus the counts in `View`.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from .scenario import DRAWS_PER_CALL, DRAWS_PER_CONNECTION, Fate, Scenario, draw_fate, lognormal


class Ev(IntEnum):
    """What a policy is told. Operator events carry the operator index, others the call."""

    PLACED = 0
    ANSWERED = 1  # by a person
    UNANSWERED = 2  # machine, busy, failed, no answer
    TRANSFER = 3
    CONNECTED = 4
    ABANDONED = 5
    ENDED = 6
    OP_AVAILABLE = 7
    OP_ON_CALL = 8
    OP_WRAP_UP = 9
    OP_LOGGED_OUT = 10


class _Due(IntEnum):
    RESOLVE = 0  # call: person answered, or no person and over
    MESSAGE_END = 1
    GIVE_UP = 2
    TALK_END = 3
    WRAP_END = 4
    TICK = 5
    SHIFT = 6
    STAFF = 7  # the scenario's operators_schedule: key is the entry's index


@dataclass(frozen=True)
class View:
    """Counts a dialer can read at any time (agent states, calls by stage)."""

    available: int
    on_call: int
    wrap_up: int
    logged_in: int
    ringing: int
    message: int
    queued: int
    connected: int


class Policy(Protocol):
    name: str

    def want(self, now: float, view: View) -> int: ...

    def event(self, now: float, kind: Ev, key: int) -> None: ...


@dataclass
class Result:
    policy: str
    scenario: str
    seed: int
    placed: int
    live: int
    leads: int
    abandoned: int
    talk_s: float
    wrap_s: float
    logged_in_s: float
    idle_gaps: int
    idle_gap_s: float
    peak_rate: float  # highest running abandon rate once 100 persons had answered
    max_abandoned_in_60s: int = 0  # the worst burst of silent calls

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def talk_min_per_op_hour(self) -> float:
        return (self.talk_s / 60.0) / (self.logged_in_s / 3600.0)

    @property
    def occupancy(self) -> float:
        return (self.talk_s + self.wrap_s) / self.logged_in_s

    @property
    def wait_between_calls_s(self) -> float:
        return self.idle_gap_s / self.idle_gaps if self.idle_gaps else 0.0


class _Call:
    __slots__ = ("fate", "message", "patience", "queued_at", "stage")

    def __init__(self, fate: Fate, message: float, patience: float) -> None:
        self.fate = fate
        self.message = message
        self.patience = patience
        self.stage = 0  # 0 ringing, 1 message, 2 queued, 3 connected
        self.queued_at = 0.0


class _Operator:
    __slots__ = ("call", "leaving", "logged_in", "since", "state")

    def __init__(self) -> None:
        self.state = Ev.OP_AVAILABLE
        self.since = 0.0
        self.call = -1
        self.leaving = False
        self.logged_in = True


class Simulation:
    def __init__(self, scenario: Scenario, policy: Policy, seed: int, tick: float = 0.5) -> None:
        self.s = scenario
        self.policy = policy
        self.seed = seed
        self.tick = tick
        self.now = 0.0
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = 0
        self._call_rng = random.Random(seed * 7919 + 1)
        # Separate streams: the j-th connection gets the same talk and wrap-up time under
        # every policy.
        self._talk_rng = random.Random(seed * 7919 + 2)
        self._wrap_rng = random.Random(seed * 7919 + 3)
        self._calls: dict[int, _Call] = {}
        self._next_call = 0
        self._stage = [0, 0, 0, 0]
        self._ops = [_Operator() for _ in range(scenario.operators)]
        self._available: deque[int] = deque(range(scenario.operators))
        self._queue: deque[int] = deque()
        self._busy = [0, 0]  # on call, wrap-up
        self.live = self.leads = self.abandoned = 0
        self._talk = self._wrap = self._logged = 0.0
        self._gaps = 0
        self._gap_s = 0.0
        self._peak = 0.0
        self._recent_abandons: deque[float] = deque()
        self._burst = 0

    # --- driver ---------------------------------------------------------------------
    def run(self) -> Result:
        for i in range(self.s.operators):
            self.policy.event(0.0, Ev.OP_AVAILABLE, i)
        self._at(0.0, _Due.TICK, 0)
        if self.s.shift_change_at is not None:
            self._at(self.s.shift_change_at, _Due.SHIFT, 0)
        for i, (at, _) in enumerate(self.s.operators_schedule):
            self._at(at, _Due.STAFF, i)
        handlers = {
            _Due.RESOLVE: self._resolve,
            _Due.MESSAGE_END: self._message_end,
            _Due.GIVE_UP: self._give_up,
            _Due.TALK_END: self._talk_end,
            _Due.WRAP_END: self._wrap_end,
            _Due.TICK: self._tick,
            _Due.SHIFT: self._shift,
            _Due.STAFF: self._staff,
        }
        heap, end = self._heap, self.s.duration
        while heap and heap[0][0] < end:
            self.now, _, due, key = heapq.heappop(heap)
            handlers[due](key)
        self.now = end
        for op in self._ops:
            if op.logged_in:
                self._close_state(op)
        return self._result()

    def _at(self, t: float, due: int, key: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, due, key))

    def _result(self) -> Result:
        return Result(
            policy=self.policy.name,
            scenario=self.s.name,
            seed=self.seed,
            placed=self._next_call,
            live=self.live,
            leads=self.leads,
            abandoned=self.abandoned,
            talk_s=self._talk,
            wrap_s=self._wrap,
            logged_in_s=self._logged,
            idle_gaps=self._gaps,
            idle_gap_s=self._gap_s,
            peak_rate=self._peak,
            max_abandoned_in_60s=self._burst,
        )

    def view(self) -> View:
        on_call, wrap = self._busy
        return View(
            available=len(self._available),
            on_call=on_call,
            wrap_up=wrap,
            logged_in=len(self._available) + on_call + wrap,
            ringing=self._stage[0],
            message=self._stage[1],
            queued=self._stage[2],
            connected=self._stage[3],
        )

    # --- calls ----------------------------------------------------------------------
    def _tick(self, _: int) -> None:
        for _ in range(max(0, self.policy.want(self.now, self.view()))):
            self._place()
        self._at(self.now + self.tick, _Due.TICK, 0)

    def _place(self) -> None:
        rng = self._call_rng.random
        fate = draw_fate(self.s, self.now, [rng() for _ in range(DRAWS_PER_CALL)])
        cid = self._next_call
        self._next_call += 1
        self._calls[cid] = _Call(fate.fate, fate.message, fate.patience)
        self._stage[0] += 1
        self.policy.event(self.now, Ev.PLACED, cid)
        self._at(self.now + fate.resolve, _Due.RESOLVE, cid)

    def _resolve(self, cid: int) -> None:
        call = self._calls[cid]
        self._stage[0] -= 1
        if call.fate not in (Fate.LEAD, Fate.PERSON_LEAVES):
            del self._calls[cid]
            self.policy.event(self.now, Ev.UNANSWERED, cid)
            return
        call.stage = 1
        self._stage[1] += 1
        self.live += 1
        self.policy.event(self.now, Ev.ANSWERED, cid)
        self._at(self.now + call.message, _Due.MESSAGE_END, cid)

    def _message_end(self, cid: int) -> None:
        call = self._calls[cid]
        self._stage[1] -= 1
        if call.fate is Fate.PERSON_LEAVES:
            del self._calls[cid]
            self.policy.event(self.now, Ev.ENDED, cid)
            return
        self.leads += 1
        call.stage = 2
        call.queued_at = self.now
        self._stage[2] += 1
        self.policy.event(self.now, Ev.TRANSFER, cid)
        if self._available:
            self._connect(cid, self._available.popleft())
            return
        self._queue.append(cid)
        self._at(self.now + min(self.s.connect_limit, call.patience), _Due.GIVE_UP, cid)

    def _give_up(self, cid: int) -> None:
        call = self._calls.get(cid)
        if call is None or call.stage != 2:
            return  # an operator took it in time
        self._queue.remove(cid)
        self._stage[2] -= 1
        del self._calls[cid]
        self.abandoned += 1
        if self.live >= 100:
            self._peak = max(self._peak, self.abandoned / self.live)
        recent = self._recent_abandons
        recent.append(self.now)
        while recent[0] <= self.now - 60.0:
            recent.popleft()
        self._burst = max(self._burst, len(recent))
        self.policy.event(self.now, Ev.ABANDONED, cid)

    def _connect(self, cid: int, index: int) -> None:
        call = self._calls[cid]
        call.stage = 3
        self._stage[2] -= 1
        self._stage[3] += 1
        op = self._ops[index]
        self._gaps += 1
        self._gap_s += self.now - op.since
        self._set_state(index, Ev.OP_ON_CALL)
        op.call = cid
        self._busy[0] += 1
        self.policy.event(self.now, Ev.CONNECTED, cid)
        talk = self._operator_time(self._talk_rng, self.s.talk_mean, self.s.talk_sd)
        self._at(self.now + talk, _Due.TALK_END, index)

    # --- operators ------------------------------------------------------------------
    def _talk_end(self, index: int) -> None:
        op = self._ops[index]
        cid = op.call
        del self._calls[cid]
        self._stage[3] -= 1
        self.policy.event(self.now, Ev.ENDED, cid)
        self._busy[0] -= 1
        self._busy[1] += 1
        self._set_state(index, Ev.OP_WRAP_UP)
        wrap = self._operator_time(self._wrap_rng, self.s.wrap_mean, self.s.wrap_sd)
        self._at(self.now + wrap, _Due.WRAP_END, index)

    @staticmethod
    def _operator_time(rng: random.Random, mean: float, sd: float) -> float:
        u = [rng.random() for _ in range(DRAWS_PER_CONNECTION)]
        return lognormal(mean, sd, u[0], u[1])

    def _wrap_end(self, index: int) -> None:
        op = self._ops[index]
        self._busy[1] -= 1
        if op.leaving:
            self._log_out(index)
            return
        self._set_state(index, Ev.OP_AVAILABLE)
        if self._queue:
            self._connect(self._queue.popleft(), index)
        else:
            self._available.append(index)

    def _shift(self, _: int) -> None:
        for index in range(self.s.operators // 2, self.s.operators):
            op = self._ops[index]
            if op.state is Ev.OP_AVAILABLE:
                self._available.remove(index)
                self._log_out(index)
            else:
                op.leaving = True

    def _staff(self, entry: int) -> None:
        """Log operators in or out until `target` are logged in and staying."""
        target = self.s.operators_schedule[entry][1]
        staying = [i for i, op in enumerate(self._ops) if op.logged_in and not op.leaving]
        for index in reversed(staying[target:]):
            if self._ops[index].state is Ev.OP_AVAILABLE:
                self._available.remove(index)
                self._log_out(index)
            else:
                self._ops[index].leaving = True
        missing = target - len(staying)
        for op in self._ops:  # those about to leave stay after all
            if missing > 0 and op.leaving:
                op.leaving = False
                missing -= 1
        for _ in range(missing):
            newcomer = _Operator()
            newcomer.state = Ev.OP_LOGGED_OUT  # no time to account before this
            self._ops.append(newcomer)
            index = len(self._ops) - 1
            self._set_state(index, Ev.OP_AVAILABLE)
            if self._queue:
                self._connect(self._queue.popleft(), index)
            else:
                self._available.append(index)

    def _log_out(self, index: int) -> None:
        op = self._ops[index]
        self._set_state(index, Ev.OP_LOGGED_OUT)
        op.logged_in = False

    def _set_state(self, index: int, state: Ev) -> None:
        op = self._ops[index]
        self._close_state(op)
        op.state = state
        op.since = self.now
        self.policy.event(self.now, state, index)

    def _close_state(self, op: _Operator) -> None:
        spent = self.now - op.since
        if op.state is Ev.OP_LOGGED_OUT:
            return
        self._logged += spent
        if op.state is Ev.OP_ON_CALL:
            self._talk += spent
        elif op.state is Ev.OP_WRAP_UP:
            self._wrap += spent


def simulate(scenario: Scenario, policy: Policy, seed: int) -> Result:
    return Simulation(scenario, policy, seed).run()
