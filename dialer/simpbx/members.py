"""The members of one simulated queue: who is logged in, paused, ringing, talking or in
wrap-up, and the fields app_queue reports for them.

The fields and their order are those of queue_member_blob_create() in apps/app_queue.c
(QueueMemberStatus, QueueMemberAdded, QueueMemberRemoved, QueueMemberPause) and of the
QueueMember list item of QueueStatus; a real Asterisk 22.10.1 sent the same.

A member rings as the Local channel pair of its interface `Local/<exten>@<context>[/n]`.
Any other interface (PJSIP/1001 ...) has no device in the simulation: it reports Status 4
(invalid), is never rung and does not count as logged in, like a member whose channel
driver is not loaded on a real Asterisk.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .events import Fields
from .ports import Switch

# Status is the device state (AST_DEVICE_*). A Local member shows 2 while it rings too.
NOT_IN_USE, IN_USE, INVALID, UNAVAILABLE = 1, 2, 4, 5
AVAILABLE_STATUS = frozenset({0, NOT_IN_USE})  # member_status_available()


def local_target(interface: str) -> tuple[str, str] | None:
    """(exten, context) of `Local/<exten>@<context>[/options]`; None for other channels."""
    tech, slash, rest = interface.partition("/")
    if tech.lower() != "local" or not slash:
        return None
    exten, _, context = rest.split("/", 1)[0].partition("@")
    return (exten, context or "default") if exten else None


class MemberCall(Protocol):
    """The caller a member rings or talks to (queues.QueueEntry), as the member sees it."""

    @property
    def bridge_id(self) -> str: ...  # "" until the member answers


@dataclass(slots=True)
class Member:
    interface: str
    name: str
    login_time: int
    dynamic: bool  # added by QueueAdd or login(); static ones come from SimConfig.operators
    penalty: int = 0
    wrapup: float = 0.0  # seconds without calls after each conversation
    state_interface: str = ""
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    calls_taken: int = 0
    last_call: int = 0
    unavailable: bool = False  # the device is unreachable (Status 5)
    leaving: bool = False  # logout() during a call: the member leaves after it
    released: float = 0.0  # monotonic; the longest-idle member is rung first
    entry: MemberCall | None = None  # the caller it rings or talks to
    wrapup_timer: asyncio.TimerHandle | None = None  # set while in wrap-up
    target: tuple[str, str] | None = field(init=False)

    def __post_init__(self) -> None:
        self.target = local_target(self.interface)
        self.state_interface = self.state_interface or self.interface

    @property
    def in_call(self) -> bool:
        return self.entry is not None and self.entry.bridge_id != ""

    @property
    def status(self) -> int:
        if self.target is None:
            return INVALID
        if self.unavailable:
            return UNAVAILABLE
        return IN_USE if self.entry is not None else NOT_IN_USE

    @property
    def is_free(self) -> bool:
        """May be rung now: free device, not paused, not in wrap-up, not logging out."""
        idle = self.entry is None and self.wrapup_timer is None
        return idle and self.status == NOT_IN_USE and not self.paused and not self.leaving

    @property
    def state(self) -> str:
        if self.status in (INVALID, UNAVAILABLE):
            return "unavailable"
        if self.entry is not None:
            return "in_use" if self.in_call else "ringing"
        if self.paused:
            return "paused"
        return "wrapup" if self.wrapup_timer is not None else "not_in_use"

    @property
    def wrapuptime(self) -> int:
        return math.ceil(self.wrapup) if self.wrapup > 0 else 0


@dataclass(frozen=True)
class MemberInfo:
    """What `SimulatedPbx.members()` returns: one member of one queue, as it is now.

    state: "not_in_use", "ringing", "in_use", "wrapup", "paused" or "unavailable"
    (a ringing or talking member that is paused shows "ringing"/"in_use", paused=True).
    """

    queue: str
    interface: str
    name: str
    state: str
    status: int
    paused: bool
    paused_reason: str
    in_call: bool
    calls_taken: int
    last_call: int
    login_time: int
    membership: str
    penalty: int
    wrapup: float
    leaving: bool


def member_event(queue: str, m: Member) -> Fields:
    """QueueMemberStatus / Added / Removed / Pause (queue_member_blob_create)."""
    return [
        ("Queue", queue),
        ("MemberName", m.name),
        ("Interface", m.interface),
        *_member_common(m),
        ("PausedReason", m.paused_reason),
        ("Ringinuse", 0),
        ("Wrapuptime", m.wrapuptime),
    ]


def member_item(queue: str, m: Member) -> Fields:
    """The QueueMember item of a QueueStatus list (its ActionID goes last)."""
    return [
        ("Queue", queue),
        ("Name", m.name),
        ("Location", m.interface),
        *_member_common(m),
        ("PausedReason", m.paused_reason),
        ("Wrapuptime", m.wrapuptime),
    ]


def _member_common(m: Member) -> Fields:
    return [
        ("StateInterface", m.state_interface),
        ("Membership", "dynamic" if m.dynamic else "static"),
        ("Penalty", m.penalty),
        ("CallsTaken", m.calls_taken),
        ("LastCall", m.last_call),
        ("LastPause", m.last_pause),
        ("LoginTime", m.login_time),
        ("InCall", int(m.in_call)),
        ("Status", m.status),
        ("Paused", int(m.paused)),
    ]


class Roster:
    """The members of one queue, in the order they logged in. `on_free` is called when a
    member may have become free to ring (the queue then serves its waiting callers)."""

    def __init__(self, core: Switch, queue: str, on_free: Callable[[], None]) -> None:
        self.core = core
        self.queue = queue
        self.on_free = on_free
        self.members: dict[str, Member] = {}

    def publish(self, event: str, m: Member) -> None:
        self.core.emit(event, member_event, self.queue, m)

    def status_changed(self, m: Member) -> None:
        """QueueMemberStatus, unless QueueRemove took the member out during its call."""
        if self.members.get(m.interface) is m:
            self.publish("QueueMemberStatus", m)

    def operator_interface(self, n: int) -> str:
        return f"Local/op{n}@{self.core.config.operator_context}/n"

    def next_operator(self) -> int:
        """The lowest operator number not logged in to this queue."""
        n = 1
        while self.operator_interface(n) in self.members:
            n += 1
        return n

    def add(
        self,
        interface: str,
        name: str = "",
        *,
        dynamic: bool = True,
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        wrapup: float | None = None,
        state_interface: str = "",
        announce: bool = True,
    ) -> Member | None:
        """A new member (None if the interface is already one). QueueMemberAdded."""
        if interface in self.members:
            return None
        now = int(time.time())
        m = Member(
            interface,
            name or interface,
            now,
            dynamic,
            penalty=penalty,
            wrapup=self.core.timing.wrapup if wrapup is None else wrapup,
            state_interface=state_interface,
            paused=paused,
            paused_reason=reason,
            last_pause=now if paused else 0,
            released=time.monotonic(),
        )
        self.members[interface] = m
        if announce:
            self.publish("QueueMemberAdded", m)
        self.on_free()
        return m

    def remove(self, m: Member) -> None:
        """QueueMemberRemoved. A call in progress goes on (as QueueRemove does)."""
        if self.members.get(m.interface) is m:
            del self.members[m.interface]
            self._end_wrapup(m)
            self.publish("QueueMemberRemoved", m)

    def logout(self, interface: str | None = None) -> str:
        """Remove a member now, or after its call: the given one, else the last one to
        log in that is idle (or, if all are busy, the last one to log in)."""
        staying = [m for m in self.members.values() if not m.leaving]
        if interface is not None:
            found = self.members.get(interface)
            if found is None:
                raise ValueError(f"{interface} is not logged in to queue {self.queue}")
        elif not staying:
            raise ValueError(f"no operator is logged in to queue {self.queue}")
        else:
            idle = [m for m in staying if m.entry is None]
            found = (idle or staying)[-1]
        if found.entry is not None:
            found.leaving = True  # QueueMemberRemoved follows its AgentComplete
        else:
            self.remove(found)
        return found.interface

    def set_paused(self, m: Member, paused: bool, reason: str = "") -> None:
        """QueueMemberPause, sent again even if nothing changes (set_queue_member_pause)."""
        m.paused = paused
        if paused:
            m.last_pause = int(time.time())
        m.paused_reason = reason  # an unpause shows its reason in the event only
        self.publish("QueueMemberPause", m)
        if not paused:
            m.paused_reason = ""
            self.on_free()

    def set_unavailable(self, m: Member, unavailable: bool) -> None:
        """The member's device goes unreachable or comes back: QueueMemberStatus."""
        if m.unavailable != unavailable:
            m.unavailable = unavailable
            self.publish("QueueMemberStatus", m)
            self.on_free()

    def pick(self) -> Member | None:
        """The free member to ring: lowest penalty, then idle the longest."""
        free = [m for m in self.members.values() if m.is_free]
        return min(free, key=lambda m: (m.penalty, m.released), default=None)

    def call_over(self, m: Member, talked: bool) -> None:
        """The member's legs are gone: QueueMemberStatus, then wrap-up or logout."""
        m.entry, m.released = None, time.monotonic()
        if self.members.get(m.interface) is not m:
            return  # removed by QueueRemove during the call: no longer reported
        self.status_changed(m)
        if m.leaving:
            self.remove(m)
            return
        if talked and m.wrapup > 0:
            m.wrapup_timer = self.core.loop.call_later(m.wrapup, self._wrapup_over, m)
        self.on_free()

    def _wrapup_over(self, m: Member) -> None:
        m.wrapup_timer = None
        self.on_free()

    @staticmethod
    def _end_wrapup(m: Member) -> None:
        if m.wrapup_timer is not None:
            m.wrapup_timer.cancel()
            m.wrapup_timer = None

    def shutdown(self) -> None:
        for m in self.members.values():
            self._end_wrapup(m)

    def info(self) -> list[MemberInfo]:
        return [
            MemberInfo(
                queue=self.queue,
                interface=m.interface,
                name=m.name,
                state=m.state,
                status=m.status,
                paused=m.paused,
                paused_reason=m.paused_reason,
                in_call=m.in_call,
                calls_taken=m.calls_taken,
                last_call=m.last_call,
                login_time=m.login_time,
                membership="dynamic" if m.dynamic else "static",
                penalty=m.penalty,
                wrapup=m.wrapup,
                leaving=m.leaving,
            )
            for m in self.members.values()
        ]
