"""A campaign's Asterisk servers as one Dialer: each call goes to the least loaded server
for its weight that is up and below its channel limit (policy/server_choice.py); a
server that is down, booting or refusing calls is skipped, and the calls it had are
reconciled by its own link when it comes back.

Every server keeps its own PbxLink (one per server per process, shared by the campaigns
on it), so a server's load is every campaign's calls on it. The pool adds only what a
link cannot know: which server each call was placed on (stored with the attempt, so a
restarted process adopts each open call on the server that has it) and the calls routed
but not yet handed to a link (a batch would otherwise all pick the same server).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialer.engine.dialer_port import OpenCall
from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallListener
from dialer.pbx.link_state import LinkState
from dialer.policy.server_choice import ServerLoad, pick_server

log = logging.getLogger("dialer.engine")

# When no server is ready, the pool reports the most hopeful state among them.
_HOPE = (
    LinkState.READY,
    LinkState.RECONCILING,
    LinkState.BOOTING,
    LinkState.CONNECTING,
    LinkState.UNRESPONSIVE,
    LinkState.SHUTTING_DOWN,
    LinkState.DOWN,
)


class ServerLink(Protocol):
    """What the pool needs of one server's link (dialer.pbx.link.PbxLink)."""

    @property
    def ready(self) -> bool: ...

    @property
    def state(self) -> LinkState: ...

    @property
    def fatal_error(self) -> Exception | None: ...

    @property
    def in_flight(self) -> int: ...

    async def originate(self, request: DialRequest, listener: CallListener) -> None: ...

    async def adopt(
        self, attempts: Sequence[tuple[str, datetime]], listener: CallListener
    ) -> None: ...

    def settled(self, attempt_id: str) -> None: ...


@dataclass(frozen=True)
class PoolMember:
    name: str
    link: ServerLink
    weight: int = 1
    max_channels: int | None = None


class AsteriskPool:
    """The Dialer a runner uses: one or more Asterisk servers."""

    def __init__(self, members: Sequence[PoolMember]) -> None:
        if not members:
            raise ValueError("an Asterisk pool needs at least one server")
        self._members = {m.name: m for m in members}
        self._first = members[0]
        self._routed: defaultdict[str, int] = defaultdict(int)  # routed, not yet originated
        self._warned_fatal: set[str] = set()

    @property
    def members(self) -> tuple[PoolMember, ...]:
        return tuple(self._members.values())

    def _usable(self, member: PoolMember) -> bool:
        error = member.link.fatal_error
        if error is not None and member.name not in self._warned_fatal:
            # A server that refused our login stays out of the pool; the others dial on.
            self._warned_fatal.add(member.name)
            log.error("pool.server_unusable", extra={"server": member.name, "error": str(error)})
        return error is None and member.link.ready

    @property
    def ready(self) -> bool:
        return any(self._usable(m) for m in self._members.values())

    @property
    def state(self) -> LinkState:
        alive = [m for m in self._members.values() if m.link.fatal_error is None]
        return min((m.link.state for m in alive or [self._first]), key=_HOPE.index)

    @property
    def fatal_error(self) -> Exception | None:
        """Only when no server can ever be used: a pool dials on while one is left."""
        errors = [m.link.fatal_error for m in self._members.values()]
        if all(error is not None for error in errors):
            return errors[0]
        return None

    def loads(self) -> list[ServerLoad]:
        return [
            ServerLoad(
                name=m.name,
                weight=m.weight,
                in_flight=m.link.in_flight + self._routed[m.name],
                limit=m.max_channels,
                usable=self._usable(m),
            )
            for m in self._members.values()
        ]

    def route(self) -> str | None:
        name = pick_server(self.loads())
        if name is not None:
            self._routed[name] += 1
        return name

    def unroute(self, server: str) -> None:
        if self._routed[server] > 0:
            self._routed[server] -= 1

    async def originate(self, request: DialRequest, listener: CallListener) -> None:
        member = self._members.get(request.server, self._first)
        # The link counts the call from the first line of its originate(), before any await.
        self.unroute(member.name)
        await member.link.originate(request, listener)

    async def adopt(self, attempts: list[OpenCall], listener: CallListener) -> None:
        """Each open call goes back to the server it was placed on; one placed on a
        server no longer in the campaign is left to the first server, which closes it
        as unknown unless its journal knows better."""
        by_member: defaultdict[str, list[tuple[str, datetime]]] = defaultdict(list)
        for call in attempts:
            name = call.server if call.server in self._members else self._first.name
            if call.server is not None and call.server not in self._members:
                log.warning(
                    "pool.server_gone",
                    extra={"attempt": call.attempt_id, "server": call.server},
                )
            by_member[name].append((call.attempt_id, call.started_at))
        for name, calls in by_member.items():
            await self._members[name].link.adopt(calls, listener)

    def settled(self, attempt_id: str) -> None:
        """The attempt's outcome is in the store: the server that closed it may delete
        its journal (a link ignores an attempt it did not close)."""
        for member in self._members.values():
            member.link.settled(attempt_id)
