"""Several nodes: coordination over Redis (`dialer serve --redis redis://...`).

A layer beside the store: the engine may import it; it imports nothing of the policy,
the engine or control (an import contract). Redis holds only what must be shared live
and may be lost (it all expires or is re-asserted by the nodes' heartbeats):

- settings.py: where Redis is, this node's id, the TTLs, the key names; errors.
- scripts.py: the Lua scripts that make each step atomic.
- coordinator.py: the connection, the node heartbeat and whether coordination holds now.
- ownership.py: which node drives a campaign (SET NX PX + a fencing token).
- channels.py: cluster-wide channel limits (expiring semaphores) and one call per person.
- commands.py: pause / resume / stop for the node that drives a campaign (a stream).
- counters.py: live figures of each campaign, written by its driving node.
"""

from __future__ import annotations

from dialer.coord.coordinator import Coordinator
from dialer.coord.settings import (
    ChannelLimit,
    CoordinationLost,
    CoordSettings,
    RedisUnreachable,
    parse_channel_limit,
)

__all__ = [
    "ChannelLimit",
    "CoordSettings",
    "CoordinationLost",
    "Coordinator",
    "RedisUnreachable",
    "parse_channel_limit",
]
