"""Early warning of a rise in the answer rate, read from calls still ringing. Pure.

The pacer's answer rate is learnt only once every call of a moment has settled (rung
out, plus machine detection: 35 s after it was placed), so after a sudden rise it would
keep dialling at the old yield for half a minute and the extra people would be
abandoned. Here, calls are grouped by the second they were placed; for each group the
ring-time shape says what share of its people should have answered by now, so the
answers already seen give an estimate of the rate of the newest calls well before they
settle. Only a rise matters for safety (a fall makes the pacer dial too few, not
abandon), so the pacer takes the lower end of this estimate when it is above its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# Windows of placement ages compared, so a rise shows in the newest calls without being
# averaged away by the older ones (the rate a call meets is fixed when it is placed).
HORIZONS_S = (8.0, 12.0, 18.0, 25.0)
MIN_EXPOSURE = 3.0  # calls' worth of answers due in a window before it says anything
RISE_Z = 3.5  # standard deviations above the learnt rate that the answers must be
SPREAD = 1.0  # standard errors below the estimate that the pacer takes


class AnswerWatch:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._groups: dict[int, list[int]] = {}  # second placed -> [placed, persons]

    def placed(self, now: float) -> None:
        self._group(now)[0] += 1

    def answered(self, placed_at: float) -> None:
        group = self._groups.get(math.floor(placed_at))
        if group is not None:
            group[1] += 1

    def _group(self, at: float) -> list[int]:
        key = math.floor(at)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = [0, 0]
        return group

    def forget_before(self, now: float) -> None:
        limit = now - self.window_s
        for key in [k for k in self._groups if k + 1 <= limit]:
            del self._groups[key]

    def rate_floor(self, now: float, answered_by: Callable[[float], float], learnt: float) -> float:
        """Lower end of the person-answer rate of recent calls, when it is clearly above
        `learnt` (RISE_Z standard deviations); else 0.0. Noise must not read as a rise:
        each false alarm makes the pacer forget what it learnt.

        `answered_by(age)`: share of the calls a person answers that are answered by
        that age.
        """
        self.forget_before(now)
        best = 0.0
        for horizon in (*HORIZONS_S, self.window_s):
            exposure = persons = 0.0
            for key, (count, answered) in self._groups.items():
                age = now - (key + 0.5)
                if age <= horizon:
                    exposure += count * answered_by(max(age, 0.0))
                    persons += answered
            if exposure < MIN_EXPOSURE:
                continue
            expected = learnt * exposure
            if persons - expected < RISE_Z * math.sqrt(max(expected * (1.0 - learnt), 1.0)):
                continue
            rate = min(1.0, persons / exposure)
            spread = math.sqrt(max(rate * (1.0 - rate), 0.01) / exposure)
            best = max(best, rate - SPREAD * spread)
        return best
