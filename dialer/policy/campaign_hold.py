"""When a campaign's hold stands in the way of another process, and when it is free to
take over. Pure: the clock and what is known of the holder's process are passed in.

A campaign is driven by one process at a time. The holder renews its hold with a
heartbeat (HEARTBEAT); a hold from another host not renewed for HOLD_TTL belongs to a dead
process (kill -9, power cut, lost host). On the holder's own host its pid says it all:
gone, the hold is free at once; there, it is held however late the heartbeat.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

HOLD_TTL = timedelta(seconds=15)
HEARTBEAT = timedelta(seconds=5)  # a third of the TTL: two missed beats are not a death


class HoldStanding(StrEnum):
    FREE = "free"  # nobody holds the campaign
    HELD = "held"  # a live process drives it
    EXPIRED = "expired"  # no heartbeat for longer than the TTL: its holder is taken for dead
    HOLDER_GONE = "holder_gone"  # on this host, the holder's pid no longer exists


def hold_standing(
    expires_at: datetime | None,
    now: datetime,
    on_this_host: bool,
    holder_alive: bool,
) -> HoldStanding:
    """`holder_alive` matters only on the holder's host (elsewhere its pid means nothing
    here): pass what a signal-0 probe of its pid says. On its host that probe is the
    truth either way: a live holder whose heartbeat is late (its store calls waiting
    for another process's lock) still holds the campaign."""
    if expires_at is None:
        return HoldStanding.FREE
    if on_this_host:
        return HoldStanding.HELD if holder_alive else HoldStanding.HOLDER_GONE
    if now >= expires_at:
        return HoldStanding.EXPIRED
    return HoldStanding.HELD


def is_free(standing: HoldStanding) -> bool:
    return standing is not HoldStanding.HELD
