"""One trunk's channel limit, shared by the campaigns of the node that dial through it
(`dial.trunk`). The counting rule is pure policy (dialer/policy/trunk_channels.py); this
keeps the counts: each campaign's calls in flight, as its runner last reported them,
plus the channels granted to it and not yet placed or returned.

A runner asks its pacing for an allowance, then places at most that many calls: the
channels are reserved at the ask (`grant`), so two runners that ask one after the other
before either has placed cannot both take the last channel; what was not placed is
handed back (`unused`), and every call that ends frees its channel (`ended`).
"""

from __future__ import annotations

import logging

from dialer.policy.trunk_channels import trunk_grant

log = logging.getLogger("dialer.engine")


class SharedTrunk:
    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self._in_flight: dict[str, int] = {}
        self._weights: dict[str, float] = {}
        self._refused: set[str] = set()

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    def join(self, campaign: str, weight: float, limit: int) -> None:
        """A campaign dials through the trunk; the smallest limit any of them gives wins."""
        if limit != self.limit:
            log.warning(
                "engine.trunk_limits_differ",
                extra={"trunk": self.name, "campaign": campaign, "limit": limit},
            )
            self.limit = min(limit, self.limit)
        self._weights[campaign] = weight
        self._in_flight.setdefault(campaign, 0)

    def leave(self, campaign: str) -> None:
        self._weights.pop(campaign, None)
        self._in_flight.pop(campaign, None)
        self._refused.discard(campaign)

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

    def ended(self, campaign: str) -> None:
        if campaign in self._in_flight:
            self._in_flight[campaign] = max(0, self._in_flight[campaign] - 1)
