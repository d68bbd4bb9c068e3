"""Operator and queue state of the campaign's Asterisk queues, from AMI. Pure: no I/O.

Sources: QueueStatus list items (`load_status`, after each connect) and events (`apply`).
A member is keyed by (queue, interface): `Location`/`Name` in the QueueMember item,
`Interface`/`MemberName` in events. Status is the member's device state.

State, first rule that holds: device invalid or unavailable (4, 5) -> LOGGED_OUT (a
removed member is dropped and reported LOGGED_OUT); paused -> PAUSED; connected to a
queue caller (InCall, or AgentConnect until AgentComplete) -> ON_CALL; within wrap-up
after AgentComplete -> WRAP_UP; device busy (2 in use, 3 busy, 6 ringing, 7 ring in use,
8 on hold) -> ON_CALL; otherwise (0 unknown, 1 not in use) -> AVAILABLE.

Ringing for one of our callers stays AVAILABLE (reserved): once AgentCalled names a
member, device state 6, or 2 (a Local-channel member in use by the ring), counts as
available until the member answers or the device goes idle. The pacer already counts
that caller as waiting for an operator; counting the member busy too would count it
twice, and with strategy ringall would turn every free member ON_CALL for each caller
and feed ring times into the talk-time estimate. Other rings (a direct call) are ON_CALL.

Wrap-up: Asterisk uses the member's Wrapuptime, or the queue's `wrapuptime` when that is
0. AMI does not report the queue's value (not in QueueStatus's QueueParams, QueueSummary
or any QUEUE_* function on Asterisk 22.10.1), so it is given per queue with `add_queues`
(the campaign's `pacing.wrapup`), `default_wrapup_s` for the others. A wrap-up
ends at AgentComplete's `now` + wrap-up; `tick(now)` (and every `apply`) reports its end.
`load_status` keeps running wrap-ups and ring reservations of members it still lists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from dialer.operators import OperatorChange, OperatorState

S = OperatorState
LOGGED_OUT_STATUS = frozenset({4, 5})
BUSY_STATUS = frozenset({2, 3, 6, 7, 8})
RING_STATUS = frozenset({2, 6})  # what a ring looks like: ringing, or a Local member in use
# events that carry the whole member (app_queue's queue_member_blob_create)
MEMBER_SNAPSHOTS = frozenset({"QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause"})
MEMBER_SNAPSHOTS |= {"QueueMemberPenalty", "QueueMemberRinginuse"}
AGENT_EVENTS = frozenset({"AgentCalled", "AgentConnect", "AgentComplete", "AgentDump"})
CALLER_EVENTS = frozenset({"QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon"})
_MALFORMED = (ValueError, TypeError, KeyError, AttributeError)
# counts(): a member of several campaign queues counts once, in its most available state
_RANK = (S.AVAILABLE, S.WRAP_UP, S.ON_CALL, S.PAUSED, S.LOGGED_OUT)

Key = tuple[str, str]


@dataclass(frozen=True)
class Member:
    queue: str
    interface: str
    name: str
    state: OperatorState
    paused: bool
    in_call: bool
    status: int
    wrapup_s: float
    calls_taken: int


def _flag(item: Mapping[str, str], field: str) -> bool:
    value = item.get(field)
    return False if value is None or value == "" else int(value) != 0


class QueueTracker:
    EVENTS = MEMBER_SNAPSHOTS | AGENT_EVENTS | CALLER_EVENTS | {"QueueMemberRemoved"}

    def __init__(self, queues: Iterable[str], *, default_wrapup_s: float = 0.0) -> None:
        self._queues = {q.lower(): q for q in queues}
        self._default_wrapup_s = default_wrapup_s
        self._queue_wrapup_s: dict[str, float] = {}  # the queue's wrapuptime, when known
        self._members: dict[Key, Member] = {}
        self._waiting = dict.fromkeys(self._queues.values(), 0)
        self._wrap_until: dict[Key, float] = {}
        self._ringing: set[Key] = set()
        self._now = float("-inf")

    def add_queues(self, queues: Iterable[str], wrapup_s: float | None = None) -> None:
        """Follow more queues too (their members arrive with the next `load_status`).
        `wrapup_s`: the queues' own wrapuptime; the longest given wins, since operators
        taken for free while still in wrap-up is what makes a pacer abandon calls."""
        for queue in queues:
            if queue.lower() not in self._queues:
                self._queues[queue.lower()] = queue
                self._waiting[queue] = 0
            name = self._queues[queue.lower()]
            if wrapup_s is not None:
                self._queue_wrapup_s[name] = max(wrapup_s, self._queue_wrapup_s.get(name, 0.0))

    @property
    def queues(self) -> list[str]:
        return sorted(self._queues.values())

    # --- views ------------------------------------------------------------------
    def members(self, queue: str | None = None) -> list[Member]:
        listed = [m for _, m in sorted(self._members.items())]
        return listed if queue is None else [m for m in listed if m.queue == self._queue(queue)]

    def callers_waiting(self, queue: str | None = None) -> int:
        if queue is None:
            return sum(self._waiting.values())
        name = self._queue(queue)
        return self._waiting[name] if name else 0

    def counts(self) -> dict[OperatorState, int]:
        best: dict[str, OperatorState] = {}
        for m in self._members.values():
            if m.interface not in best or _RANK.index(m.state) < _RANK.index(best[m.interface]):
                best[m.interface] = m.state
        counts = dict.fromkeys(OperatorState, 0)
        for state in best.values():
            counts[state] += 1
        return counts

    def logged_in(self) -> dict[str, int]:
        """Members not logged out, per followed queue (0 for a queue with none)."""
        counts = dict.fromkeys(self._queues.values(), 0)
        for m in self._members.values():
            if m.state is not S.LOGGED_OUT:
                counts[m.queue] += 1
        return counts

    def next_wrapup_end(self) -> float | None:
        """When the earliest running wrap-up ends (for a timer that calls `tick`)."""
        return min(self._wrap_until.values(), default=None)

    # --- input ------------------------------------------------------------------
    def load_status(self, items: Iterable[Mapping[str, str]]) -> list[OperatorChange]:
        before = self._members
        self._members, self._waiting = {}, dict.fromkeys(self._queues.values(), 0)
        for item in items:
            try:
                self._load_item(item)
            except _MALFORMED:
                continue
        for key in set(self._wrap_until) - set(self._members):
            del self._wrap_until[key]
        self._ringing &= {
            k for k, m in self._members.items() if m.status in RING_STATUS and not m.in_call
        }
        changes = [
            OperatorChange(m.queue, m.interface, m.name, old.state if old else None, m.state)
            for key, m in self._members.items()
            if (old := before.get(key)) is None or old.state is not m.state
        ]
        return changes + [
            OperatorChange(m.queue, m.interface, m.name, m.state, S.LOGGED_OUT)
            for key, m in before.items()
            if key not in self._members and m.state is not S.LOGGED_OUT
        ]

    def apply(self, event: Mapping[str, str], now: float) -> list[OperatorChange]:
        changes = self.tick(now)
        with contextlib.suppress(*_MALFORMED):
            changes += self._apply(event, now)
        return changes

    def tick(self, now: float) -> list[OperatorChange]:
        """Report the wrap-ups that have ended by `now`."""
        self._now = now
        changes = []
        for key in [k for k, until in self._wrap_until.items() if until <= now]:
            del self._wrap_until[key]
            if key in self._members:
                changes += self._settle(key, self._members[key])
        return changes

    # --- internals --------------------------------------------------------------
    def _queue(self, name: object) -> str | None:
        return self._queues.get(name.lower()) if isinstance(name, str) else None

    def _load_item(self, item: Mapping[str, str]) -> None:
        kind, queue = item.get("Event"), self._queue(item.get("Queue"))
        if queue is None:
            return
        if kind == "QueueMember":
            member = self._snapshot(queue, item)
            key = (queue, member.interface)
            self._members[key] = replace(member, state=self._state(key, member))
        elif kind == "QueueEntry":
            self._waiting[queue] += 1

    def _apply(self, event: Mapping[str, str], now: float) -> list[OperatorChange]:
        kind, queue = event.get("Event"), self._queue(event.get("Queue"))
        if queue is None:
            return []
        if kind in CALLER_EVENTS:
            waiting = self._waiting[queue]
            self._waiting[queue] = (
                max(0, waiting - 1) if kind == "QueueCallerAbandon" else int(event["Count"])
            )
            return []
        if kind in MEMBER_SNAPSHOTS:
            member = self._snapshot(queue, event)
            key = (queue, member.interface)
            if member.in_call or member.status not in RING_STATUS:
                self._ringing.discard(key)  # answered, or the device went idle: ring over
            return self._settle(key, member)
        if kind == "QueueMemberRemoved":
            return self._remove((queue, event["Interface"]))
        if kind in AGENT_EVENTS:
            return self._agent(kind, queue, event, now)
        return []

    def _agent(
        self, kind: str, queue: str, event: Mapping[str, str], now: float
    ) -> list[OperatorChange]:
        key = (queue, event["Interface"])
        member = self._members.get(key) or Member(
            queue, key[1], key[1], S.AVAILABLE, False, False, 0, self._wrapup_of(queue), 0
        )
        member = replace(member, name=event.get("MemberName") or member.name)
        if kind == "AgentCalled":
            self._ringing.add(key)
            return self._settle(key, member)
        self._ringing.discard(key)
        if kind == "AgentComplete" and member.wrapup_s > 0:
            self._wrap_until[key] = now + member.wrapup_s
        return self._settle(key, replace(member, in_call=kind == "AgentConnect"))

    def _snapshot(self, queue: str, item: Mapping[str, str]) -> Member:
        interface = item.get("Interface") or item.get("Location")
        if not interface:
            raise ValueError("member without an interface")
        wrapup = float(item.get("Wrapuptime") or 0)
        return Member(
            queue=queue,
            interface=interface,
            name=item.get("MemberName") or item.get("Name") or interface,
            state=S.AVAILABLE,  # placeholder until _state
            paused=_flag(item, "Paused"),
            in_call=_flag(item, "InCall"),
            status=int(item["Status"]),
            wrapup_s=wrapup if wrapup > 0 else self._wrapup_of(queue),
            calls_taken=int(item.get("CallsTaken") or 0),
        )

    def _wrapup_of(self, queue: str) -> float:
        return self._queue_wrapup_s.get(queue, self._default_wrapup_s)

    def _state(self, key: Key, m: Member) -> OperatorState:
        if m.status in LOGGED_OUT_STATUS:
            return S.LOGGED_OUT
        if m.paused:
            return S.PAUSED
        if m.in_call:
            return S.ON_CALL
        if self._wrap_until.get(key, float("-inf")) > self._now:
            return S.WRAP_UP
        if m.status in BUSY_STATUS and not (key in self._ringing and m.status in RING_STATUS):
            return S.ON_CALL
        return S.AVAILABLE

    def _settle(self, key: Key, member: Member) -> list[OperatorChange]:
        old = self._members.get(key)
        member = replace(member, state=self._state(key, member))
        self._members[key] = member
        if old is not None and old.state is member.state:
            return []
        before = old.state if old else None
        return [OperatorChange(member.queue, member.interface, member.name, before, member.state)]

    def _remove(self, key: Key) -> list[OperatorChange]:
        self._wrap_until.pop(key, None)
        self._ringing.discard(key)
        old = self._members.pop(key, None)
        if old is None or old.state is S.LOGGED_OUT:
            return []
        return [OperatorChange(old.queue, old.interface, old.name, old.state, S.LOGGED_OUT)]
