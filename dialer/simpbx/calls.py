"""One originated call, from Originate to the last Hangup, driven by loop timers.

Channel `a` is the originated channel (Uniqueid X, the one the dialer tracks); `b` is the
Local `;2` half (X;2) that runs the callee persona. A trunk call (PJSIP/, SIP/ ...) has
only `a`, and the persona acts on it directly. Event orders follow the trace files; where
reality races (OriginateResponse against the Hangups) the order is drawn from the seeded
random generator so the dialer meets every order in tests.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from . import events as ev
from .agi import AgiSwitch
from .astdb import journal, run_hangup_handler
from .channels import BUSY, DOWN, RING, RINGING, UP, Channel, ChannelNamer
from .config import CallRecord, OriginateRequest
from .dialplan import AnsweredDialplan, Phase
from .personas import REJECTIONS, Rejection, answers, dial_reason
from .ports import Step

SyncReply = Callable[[bool], None]
__all__ = ["Call", "CallHost", "Phase", "QueueJoin", "QueueSeat", "Step", "SyncReply"]


class QueueJoin(Protocol):
    """A queue (queues.SimQueue) as a call enters it."""

    def join(self, call: Call, timeout_s: float) -> None: ...


class QueueSeat(Protocol):
    """The call's place in a queue (queues.QueueEntry), as the call and the switch use it."""

    def member_legs(self) -> tuple[Channel, ...]: ...

    def cancel_timers(self) -> None: ...

    def caller_left(self) -> None: ...

    def caller_hangup_in_talk(self, cause: int) -> None: ...

    def member_leg_hungup(self, cause: int) -> None: ...


class CallHost(AgiSwitch, Protocol):
    """The switch (core.PbxCore) as a call uses it."""

    @property
    def namer(self) -> ChannelNamer: ...

    @property
    def rng(self) -> random.Random: ...

    def add_channel(self, ch: Channel, owner: Call) -> None: ...

    def remove_channel(self, ch: Channel) -> None: ...

    def call_ended(self, call: Call) -> None: ...

    def queue(self, name: str) -> QueueJoin: ...


