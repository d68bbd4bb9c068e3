"""The service's event bus: order, replay after an id, a slow reader losing its oldest
events (and told how many) instead of slowing the publisher, and the end of streams."""

from __future__ import annotations

from dialer.control.service.events import EventBus


async def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = EventBus()
    first, second = bus.subscribe(), bus.subscribe()
    for n in range(3):
        bus.publish("call.ended", "c", attempt=f"a{n}")
    for sub in (first, second):
        got = [await sub.next(1.0) for _ in range(3)]
        assert [e.data["attempt"] for e in got if e] == ["a0", "a1", "a2"]
    assert await first.next(0.01) is None  # nothing more: a keep-alive moment


async def test_a_reader_that_reconnects_gets_what_it_missed() -> None:
    bus = EventBus()
    events = [bus.publish("campaign.paused", "c") for _ in range(5)]
    again = bus.subscribe(after=events[2].id)
    got = [await again.next(1.0) for _ in range(2)]
    assert [e.id for e in got if e] == [events[3].id, events[4].id]


async def test_a_slow_reader_loses_its_oldest_events_and_is_told() -> None:
    bus = EventBus()
    slow = bus.subscribe(backlog=3)
    for n in range(10):
        bus.publish("call.originated", "c", attempt=str(n))
    assert slow.dropped == 7
    got = [await slow.next(1.0) for _ in range(3)]
    assert [e.data["attempt"] for e in got if e] == ["7", "8", "9"]


async def test_closing_the_bus_ends_every_stream_after_what_was_queued() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish("campaign.stopping", "c")
    bus.close()
    assert sub.closed
    event = await sub.next(1.0)
    assert event is not None and event.kind == "campaign.stopping"
    assert await sub.next(1.0) is None
    assert bus.subscribers == 0
    assert bus.subscribe().closed
