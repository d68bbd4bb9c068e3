"""The service's event bus: campaign and call events, in order, to every subscriber.

The API's live stream (SSE) reads it; the dashboard, metrics and webhooks will too.
Publishing never waits: a subscriber that falls behind loses its oldest events (and is
told how many), so a stalled reader can neither slow the calls nor grow memory. Events
carry no contact data (attempt ids and outcomes, never numbers or names): a viewer may
read the stream.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dialer.pbx.events import CallEnded, CallMilestone

SUBSCRIBER_BACKLOG = 2000  # events a subscriber may lag behind before losing the oldest
HISTORY = 1000  # recent events kept for a reader that reconnects (Last-Event-ID)


@dataclass(frozen=True)
class ServiceEvent:
    id: int  # increasing within one service process
    at: datetime
    kind: str  # e.g. "campaign.paused", "call.ended"
    campaign: str | None
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "campaign": self.campaign,
            **self.data,
        }


class Subscription:
    def __init__(self, backlog: int) -> None:
        self._events: collections.deque[ServiceEvent] = collections.deque(maxlen=backlog)
        self._ready = asyncio.Event()
        self.closed = False
        self.dropped = 0  # events lost to falling behind, not yet reported

    def offer(self, event: ServiceEvent) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(event)
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self, timeout: float) -> ServiceEvent | None:
        """The next event; None when `timeout` passed with none (or the bus closed)."""
        if not self._events and not self.closed:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return None
        return self._events.popleft() if self._events else None


class EventBus:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self._subscribers: set[Subscription] = set()
        self._history: collections.deque[ServiceEvent] = collections.deque(maxlen=HISTORY)
        self.closed = False

    def publish(self, kind: str, campaign: str | None = None, **data: Any) -> ServiceEvent:
        event = ServiceEvent(next(self._ids), self._clock(), kind, campaign, data)
        self._history.append(event)
        for subscriber in self._subscribers:
            subscriber.offer(event)
        return event

    def subscribe(
        self, after: int | None = None, backlog: int = SUBSCRIBER_BACKLOG
    ) -> Subscription:
        """A new reader; `after`: replay the kept events with a greater id first."""
        subscription = Subscription(backlog)
        if after is not None:
            for event in self._history:
                if event.id > after:
                    subscription.offer(event)
        if self.closed:
            subscription.close()
        else:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def close(self) -> None:
        """The service stops: every reader's stream ends."""
        self.closed = True
        for subscriber in self._subscribers:
            subscriber.close()
        self._subscribers.clear()


class BusObserver:
    """The engine's CallObserver: each call event of a campaign onto the bus."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    def call_originated(self, campaign: str, attempt_id: str) -> None:
        self._bus.publish("call.originated", campaign, attempt=attempt_id)

    def call_milestone(self, campaign: str, event: CallMilestone) -> None:
        extra = {"operator": event.operator} if event.operator else {}
        self._bus.publish(
            f"call.{event.milestone.value}", campaign, attempt=event.attempt_id, **extra
        )

    def call_ended(self, campaign: str, event: CallEnded) -> None:
        self._bus.publish(
            "call.ended",
            campaign,
            attempt=event.attempt_id,
            outcome=event.outcome.value,
            cause=event.cause,
            answered=event.answered_at is not None,
        )
