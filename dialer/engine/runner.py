"""Runs one campaign: lease due contacts, originate within the pacing limits, close every
attempt exactly once with its outcome and the contact's next step, stop when nothing is
left (or when asked to, after draining the calls in progress)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from dialer.campaign.model import Campaign
from dialer.engine.dial_requests import answer_plan_of, dial_request_of
from dialer.engine.ivr_calls import IvrCalls
from dialer.engine.next_step import next_step_of, retry_policy_of, with_ivr_result
from dialer.engine.pacing_control import PacingControl
from dialer.outcomes import CampaignState, ContactStatus
from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallEnded, CallListener, CallMilestone
from dialer.pbx.link_state import LinkState
from dialer.policy.retry import decide
from dialer.store.base import AttemptResult, CampaignProgress, ContactStore, LeasedContact

log = logging.getLogger("dialer.engine")

Clock = Callable[[], datetime]


class Dialer(Protocol):
    """What the engine needs from the PBX link (dialer.pbx.link.PbxLink)."""

    @property
    def ready(self) -> bool: ...

    @property
    def state(self) -> LinkState: ...

    @property
    def fatal_error(self) -> Exception | None: ...

    async def originate(self, request: DialRequest, listener: CallListener) -> None: ...

    async def adopt(self, attempts: list[tuple[str, datetime]], listener: CallListener) -> None: ...


class CampaignAborted(Exception):
    """The campaign cannot go on (e.g. Asterisk refused our AMI login on reconnect)."""


@dataclass
class RunSnapshot:
    """What a progress display shows. Mutated by the runner; read by the CLI."""

    campaign: str
    state: CampaignState = CampaignState.STARTING
    total: int = 0
    done: int = 0
    pending: int = 0
    in_flight: int = 0
    originated: int = 0
    closed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    next_due_at: datetime | None = None
    link_ready: bool = False
    link_state: LinkState = LinkState.CONNECTING
    pacing: dict[str, Any] | None = None  # the pacer's status (mode, dial level, abandon)


class CampaignRunner:
    """Drives one campaign. It is the PBX link's listener for the calls it places."""

    def __init__(
        self,
        campaign: Campaign,
        store: ContactStore,
        dialer: Dialer,
        pacing: PacingControl,
        clock: Clock,
        drain_timeout: timedelta = timedelta(seconds=60),
        idle_poll: float = 1.0,
        ivr: IvrCalls | None = None,
        agi_address: str | None = None,
        status_interval: float = 2.0,
    ) -> None:
        self.campaign = campaign
        self._store = store
        self._dialer = dialer
        self._ended: asyncio.Queue[CallEnded] = asyncio.Queue()
        self._clock = clock
        self._drain_timeout = drain_timeout
        self._idle_poll = idle_poll
        self._policy = retry_policy_of(campaign)
        self._in_flight: dict[str, LeasedContact] = {}
        self._originations: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.pacing = pacing
        self.pacing.on_change = self._wake.set
        # Call milestones matter only to the operator pacers.
        self.wants_milestones = pacing.operator_paced
        self._status_interval = status_interval
        self._campaign_id: int | None = None
        self._ivr = ivr
        self._answer_plan = answer_plan_of(campaign, agi_address)
        self.snapshot = RunSnapshot(campaign.name)

    # --- what the PBX link tells us (CallListener) ----------------------------------------
    def call_ended(self, event: CallEnded) -> None:
        self._ended.put_nowait(event)  # closed in order by the attempt closer task

    def call_milestone(self, event: CallMilestone) -> None:
        self.pacing.on_milestone(event)

    # --- public -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> RunSnapshot:
        """Dial until every contact is final or `stop` is set; then drain and return."""
        now = self._clock()
        record = await self._store.open_campaign(self.campaign.name, self.campaign.list, now)
        self._campaign_id = record.id
        await self._store.set_campaign_state(record.id, CampaignState.RUNNING)
        ledger, _, _ = await self._store.load_runtime(record.id)
        self.pacing.restore(ledger)  # the abandon windows go on across restarts
        closer = asyncio.create_task(self._close_calls(), name="attempt-closer")
        saver = asyncio.create_task(self._save_status(), name="status-saver")
        try:
            await self._adopt_open_attempts(now)
            self.snapshot.state = CampaignState.DIALING
            finished = await self._dial_until_done(stop)
            self.snapshot.state = CampaignState.DRAINING
            await self._drain()
            state = (
                CampaignState.FINISHED
                if finished and not self._in_flight
                else CampaignState.STOPPED
            )
        finally:
            for task in (closer, saver):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for task in self._originations:
                task.cancel()
        await self._store.set_campaign_state(record.id, state)
        await self._refresh_progress()
        self.snapshot.state = state
        await self._write_status()
        return self.snapshot

    async def _save_status(self) -> None:
        """Keep the abandon ledger and a status snapshot in the store, for restarts
        and for `dialer status` in another process."""
        while True:
            await asyncio.sleep(self._status_interval)
            try:
                await self._write_status()
            except Exception:
                log.exception("engine.status_save_failed")

    async def _write_status(self) -> None:
        assert self._campaign_id is not None
        s = self.snapshot
        self._observe_link()
        self.snapshot.pacing = self.pacing.status()
        status = {
            "campaign": s.campaign,
            "state": s.state,
            "total": s.total,
            "done": s.done,
            "pending": s.pending,
            "in_flight": s.in_flight,
            "originated": s.originated,
            "attempts_closed": s.closed,
            "outcomes": dict(s.outcomes),
            "link_ready": s.link_ready,
            "link_state": s.link_state.value,
            "pacing": s.pacing,
        }
        await self._store.save_runtime(
            self._campaign_id, self.pacing.ledger(), status, self._clock()
        )

    # --- dialling -----------------------------------------------------------------------
    async def _adopt_open_attempts(self, now: datetime) -> None:
        assert self._campaign_id is not None
        open_attempts = await self._store.recover(self._campaign_id, now)
        if not open_attempts:
            return
        log.info("engine.adopting_open_attempts", extra={"count": len(open_attempts)})
        for attempt in open_attempts:
            self._in_flight[attempt.attempt_id] = LeasedContact(
                campaign_id=attempt.campaign_id,
                contact_id=attempt.contact_id,
                number=attempt.number,
                name=None,
                timezone=None,
                fields={},
                attempts_made=attempt.attempts_made,
                outcome_counts=attempt.outcome_counts,
            )
        await self._dialer.adopt([(a.attempt_id, a.started_at) for a in open_attempts], self)

    async def _dial_until_done(self, stop: asyncio.Event) -> bool:
        """Returns True when the campaign ran out of contacts, False when stopped."""
        assert self._campaign_id is not None
        await self._refresh_progress()
        while not stop.is_set():
            if self._dialer.fatal_error is not None:
                raise CampaignAborted(str(self._dialer.fatal_error))
            self._observe_link()
            wait = self._idle_poll
            if self._dialer.ready:
                allowance = self.pacing.allowance(len(self._in_flight))
                placed = await self._place_calls(allowance) if allowance else 0
                if allowance and placed < allowance:
                    progress = await self._refresh_progress()
                    if progress.pending == 0 and progress.dialing == 0 and not self._in_flight:
                        return True
                    if progress.next_due_at is not None:
                        until_due = (progress.next_due_at - self._clock()).total_seconds()
                        wait = min(wait, max(0.05, until_due))
                elif placed:
                    wait = self.pacing.seconds_until_next()
                elif len(self._in_flight) < self.campaign.pacing.max_channels:
                    wait = min(wait, max(0.005, self.pacing.seconds_until_next()))
                # else: every channel is busy; a call ending wakes us up.
            await self._sleep_or_wake(stop, wait)
        return False

    def _observe_link(self) -> None:
        self.snapshot.link_ready = self._dialer.ready
        self.snapshot.link_state = self._dialer.state

    async def _place_calls(self, allowance: int) -> int:
        assert self._campaign_id is not None
        now = self._clock()
        leases = await self._store.lease_due(self._campaign_id, now, allowance)
        placed: list[str] = []
        for lease in leases:
            attempt_id = str(uuid.uuid4())
            # Recorded before the PBX hears of it: a crash now leaves an open attempt to
            # reconcile, never a second dial.
            await self._store.start_attempt(lease, attempt_id, now)
            self._in_flight[attempt_id] = lease
            placed.append(attempt_id)
            if self._ivr is not None:
                self._ivr.expect(attempt_id, lease)
            request = dial_request_of(self.campaign, attempt_id, lease.number, self._answer_plan)
            task = asyncio.create_task(self._dialer.originate(request, self))
            self._originations.add(task)
            task.add_done_callback(self._originations.discard)
        self.pacing.placed(placed)
        self.snapshot.originated += len(leases)
        self.snapshot.in_flight = len(self._in_flight)
        return len(leases)

    async def _sleep_or_wake(self, stop: asyncio.Event, seconds: float) -> None:
        self._wake.clear()
        stop_wait = asyncio.ensure_future(stop.wait())
        wake_wait = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait(
                {stop_wait, wake_wait}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop_wait.cancel()
            wake_wait.cancel()

    async def _drain(self) -> None:
        """Wait (bounded) for calls in progress; what is still up stays open in the store
        and is reconciled by the next run."""
        deadline = time.monotonic() + self._drain_timeout.total_seconds()
        while self._in_flight and time.monotonic() < deadline:
            if self._dialer.fatal_error is not None:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(1.0, deadline - time.monotonic()))
        if self._in_flight:
            log.warning("engine.left_open", extra={"count": len(self._in_flight)})

    # --- closing attempts ---------------------------------------------------------------
    async def _close_calls(self) -> None:
        while True:
            ended = await self._ended.get()
            try:
                await self._close(ended)
            except Exception:
                log.exception("engine.close_failed", extra={"attempt": ended.attempt_id})
            finally:
                self._wake.set()

    async def _close(self, ended: CallEnded) -> None:
        lease = self._in_flight.pop(ended.attempt_id, None)
        if lease is None:
            return  # not ours, or already closed
        self.pacing.on_ended(ended.attempt_id, ended.outcome)
        ivr_result = self._ivr.take_result(ended.attempt_id) if self._ivr is not None else None
        decision = decide(
            self._policy, ended.outcome, lease.attempts_made, lease.outcome_counts, self._clock()
        )
        result = AttemptResult(
            attempt_id=ended.attempt_id,
            outcome=ended.outcome,
            ended_at=ended.ended_at,
            cause=ended.cause,
            reason=ended.reason,
            answered_at=ended.answered_at,
            detail=ended.detail,
            answers=ivr_result.as_json() if ivr_result is not None else {},
        )
        step = next_step_of(decision, ended.outcome)
        if ivr_result is not None:
            step = with_ivr_result(step, ivr_result, lease.attempts_made + 1, self._policy)
        decision_final = step.status is ContactStatus.DONE
        if await self._store.finish_attempt(result, step):
            self.snapshot.closed += 1
            self.snapshot.outcomes[ended.outcome.value] += 1
            if decision_final:
                self.snapshot.done += 1
                self.snapshot.pending = max(0, self.snapshot.pending - 1)
        self.snapshot.in_flight = len(self._in_flight)

    async def _refresh_progress(self) -> CampaignProgress:
        assert self._campaign_id is not None
        progress = await self._store.progress(self._campaign_id, self._clock())
        s = self.snapshot
        s.total, s.done, s.pending = progress.total, progress.done, progress.pending
        s.next_due_at = progress.next_due_at
        s.in_flight = len(self._in_flight)
        return progress
