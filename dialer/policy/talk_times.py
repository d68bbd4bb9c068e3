"""How long operators talk: a fading histogram of ended calls, read with the calls still
going on counted too (Kaplan-Meier, the ongoing ones censored at their elapsed time). Pure.

Learning only from ended calls would, at the start of a run, see only the short ones (the
long ones have not ended yet): talk would look short, operators would look about to be
free, and the pacer would dial for people who are still talking. Counting each ongoing
call as "at least this long" removes that bias from the first minute on.

`free_within(elapsed, horizon)` is what the predictive pacer asks of each talking operator:
the chance that a call `elapsed` seconds old has ended `horizon` seconds from now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

RESCALE_AT = 1e12  # the newest sample's weight, past which all are scaled back to 1


class TalkTimes:
    def __init__(
        self,
        prior_mean: float,
        longest_s: float = 3600.0,
        step_s: float = 2.0,
        memory: float = 300.0,
        prior_weight: float = 2.0,
    ) -> None:
        self.step_s = step_s
        self.memory = memory
        self.samples = 0
        self._n = math.ceil(longest_s / step_s)
        shape = [math.exp(-(i + 0.5) * step_s / prior_mean) for i in range(self._n)]
        total = sum(shape)
        self._ended = [prior_weight * w / total for w in shape]
        self._scale = 1.0  # weight of a new sample (older ones fade relative to it)
        self._survival: list[float] = []
        self._ongoing: list[float] = []
        self._stale = True
        self._dirty = False

    def observe(self, sample: float) -> None:
        self._scale /= 1.0 - 1.0 / self.memory
        if self._scale > RESCALE_AT:
            self._ended = [w / self._scale for w in self._ended]
            self._scale = 1.0
        self._ended[min(max(int(sample / self.step_s), 0), self._n - 1)] += self._scale
        self.samples += 1
        self._dirty = True  # readers refresh; the pacer's hot loop waits for its refresh

    def refresh(self, ongoing: Iterable[float]) -> None:
        """Recompute the survival curve with these calls still going on (elapsed s); they
        count until the next refresh (a new sample alone does not forget them)."""
        self._ongoing = list(ongoing)
        at_risk_ongoing = [0.0] * (self._n + 1)
        for elapsed in self._ongoing:
            # at risk in every bin whose middle it has passed
            i = min(max(int(elapsed / self.step_s + 0.5), 0), self._n)
            at_risk_ongoing[i] += self._scale
        survival = [1.0] * (self._n + 1)
        tail_ended = sum(self._ended)
        tail_ongoing = sum(at_risk_ongoing)
        s = 1.0
        for i in range(self._n):
            at_risk = tail_ended + tail_ongoing
            if at_risk > 0.0:
                s *= max(0.0, 1.0 - self._ended[i] / at_risk)
            survival[i + 1] = s
            tail_ended -= self._ended[i]
            tail_ongoing -= at_risk_ongoing[i]
        self._survival = survival
        self._stale = self._dirty = False

    def survival(self, age: float) -> float:
        """Share of calls still going on at `age` seconds."""
        if self._stale or self._dirty:
            self.refresh(self._ongoing)
        x = age / self.step_s
        if x <= 0.0:
            return 1.0
        i = int(x)
        if i >= self._n:
            return self._survival[self._n]
        a, b = self._survival[i], self._survival[i + 1]
        return a + (b - a) * (x - i)

    def free_within(self, elapsed: float, horizon: float) -> float:
        """Chance a call `elapsed` seconds old ends within `horizon` seconds."""
        if horizon <= 0.0:
            return 0.0
        now = self.survival(elapsed)
        if now <= 0.0:
            return 1.0
        return min(1.0, max(0.0, 1.0 - self.survival(elapsed + horizon) / now))

    @property
    def value(self) -> float:
        """Mean duration."""
        if self._stale or self._dirty:
            self.refresh(self._ongoing)
        return self.step_s * sum(
            (a + b) / 2.0 for a, b in zip(self._survival, self._survival[1:], strict=False)
        )
