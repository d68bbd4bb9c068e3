"""The engine's view of the PBX: originate a call, be told once how it ended.

The only module the engine imports from dialer.pbx. Nothing here knows about contacts or
retry rules; nothing in the engine knows about AMI text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dialer.outcomes import Outcome
from dialer.pbx.ami_client import AmiActionTimeout, AmiClient, AmiDisconnected, AmiError
from dialer.pbx.call_tracker import CHANNEL_STATE_UP, TRACKED_EVENTS, CallTracker, live_channels
from dialer.pbx.dialplan_contract import (
    DialRequest,
    build_dial_string,
    channel_variables,
    variable_header,
)
from dialer.pbx.events import CallEnded, CallListener, CallMilestone, Milestone, OperatorListener
from dialer.pbx.journal import HANGUP_HANDLER_VARIABLE, CallJournal, apply_entry
from dialer.pbx.link_state import LinkState
from dialer.pbx.queue_watch import QUEUE_EVENTS, QueueWatch

log = logging.getLogger("dialer.pbx")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Tracked:
    tracker: CallTracker
    listener: CallListener
    action_id: str
    started_at: datetime
    deadline: datetime  # past it, ask Asterisk whether the channel still exists
    # The AMI session (count of reconnects) it was originated on; None when adopted.
    session: int | None = None
    # Some of its events may have been missed (adopted, or up across an AMI outage):
    # its end is completed from the PBX journal.
    gap: bool = False


class PbxLink:
    """Originates calls over one AMI link and reports each call's end exactly once."""

    def __init__(
        self,
        client: AmiClient,
        clock: Clock = utc_now,
        max_call_duration: timedelta = timedelta(hours=4),
        sweep_interval: float = 5.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._clock = clock
        self._max_call = max_call_duration
        self._sweep_interval = sweep_interval
        self._calls: dict[str, _Tracked] = {}  # by channel id (= attempt id)
        self._by_action: dict[str, _Tracked] = {}
        self._queues = QueueWatch(wall_clock)
        self._journal = CallJournal(client)
        client.attach(
            on_event=self._on_event,
            on_reconnected=self._reconcile,
            on_disconnected=self._on_disconnected,
            wanted_events=TRACKED_EVENTS,
            on_responsive=self._reconcile,
        )
        self._sweeper: asyncio.Task[None] | None = None
        self._after_login: asyncio.Task[None] | None = None
        self._queues_unread = False  # a queue was added to the watch before ready
        self._was_ready = False
        self._journal_reads: set[asyncio.Task[None]] = set()
        self._reconcile_lock = asyncio.Lock()
        # Set while connected and reconciled: originating earlier could race the
        # CoreShowChannels snapshot and close a brand-new call as "unknown".
        self._ready = asyncio.Event()

    async def watch_queues(
        self, queues: Iterable[str], listener: OperatorListener, wrapup_s: float | None = None
    ) -> None:
        """Tell `listener` how the operators of `queues` change: their state is read now
        (when connected) and after every reconnect, then followed from queue events.
        `wrapup_s` is the queues' own wrapuptime, which AMI does not report."""
        queues = list(queues)
        if not queues:
            return
        self._queues.watch(queues, listener, wrapup_s)
        self._client.want_events(QUEUE_EVENTS)
        if self._ready.is_set():
            await self._read_queues()
        else:
            self._queues_unread = True  # read once Asterisk is booted

    def unwatch_queues(self, listener: OperatorListener) -> None:
        self._queues.unwatch(listener)

    def callers_waiting(self, queues: Iterable[str]) -> int:
        return self._queues.callers_waiting(queues)

    # --- lifecycle ----------------------------------------------------------------------
    async def start(self, keep_trying: bool = False) -> None:
        """Log in (errors are raised); the link turns ready in the background, once
        Asterisk is fully booted and the calls in flight are settled (`state`). With
        keep_trying (a server of a pool), one that cannot be reached now is logged in
        when it comes up; a refused login is still raised."""
        await self._client.connect(keep_trying)
        if not self._client.connected:
            log.warning("pbx.server_unreachable", extra={"retrying": True})
            self._sweeper = asyncio.create_task(self._sweep(), name="pbx-sweeper")
            return
        self._after_login = asyncio.create_task(self._reconcile(), name="pbx-after-login")
        self._sweeper = asyncio.create_task(self._sweep(), name="pbx-sweeper")

    async def close(self) -> None:
        for task in (self._after_login, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._queues.close()
        await self._journal.drain()
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
    def pbx_restarts(self) -> int:
        return self._journal.restarts

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    def in_flight_ids(self) -> list[str]:
        return list(self._calls)

    @property
    def state(self) -> LinkState:
        client = self._client
        if not client.connected:
            return LinkState.DOWN if self._was_ready else LinkState.CONNECTING
        if client.shutting_down:
            return LinkState.SHUTTING_DOWN
        if not client.booted:
            return LinkState.BOOTING
        if not client.responsive:
            return LinkState.UNRESPONSIVE
        return LinkState.READY if self._ready.is_set() else LinkState.RECONCILING

    @property
    def ready(self) -> bool:
        """Dialling is safe: logged in, Asterisk booted and answering, calls settled."""
        return self.state is LinkState.READY

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    # --- dialling -----------------------------------------------------------------------
    async def originate(self, request: DialRequest, listener: CallListener) -> None:
        """Send one Originate. Never sent twice: if its fate is unknown (link dropped,
        no reply), the call is reconciled from CoreShowChannels, or closed as unknown."""
        now = self._clock()
        try:
            dial_string = build_dial_string(request.channel_template, request.number)
            variables = variable_header(channel_variables(request))
        except ValueError as exc:
            self._report(listener, request.attempt_id, Outcome.FAILED, now, detail=str(exc))
            return
        action_id = f"orig-{request.attempt_id}"
        tracked = _Tracked(
            CallTracker(request.attempt_id, request.attempt_id, request.amd_not_sure_is_machine),
            listener,
            action_id,
            now,
            now + request.ring_timeout + timedelta(seconds=30),
            session=self._client.reconnects,
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
            # [dialer-journal] journals how the call ends, even if it is never answered.
            ("Variable", HANGUP_HANDLER_VARIABLE),
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
                listener,
                request.attempt_id,
                Outcome.FAILED,
                self._clock(),
                detail=f"originate refused: {response.get('Message', '')}".strip(),
            )

    async def adopt(self, attempts: Iterable[tuple[str, datetime]], listener: CallListener) -> None:
        """Take over attempts left open by an earlier process (attempt id, started at):
        live channels are followed to their end, the others are closed as unknown."""
        now = self._clock()
        for attempt_id, started_at in attempts:
            tracked = _Tracked(
                CallTracker(attempt_id, attempt_id),
                listener,
                f"adopted-{attempt_id}",
                started_at,
                now,
                gap=True,
            )
            self._calls[attempt_id] = tracked
        if self._ready.is_set():
            await self._reconcile()
        # else: the link settles them once Asterisk is booted, before it turns ready

    # --- events -------------------------------------------------------------------------
    async def _queue_status(self, queue: str) -> Sequence[Mapping[str, str]]:
        """The items of a QueueStatus list for one queue (members, waiting callers)."""
        return await self._client.send_list_action([("Action", "QueueStatus"), ("Queue", queue)])

    async def _read_queues(self) -> None:
        """Operators' states from Asterisk, at start and after every reconnect."""
        if self._queues.queues:
            await self._queues.reload(self._queue_status)

    def _on_event(self, event: Mapping[str, str]) -> None:
        name = event.get("Event")
        if name in QUEUE_EVENTS and self._queues.queues:
            self._queues.apply(event)
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
        now = self._clock()
        if tracked.listener.wants_milestones:
            before = tracker.milestones()
            tracker.apply(event, now)
            reached = tracker.milestones() - before
            for milestone in [m for m in Milestone if m in reached]:  # in call order
                reached_at = CallMilestone(tracker.attempt_id, milestone, now, tracker.operator)
                tracked.listener.call_milestone(reached_at)
        else:
            tracker.apply(event, now)
        if tracker.answered_at is not None:
            tracked.deadline = tracker.answered_at + self._max_call
        if tracker.finished:
            if tracked.gap:
                self._forget(tracked)
                task = asyncio.get_running_loop().create_task(self._close_from_journal(tracked))
                self._journal_reads.add(task)
                task.add_done_callback(self._journal_reads.discard)
            else:
                self._close(tracked)

    async def _close_from_journal(self, tracked: _Tracked) -> None:
        """A call followed only part of the way: what it did before is in the journal."""
        apply_entry(tracked.tracker, await self._journal.read(tracked.tracker.channel_id))
        self._close(tracked)

    def _close(self, tracked: _Tracked, detail: str = "", outcome: Outcome | None = None) -> None:
        self._forget(tracked)
        # Its journal stays until the engine has written the outcome (settled): a
        # process that stops before then leaves it for whoever reconciles the attempt.
        self._journal.closed(tracked.tracker.channel_id)
        t = tracked.tracker.outcome(self._clock(), detail)
        self._report(
            tracked.listener,
            tracked.tracker.attempt_id,
            outcome or t.outcome,
            t.ended_at,
            reason=t.reason,
            cause=t.cause,
            answered_at=t.answered_at,
            detail=t.detail,
        )

    def settled(self, attempt_id: str) -> None:
        """The engine has written the attempt's outcome: its journal may go now."""
        self._journal.settled(attempt_id)

    def _forget(self, tracked: _Tracked) -> None:
        self._calls.pop(tracked.tracker.channel_id, None)
        self._by_action.pop(tracked.action_id, None)

    @staticmethod
    def _report(
        listener: CallListener,
        attempt_id: str,
        outcome: Outcome,
        ended_at: datetime,
        *,
        reason: int | None = None,
        cause: int | None = None,
        answered_at: datetime | None = None,
        detail: str = "",
    ) -> None:
        ended = CallEnded(attempt_id, outcome, ended_at, reason, cause, answered_at, detail)
        try:
            listener.call_ended(ended)
        except Exception:
            log.exception("pbx.call_ended_handler_failed", extra={"attempt": attempt_id})

    # --- reconciliation -----------------------------------------------------------------
    def _on_disconnected(self) -> None:
        self._ready.clear()
        log.warning("pbx.link_down", extra={"in_flight": len(self._calls)})

    async def _reconcile(self) -> None:
        """After each login, when Asterisk answers again, and past a call's deadline:
        wait until Asterisk is fully booted (before that, Originate fails with
        "Extension does not exist"), ask which of our channels still exist and settle
        the others, re-read the queues; then the link is ready."""
        try:
            if not self._client.booted:
                log.info("pbx.waiting_for_boot", extra={"in_flight": len(self._calls)})
            await self._client.wait_booted()
            # Asterisk's start time: a later one means it restarted, and the calls it
            # no longer has were cut by that, not ended by the callee.
            restarted = await self._journal.check_startup()
            await self._reconcile_calls(restarted)
            self._queues_unread = True  # events were missed while the link was down
            while self._queues_unread:
                self._queues_unread = False
                await self._read_queues()
        except AmiError as exc:
            log.warning("pbx.after_reconnect_failed", extra={"error": str(exc)})
        finally:
            if self._client.connected:
                self._ready.set()
                self._was_ready = True

    async def _reconcile_calls(self, restarted: bool) -> None:
        async with self._reconcile_lock:
            if not self._calls:
                return
            try:
                channels = await self._client.send_list_action([("Action", "CoreShowChannels")])
            except AmiError as exc:
                log.warning("pbx.reconcile_failed", extra={"error": str(exc)})
                return
            live = live_channels(channels)
            now = self._clock()
            for tracked in list(self._calls.values()):
                tracker = tracked.tracker
                if self._calls.get(tracker.channel_id) is not tracked:
                    continue  # closed by its events while a journal was being read
                if tracker.finished:
                    self._close(tracked)
                elif tracker.channel_id in live:
                    tracked.gap = True
                    tracker.response_lost()
                    if live[tracker.channel_id] == CHANNEL_STATE_UP and tracker.answered_at is None:
                        tracker.answered_at = now
                    base = tracker.answered_at or now
                    tracked.deadline = max(tracked.deadline, base + self._max_call)
                elif self._nothing_heard(tracked) and self._may_still_appear(tracked, now):
                    continue
                else:
                    await self._settle_gone(tracked, restarted)
            log.info("pbx.reconciled", extra={"live": len(live), "following": len(self._calls)})

    @staticmethod
    def _nothing_heard(tracked: _Tracked) -> bool:
        return tracked.tracker.response is None and tracked.tracker.hung_up_at is None

    def _may_still_appear(self, tracked: _Tracked, now: datetime) -> bool:
        """Nothing heard of the call and Asterisk lists no channel for it, but no event
        was lost (same AMI session) and its deadline is ahead: an Async Originate
        creates its channel after the reply, so its events are still to come."""
        return tracked.session == self._client.reconnects and tracked.deadline > now

    async def _settle_gone(self, tracked: _Tracked, restarted: bool) -> None:
        """A call Asterisk no longer has: the PBX journal says how it ended; without an
        end there, a call older than Asterisk's (re)start was cut by Asterisk going away."""
        tracker = tracked.tracker
        entry = await self._journal.read(tracker.channel_id)
        if self._calls.get(tracker.channel_id) is not tracked:
            return  # its last events came meanwhile and closed it
        apply_entry(tracker, entry)
        if entry.ended:
            self._close(tracked)
        elif restarted or self._journal.started_since(tracked.started_at):
            tracker.response_lost()
            self._close(tracked, "cut by an Asterisk restart", Outcome.PBX_FAILURE)
        elif tracker.response is not None or tracker.hung_up_at is not None:
            tracker.response_lost()
            self._close(tracked, detail="completed while AMI was down")
        else:
            self._close(tracked, detail="fate unknown after AMI reconnect")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            now = self._clock()
            if self._client.connected and any(t.deadline <= now for t in self._calls.values()):
                await self._reconcile()
