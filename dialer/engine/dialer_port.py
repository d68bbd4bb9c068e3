"""What the engine needs from the PBX link: the seam the runner's tests fill with an
in-memory link."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol

from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallListener
from dialer.pbx.link_state import LinkState


class OpenCall(NamedTuple):
    """A call an earlier process placed and never saw end."""

    attempt_id: str
    started_at: datetime
    server: str | None  # the Asterisk server it went to; None: before pools, the first


class Dialer(Protocol):
    """What the engine needs from the PBX: the campaign's Asterisk servers
    (dialer.engine.asterisk_pool.AsteriskPool over one PbxLink each)."""

    @property
    def ready(self) -> bool: ...

    @property
    def state(self) -> LinkState: ...

    @property
    def fatal_error(self) -> Exception | None: ...

    def route(self) -> str | None:
        """Reserve the server the next call goes to (its name), or None when no server
        can take a call now. The reservation is used by originate(request.server=name)
        or given back by unroute(name)."""
        ...

    def unroute(self, server: str) -> None: ...

    async def originate(self, request: DialRequest, listener: CallListener) -> None: ...

    async def adopt(self, attempts: list[OpenCall], listener: CallListener) -> None: ...

    def settled(self, attempt_id: str) -> None:
        """The attempt's outcome is written: what the PBX kept for reconciling it may go."""
        ...
