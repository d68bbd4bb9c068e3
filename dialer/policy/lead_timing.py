"""When leads arrive and when operators free up, over the next minute. Pure.

The predictive pacer compares, at a grid of horizons t (every `STEP_S` seconds), the
operators expected free by t (plus the connect limit: a lead waits that long) with the
leads expected by t from calls already placed, and asks how many new calls fit, their
leads arriving by t with the chance `new_call[t]`. A call placed now yields its lead some
25 s later (ring, detection, message), so an operator who is talking now and will hang up
and wrap up within that time is as good as a free one: calls for them go out before they
hang up. Every horizon must hold: leads that arrive before their operator frees wait and
are abandoned whatever happens later.

`LeadTiming.refresh(ring, message)` tabulates, from the learnt ring and message times,
the chance that a new call (or one still ringing at a given age) has delivered its lead by
each horizon; the pacer refreshes it now and then, as the estimates move.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dialer.policy.estimates import Durations

STEP_S = 2.0
HORIZONS = 31  # 0, 2, ..., 60 s
SIGNIFICANT = 0.02  # a horizon counts once this share of a new call's leads is due by it
SETTLED = 0.99  # ... and until this share is (later ones only loosen the bound)


@dataclass
class Curve:
    """Expected count at each horizon and its variance (independent Bernoulli draws)."""

    mean: list[float]
    var: list[float]

    @classmethod
    def zero(cls, size: int) -> Curve:
        return cls([0.0] * size, [0.0] * size)

    def add(self, probabilities: list[float], count: float = 1.0) -> None:
        self.mean = [m + count * p for m, p in zip(self.mean, probabilities, strict=True)]
        self.var = [v + count * p * (1.0 - p) for v, p in zip(self.var, probabilities, strict=True)]


def horizon(k: int) -> float:
    return k * STEP_S


class LeadTiming:
    """By when the leads of new calls and of calls still ringing arrive (given a person
    answers and asks for an operator)."""

    def __init__(self) -> None:
        self.new_call = [0.0] * HORIZONS  # placed now: lead by horizon k
        self._ringing: list[list[float]] = []  # by whole seconds of age
        self._message: Durations | None = None
        self._listening: list[list[float]] = []

    def refresh(self, ring: Durations, message: Durations) -> None:
        self._message = message
        longest = math.ceil(ring.longest_s)
        # pdf of the ring time of persons, by 1 s bins (mass in [i, i + 1))
        pdf = [ring.survival(i) - ring.survival(i + 1) for i in range(longest)]
        msg_done = [
            [1.0 - message.survival(horizon(k) - x - 0.5) for x in range(longest)]
            for k in range(HORIZONS)
        ]
        table = []
        for age in range(longest + 1):
            alive = ring.survival(age)
            row = []
            for k in range(HORIZONS):
                done = msg_done[k]
                total = sum(pdf[i] * done[i - age] for i in range(age, longest))
                row.append(min(1.0, total / alive) if alive > 1e-9 else 1.0)
            table.append(row)
        self._ringing = table
        self.new_call = table[0]
        self._listening = [self._listening_at(e) for e in range(math.ceil(message.longest_s) + 1)]

    def ringing(self, age: float) -> list[float]:
        """Chance, by each horizon, that a call ringing at `age` has delivered its lead,
        given it will be answered by a person who asks for an operator."""
        if not self._ringing:
            return [0.0] * HORIZONS
        return self._ringing[min(max(int(age), 0), len(self._ringing) - 1)]

    def listening(self, elapsed: float) -> list[float]:
        """The same for a person `elapsed` seconds into the message who will transfer."""
        if not self._listening:
            return [0.0] * HORIZONS
        return self._listening[min(max(int(elapsed), 0), len(self._listening) - 1)]

    def _listening_at(self, elapsed: float) -> list[float]:
        message = self._message
        if message is None:
            return [0.0] * HORIZONS
        alive = message.survival(elapsed)
        if alive <= 1e-9:
            return [1.0] * HORIZONS
        return [
            min(1.0, max(0.0, 1.0 - message.survival(elapsed + horizon(k)) / alive))
            for k in range(HORIZONS)
        ]

    def significant(self) -> list[int]:
        """The horizons by which some of a new call's leads may have arrived."""
        last = max(self.new_call[-1] if self.new_call else 0.0, 1e-9)
        ks: list[int] = []
        for k, p in enumerate(self.new_call):
            if p >= SIGNIFICANT * last:
                ks.append(k)
                if p >= SETTLED * last:
                    break
        return ks
