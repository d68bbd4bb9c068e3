"""The simulated operators, driven from Python by tests and the demo: log in, log out,
pause, lose the phone. Each change sends the AMI events a real Asterisk sends for it
(QueueMemberAdded, QueueMemberRemoved, QueueMemberPause, QueueMemberStatus), as if the
operator's desk had sent QueueAdd / QueueRemove / QueuePause.

Queue names follow SimConfig.queues: when it is empty any name works (the queue is made
with its SimConfig.operators start members); otherwise other names raise ValueError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .members import Member, MemberInfo

if TYPE_CHECKING:
    from .core import PbxCore
    from .queues import SimQueue


class OperatorControl:
    """Mixed into SimulatedPbx; call these after start(), on the PBX's event loop."""

    @property
    def core(self) -> PbxCore:
        raise NotImplementedError

    def login(self, queue: str, count: int = 1) -> list[str]:
        """Log in `count` operators (dynamic members `Local/op<N>@<operator_context>/n`,
        "Operator <N>", lowest free N); returns their interfaces. They are rung at once
        if callers wait."""
        q = self._queue(queue)
        interfaces = []
        for _ in range(count):
            n = q.roster.next_operator()
            interface = q.roster.operator_interface(n)
            q.roster.add(interface, f"Operator {n}")
            interfaces.append(interface)
        return interfaces

    def logout(self, queue: str, interface: str | None = None) -> str:
        """Log out the given member, or the last one to log in that is idle (else the last
        one). A member ringing or talking finishes that call first: QueueMemberRemoved
        then follows its AgentComplete, and it takes no new call meanwhile. Start members
        (static) can be logged out here too. Returns the interface."""
        return self._queue(queue).roster.logout(interface)

    def pause(self, queue: str, interface: str, paused: bool = True, reason: str = "") -> None:
        """QueuePause for one member: a paused member is never rung (a call in progress
        goes on). QueueMemberPause is sent even when nothing changes, as Asterisk does."""
        q = self._queue(queue)
        q.roster.set_paused(self._member(q, interface), paused, reason)

    def set_unavailable(self, queue: str, interface: str, unavailable: bool = True) -> None:
        """The member's phone goes unreachable (Status 5, not rung, not counted as logged
        in by QueueSummary) or comes back: QueueMemberStatus."""
        q = self._queue(queue)
        q.roster.set_unavailable(self._member(q, interface), unavailable)

    def members(self, queue: str) -> list[MemberInfo]:
        """The members of a queue as they are now, in the order they logged in."""
        return self._queue(queue).roster.info()

    def _queue(self, name: str) -> SimQueue:
        queue = self.core.find_queue(name)
        if queue is None:
            known = ", ".join(self.core.config.queues)
            raise ValueError(f"no queue {name!r} in the simulated PBX (SimConfig.queues: {known})")
        return queue

    @staticmethod
    def _member(queue: SimQueue, interface: str) -> Member:
        member = queue.roster.members.get(interface)
        if member is None:
            raise ValueError(f"{interface} is not a member of queue {queue.name}")
        return member
