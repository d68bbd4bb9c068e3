"""The calls of a campaign, told to an observer on their way (the service's event bus:
its live event stream now, webhooks and metrics later).

`ObservedDialer` stands between a runner and the PBX link: every call it originates or
adopts is followed through a tap that hands each event to the runner first, then to the
observer. The runner is untouched, and an observer that fails never costs a call.
"""

from __future__ import annotations

import logging
from typing import Protocol

from dialer.engine.dialer_port import Dialer, OpenCall
from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallEnded, CallListener, CallMilestone
from dialer.pbx.link_state import LinkState

log = logging.getLogger("dialer.engine")


class CallObserver(Protocol):
    def call_originated(self, campaign: str, attempt_id: str) -> None: ...

    def call_milestone(self, campaign: str, event: CallMilestone) -> None: ...

    def call_ended(self, campaign: str, event: CallEnded) -> None: ...


class _Tap:
    """One call's listener: the runner's, with the observer told after it."""

    def __init__(self, inner: CallListener, campaign: str, observer: CallObserver) -> None:
        self._inner = inner
        self._campaign = campaign
        self._observer = observer
        # The observer hears every milestone (call.connected is the transferred webhook),
        # even where the runner's pacer has no use for them (a fixed pace).
        self.wants_milestones = True

    def call_ended(self, event: CallEnded) -> None:
        self._inner.call_ended(event)
        try:
            self._observer.call_ended(self._campaign, event)
        except Exception:
            log.exception("engine.observer_failed", extra={"attempt": event.attempt_id})

    def call_milestone(self, event: CallMilestone) -> None:
        self._inner.call_milestone(event)
        try:
            self._observer.call_milestone(self._campaign, event)
        except Exception:
            log.exception("engine.observer_failed", extra={"attempt": event.attempt_id})


class ObservedDialer:
    """A Dialer (the PBX link) whose calls are also told to an observer."""

    def __init__(self, inner: Dialer, campaign: str, observer: CallObserver) -> None:
        self._inner = inner
        self._campaign = campaign
        self._observer = observer

    @property
    def ready(self) -> bool:
        return self._inner.ready

    @property
    def state(self) -> LinkState:
        return self._inner.state

    @property
    def fatal_error(self) -> Exception | None:
        return self._inner.fatal_error

    def route(self) -> str | None:
        return self._inner.route()

    def unroute(self, server: str) -> None:
        self._inner.unroute(server)

    async def originate(self, request: DialRequest, listener: CallListener) -> None:
        tap = _Tap(listener, self._campaign, self._observer)
        await self._inner.originate(request, tap)
        try:
            self._observer.call_originated(self._campaign, request.attempt_id)
        except Exception:
            log.exception("engine.observer_failed", extra={"attempt": request.attempt_id})

    async def adopt(self, attempts: list[OpenCall], listener: CallListener) -> None:
        await self._inner.adopt(attempts, _Tap(listener, self._campaign, self._observer))

    def settled(self, attempt_id: str) -> None:
        self._inner.settled(attempt_id)
