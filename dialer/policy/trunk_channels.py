"""How many new calls a campaign may start through a trunk that other campaigns share.
Pure.

A trunk (`dial.trunk`) carries at most `max_channels` calls at once, whichever campaign
placed them. A campaign asks for the calls its pacer wants; it is granted what is left
under the limit once every campaign's calls in flight (and channels granted but not yet
placed) are counted. While another campaign on the trunk was refused channels it wanted,
a campaign already at or above its weighted part of the limit gets none of the channels
that free up, so a busy campaign cannot keep the trunk to itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def fair_part(limit: int, weight: float, weights: Mapping[str, float]) -> int:
    """A campaign's part of the trunk by weight (at least one channel)."""
    total = sum(w for w in weights.values() if w > 0)
    if total <= 0:
        return limit
    return max(1, math.ceil(limit * weight / total))


def trunk_grant(
    limit: int,
    campaign: str,
    wanted: int,
    in_flight: Mapping[str, int],
    weights: Mapping[str, float],
    refused: frozenset[str] = frozenset(),
) -> int:
    """New calls `campaign` may start now: never more than the trunk has left.

    `in_flight`: calls up or granted per campaign on the trunk (this one included);
    `refused`: the campaigns whose last ask was cut short by the limit."""
    free = limit - sum(max(0, n) for n in in_flight.values())
    grant = max(0, min(wanted, free))
    if refused - {campaign}:
        mine = max(0, in_flight.get(campaign, 0))
        part = fair_part(limit, weights.get(campaign, 1.0), weights)
        grant = min(grant, max(0, part - mine))
    return grant
