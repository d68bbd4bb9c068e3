"""When to say that a watched queue has no operators. Pure: time is passed in.

A queue with no logged-in member stops every operator-paced campaign on it: the pacer
has no one to dial for. That happens quietly when Asterisk restarts and forgets the
members added over AMI (QueueAdd without `persistentmembers = yes`), so it is said
loudly: at once when a queue becomes empty (or is found empty by a QueueStatus read),
then again every `every_s` while it stays empty.
"""

from __future__ import annotations

from collections.abc import Mapping

REMIND_EVERY_S = 60.0


class EmptyQueueAlarm:
    def __init__(self, every_s: float = REMIND_EVERY_S) -> None:
        self._every_s = every_s
        self._warned_at: dict[str, float] = {}  # queues empty now: when last said

    @property
    def empty(self) -> list[str]:
        return sorted(self._warned_at)

    def check(self, now: float, logged_in: Mapping[str, int]) -> tuple[list[str], list[str]]:
        """(queues to warn about now, queues that have operators again)."""
        warn = []
        for queue, count in logged_in.items():
            last = self._warned_at.get(queue)
            if count == 0 and (last is None or now - last >= self._every_s):
                self._warned_at[queue] = now
                warn.append(queue)
        back = [q for q in self._warned_at if logged_in.get(q, 0) > 0]
        for queue in back:
            del self._warned_at[queue]
        return sorted(warn), sorted(back)

    def next_reminder(self) -> float | None:
        """When the next reminder is due, if a queue is still empty."""
        first = min(self._warned_at.values(), default=None)
        return None if first is None else first + self._every_s
