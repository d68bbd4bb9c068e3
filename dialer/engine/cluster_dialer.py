"""The PBX link as a runner of a cluster sees it: not ready while coordination is lost
(no call is placed without the cluster's check), and every call's slots given back when
the link reports its end (adopted calls counted against the limits first)."""

from __future__ import annotations

from dialer.engine.cluster_campaign import ClusterCampaign
from dialer.engine.dialer_port import Dialer, OpenCall
from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallEnded, CallListener, CallMilestone
from dialer.pbx.link_state import LinkState


class _Freeing:
    """One call's listener: the runner's, with the call's slots given back at its end."""

    def __init__(self, inner: CallListener, dialer: ClusterDialer) -> None:
        self._inner = inner
        self._dialer = dialer
        self.wants_milestones = inner.wants_milestones

    def call_ended(self, event: CallEnded) -> None:
        self._dialer.freed(event.attempt_id)
        self._inner.call_ended(event)

    def call_milestone(self, event: CallMilestone) -> None:
        self._inner.call_milestone(event)


class ClusterDialer:
    def __init__(self, inner: Dialer, cluster: ClusterCampaign) -> None:
        self._inner = inner
        self._cluster = cluster

    @property
    def ready(self) -> bool:
        return self._inner.ready and self._cluster.coordinated

    @property
    def state(self) -> LinkState:
        return self._inner.state

    @property
    def fatal_error(self) -> Exception | None:
        return self._inner.fatal_error

    async def originate(self, request: DialRequest, listener: CallListener) -> None:
        try:
            await self._inner.originate(request, _Freeing(listener, self))
        except BaseException:
            self.freed(request.attempt_id)
            raise

    def route(self) -> str | None:
        return self._inner.route()

    def unroute(self, server: str) -> None:
        self._inner.unroute(server)

    async def adopt(self, attempts: list[OpenCall], listener: CallListener) -> None:
        for call in attempts:
            await self._cluster.adopt(call.attempt_id, call.server)
        await self._inner.adopt(attempts, _Freeing(listener, self))

    def settled(self, attempt_id: str) -> None:
        self._inner.settled(attempt_id)

    def freed(self, attempt_id: str) -> None:
        self._cluster.give_back_soon(attempt_id)
