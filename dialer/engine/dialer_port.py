"""What the engine needs from the PBX link: the seam the runner's tests fill with an
in-memory link."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallListener
from dialer.pbx.link_state import LinkState


class Dialer(Protocol):
    """What the engine needs from the PBX link (dialer.pbx.link.PbxLink)."""

    @property
    def ready(self) -> bool: ...

    @property
    def state(self) -> LinkState: ...

    @property
    def fatal_error(self) -> Exception | None: ...

    async def originate(self, request: DialRequest, listener: CallListener) -> None: ...

    async def adopt(self, attempts: list[tuple[str, datetime]], listener: CallListener) -> None: ...
