"""Queue() with simulated operators: join, ring a free member, connect, talk, leave.

Each queue starts with `SimConfig.operators` static members `Local/opN@<operator_context>/n`;
more log in and out through QueueAdd/QueueRemove or SimulatedPbx.login()/logout() (see
members.py). A member is rung only when free: not ringing or talking (ringinuse=no), not
paused, not in wrap-up. Callers join even with no member (joinempty=yes) and are served
first come, first served, each by one member (lowest penalty, then idle the longest); a
member that frees up takes the first waiting caller at once. Talk times are drawn per
conversation (SimTiming.talk / talk_spread), wrap-up follows each one. Event
orders follow queue-agent-connect, queue-abandon and queue-timeout in the traces.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from . import events as ev
from .astdb import journal
from .calls import Call, Phase
from .channels import DOWN, RING, RINGING, UP, Channel, ChannelNamer
from .members import Member, Roster
from .ports import Step, Switch

SERVICE_LEVEL = 0  # queues.conf servicelevel (unset)


class QueueHost(Switch, Protocol):
    """The switch (core.PbxCore) as a queue uses it: it names and keeps the member legs."""

    @property
    def namer(self) -> ChannelNamer: ...

    @property
    def talk_rng(self) -> random.Random: ...

    @property
    def stopped(self) -> bool: ...

    def add_channel(self, ch: Channel, owner: Call) -> None: ...


@dataclass(slots=True)
class QueueStats:
    """app_queue's running figures: hold and talk times are its exponential averages."""

    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0

    def connected(self, hold: int) -> None:  # recalc_holdtime()
        first = self.completed + self.abandoned == 0
        self.holdtime = hold if first else (3 * self.holdtime + hold) >> 2

    def complete(self, hold: int, talk: int) -> None:  # update_queue()
        self.completed += 1
        self.completed_in_sl += hold <= SERVICE_LEVEL
        first = self.completed == 1
        self.talktime = talk if first else (3 * self.talktime + talk) >> 2

    def abandon(self, hold: int) -> None:
        self.abandoned += 1
        self.abandoned_in_sl += hold <= SERVICE_LEVEL

    def service_levels(self) -> tuple[float, float]:
        done = self.completed + self.abandoned
        sl = 100 * self.completed_in_sl / self.completed if self.completed else 0.0
        both = self.completed_in_sl + self.abandoned_in_sl
        return sl, (100 * both / done if done else 0.0)


@dataclass(slots=True)
class QueueEntry:
    queue: SimQueue
    call: Call
    joined: float
    original_position: int
    operator: Member | None = None
    legs: tuple[Channel, Channel] | None = None
    ring_started: float = 0.0
    connected: float = 0.0
    hold: int = 0  # whole seconds waited before the member answered
    bridge_id: str = ""
    timers: list[asyncio.TimerHandle] = field(default_factory=list)  # timeout, patience, talk
    ring_timer: asyncio.TimerHandle | None = None  # the ringing member answers

    def member_legs(self) -> tuple[Channel, ...]:
        return self.legs or ()

    def cancel_timers(self) -> None:
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()
        self.cancel_ring()

    def cancel_ring(self) -> None:
        if self.ring_timer is not None:
            self.ring_timer.cancel()
            self.ring_timer = None

    # What the call tells its queue (calls.QueueSeat).

    def caller_left(self) -> None:
        self.queue.caller_left(self)

    def caller_hangup_in_talk(self, cause: int) -> None:
        self.queue.caller_hangup_in_talk(self, cause)

    def member_leg_hungup(self, cause: int) -> None:
        self.queue.member_leg_hungup(self, cause)


