"""One trunk's channel limit, shared by the campaigns of the node that dial through it
(`dial.trunk`). The counting rule is pure policy (dialer/policy/trunk_channels.py); this
keeps the counts: each campaign's calls in flight, as its runner last reported them,
plus the channels granted to it and not yet placed or returned.

A runner asks its pacing for an allowance, then places at most that many calls: the
channels are reserved at the ask (`grant`), so two runners that ask one after the other
before either has placed cannot both take the last channel; what was not placed is
handed back (`unused`), and every call that ends frees its channel (`ended`). A
channel freed wakes one of the campaigns that were refused (in turn): their runners
would otherwise only look again at their next recheck.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from dialer.policy.trunk_channels import trunk_grant

log = logging.getLogger("dialer.engine")


class SharedTrunk:
    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self._in_flight: dict[str, int] = {}
        self._weights: dict[str, float] = {}
        self._refused: set[str] = set()
        self._wake: dict[str, Callable[[], None]] = {}
        self._turn = 0

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    def join(
        self, campaign: str, weight: float, limit: int, wake: Callable[[], None] | None = None
    ) -> None:
        """A campaign dials through the trunk; the smallest limit any of them gives wins."""
        if limit != self.limit:
            log.warning(
                "engine.trunk_limits_differ",
                extra={"trunk": self.name, "campaign": campaign, "limit": limit},
            )
            self.limit = min(limit, self.limit)
        self._weights[campaign] = weight
        self._in_flight.setdefault(campaign, 0)
        if wake is not None:
            self._wake[campaign] = wake

    def leave(self, campaign: str) -> None:
        self._weights.pop(campaign, None)
        self._in_flight.pop(campaign, None)
        self._refused.discard(campaign)
        self._wake.pop(campaign, None)

    def grant(self, campaign: str, in_flight: int, wanted: int, weight: float = 1.0) -> int:
        """New calls `campaign` (with `in_flight` calls of its own) may place now."""
        self._in_flight[campaign] = in_flight
        self._weights[campaign] = weight
        granted = trunk_grant(
            self.limit, campaign, wanted, self._in_flight, self._weights, frozenset(self._refused)
        )
        if granted < wanted:
            self._refused.add(campaign)
        else:
            self._refused.discard(campaign)
        self._in_flight[campaign] = in_flight + granted
        return granted

    def unused(self, campaign: str, count: int) -> None:
        if count > 0 and campaign in self._in_flight:
            self._in_flight[campaign] = max(0, self._in_flight[campaign] - count)
            self._freed(campaign)

    def ended(self, campaign: str) -> None:
        if campaign in self._in_flight:
            self._in_flight[campaign] = max(0, self._in_flight[campaign] - 1)
            self._freed(campaign)

    def _freed(self, by: str) -> None:
        """One channel freed: one refused campaign (in turn) is woken to take it."""
        waiting = sorted(c for c in self._refused - {by} if c in self._wake)
        if waiting:
            self._turn += 1
            self._wake[waiting[self._turn % len(waiting)]]()