class Call:
    def __init__(
        self,
        core: CallHost,
        request: OriginateRequest,
        persona: str,
        record: CallRecord,
        sync_reply: SyncReply | None,
        over_limit: bool,
    ) -> None:
        self.core = core
        self.request = request
        self.persona = persona
        self.record = record
        self.over_limit = over_limit
        self.phase = Phase.DIALING
        self.queue_entry: QueueSeat | None = None
        # The channel variables of `;1`: the Originate's, then what AMD and the IVR set.
        self.variables: dict[str, str] = dict(request.variables)
        self.dialplan = AnsweredDialplan(self)
        self._sync_reply = sync_reply
        self._timers: list[asyncio.TimerHandle] = []
        self.a, self.b = self._make_channels()

    # ---- plumbing -------------------------------------------------------------------

    def after(
        self, delay: float, callback: Callable[..., None], *args: object
    ) -> asyncio.TimerHandle:
        handle = self.core.loop.call_later(max(delay, 0.0), callback, *args)
        self._timers.append(handle)
        return handle

    def cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    def emit(self, name: str, builder: Callable[..., ev.Fields], *args: object) -> Step:
        return lambda: self.core.emit(name, builder, *args)

    def hangup_step(self, ch: Channel, cause: int) -> Step:
        def step() -> None:
            self.core.emit("Hangup", ev.hangup, ch, cause)
            self.core.remove_channel(ch)
            if ch is self.a:
                self.record.cause = cause
                run_hangup_handler(self.core.astdb, self, cause)
            elif ch is self.b:
                self.record.other_cause = cause

        return step

    def soft_hangup(self, ch: Channel) -> Step:
        return self.emit("SoftHangupRequest", ev.hangup_request, ch, ev.SOFTHANGUP_EXPLICIT)

    def hangup_request(self, ch: Channel, cause: int) -> Step:
        return self.emit("HangupRequest", ev.hangup_request, ch, cause)

    @staticmethod
    def run(steps: Sequence[Step | None]) -> None:
        for step in steps:
            if step is not None:
                step()

    def _make_channels(self) -> tuple[Channel, Channel | None]:
        req, namer = self.request, self.core.namer
        target = req.target
        uid = req.channel_id or namer.next_uniqueid()
        if target.is_local:
            context = target.host or "default"
            name = namer.next_name(f"Local/{target.number}@{context}")
            a = Channel(f"{name};1", uid, uid, DOWN, context, target.number)
            b_uid = req.other_channel_id or (
                f"{uid};2" if req.channel_id else namer.next_uniqueid()
            )
            b = Channel(f"{name};2", b_uid, uid, RING, context, target.number)
            return a, b
        peer = target.host or target.number
        a = Channel(namer.next_name(f"{target.tech}/{peer}"), uid, uid, DOWN, "default", "s")
        return a, None

    # ---- start and the callee's answer or refusal -----------------------------------

    def start(self) -> None:
        a, b, req = self.a, self.b, self.request
        channels = [a] if b is None else [a, b]
        for ch in channels:
            self.core.add_channel(ch, self)
            self.core.emit("Newchannel", ev.channel, ch)
        for ch in channels:  # the Originate's CallerID is applied after both exist
            ch.set_caller(req.cid_num, req.cid_name)
            self.core.emit("NewCallerid", ev.new_callerid, ch)
            ch.set_connected(req.cid_num, req.cid_name)
            self.core.emit("NewConnectedLine", ev.channel, ch)
        if self.persona == "failed":  # no route: like Originate to a missing extension
            self._finish_failure(
                [self.hangup_step(b, 0) if b else None, self.hangup_step(a, 0)], 0, "failed"
            )
            return
        if b is not None:
            self.core.emit("LocalBridge", ev.local_bridge, a, b, True)
        resource = f"{req.target.number}@{b.context}" if b is not None else req.target.resource
        self.core.emit("DialBegin", ev.dial, None, a, "DialString", resource)
        if self.over_limit:  # an overloaded trunk refuses at once
            self._reject(REJECTIONS["congestion"])
            return
        a.state = RINGING
        self.core.emit("Newstate", ev.channel, a)
        self.core.emit("DialState", ev.dial, None, a, "DialStatus", "RINGING")
        self._schedule_callee()

    def _schedule_callee(self) -> None:
        timing, timeout = self.core.timing, self.request.timeout_s
        if self.persona == "no_answer":
            give_up = timing.no_answer_after
            self.after(timeout if give_up is None else min(give_up, timeout), self._no_answer)
        elif timing.ring >= timeout:
            self.after(timeout, self._no_answer)
        elif answers(self.persona):
            self.after(timing.ring, self._answer)
        else:
            self.after(timing.ring, self._reject, REJECTIONS[self.persona])

    def _originate_result(self, success: bool, reason: int) -> Step:
        def step() -> None:
            self.record.reason = None if self._sync_reply else reason
            if self._sync_reply is not None:
                self._sync_reply(success)
                return
            req = self.request
            self.core.emit(
                "OriginateResponse",
                ev.originate_response,
                req.action_id,
                "Success" if success else "Failure",
                self.a.name if success else req.target.dial_string,
                req.context,
                req.exten,
                reason,
                self.a.uniqueid,
                req.cid_num or "<unknown>",
                req.cid_name or "<unknown>",
            )

        return step

    def _finish_failure(self, steps: list[Step | None], reason: int, result: str) -> None:
        live = [step for step in steps if step is not None]
        live.insert(self.core.rng.randint(0, len(live)), self._originate_result(False, reason))
        self.record.result = result
        self.run(live)
        self.done()

    def _reject(self, rejection: Rejection) -> None:
        a, b = self.a, self.b
        status = ("DialEnd", ev.dial, None, a, "DialStatus", rejection.dial_status)
        if b is None:
            steps: list[Step | None] = [
                self.emit(*status),
                self.hangup_step(a, rejection.trunk_cause),
            ]
            self._finish_failure(steps, rejection.trunk_reason, rejection.result)
            return
        cause_a, cause_b = rejection.local_causes
        if self.persona in ("busy", "congestion"):  # [dialer-test-callees] journals it
            journal(self.core.astdb, self, "far_cause", cause_b)
        if rejection.indication:
            b.state = BUSY
            steps = [
                self.emit("Newstate", ev.channel, b),
                self.emit(*status),
                self.hangup_request(b, 0),
                self.soft_hangup(b),
                self.hangup_step(b, cause_b),
                self.hangup_step(a, cause_a),
            ]
        else:
            steps = [
                self.soft_hangup(b),
                self.hangup_request(a, cause_a),
                self.hangup_step(b, cause_b),
                self.emit(*status),
                self.hangup_step(a, cause_a),
            ]
        self._finish_failure(steps, rejection.local_reason, rejection.result)

    def _no_answer(self) -> None:
        a, b = self.a, self.b
        if b is None:
            self._finish_failure([self.hangup_step(a, 19)], 3, "no_answer")
            return
        steps: list[Step | None] = [
            self.hangup_request(b, 19),
            self.soft_hangup(b),
            self.hangup_step(a, 19),
            self.hangup_step(b, 19),
        ]
        self._finish_failure(steps, 3, "no_answer")

    def _answer(self) -> None:
        a, b, req = self.a, self.b, self.request
        a.state = UP
        steps: list[Step] = [self.emit("Newstate", ev.channel, a)]
        if b is not None:
            b.state = UP
            steps.insert(0, self.emit("Newstate", ev.channel, b))
        steps.append(self.emit("DialEnd", ev.dial, None, a, "DialStatus", "ANSWER"))
        # Mostly after DialEnd; sometimes before `;1` goes Up (2 of 10 in the traces).
        late = self.core.rng.random() < 0.8
        steps.insert(len(steps) if late else len(steps) - 2, self._originate_result(True, 4))
        self.run(steps)
        self.record.answered = time.time()
        journal(self.core.astdb, self, "answered", int(self.record.answered))
        a.goto(req.context, req.exten, req.priority)
        if b is not None:
            b.run("Wait", "60")
        if self.persona == "early_hangup":
            self.after(self.core.timing.early_hangup_after, self.callee_hangup, 16)
        self.dialplan.start()  # [dialer-answered]: AMD, IVR or message, queue

    def join_queue(self, name: str, timeout_s: float) -> None:
        """Queue() in the dialplan: the call waits in the switch's queue of that name."""
        self.core.queue(name).join(self, timeout_s)

    # ---- hanging up ------------------------------------------------------------------

    def _a_side_steps(self, cause: int) -> list[Step | None]:
        a, b = self.a, self.b
        return [
            self.soft_hangup(a),
            self.hangup_request(b, cause) if b else None,
            self.hangup_step(a, cause),
            self.soft_hangup(b) if b else None,
            self.hangup_step(b, cause) if b else None,
        ]

    def hangup_a_side(self, cause: int) -> None:
        """The dialplan (or the dialer's Hangup action) hangs up X; the `;2` half follows."""
        self.run(self._a_side_steps(cause))

    def callee_hangup(self, cause: int = 16) -> None:
        """The person hangs up (or the dialer hangs up X;2): the far side ends first."""
        a, b = self.a, self.b
        if self.phase is Phase.DONE:
            return
        if self.phase is Phase.TALKING and self.queue_entry is not None:
            self.queue_entry.caller_hangup_in_talk(cause)
            return
        agi = self.dialplan.agi
        if self.phase is Phase.AGI and agi is not None:
            if not agi.gone.is_set():  # `;2` goes now; `;1` once the AGI socket closes
                self.run([self.soft_hangup(b) if b else None, self.hangup_request(a, cause)])
                self.run([self.hangup_step(b, cause) if b else None])
                agi.channel_gone("caller", cause)
            return
        head: list[Step | None] = [
            self.soft_hangup(b) if b else None,
            self.hangup_request(a, cause),
        ]
        if self.phase is Phase.QUEUED and self.queue_entry is not None:
            self.run([*head, self.hangup_step(b, cause) if b else None])
            self.queue_entry.caller_left()
            self.record.result = "abandoned"
            self.run([self.soft_hangup(a), self.hangup_step(a, cause)])
        else:
            self.record.result = self.record.result or "answered"
            self.run(
                [
                    *head,
                    self.soft_hangup(a),
                    self.hangup_step(a, cause),
                    self.hangup_step(b, cause) if b else None,
                ]
            )
        self.done()

    def hangup_by_action(self, ch: Channel, cause: int) -> None:
        """The Hangup action on one of this call's channels."""
        if self.phase is Phase.DONE:
            return
        entry = self.queue_entry
        if entry is not None and ch in entry.member_legs():
            entry.member_leg_hungup(cause)
            return
        if ch is self.b:
            if self.phase is Phase.DIALING:
                self._cancel_dial(cause)
            else:
                self.callee_hangup(cause)
            return
        agi = self.dialplan.agi
        if self.phase is Phase.DIALING:
            self._cancel_dial(cause)
        elif self.phase is Phase.AGI and agi is not None:
            agi.channel_gone("action", cause)  # the Hangup events wait for the socket
        elif self.phase is Phase.TALKING and entry is not None:
            entry.caller_hangup_in_talk(cause)
        else:
            if self.phase is Phase.QUEUED and entry is not None:
                entry.caller_left()
                self.record.result = "abandoned"
            else:
                self.record.result = self.record.result or "answered"
            self.hangup_a_side(cause)
            self.done()

    def _cancel_dial(self, cause: int) -> None:
        """Hangup action before the answer: the dial ends, Reason from the cause."""
        self._finish_failure(self._a_side_steps(cause), dial_reason(cause), "no_answer")

    def done(self) -> None:
        if self.phase is Phase.DONE:
            return
        self.phase = Phase.DONE
        self.cancel_timers()
        if self.dialplan.agi is not None:
            self.dialplan.agi.close()
        self.record.ended = time.time()
        self.core.call_ended(self)
