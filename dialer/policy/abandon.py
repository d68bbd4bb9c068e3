"""Abandoned-call accounting and the recall rule. Pure: the caller passes the time.

Regulators cap abandoned calls as a share of calls answered by a live person, per
campaign: the US FCC over 30 days, UK Ofcom over 24 hours, both at 3%. A call is
abandoned when an answered person who should reach an operator does not reach one within
the campaign's limit (2 s after the transfer point by default) or hangs up waiting.

`AbandonLedger` keeps both rolling windows in time buckets, so memory stays bounded
however many calls a campaign places, and serialises to plain JSON types so the engine can
persist it: a restart must not wipe the history the regulator counts. Its clock is float
seconds that survive a restart (Unix time); a window edge is exact to one bucket
(1 minute for 24 h, 1 hour for 30 days).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dialer.regulation import ABANDONED_RECALL_HOLD

DAY_S = 24 * 3600.0
MONTH_S = 30 * DAY_S
LEDGER_VERSION = 1


def earliest_recall(
    abandoned_at: datetime, guaranteed: bool, hold: timedelta = ABANDONED_RECALL_HOLD
) -> datetime:
    """When an abandoned number may be dialled again.

    Ofcom: not within 72 hours, unless the repeat call has an operator guaranteed (it is
    placed only once an operator is waiting for it, as in preview or progressive dialling).
    """
    return abandoned_at if guaranteed else abandoned_at + hold


def is_abandoned(waited_s: float, limit_s: float, reached_operator: bool) -> bool:
    """Whether a call that reached the transfer point counts as abandoned.

    It does when no operator took it, or when one did but only after the limit: the
    person sat in silence (or on hold) longer than the rules allow.
    """
    return not reached_operator or waited_s > limit_s


@dataclass(frozen=True)
class WindowCounts:
    live: int = 0  # calls answered by a person: the regulators' denominator
    transfers: int = 0  # of those, how many reached the transfer point
    abandoned: int = 0

    @property
    def rate(self) -> float:
        """Abandoned share of live-answered calls (0 when nothing was answered yet)."""
        return self.abandoned / self.live if self.live else 0.0

    def headroom(self, target: float) -> float:
        """Abandoned calls still allowed before this window reaches `target`."""
        return target * self.live - self.abandoned


@dataclass
class RollingWindow:
    """Counts over the last `span_s` seconds, kept in `bucket_s` buckets."""

    span_s: float
    bucket_s: float
    # [bucket start, live, transfers, abandoned], oldest first; only non-empty buckets.
    _buckets: deque[list[float]] = field(default_factory=deque)
    _live: int = 0
    _transfers: int = 0
    _abandoned: int = 0

    def add(self, at: float, live: int = 0, transfers: int = 0, abandoned: int = 0) -> None:
        start = at - at % self.bucket_s
        if self._buckets and self._buckets[-1][0] >= start:
            # Same bucket, or a clock that stepped back a little: count it in the newest
            # bucket rather than reorder history.
            bucket = self._buckets[-1]
        else:
            bucket = [start, 0, 0, 0]
            self._buckets.append(bucket)
        bucket[1] += live
        bucket[2] += transfers
        bucket[3] += abandoned
        self._live += live
        self._transfers += transfers
        self._abandoned += abandoned

    def counts(self, now: float) -> WindowCounts:
        self._expire(now)
        return WindowCounts(self._live, self._transfers, self._abandoned)

    def _expire(self, now: float) -> None:
        # A bucket leaves once all of it is older than the span.
        oldest_kept = now - self.span_s
        while self._buckets and self._buckets[0][0] + self.bucket_s <= oldest_kept:
            _, live, transfers, abandoned = self._buckets.popleft()
            self._live -= int(live)
            self._transfers -= int(transfers)
            self._abandoned -= int(abandoned)

    def to_dict(self) -> dict[str, Any]:
        return {
            "span_s": self.span_s,
            "bucket_s": self.bucket_s,
            "buckets": [[b[0], int(b[1]), int(b[2]), int(b[3])] for b in self._buckets],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RollingWindow:
        window = cls(float(data["span_s"]), float(data["bucket_s"]))
        for start, live, transfers, abandoned in data["buckets"]:
            window.add(float(start), int(live), int(transfers), int(abandoned))
        return window


def _default_windows() -> dict[str, RollingWindow]:
    return {"24h": RollingWindow(DAY_S, 60.0), "30d": RollingWindow(MONTH_S, 3600.0)}


@dataclass
class AbandonLedger:
    """One campaign's abandon history over the regulators' windows (24 h and 30 days)."""

    windows: dict[str, RollingWindow] = field(default_factory=_default_windows)

    def record_live(self, at: float) -> None:
        self._add(at, live=1)

    def record_transfer(self, at: float) -> None:
        self._add(at, transfers=1)

    def record_abandoned(self, at: float) -> None:
        self._add(at, abandoned=1)

    def _add(self, at: float, **counts: int) -> None:
        for window in self.windows.values():
            window.add(at, **counts)

    def counts(self, now: float) -> dict[str, WindowCounts]:
        return {name: window.counts(now) for name, window in self.windows.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": LEDGER_VERSION,
            "windows": {name: w.to_dict() for name, w in self.windows.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AbandonLedger:
        if data.get("version") != LEDGER_VERSION:
            raise ValueError(f"abandon ledger version {data.get('version')!r} is not supported")
        return cls({name: RollingWindow.from_dict(w) for name, w in data["windows"].items()})
