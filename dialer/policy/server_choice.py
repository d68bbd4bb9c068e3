"""Which Asterisk server of a campaign's pool takes the next call.

The least loaded for its weight: calls in flight (every campaign's, as the server's AMI
link counts them) divided by the server's weight, among the servers that are usable
(logged in, fully booted, answering) and below their channel limit. Stateless, so
several campaigns sharing servers balance on the same figures, and a server that comes
back from an outage fills up first instead of waiting for its turn in a rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerLoad:
    name: str
    weight: int  # >= 1
    in_flight: int  # calls the server carries now
    limit: int | None  # most calls at once; None: no limit of its own
    usable: bool  # logged in, booted, answering actions

    @property
    def has_room(self) -> bool:
        return self.usable and (self.limit is None or self.in_flight < self.limit)


def pick_server(servers: Sequence[ServerLoad]) -> str | None:
    """The server for the next call, or None when none has room now. Ties go to the
    earlier server in the campaign's list (the `ami:` one first)."""
    best: ServerLoad | None = None
    for server in servers:
        if not server.has_room:
            continue
        # (in_flight + 1) / weight compared without division: a / b < c / d <=> a*d < c*b.
        if best is None or (server.in_flight + 1) * best.weight < (best.in_flight + 1) * (
            server.weight
        ):
            best = server
    return None if best is None else best.name
