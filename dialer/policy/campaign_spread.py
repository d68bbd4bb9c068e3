"""Which node of a cluster takes a campaign no live node drives (its owner died, or it
was wanted running before any node started it). Pure: the loads come from the nodes'
heartbeats, the time from the caller.

The least loaded nodes take orphans first, so a dead node's campaigns spread over the
others instead of all landing on whichever looked first. Patience is bounded: once a
campaign has waited `patience_s` without a taker (the least loaded node is slow, or it
cannot start the campaign), any node takes it.
"""

from __future__ import annotations

from collections.abc import Iterable


def may_take_orphan(
    driven_here: int, driven_by_others: Iterable[int], orphaned_for_s: float, patience_s: float
) -> bool:
    """Whether this node, driving `driven_here` campaigns, takes an orphan now."""
    fewest = min(driven_by_others, default=driven_here)
    return driven_here <= fewest or orphaned_for_s >= patience_s
