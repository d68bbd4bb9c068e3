"""Operators of the queues the engine watches, kept current from AMI by the PBX link.

The link feeds queue events in as they arrive and re-reads every watched queue
(QueueStatus) after each connect and reconnect, since events were missed while the link
was down. Each listener hears the operator changes of the queues it watches. A wrap-up
ends with no AMI event, so a timer reports it when it is due. A watched queue with no
logged-in operator is logged as a WARNING (queue_alarm.py says when).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from dialer.operators import OperatorChange
from dialer.pbx.events import OperatorListener
from dialer.pbx.queue_alarm import EmptyQueueAlarm
from dialer.pbx.queue_tracker import QueueTracker

log = logging.getLogger("dialer.pbx")

# Reads one queue's QueueStatus list: the items (members, waiting callers) as mappings.
QueueStatusReader = Callable[[str], Awaitable[Sequence[Mapping[str, str]]]]

QUEUE_EVENTS = QueueTracker.EVENTS


class QueueWatch:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # wall time: the same clock as the pacers' abandon windows
        self._tracker = QueueTracker(())
        self._listeners: list[tuple[frozenset[str], OperatorListener]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._alarm = EmptyQueueAlarm()
        self._reminder: asyncio.TimerHandle | None = None
        self._read = False  # no warning before the first QueueStatus: nothing known yet

    @property
    def queues(self) -> list[str]:
        return self._tracker.queues

    def watch(
        self, queues: Iterable[str], listener: OperatorListener, wrapup_s: float | None = None
    ) -> None:
        """`wrapup_s`: the queues' wrapuptime from queues.conf (AMI does not report it)."""
        names = frozenset(queues)
        self._tracker.add_queues(names, wrapup_s)
        entry = (frozenset(q.lower() for q in names), listener)
        if not any(q == entry[0] and each is listener for q, each in self._listeners):
            self._listeners.append(entry)  # watched again: a longer wrap-up, no second copy

    def unwatch(self, listener: OperatorListener) -> None:
        """`listener` hears no more (a campaign's run ended; the queues stay read)."""
        self._listeners = [(q, each) for q, each in self._listeners if each is not listener]

    def callers_waiting(self, queues: Iterable[str]) -> int:
        return sum(self._tracker.callers_waiting(q) for q in queues)

    async def reload(self, read_status: QueueStatusReader) -> None:
        """A fresh QueueStatus of every watched queue (after a connect or reconnect)."""
        items: list[Mapping[str, str]] = []
        for queue in self.queues:
            items += await read_status(queue)
        self._deliver(self._tracker.load_status(items))
        self._arm_timer()
        members = len(self._tracker.members())
        log.info("pbx.queues_read", extra={"queues": len(self.queues), "members": members})
        self._read = True
        self._check_operators()

    def apply(self, event: Mapping[str, str]) -> None:
        changes = self._tracker.apply(event, self._clock())
        self._deliver(changes)
        self._arm_timer()
        if changes:  # only a change of some member can empty a queue or fill it
            self._check_operators()

    def close(self) -> None:
        for timer in (self._timer, self._reminder):
            if timer is not None:
                timer.cancel()
        self._timer = self._reminder = None

    def _check_operators(self) -> None:
        if not self._read:
            return
        empty, back = self._alarm.check(self._clock(), self._tracker.logged_in())
        for queue in empty:
            log.warning(
                "pbx.queue_without_operators",
                extra={
                    "queue": queue,
                    "hint": "no operator is logged in to this queue: operator-paced "
                    "campaigns on it place no calls. Members added with QueueAdd are lost "
                    "when Asterisk restarts unless queues.conf sets persistentmembers = yes",
                },
            )
        for queue in back:
            log.info("pbx.queue_operators_back", extra={"queue": queue})
        if self._reminder is not None:
            self._reminder.cancel()
            self._reminder = None
        due = self._alarm.next_reminder()
        if due is not None:
            delay = max(0.0, due - self._clock()) + 0.01  # never a hair early
            self._reminder = asyncio.get_running_loop().call_later(delay, self._check_operators)

    def _tick(self) -> None:
        self._timer = None
        self._deliver(self._tracker.tick(self._clock()))
        self._arm_timer()

    def _arm_timer(self) -> None:
        due = self._tracker.next_wrapup_end()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if due is not None:
            delay = max(0.0, due - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._tick)

    def _deliver(self, changes: list[OperatorChange]) -> None:
        if not changes:
            return
        for queues, listener in self._listeners:
            mine = [c for c in changes if c.queue.lower() in queues]
            if mine:
                try:
                    listener.operators_changed(mine)
                except Exception:
                    log.exception("pbx.operator_listener_failed")
