"""How many calls to place now. Pure: the caller passes the time in seconds.

`Pacer` is what the engine asks of every pacing mode. This module holds `fixed`: at most
`max_channels` calls up at once and at most `calls_per_second` new calls per second (a
token bucket holding one second of calls, so a burst never exceeds the configured rate
over any one-second window by more than that). The modes paced by operators
(progressive, power, predictive) are in `dialer.policy.predictive`; they use a
`FixedPacer` as their channel and rate limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Pacer(Protocol):
    def allowance(self, now: float, in_flight: int) -> int:
        """Calls that may be placed right now (`in_flight`: calls of the campaign up)."""
        ...

    def placed(self, count: int) -> None:
        """`count` calls were just placed."""
        ...

    def seconds_until_next_token(self) -> float:
        """How long until `allowance` may grow without any event (when to ask again)."""
        ...


@dataclass
class FixedPacer:
    max_channels: int
    calls_per_second: float
    _tokens: float = 0.0
    _last: float | None = None

    @property
    def burst(self) -> float:
        return max(1.0, self.calls_per_second)

    def _refill(self, now: float) -> None:
        if self._last is None:
            self._tokens = 1.0  # start gently: one call, then the steady rate
        else:
            elapsed = max(0.0, now - self._last)
            self._tokens = min(self.burst, self._tokens + elapsed * self.calls_per_second)
        self._last = now

    def allowance(self, now: float, in_flight: int) -> int:
        """Calls that may be placed right now."""
        self._refill(now)
        free_channels = max(0, self.max_channels - in_flight)
        return min(free_channels, int(self._tokens))

    def placed(self, count: int) -> None:
        self._tokens -= count

    def seconds_until_next_token(self) -> float:
        missing = 1.0 - self._tokens
        return 0.0 if missing <= 0 else missing / self.calls_per_second