class SimQueue:
    def __init__(self, core: QueueHost, name: str) -> None:
        self.core = core
        self.name = name
        self.roster = Roster(core, name, self._dispatch_soon)
        for n in range(1, core.config.operators + 1):
            interface = self.roster.operator_interface(n)
            self.roster.add(interface, f"Operator {n}", dynamic=False, announce=False)
        self.waiting: list[QueueEntry] = []
        self.stats = QueueStats()

    # ---- joining and ringing ---------------------------------------------------------

    def join(self, call: Call, timeout_s: float) -> None:
        a = call.a
        call.phase = Phase.QUEUED
        a.run("Queue", f"{self.name},,,,{int(timeout_s) if timeout_s > 0 else ''}")
        entry = QueueEntry(self, call, time.monotonic(), len(self.waiting) + 1)
        call.queue_entry = entry
        self.waiting.append(entry)
        count = len(self.waiting)
        self.core.emit(
            "QueueCallerJoin", ev.queue_caller, a, self.name, ("Position", count), ("Count", count)
        )
        self.core.emit("MusicOnHoldStart", ev.moh_start, a)
        if timeout_s > 0:
            entry.timers.append(call.after(timeout_s, self._timeout, entry))
        timing = self.core.timing
        patience = (
            timing.abandon_patience if call.persona == "queue_abandon" else timing.queue_patience
        )
        entry.timers.append(call.after(patience, call.callee_hangup, 16))
        self.dispatch()

    def dispatch(self) -> None:
        for entry in list(self.waiting):
            if entry.operator is not None:
                continue
            member = self.roster.pick()
            if member is None:
                return
            self._ring(entry, member)

    def _dispatch_soon(self) -> None:
        # Later, so a ring does not cut into the events of whatever freed the member.
        self.core.loop.call_soon(self._dispatch_if_running)

    def _talk_time(self) -> float:
        """`talk`, or a lognormal draw with mean `talk` and coefficient of variation
        `talk_spread` from the seeded generator."""
        mean, spread = self.core.timing.talk, self.core.timing.talk_spread
        if spread <= 0 or mean <= 0:
            return mean
        sigma2 = math.log1p(spread * spread)
        mu = math.log(mean) - sigma2 / 2
        return self.core.talk_rng.lognormvariate(mu, math.sqrt(sigma2))

    def _agent_event(self, name: str, entry: QueueEntry, *extra: tuple[str, object]) -> None:
        assert entry.operator is not None and entry.legs is not None
        op = entry.operator
        self.core.emit(
            name, ev.agent, entry.call.a, entry.legs[0], self.name, op.interface, op.name, *extra
        )

    def _ring(self, entry: QueueEntry, op: Member) -> None:
        core, a = self.core, entry.call.a
        op.entry, entry.operator = entry, op
        assert op.target is not None  # only Local members are ever free
        exten, context = op.target
        name = core.namer.next_name(f"Local/{exten}@{context}")
        one = Channel(f"{name};1", core.namer.next_uniqueid(), a.linkedid, DOWN, context, exten)
        two = Channel(f"{name};2", core.namer.next_uniqueid(), a.linkedid, RING, context, exten)
        entry.legs, entry.ring_started = (one, two), time.monotonic()
        for leg in (one, two):
            core.add_channel(leg, entry.call)
            core.emit("Newchannel", ev.channel, leg)
        for leg in (one, two):
            leg.set_caller(a.cid_num, a.cid_name)
            core.emit("NewCallerid", ev.new_callerid, leg)
        two.set_connected(a.cid_num, a.cid_name)
        core.emit("NewConnectedLine", ev.channel, two)
        core.emit("LocalBridge", ev.local_bridge, one, two, False)
        self._agent_event("AgentCalled", entry)
        core.emit("DialBegin", ev.dial, a, one, "DialString", op.interface)
        one.state = RINGING
        core.emit("Newstate", ev.channel, one)
        one.set_connected(a.cid_num, a.cid_name)
        core.emit("NewConnectedLine", ev.channel, one)
        core.emit("DialState", ev.dial, a, one, "DialStatus", "RINGING")
        self.roster.status_changed(op)
        entry.ring_timer = entry.call.after(core.timing.operator_answer_delay, self._connect, entry)

    def _connect(self, entry: QueueEntry) -> None:
        assert entry.operator is not None and entry.legs is not None
        core, call, (one, two) = self.core, entry.call, entry.legs
        a, now = call.a, time.monotonic()
        entry.cancel_timers()  # queue timeout, patience, this ring
        one.state = UP
        core.emit("Newstate", ev.channel, one)
        core.emit("DialEnd", ev.dial, a, one, "DialStatus", "ANSWER")
        core.emit("MusicOnHoldStop", ev.channel, a)
        self._remove(entry)
        entry.hold, ring = int(now - entry.joined), int(now - entry.ring_started)
        self.stats.connected(entry.hold)
        self._agent_event("AgentConnect", entry, ("HoldTime", entry.hold), ("RingTime", ring))
        entry.bridge_id = str(uuid.uuid4())
        core.emit("BridgeCreate", ev.bridge, entry.bridge_id, 0)
        two.state = UP
        core.emit("Newstate", ev.channel, two)
        self.roster.status_changed(entry.operator)
        for count, ch in enumerate((one, a), start=1):
            ch.bridge_id = entry.bridge_id
            core.emit("BridgeEnter", ev.bridge, entry.bridge_id, count, ch)
        entry.connected = now
        call.phase = Phase.TALKING
        talk = self._talk_time()
        call.record.result, call.record.talk_time = "transferred", talk
        call.record.operator = entry.operator.interface
        journal(core.astdb, call, "operator", one.name)  # [dialer-journal-operator]
        if call.persona == "queue_taken":  # the operator ends the conversation
            entry.timers.append(call.after(talk, self.agent_hangup, entry, 16))
        else:
            entry.timers.append(call.after(talk, call.callee_hangup, 16))

    def _remove(self, entry: QueueEntry) -> None:
        position = self.waiting.index(entry) + 1
        self.waiting.remove(entry)
        self._leave_event(entry, position)

    def _leave_event(self, entry: QueueEntry, position: int) -> None:
        count = ("Count", len(self.waiting))
        self.core.emit(
            "QueueCallerLeave",
            ev.queue_caller,
            entry.call.a,
            self.name,
            ("Position", position),
            count,
        )

    def _release(self, entry: QueueEntry) -> None:
        op = entry.operator
        if op is None:
            return
        entry.operator = None
        self.roster.call_over(op, talked=entry.bridge_id != "")

    def _dispatch_if_running(self) -> None:
        if not self.core.stopped:
            self.dispatch()

    # ---- leaving without an operator -------------------------------------------------

    def _stop_ringing(self, entry: QueueEntry, *statuses: str) -> list[Step]:
        """DialEnd(s) to the ringing member, then its `;2` hangup request and `;1` hangup."""
        call, one, two = entry.call, *entry.member_legs()
        steps: list[Step] = [
            call.emit("DialEnd", ev.dial, call.a, one, "DialStatus", s) for s in statuses
        ]
        return [*steps, call.hangup_request(two, 0), call.hangup_step(one, 0)]

    def caller_left(self, entry: QueueEntry) -> None:
        """The caller hung up (or was hung up) while waiting: QueueCallerAbandon."""
        call, a = entry.call, entry.call.a
        entry.cancel_timers()
        call.run([call.emit("MusicOnHoldStop", ev.channel, a)])
        ringing = entry.legs is not None and entry.operator is not None
        if ringing:
            call.run(self._stop_ringing(entry, "CANCEL", "CANCEL"))
        self._abandon_event(entry)
        if ringing:
            two = entry.member_legs()[1]
            call.run([call.soft_hangup(two), call.hangup_step(two, 0)])
        self._remove(entry)
        self.stats.abandon(int(time.monotonic() - entry.joined))
        self._release(entry)

    def _abandon_event(self, entry: QueueEntry) -> None:
        position = ("Position", self.waiting.index(entry) + 1)
        original = ("OriginalPosition", entry.original_position)
        hold = ("HoldTime", int(time.monotonic() - entry.joined))
        self.core.emit(
            "QueueCallerAbandon", ev.queue_caller, entry.call.a, self.name, position, original, hold
        )

    def _timeout(self, entry: QueueEntry) -> None:
        """Queue() returns TIMEOUT; it still emits QueueCallerAbandon, as the real one does."""
        call, a = entry.call, entry.call.a
        entry.cancel_timers()
        ringing = entry.legs is not None and entry.operator is not None
        if ringing:
            ring_ms = int((time.monotonic() - entry.ring_started) * 1000)
            self._agent_event("AgentRingNoAnswer", entry, ("RingTime", ring_ms))
            call.run(self._stop_ringing(entry, "NOANSWER", "CANCEL"))
        self._abandon_event(entry)
        call.run([call.emit("MusicOnHoldStop", ev.channel, a)])
        self._remove(entry)
        self.stats.abandon(int(time.monotonic() - entry.joined))
        call.record.result, call.record.queue_status = "abandoned", "TIMEOUT"
        attempt = call.request.variables.get("DIALER_ATTEMPT", "")
        a.run("UserEvent", "DialerQueueResult")
        self.core.emit(
            "UserEvent",
            ev.user_event,
            a,
            "DialerQueueResult",
            ("QueueStatus", "TIMEOUT"),
            ("Attempt", attempt),
        )
        if ringing:
            two = entry.member_legs()[1]
            call.run([call.soft_hangup(two), call.hangup_step(two, 0)])
        self._release(entry)
        call.dialplan.queue_returned("TIMEOUT")

    def member_leg_hungup(self, entry: QueueEntry, cause: int) -> None:
        """The dialer's Hangup action on an operator leg."""
        call = entry.call
        if call.phase is Phase.TALKING:
            self.agent_hangup(entry, cause)
            return
        one, two = entry.member_legs()
        entry.cancel_ring()
        call.run([call.emit("DialEnd", ev.dial, call.a, one, "DialStatus", "NOANSWER")])
        call.run([call.hangup_step(one, cause), call.hangup_step(two, cause)])
        entry.legs = None
        self._release(entry)

    # ---- the end of a conversation ---------------------------------------------------

    def caller_hangup_in_talk(self, entry: QueueEntry, cause: int) -> None:
        """AgentComplete Reason caller (queue-agent-connect)."""
        call, a, b = entry.call, entry.call.a, entry.call.b
        one, two = entry.member_legs()
        entry.cancel_timers()
        bridge = entry.bridge_id
        call.run(
            [
                call.soft_hangup(b) if b else None,
                call.hangup_request(a, cause),
                call.emit("BridgeLeave", ev.bridge, bridge, 1, a),
                call.soft_hangup(a),
                call.emit("BridgeLeave", ev.bridge, bridge, 0, one),
                call.hangup_request(two, 16),
                call.hangup_step(one, 16),
                call.hangup_step(b, cause) if b else None,
                call.soft_hangup(two),
                call.hangup_step(two, 16),
                call.emit("BridgeDestroy", ev.bridge, bridge, 0),
            ]
        )
        self._complete(entry, "caller")
        call.run([call.hangup_step(a, cause)])
        self._release(entry)
        call.done()

    def agent_hangup(self, entry: QueueEntry, cause: int) -> None:
        """AgentComplete Reason agent. Queue() has no `c` option, so the caller is hung up."""
        call, a = entry.call, entry.call.a
        one, two = entry.member_legs()
        entry.cancel_timers()
        bridge = entry.bridge_id
        call.run(
            [
                call.soft_hangup(two),
                call.hangup_request(one, cause),
                call.hangup_step(two, cause),
                call.emit("BridgeLeave", ev.bridge, bridge, 1, one),
            ]
        )
        self._complete(entry, "agent")
        call.run(
            [
                call.emit("BridgeLeave", ev.bridge, bridge, 0, a),
                call.hangup_step(one, cause),
                call.emit("BridgeDestroy", ev.bridge, bridge, 0),
            ]
        )
        self._release(entry)
        call.hangup_a_side(16)
        call.done()

    def _complete(self, entry: QueueEntry, reason: str) -> None:
        assert entry.operator is not None
        talk = int(time.monotonic() - entry.connected)
        op = entry.operator
        op.calls_taken += 1
        op.last_call = int(time.time())
        self.stats.complete(entry.hold, talk)
        fields = (("HoldTime", entry.hold), ("TalkTime", talk), ("Reason", reason))
        self._agent_event("AgentComplete", entry, *fields)
