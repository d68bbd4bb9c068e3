"""The last word before a call is recorded and placed: on several nodes, the cluster's
(dialer.engine.cluster_campaign: the channel limits, the person's other calls, this
node's ownership of the campaign); on one node, always yes."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol


class NotAdmitted(Exception):
    """The call may not be placed now; its lease goes back, due again after retry_after."""

    def __init__(self, why: str, retry_after: timedelta) -> None:
        super().__init__(why)
        self.why = why
        self.retry_after = retry_after


class CallAdmission(Protocol):
    async def admit(self, number: str, attempt_id: str, server: str) -> None:
        """Raises NotAdmitted (`server`: the Asterisk server the call is routed to).
        Once admitted the call holds what it was admitted with until `give_back` or
        until the PBX link reports its end."""
        ...

    async def give_back(self, attempt_id: str) -> None:
        """An admitted call that was not placed after all."""
        ...


class AdmitAll:
    """One node alone: the store's checks are all there is."""

    async def admit(self, number: str, attempt_id: str, server: str) -> None:
        return None

    async def give_back(self, attempt_id: str) -> None:
        return None
