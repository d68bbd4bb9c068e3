"""The simulated switch: live channels and calls, queues, counters, event fan-out.

It knows nothing about sockets; the server hands it an EventSink and parsed requests.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Protocol

from . import events as ev
from .astdb import FORGET_CONTEXT, AstDb, forget_journals
from .calls import Call, SyncReply
from .channels import Channel, ChannelNamer
from .config import CallRecord, OriginateRecord, OriginateRequest, SimConfig
from .personas import persona_for
from .queues import SimQueue

log = logging.getLogger("dialer.simpbx")


class EventSink(Protocol):
    def wants(self, event_class: str) -> bool: ...

    def publish(self, event_class: str, data: bytes) -> None: ...


class PbxCore:
    def __init__(
        self,
        config: SimConfig,
        sink: EventSink,
        loop: asyncio.AbstractEventLoop,
        astdb: AstDb | None = None,
        started: float | None = None,
    ) -> None:
        self.config = config
        self.timing = config.timing
        self.sink = sink
        self.loop = loop
        self.rng = random.Random(config.seed)
        # Talk times have their own stream, so the other draws do not shift them.
        seeded = config.seed is not None
        self.talk_rng = random.Random(f"talk:{config.seed}") if seeded else random.Random()
        self.namer = ChannelNamer()
        self.started = time.time() if started is None else started
        self.astdb = AstDb() if astdb is None else astdb  # outlives a restart, like a real one
        self.processed = 0  # CoreProcessedCalls
        self.stopped = False
        self.channels: dict[str, Channel] = {}  # live, by name, in creation order
        self._owners: dict[str, Call] = {}
        self._uniqueids: set[str] = set()
        self._live: set[Call] = set()
        self.queues: dict[str, SimQueue] = {}
        self.agi_tasks: set[asyncio.Task[None]] = set()  # FastAGI sessions in progress
        self.originates: list[OriginateRecord] = []
        self.calls: dict[str, CallRecord] = {}
        self.up = 0
        self.max_concurrent = 0
        for name in config.queues:
            self.queue(name)

    def emit(self, name: str, builder: Callable[..., ev.Fields], *args: object) -> None:
        event_class = ev.EVENT_CLASS[name]
        if self.sink.wants(event_class):  # build nothing nobody reads
            self.sink.publish(event_class, ev.frame(name, builder(*args)))

    def add_channel(self, ch: Channel, owner: Call) -> None:
        self.channels[ch.name] = ch
        self._owners[ch.name] = owner
        self._uniqueids.add(ch.uniqueid)

    def remove_channel(self, ch: Channel) -> None:
        self.channels.pop(ch.name, None)
        self._owners.pop(ch.name, None)
        self._uniqueids.discard(ch.uniqueid)

    def queue(self, name: str) -> SimQueue:
        """The queue Queue() joins; created on first use, even past SimConfig.queues."""
        if name not in self.queues:
            self.queues[name] = SimQueue(self, name)
        return self.queues[name]

    def find_queue(self, name: str) -> SimQueue | None:
        """The queue an action or the Python API names: None if SimConfig.queues lists
        the queues and not this one; any name exists when it lists none."""
        for queue in self.queues.values():  # app_queue compares names case-insensitively
            if queue.name.lower() == name.lower():
                return queue
        return None if self.config.queues else self.queue(name)

    def originate(self, request: OriginateRequest, sync_reply: SyncReply | None) -> None:
        target = request.target
        if target.is_local and target.host == FORGET_CONTEXT:
            # Housekeeping, not a call to anyone: the ;2 half deletes and hangs up unanswered.
            forget_journals(self.astdb, request.variables.get("DIALER_FORGET", ""))
            self._refuse(request, None, sync_reply)
            return
        persona = persona_for(target.number, self.config.personas)
        self.originates.append(
            OriginateRecord(
                action_id=request.action_id,
                channel_id=request.channel_id,
                number=target.number,
                dial_string=target.dial_string,
                persona=persona,
                time=time.time(),
                context=request.context,
                exten=request.exten,
                timeout_ms=int(request.timeout_s * 1000),
                caller_id=request.caller_id,
                variables=dict(request.variables),
                is_async=request.is_async,
            )
        )
        self.processed += 1
        record = CallRecord(
            channel_id=request.channel_id,
            number=target.number,
            persona=persona,
            dial_string=target.dial_string,
            started=time.time(),
        )
        if not target.is_known or request.channel_id in self._uniqueids:
            # No channel can be created (unknown technology, or a ChannelId in use):
            # Asterisk answers at once with Reason 0 and `Uniqueid: <unknown>`.
            self._refuse(request, record, sync_reply)
            return
        over_limit = self.up >= self.config.channel_limit
        call = Call(self, request, persona, record, sync_reply, over_limit)
        record.channel_id, record.over_limit = call.a.uniqueid, over_limit
        self.calls[record.channel_id] = record
        self._live.add(call)
        if not over_limit:
            self.up += 1
            self.max_concurrent = max(self.max_concurrent, self.up)
        call.start()

    def _refuse(
        self,
        request: OriginateRequest,
        record: CallRecord | None,
        sync_reply: SyncReply | None,
        reason: int = 0,
    ) -> None:
        if record is not None:
            record.result, record.ended = "failed", time.time()
            if request.channel_id and request.channel_id not in self.calls:
                self.calls[request.channel_id] = record
        if sync_reply is not None:
            sync_reply(False)
            return
        if record is not None:
            record.reason = reason
        self.emit(
            "OriginateResponse",
            ev.originate_response,
            request.action_id,
            "Failure",
            request.target.dial_string,
            request.context,
            request.exten,
            reason,
            "<unknown>",
            request.cid_num or "<unknown>",
            request.cid_name or "<unknown>",
        )

    def call_ended(self, call: Call) -> None:
        if call in self._live:
            self._live.discard(call)
            if not call.over_limit:
                self.up -= 1

    def hangup_channel(self, name: str, cause: int) -> bool:
        owner = self._owners.get(name)
        ch = self.channels.get(name)
        if owner is None or ch is None:
            return False
        owner.hangup_by_action(ch, cause)
        return True

    def shutdown(self) -> None:
        """Stop every timer; calls still up keep result None (they had no outcome yet)."""
        self.stopped = True
        for call in list(self._live):
            call.cancel_timers()
            if call.queue_entry is not None:
                call.queue_entry.cancel_timers()
            if call.dialplan.agi is not None:
                call.dialplan.agi.close()
        self._live.clear()
        for queue in self.queues.values():
            queue.roster.shutdown()
        self.channels.clear()
        self._owners.clear()
        self._uniqueids.clear()
        self.up = 0
        log.debug("simulated PBX core stopped")
