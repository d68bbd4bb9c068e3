"""The engine's view of the PBX: originate a call, be told once how it ended.

The only module the engine imports from dialer.pbx. Nothing here knows about contacts or
retry rules; nothing in the engine knows about AMI text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from panoramisk.message import Message

from dialer.outcomes import Outcome
from dialer.pbx.ami_client import (
    AmiActionTimeout,
    AmiClient,
    AmiConnectionSettings,
    AmiDisconnected,
    AmiError,
)
from dialer.pbx.call_tracker import TRACKED_EVENTS, CallTracker

log = logging.getLogger("dialer.pbx")

Clock = Callable[[], datetime]
_DIALABLE_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_SAFE_VARIABLE_VALUE = re.compile(r"^[^\r\n,]*$")
CHANNEL_STATE_UP = "6"


def utc_now() -> datetime:
    return datetime.now(UTC)


class UnsafeDialString(ValueError):
    """The number would put something other than digits (and a leading +) on the dial string."""


def build_dial_string(template: str, number: str) -> str:
    """`PJSIP/{number}@trunk` + `+79123456789` -> `PJSIP/+79123456789@trunk`.

    Only digits and a leading + ever reach the dial string: `123&PJSIP/999` would dial a
    second destination, `123,1` would pass options to Dial().
    """
    if not _DIALABLE_NUMBER.match(number):
        raise UnsafeDialString(f"refusing to dial {number!r}: digits and a leading + only")
    return template.replace("{number}", number)


@dataclass(frozen=True)
class DialRequest:
    attempt_id: str  # also the ChannelId, so every event of the call carries it as Uniqueid
    number: str
    channel_template: str
    context: str
    exten: str
    priority: int
    ring_timeout: timedelta
    caller_id: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    amd_not_sure_is_machine: bool = False  # how an AMD NOTSURE verdict counts


@dataclass(frozen=True)
class CallEnded:
    attempt_id: str
    outcome: Outcome
    ended_at: datetime
    reason: int | None = None
    cause: int | None = None
    answered_at: datetime | None = None
    detail: str = ""


CallEndedHandler = Callable[[CallEnded], None]


class Progress(StrEnum):
    """Milestones of a call before it ends, for the pacer."""

    ANSWERED = "answered"  # a person (or a machine) picked up
    TRANSFER = "transfer"  # the call joined the operators' queue
    CONNECTED = "connected"  # an operator took it
    ABANDONED = "abandoned"  # it left the queue with no operator


@dataclass(frozen=True)
class CallProgress:
    attempt_id: str
    milestone: Progress
    at: datetime


ProgressHandler = Callable[[CallProgress], None]
QueueEventHandler = Callable[[Message], None]


@dataclass
class _Tracked:
    tracker: CallTracker
    action_id: str
    started_at: datetime
    deadline: datetime  # past it, ask Asterisk whether the channel still exists


class PbxLink:
    """Originates calls over one AMI link and reports each call's end exactly once."""

    def __init__(
        self,
        settings: AmiConnectionSettings,
        on_call_ended: CallEndedHandler,
        clock: Clock = utc_now,
        max_call_duration: timedelta = timedelta(hours=4),
        sweep_interval: float = 5.0,
        on_progress: ProgressHandler | None = None,
        on_queue_event: QueueEventHandler | None = None,
        queue_events: frozenset[str] = frozenset(),
        on_ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._on_call_ended = on_call_ended
        self._on_progress = on_progress
        self._on_queue_event = on_queue_event
        self._queue_events = queue_events
        self._on_ready = on_ready
        self._clock = clock
        self._max_call = max_call_duration
        self._sweep_interval = sweep_interval
        self._calls: dict[str, _Tracked] = {}  # by channel id (= attempt id)
        self._by_action: dict[str, _Tracked] = {}
        self._client = AmiClient(
            settings,
            on_event=self._on_event,
            on_reconnected=self._reconcile,
            on_disconnected=self._on_disconnected,
            wanted_events=TRACKED_EVENTS | queue_events,
        )
        self._sweeper: asyncio.Task[None] | None = None
        self._reconcile_lock = asyncio.Lock()
        # Set while connected and reconciled: originating earlier could race the
        # CoreShowChannels snapshot and close a brand-new call as "unknown".
        self._ready = asyncio.Event()

    # --- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        await self._client.connect()
        if self._on_ready is not None:
            await self._on_ready()
        self._ready.set()
        self._sweeper = asyncio.create_task(self._sweep(), name="pbx-sweeper")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self._client.close()

    @property
    def connected(self) -> bool:
        return self._client.connected

    @property
    def fatal_error(self) -> AmiError | None:
        return self._client.fatal_error

    @property
    def reconnects(self) -> int:
        return self._client.reconnects

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    def in_flight_ids(self) -> list[str]:
        return list(self._calls)

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._client.connected

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    # --- dialling -----------------------------------------------------------------------
    async def originate(self, request: DialRequest) -> None:
        """Send one Originate. Never sent twice: if its fate is unknown (link dropped,
        no reply), the call is reconciled from CoreShowChannels, or closed as unknown."""
        now = self._clock()
        try:
            dial_string = build_dial_string(request.channel_template, request.number)
            variables = ",".join(_variable(k, v) for k, v in request.variables.items())
        except ValueError as exc:
            self._report(request.attempt_id, Outcome.FAILED, now, detail=str(exc))
            return
        action_id = f"orig-{request.attempt_id}"
        tracked = _Tracked(
            CallTracker(request.attempt_id, request.attempt_id, request.amd_not_sure_is_machine),
            action_id,
            now,
            now + request.ring_timeout + timedelta(seconds=30),
        )
        self._calls[request.attempt_id] = tracked
        self._by_action[action_id] = tracked
        headers = [
            ("Action", "Originate"),
            ("ActionID", action_id),
            ("Channel", dial_string),
            ("Context", request.context),
            ("Exten", request.exten),
            ("Priority", str(request.priority)),
            ("Timeout", str(int(request.ring_timeout.total_seconds() * 1000))),
            ("CallerID", request.caller_id),
            ("Variable", variables),
            ("ChannelId", request.attempt_id),
            # Always asynchronous: a synchronous Originate blocks the AMI session for the
            # whole ring time (and crashes panoramisk 1.4's protocol).
            ("Async", "true"),
        ]
        if not request.caller_id:
            headers.remove(("CallerID", ""))
        if not variables:
            headers.remove(("Variable", ""))
        try:
            response = await self._client.send_action(headers)
        except (AmiDisconnected, AmiActionTimeout) as exc:
            # Asterisk may or may not have the call: leave it to reconciliation.
            log.warning(
                "pbx.originate_fate_unknown",
                extra={"attempt": request.attempt_id, "error": str(exc)},
            )
            return
        if response.get("Response") != "Success" and request.attempt_id in self._calls:
            self._forget(tracked)
            self._report(
                request.attempt_id,
                Outcome.FAILED,
                self._clock(),
                detail=f"originate refused: {response.get('Message', '')}".strip(),
            )

    async def adopt(self, attempts: Iterable[tuple[str, datetime]]) -> None:
        """Take over attempts left open by an earlier process (attempt id, started at):
        live channels are followed to their end, the others are closed as unknown."""
        now = self._clock()
        for attempt_id, started_at in attempts:
            tracked = _Tracked(
                CallTracker(attempt_id, attempt_id), f"adopted-{attempt_id}", started_at, now
            )
            self._calls[attempt_id] = tracked
        await self._reconcile()

    # --- events -------------------------------------------------------------------------
    async def queue_status(self, queue: str) -> list[Message]:
        """The items of a QueueStatus list for one queue (members, waiting callers)."""
        return await self._client.send_list_action([("Action", "QueueStatus"), ("Queue", queue)])

    def _on_event(self, event: Message) -> None:
        name = event.get("Event")
        if name in self._queue_events and self._on_queue_event is not None:
            self._on_queue_event(event)
        if name not in TRACKED_EVENTS:
            return
        if name == "OriginateResponse":
            tracked = self._by_action.get(event.get("ActionID", ""))
        else:
            uniqueid = event.get("Uniqueid", "")
            if uniqueid.endswith(";2"):
                uniqueid = uniqueid[:-2]
            tracked = self._calls.get(uniqueid)
        if tracked is None:
            return
        tracker = tracked.tracker
        before = _milestones(tracker)
        now = self._clock()
        tracker.apply(event, now)
        if self._on_progress is not None:
            for milestone in _milestones(tracker) - before:
                self._on_progress(CallProgress(tracker.attempt_id, milestone, now))
        if tracker.answered_at is not None:
            tracked.deadline = tracker.answered_at + self._max_call
        if tracker.finished:
            self._close(tracked)

    def _close(self, tracked: _Tracked, detail: str = "") -> None:
        self._forget(tracked)
        t = tracked.tracker.outcome(self._clock(), detail)
        self._report(
            tracked.tracker.attempt_id,
            t.outcome,
            t.ended_at,
            reason=t.reason,
            cause=t.cause,
            answered_at=t.answered_at,
            detail=t.detail,
        )

    def _forget(self, tracked: _Tracked) -> None:
        self._calls.pop(tracked.tracker.channel_id, None)
        self._by_action.pop(tracked.action_id, None)

    def _report(self, attempt_id: str, outcome: Outcome, ended_at: datetime, **kw: object) -> None:
        ended = CallEnded(attempt_id, outcome, ended_at, **kw)  # type: ignore[arg-type]
        try:
            self._on_call_ended(ended)
        except Exception:
            log.exception("pbx.call_ended_handler_failed", extra={"attempt": attempt_id})

    # --- reconciliation -----------------------------------------------------------------
    def _on_disconnected(self) -> None:
        self._ready.clear()
        log.warning("pbx.link_down", extra={"in_flight": len(self._calls)})

    async def _reconcile(self) -> None:
        """Ask Asterisk which of our channels still exist and settle the others."""
        try:
            await self._reconcile_calls()
            if self._on_ready is not None:
                await self._on_ready()  # e.g. re-read the queues: events were missed
        except AmiError as exc:
            log.warning("pbx.after_reconnect_failed", extra={"error": str(exc)})
        finally:
            if self._client.connected:
                self._ready.set()

    async def _reconcile_calls(self) -> None:
        async with self._reconcile_lock:
            if not self._calls:
                return
            try:
                channels = await self._client.send_list_action([("Action", "CoreShowChannels")])
            except AmiError as exc:
                log.warning("pbx.reconcile_failed", extra={"error": str(exc)})
                return
            live: dict[str, str] = {}
            for channel in channels:
                uniqueid = channel.get("Uniqueid", "")
                state = channel.get("ChannelState", "")
                base = uniqueid[:-2] if uniqueid.endswith(";2") else uniqueid
                if uniqueid == base or base not in live:
                    live[base] = state if uniqueid == base else live.get(base, "")
            now = self._clock()
            for tracked in list(self._calls.values()):
                tracker = tracked.tracker
                if tracker.finished:
                    self._close(tracked)
                elif tracker.channel_id in live:
                    tracker.response_lost()
                    if live[tracker.channel_id] == CHANNEL_STATE_UP and tracker.answered_at is None:
                        tracker.answered_at = now
                    base = tracker.answered_at or now
                    tracked.deadline = max(tracked.deadline, base + self._max_call)
                elif tracker.response is not None or tracker.hung_up_at is not None:
                    tracker.response_lost()
                    self._close(tracked, detail="completed while AMI was down")
                else:
                    self._close(tracked, detail="fate unknown after AMI reconnect")
            log.info("pbx.reconciled", extra={"live": len(live), "following": len(self._calls)})

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            now = self._clock()
            if self._client.connected and any(t.deadline <= now for t in self._calls.values()):
                await self._reconcile()


def _milestones(tracker: CallTracker) -> set[Progress]:
    reached = set()
    if tracker.answered_at is not None:
        reached.add(Progress.ANSWERED)
    if tracker.queue_joined:
        reached.add(Progress.TRANSFER)
    if tracker.queue_connected:
        reached.add(Progress.CONNECTED)
    if tracker.queue_abandon_event and not tracker.queue_connected:
        reached.add(Progress.ABANDONED)
    return reached


def _variable(name: str, value: str) -> str:
    if not _SAFE_VARIABLE_VALUE.match(value):
        raise ValueError(f"channel variable {name} has a newline or comma in its value")
    return f"{name}={value}"
