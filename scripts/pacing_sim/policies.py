"""The policies the bench compares: ours (dialer.policy) and baselines from published behaviour.

- `DialerPolicy` drives a pacer of `dialer.policy.predictive` with the simulation's events,
  exactly as the engine would.
- `VicidialAdaptive`: VICIdial's ADAPT_HARD_LIMIT dial method as AST_VDadapt.pl and
  AST_VDauto_dial.pl implement it. Once a second it samples agents waiting (READY), calls
  waiting for an agent and agents logged in; every 15 s it moves the dial level by the
  one-minute average of (agents waiting - calls waiting) / agents, clamped to [1, 3]
  (adaptive_intensity 0, dl_diff_target 0); every 60 s it refreshes drop statistics:
  over 50% dropped in the last minute (more than 20 calls) halves the level, and today's
  drops over 3% of answered calls set it to 1.0. It keeps level x (READY + INCALL agents)
  lines up, counting every live call of the campaign, ringing or talking.
- `WombatBoost`: WombatDialer's queue end-point: available agents (logged in, not
  paused, not talking) x boost factor calls in progress, none while more than
  `max_waiting` calls wait in the queue.
- `FixedRatio`: a fixed dial level (VICIdial's RATIO method: level x active agents lines),
  used to sweep for the best ratio in hindsight.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from dialer.operators import OperatorState
from dialer.policy.operator_pacer import OperatorPacer

from .sim import Ev, View

_OPERATOR_STATES = {
    Ev.OP_AVAILABLE: OperatorState.AVAILABLE,
    Ev.OP_ON_CALL: OperatorState.ON_CALL,
    Ev.OP_WRAP_UP: OperatorState.WRAP_UP,
    Ev.OP_LOGGED_OUT: OperatorState.LOGGED_OUT,
}


class DialerPolicy:
    def __init__(self, name: str, pacer: OperatorPacer) -> None:
        self.name = name
        self.pacer = pacer
        self._call_events: dict[Ev, Callable[[float, str], None]] = {
            Ev.PLACED: pacer.call_placed,
            Ev.ANSWERED: pacer.call_answered,
            Ev.UNANSWERED: pacer.call_unanswered,
            Ev.TRANSFER: pacer.call_transfer,
            Ev.CONNECTED: pacer.call_connected,
            Ev.ABANDONED: pacer.call_abandoned,
            Ev.ENDED: pacer.call_ended,
        }

    def want(self, now: float, view: View) -> int:
        in_flight = view.ringing + view.message + view.queued + view.connected
        return self.pacer.allowance(now, in_flight)

    def event(self, now: float, kind: Ev, key: int) -> None:
        state = _OPERATOR_STATES.get(kind)
        if state is not None:
            self.pacer.operator_state(now, str(key), state)
        else:
            self._call_events[kind](now, str(key))


def _all_calls(view: View) -> int:
    return view.ringing + view.message + view.queued + view.connected


class FixedRatio:
    def __init__(self, level: float) -> None:
        self.level = level
        self.name = f"fixed ratio {level:g}"

    def want(self, now: float, view: View) -> int:
        return round(self.level * (view.available + view.on_call)) - _all_calls(view)

    def event(self, now: float, kind: Ev, key: int) -> None:
        pass


class VicidialAdaptive:
    def __init__(
        self, drop_target: float = 0.03, max_level: float = 3.0, method: str = "ADAPT_HARD_LIMIT"
    ) -> None:
        self.method = method
        self.name = f"VICIdial {method}"
        self.drop_target = drop_target
        self.max_level = max_level
        self.level = 1.0
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=15)
        self._next_sample = 0.0
        self._next_adapt = 15.0
        self._next_drops = 0.0
        self._minute_calls: deque[float] = deque()
        self._minute_drops: deque[float] = deque()
        self._calls_today = self._answers_today = self._drops_today = 0
        self._drop_stats = (0, 0.0, 0.0)  # calls last minute, % dropped, % of answers today

    def want(self, now: float, view: View) -> int:
        while now >= self._next_sample:
            self._samples.append((view.available, view.queued, view.logged_in))
            self._next_sample += 1.0
        if now >= self._next_drops:
            self._refresh_drops(now)
            self._next_drops += 60.0
        if now >= self._next_adapt:
            self._adapt()
            self._next_adapt += 15.0
        return round(self.level * (view.available + view.on_call)) - _all_calls(view)

    def _refresh_drops(self, now: float) -> None:
        for times in (self._minute_calls, self._minute_drops):
            while times and times[0] < now - 60.0:
                times.popleft()
        calls, drops = len(self._minute_calls), len(self._minute_drops)
        one_min_pct = 100.0 * drops / calls if calls else 0.0
        today_pct = 100.0 * self._drops_today / self._answers_today if self._answers_today else 0
        self._drop_stats = (calls, one_min_pct, today_pct)

    def _adapt(self) -> None:
        n = len(self._samples)
        ready = sum(s[0] for s in self._samples) / n
        waiting = sum(s[1] for s in self._samples) / n
        agents = sum(s[2] for s in self._samples) / n
        differential = ready - waiting
        multiplier = differential / agents if agents and differential else 0.0
        level = min(self.level * (1.0 + multiplier), self.max_level)
        calls_one, drops_one_pct, drops_today_pct = self._drop_stats
        if calls_one > 20 and drops_one_pct > 50.0:
            level /= 2.0
        if self._calls_today > 50 and drops_today_pct > 100.0 * self.drop_target:
            level = 1.0 if self.method == "ADAPT_HARD_LIMIT" else level / 2.0
        self.level = max(1.0, level)

    def event(self, now: float, kind: Ev, key: int) -> None:
        if kind is Ev.PLACED:
            self._calls_today += 1
            self._minute_calls.append(now)
        elif kind is Ev.ANSWERED:
            self._answers_today += 1
        elif kind is Ev.ABANDONED:
            self._drops_today += 1
            self._minute_drops.append(now)


class WombatBoost:
    name = "WombatDialer boost"

    def __init__(self, boost: float, max_waiting: int = 1) -> None:
        self.boost = boost
        self.max_waiting = max_waiting

    def want(self, now: float, view: View) -> int:
        if view.queued > self.max_waiting:
            return 0
        in_progress = view.ringing + view.message + view.queued
        return round(view.available * self.boost) - in_progress

    def event(self, now: float, kind: Ev, key: int) -> None:
        pass
