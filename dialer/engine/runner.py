"""Runs one campaign: lease due contacts, originate within the pacing limits, close every
attempt exactly once with its outcome and the contact's next step, stop when nothing is
left (or when asked to, after draining the calls in progress)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from dialer.campaign.model import Campaign
from dialer.engine.call_admission import AdmitAll, CallAdmission, NotAdmitted
from dialer.engine.campaign_hold import HoldKeeper, HoldPort
from dialer.engine.compliance_gate import ComplianceGate, callee_of_lease
from dialer.engine.dial_requests import answer_plan_of, dial_request_of
from dialer.engine.dialer_port import Dialer
from dialer.engine.ivr_calls import IvrCalls
from dialer.engine.next_step import closing_of, retry_policy_of
from dialer.engine.open_calls import lease_of, open_call_of
from dialer.engine.pacing_control import PacingControl
from dialer.engine.run_snapshot import RunSnapshot, held_counts_of, status_of
from dialer.engine.store_patience import StorePatience
from dialer.engine.wake import sleep_or_wake
from dialer.engine.webhook_events import AttemptEvents, attempt_events
from dialer.outcomes import CampaignState, ContactStatus
from dialer.pbx.events import CallEnded, CallMilestone
from dialer.store.base import (
    AttemptResult,
    CampaignProgress,
    ContactStore,
    LeasedContact,
    NextStep,
    NumberInCall,
)

log = logging.getLogger("dialer.engine")

T = TypeVar("T")

Clock = Callable[[], datetime]
# A number leased while another campaign's call to it started: offered again after this.
NUMBER_IN_CALL_DELAY = timedelta(seconds=30)
# Lease rounds per pass when contacts are held back (see _place_calls).
SCREEN_ROUNDS = 20
CLOSE_RETRIES = 5  # writes of one attempt's close that fail for another reason than busy
UNWRITTEN_RETRY_S = 5.0  # then the close is tried again after this, until it goes through


class CampaignAborted(Exception):
    """The campaign cannot go on (e.g. Asterisk refused our AMI login on reconnect)."""


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
        hold: HoldPort | None = None,
        gate: ComplianceGate | None = None,
        admission: CallAdmission | None = None,  # several nodes: the cluster's say
    ) -> None:
        self._store = store
        self._campaign = campaign
        self._dialer = dialer
        self._ended: asyncio.Queue[CallEnded] = asyncio.Queue()
        self._clock = clock
        self._drain_timeout = drain_timeout
        self._idle_poll = idle_poll
        self._policy = retry_policy_of(campaign)
        self._in_flight: dict[str, LeasedContact] = {}
        # Closes the store refused so far: (result, next step), decided once.
        self._unwritten: dict[str, tuple[AttemptResult, NextStep]] = {}
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
        self._hold: HoldPort = hold or HoldKeeper(store, clock)
        self._admission = admission or AdmitAll()
        self._patience = StorePatience(self._store_waiting)
        self._gate = gate or ComplianceGate(campaign, store)

    @property
    def campaign(self) -> Campaign:
        return self._campaign

    @campaign.setter
    def campaign(self, new: Campaign) -> None:
        """A running campaign's file updated (`dialer serve`): new calling hours, caps or
        consent rules judge every lease from the next one on."""
        if new.compliance != self._campaign.compliance:
            self._gate = ComplianceGate(new, self._store)
        self._campaign = new

    # --- what the PBX link tells us (CallListener) ----------------------------------------
    def call_ended(self, event: CallEnded) -> None:
        self._ended.put_nowait(event)  # closed in order by the attempt closer task

    def call_milestone(self, event: CallMilestone) -> None:
        self.pacing.on_milestone(event)

    # --- public -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> RunSnapshot:
        """Dial until every contact is final or `stop` is set; then drain and return.
        Raises CampaignHeld, before anything is dialled, if another process drives it."""
        now = self._clock()
        store, camp = self._store, self.campaign
        record = await self._patiently(
            "open", lambda: store.open_campaign(camp.name, camp.list, now)
        )
        self._campaign_id = record.id
        await self._patiently("hold", lambda: self._hold.take(camp.name, record.id))
        try:
            return await self._run_held(record.id, now, stop)
        finally:
            with contextlib.suppress(Exception):
                await self._patiently("release", self._hold.release)

    async def _run_held(self, campaign_id: int, now: datetime, stop: asyncio.Event) -> RunSnapshot:
        store = self._store
        await self._patiently(
            "state", lambda: store.set_campaign_state(campaign_id, CampaignState.RUNNING)
        )
        ledger, status, _ = await self._patiently(
            "runtime", lambda: store.load_runtime(campaign_id)
        )
        self.pacing.restore(ledger, status)  # abandon windows, last run's estimates go on
        self.snapshot.held.update(held_counts_of(status))  # counted for the whole run
        tasks = [
            asyncio.create_task(self._close_calls(), name="attempt-closer"),
            asyncio.create_task(self._save_status(), name="status-saver"),
            asyncio.create_task(self._hold.keep(), name="hold-heartbeat"),
        ]
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
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for task in self._originations:
                task.cancel()
        if self._hold.lost:
            # The campaign's state and status are the new holder's to write now.
            self.snapshot.state = CampaignState.STOPPED
            raise CampaignAborted("another process took the campaign over (our hold expired)")
        await self._patiently("state", lambda: store.set_campaign_state(campaign_id, state))
        await self._refresh_progress(enrol=False)
        self.snapshot.state = state
        await self._patiently("status", self._write_status)
        return self.snapshot

    async def _patiently(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        return await self._patience.call(what, operation)

    def _store_waiting(self, waiting: str | None) -> None:
        self.snapshot.store_waiting = waiting

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
        status = status_of(s)
        await self._store.save_runtime(
            self._campaign_id, self.pacing.ledger(), status, self._clock()
        )

    # --- dialling -----------------------------------------------------------------------
    async def _adopt_open_attempts(self, now: datetime) -> None:
        assert self._campaign_id is not None
        campaign_id = self._campaign_id
        open_attempts = await self._patiently(
            "recover", lambda: self._store.recover(campaign_id, now)
        )
        if not open_attempts:
            return
        log.info("engine.adopting_open_attempts", extra={"count": len(open_attempts)})
        for attempt in open_attempts:
            self._in_flight[attempt.attempt_id] = lease_of(attempt)
        await self._dialer.adopt([open_call_of(a) for a in open_attempts], self)

    async def _dial_until_done(self, stop: asyncio.Event) -> bool:
        """Returns True when the campaign ran out of contacts, False when stopped."""
        assert self._campaign_id is not None
        await self._refresh_progress()
        while not stop.is_set() and not self._hold.lost:
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
                        # Due yet not leased: their numbers are in other campaigns' calls,
                        # whose ends do not wake us.
                        wait = min(wait, max(0.05, until_due) if until_due > 0 else 0.25)
                elif placed:
                    wait = self.pacing.seconds_until_next()
                elif len(self._in_flight) < self.campaign.pacing.max_channels:
                    wait = min(wait, max(0.005, self.pacing.seconds_until_next()))
                # else: every channel is busy; a call ending wakes us up.
            await sleep_or_wake(stop, self._wake, wait)
        return False

    def _observe_link(self) -> None:
        self.snapshot.link_ready = self._dialer.ready
        self.snapshot.link_state = self._dialer.state

    async def _place_calls(self, allowance: int) -> int:
        """Lease up to `allowance` contacts the rules let us dial now and originate them;
        returns how many were leased. Contacts held back go back with the time their
        reason passes, and more are leased in their place (a bounded number of rounds,
        so a list asleep outside its calling hours is pushed to the morning a page at a
        time without starving the calls in progress)."""
        assert self._campaign_id is not None
        now = self._clock()
        store, campaign_id = self._store, self._campaign_id
        placed: list[str] = []
        leased = 0
        for _ in range(SCREEN_ROUNDS):
            wanted = allowance - len(placed)
            leases = await self._patiently(
                "lease", partial(store.lease_due, campaign_id, now, wanted)
            )
            leased += len(leases)
            admitted = await self._admit(leases, now)
            no_room = await self._dial_admitted(admitted, now, placed)
            if no_room or len(admitted) == len(leases) or len(placed) >= allowance:
                break
        self.pacing.placed(placed)
        self.snapshot.originated += len(placed)
        self.snapshot.in_flight = len(self._in_flight)
        return leased

    async def _dial_admitted(
        self, admitted: list[LeasedContact], now: datetime, placed: list[str]
    ) -> bool:
        """Originate each lease on the server the pool picks; True: no server had room."""
        for index, lease in enumerate(admitted):
            server = self._dialer.route()
            if server is None:  # every server is down or at its channel limit
                await self._release([(lease.contact_id, now) for lease in admitted[index:]])
                return True
            attempt_id = str(uuid.uuid4())
            # Recorded before the PBX hears of it: a crash now leaves an open attempt to
            # reconcile (on its server), never a second dial.
            if await self._start_attempt(lease, attempt_id, now, server):
                self._originate(lease, attempt_id, server)
                placed.append(attempt_id)
            else:
                self._dialer.unroute(server)
        return False

    def _originate(self, lease: LeasedContact, attempt_id: str, server: str) -> None:
        self._in_flight[attempt_id] = lease
        if self._ivr is not None:
            self._ivr.expect(attempt_id, lease)
        request = dial_request_of(self.campaign, attempt_id, lease.number, self._answer_plan)
        request = replace(request, server=server)
        task = asyncio.create_task(self._dialer.originate(request, self))
        self._originations.add(task)
        task.add_done_callback(self._originations.discard)

    async def _admit(self, leases: list[LeasedContact], now: datetime) -> list[LeasedContact]:
        """The leases every rule allows now; the others are given back (until their
        reason passes) or retired from the campaign (a reason time does not end)."""
        if not leases:
            return []
        callees = [callee_of_lease(lease) for lease in leases]
        verdicts = await self._patiently("screen", lambda: self._gate.verdicts(callees, now))
        admitted, releases = [], []
        for lease, held in zip(leases, verdicts, strict=True):
            if held is None:
                admitted.append(lease)
            else:
                self.snapshot.held[held.reason.value] += 1
                releases.append((lease.contact_id, held.until))
        if releases:
            await self._release(releases)
        return admitted

    async def _release(self, releases: list[tuple[int, datetime | None]]) -> None:
        """Give leases back: (contact id, due again at), or None to retire the contact."""
        assert self._campaign_id is not None
        release = partial(self._store.release_leases, self._campaign_id, releases)
        await self._patiently("release", release)

    async def _start_attempt(
        self, lease: LeasedContact, attempt_id: str, now: datetime, server: str
    ) -> bool:
        """False: the number went into another call since it was leased (the store's last
        check) or the cluster refused the call (admission); the lease goes back for later."""
        try:
            await self._admission.admit(lease.number, attempt_id, server)
            start = partial(self._store.start_attempt, lease, attempt_id, now, server)
            await self._patiently("start", start)
        except (NumberInCall, NotAdmitted) as refused:
            log.info("engine.number_in_call_elsewhere", extra={"contact": lease.contact_id})
            await self._admission.give_back(attempt_id)
            wait = refused.retry_after if isinstance(refused, NotAdmitted) else None
            await self._release([(lease.contact_id, now + (wait or NUMBER_IN_CALL_DELAY))])
            return False
        return True

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
        # The attempt leaves the in-flight set only once the store has closed it: a
        # failed write must never orphan it (the drain waits for it; if it cannot be
        # written at all it stays open in the store for the next run to reconcile).
        lease = self._in_flight.get(ended.attempt_id)
        if lease is None:
            return  # not ours, or already closed
        unwritten = self._unwritten.pop(ended.attempt_id, None)
        if unwritten is None:
            unwritten = self._closing_of(ended, lease)
        result, step = unwritten
        events = attempt_events(self._campaign, result, step, lease)  # queued by the close
        closed = await self._finish(result, step, events)
        if closed is None:
            # Not written (the store keeps refusing): tried again later, so the run can end.
            self._unwritten[ended.attempt_id] = unwritten
            asyncio.get_running_loop().call_later(UNWRITTEN_RETRY_S, self._ended.put_nowait, ended)
            return
        self._in_flight.pop(ended.attempt_id, None)
        self._dialer.settled(ended.attempt_id)  # written: Asterisk's journal of it may go
        if closed:
            self.snapshot.closed += 1
            self.snapshot.outcomes[result.outcome.value] += 1
            if step.status is ContactStatus.DONE:
                self.snapshot.done += 1
                self.snapshot.pending = max(0, self.snapshot.pending - 1)
        self.snapshot.in_flight = len(self._in_flight)

    def _closing_of(self, ended: CallEnded, lease: LeasedContact) -> tuple[AttemptResult, NextStep]:
        """The attempt's result and the contact's next step (told to the pacer once)."""
        self.pacing.on_ended(ended.attempt_id, ended.outcome)
        ivr_result = self._ivr.take_result(ended.attempt_id) if self._ivr is not None else None
        callee = callee_of_lease(lease)
        zone = self._gate.single_zone(callee)
        result, step = closing_of(ended, lease, ivr_result, self._policy, self._clock(), zone)
        if step.due_at is not None:
            # A retry or callback outside the calling hours waits for them to open, in
            # the callee's zone.
            step = replace(step, due_at=self._gate.retry_time(callee, step.due_at))
        return result, step

    async def _finish(
        self, result: AttemptResult, step: NextStep, events: AttemptEvents
    ) -> bool | None:
        """Close the attempt in the store: busy is waited out; another failure (a value
        the store cannot take) is retried with only the outcome, the values dropped.
        None if it could not be written at all."""
        store = self._store
        for attempt in range(CLOSE_RETRIES):
            if attempt:
                result = replace(result, cause=None, reason=None, answers={}, detail="")
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
            try:
                return await self._patiently(
                    "close", partial(store.finish_attempt, result, step, events)
                )
            except Exception:
                log.exception("engine.close_write_failed", extra={"attempt": result.attempt_id})
        return None

    async def _refresh_progress(self, enrol: bool = True) -> CampaignProgress:
        assert self._campaign_id is not None
        store, campaign_id, now = self._store, self._campaign_id, self._clock()
        if enrol:
            # Contacts imported into the list while the campaign runs join it, before it
            # can decide it is finished.
            await self._patiently("enrol", lambda: store.enrol_new_contacts(campaign_id, now))
        progress = await self._patiently("progress", lambda: store.progress(campaign_id, now))
        s = self.snapshot
        s.total, s.done, s.pending = progress.total, progress.done, progress.pending
        s.next_due_at = progress.next_due_at
        s.in_flight = len(self._in_flight)
        return progress
