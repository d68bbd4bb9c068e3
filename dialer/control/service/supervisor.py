"""The service core: every campaign of the node as its own task, steered by start /
pause / resume / stop, with the state each is wanted in kept in the store so that a
restarted service resumes what was running. It knows nothing of HTTP (the API calls
it); what happens is published on the event bus.

- start: the campaign's latest registered file is driven by a runner (a paused one too,
  with its gate closed: it adopts the calls a killed service left open).
- pause: the gate closes, no new call; calls in progress go on and close normally.
- stop: the runner stops dialling and drains its calls (bounded), then the task ends.
- A campaign that runs out of contacts finishes; its wanted state becomes stopped.
- drain (SIGTERM): every campaign stops and drains, their wanted states untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from dialer.campaign.ami_secret import resolve_ami_secret
from dialer.campaign.errors import CampaignError
from dialer.campaign.loader import parse_campaign
from dialer.campaign.model import Campaign
from dialer.campaign.webhooks import WebhookSettings
from dialer.control.app import DEFAULT_DRAIN_TIMEOUT, CampaignStartError, Node
from dialer.control.service.events import BusObserver, EventBus
from dialer.control.service.managed import ManagedCampaign
from dialer.engine.campaign_hold import CampaignHeld
from dialer.engine.dial_gate import DialGate
from dialer.engine.live_changes import UpdatePlan, apply_update, plan_update
from dialer.engine.runner import CampaignAborted
from dialer.outcomes import CampaignState
from dialer.pbx.ami_client import AmiError
from dialer.store import ContactStore, StoreError

log = logging.getLogger("dialer.service")

Clock = Callable[[], datetime]


class ServiceError(Exception):
    """A request the service refuses: `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RemoteSteering(Protocol):
    """Several nodes (dialer.control.service.cluster): reach the node driving a campaign."""

    async def owner_elsewhere(self, name: str) -> str | None: ...

    async def send(self, name: str, command: str, by: str) -> None: ...

    async def live(self, name: str) -> dict[str, str]: ...

    async def nodes(self) -> list[dict[str, object]]: ...


class Supervisor:
    def __init__(
        self,
        store: ContactStore,
        node: Node,
        bus: EventBus,
        clock: Clock = lambda: datetime.now(UTC),
        drain_timeout: timedelta = DEFAULT_DRAIN_TIMEOUT,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.store = store
        self.bus = bus
        self._node = node
        self._clock = clock
        self._drain_timeout = drain_timeout
        self._environ = environ
        self._observer = BusObserver(bus)
        self.campaigns: dict[str, ManagedCampaign] = {}
        self.draining = False
        self.remote: RemoteSteering | None = None  # set on a node of a cluster (--redis)

    # --- at start -----------------------------------------------------------------------
    def webhooks_of(self, name: str) -> Sequence[WebhookSettings]:
        managed = self.campaigns.get(name)
        return managed.campaign.webhooks if managed is not None else ()

    async def resume_wanted(self) -> list[str]:
        """Start every campaign wanted running or paused (a restarted service)."""
        started = []
        for name, wanted in sorted((await self.store.wanted_states()).items()):
            if wanted.wanted == "stopped":
                continue
            try:
                managed = await self._managed(name)
            except ServiceError as exc:
                log.error("service.resume_failed", extra={"campaign": name, "error": str(exc)})
                continue
            self._launch(managed, paused=wanted.wanted == "paused")
            started.append(name)
        return started

    async def take_over(self, name: str, paused: bool) -> None:
        """Several nodes: drive a campaign no live node drives (its owner died)."""
        managed = await self._managed(name)
        if not managed.driving and not self.draining:
            self._launch(managed, paused=paused)

    # --- registering files --------------------------------------------------------------
    async def register(
        self, content: str, source: str, by: str
    ) -> tuple[str, int, UpdatePlan | None]:
        """Validate and keep a new version of a campaign file. A driven campaign takes
        it live (pacing numbers) or the update is refused whole (409, with why).
        Returns (name, version, the plan applied to the running campaign or None)."""
        campaign = _parse(content, source)
        managed = self.campaigns.get(campaign.name)
        plan = None
        if managed is not None and managed.driving:
            plan = plan_update(managed.parsed, campaign)
            if not plan.live:
                raise ServiceError(
                    409, f"campaign {campaign.name!r} is running; not applied: {plan.refusal()}"
                )
        version = await self.store.add_campaign_file(
            campaign.name, content, source, self._clock(), by
        )
        file = await self.store.campaign_file(campaign.name)
        assert file is not None
        if managed is None:
            self.campaigns[campaign.name] = ManagedCampaign(file, campaign)
        else:
            managed.file = file
            if plan is not None:
                apply_update(plan, managed, campaign)
            else:
                managed.parsed = campaign
        changed = list(plan.changed) if plan else []
        self.bus.publish("campaign.registered", campaign.name, version=version, live=changed)
        return campaign.name, version, plan

    # --- steering -----------------------------------------------------------------------
    async def start(self, name: str, by: str) -> ManagedCampaign:
        managed = await self._managed(name)
        self._refuse_while_draining()
        if await self._sent_to_owner(managed, "resume", "running", by):
            return managed
        if managed.stopping:
            raise ServiceError(409, f"campaign {name!r} is stopping: start it once it stopped")
        await self.store.set_wanted_state(name, "running", self._clock(), by)
        if managed.driving:
            managed.gate.open()
        else:
            self._launch(managed, paused=False)
        return managed

    async def pause(self, name: str, by: str) -> ManagedCampaign:
        managed = await self._managed(name)
        if await self._sent_to_owner(managed, "pause", "paused", by):
            return managed
        if not managed.driving or managed.stopping:
            raise ServiceError(409, f"campaign {name!r} is not running: nothing to pause")
        await self.store.set_wanted_state(name, "paused", self._clock(), by)
        if managed.gate.is_open:
            managed.gate.close()
            self.bus.publish("campaign.paused", name, by=by)
        return managed

    async def resume(self, name: str, by: str) -> ManagedCampaign:
        managed = await self._managed(name)
        self._refuse_while_draining()
        if await self._sent_to_owner(managed, "resume", "running", by):
            return managed
        if managed.stopping:
            raise ServiceError(409, f"campaign {name!r} is stopping: start it once it stopped")
        await self.store.set_wanted_state(name, "running", self._clock(), by)
        if not managed.driving:
            self._launch(managed, paused=False)
        elif not managed.gate.is_open:
            managed.gate.open()
            self.bus.publish("campaign.resumed", name, by=by)
        return managed

    async def stop(self, name: str, by: str) -> ManagedCampaign:
        managed = await self._managed(name)
        if await self._sent_to_owner(managed, "stop", "stopped", by):
            return managed
        await self.store.set_wanted_state(name, "stopped", self._clock(), by)
        if managed.driving and not managed.stop.is_set():
            managed.stop.set()
            self.bus.publish("campaign.stopping", name, by=by)
        return managed

    async def drain(self, timeout: timedelta | None = None) -> None:
        """Stop every campaign, their calls in progress drained (bounded); the wanted
        states stay as they are, for the next start of the service."""
        self.draining = True
        tasks = [m.task for m in self.campaigns.values() if m.driving and m.task is not None]
        for managed in self.campaigns.values():
            managed.stop.set()
        if not tasks:
            return
        limit = (timeout or self._drain_timeout).total_seconds() + 5.0  # the runners' own first
        _, late = await asyncio.wait(tasks, timeout=limit)
        for task in late:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def agi_sessions(self) -> int | None:
        return self._node.agi_sessions

    # --- inside -------------------------------------------------------------------------
    async def _sent_to_owner(
        self, managed: ManagedCampaign, command: str, wanted: str, by: str
    ) -> bool:
        """Several nodes: a campaign driven by another node gets the command there (its
        wanted state written first, in the shared store)."""
        if self.remote is None or managed.driving:
            return False
        try:
            owner = await self.remote.owner_elsewhere(managed.name)
            if owner is None:
                return False
            await self.store.set_wanted_state(managed.name, wanted, self._clock(), by)
            await self.remote.send(managed.name, command, by)
        except ConnectionError as exc:  # what RemoteSteering raises when Redis is away
            raise ServiceError(503, f"the cluster's Redis does not answer: {exc}") from exc
        self.bus.publish(f"campaign.{command}_sent", managed.name, by=by, node=owner)
        return True

    def _refuse_while_draining(self) -> None:
        if self.draining:
            raise ServiceError(503, "the service is shutting down")

    async def _managed(self, name: str) -> ManagedCampaign:
        managed = self.campaigns.get(name)
        if managed is not None:
            return managed
        file = await self.store.campaign_file(name)
        if file is None:
            known = ", ".join(sorted(await self.store.campaign_file_names())) or "none yet"
            raise ServiceError(
                404, f"no campaign file registered as {name!r} (registered: {known})"
            )
        managed = ManagedCampaign(file, _parse(file.content, file.source))
        self.campaigns[name] = managed
        return managed

    def _launch(self, managed: ManagedCampaign, paused: bool) -> None:
        managed.stop = asyncio.Event()
        managed.gate = DialGate(is_open=not paused)
        managed.error = None
        managed.runner = None
        managed.task = asyncio.create_task(self._drive(managed), name=f"campaign-{managed.name}")
        self.bus.publish("campaign.starting", managed.name, paused=paused)

    async def _drive(self, managed: ManagedCampaign) -> None:
        name = managed.name
        try:
            campaign = managed.parsed
            secret = resolve_ami_secret(campaign, self._environ)
            runner = await self._node.add_campaign(
                campaign, secret, self._drain_timeout, gate=managed.gate, observer=self._observer
            )
            managed.runner = runner
            if managed.parsed is not campaign:  # updated while it was being built
                managed.campaign = managed.parsed
                managed.retune(managed.parsed)
            self.bus.publish("campaign.started", name, paused=not managed.gate.is_open)
            snapshot = await runner.run(managed.stop)
        except asyncio.CancelledError:
            managed.error = "cancelled: its calls did not drain in time"
            self.bus.publish("campaign.failed", name, error=managed.error)
            raise
        except Exception as exc:
            managed.error = _failure(exc)
            log.error("service.campaign_failed", extra={"campaign": name, "error": managed.error})
            self.bus.publish("campaign.failed", name, error=managed.error)
            return
        finally:
            if managed.runner is not None:
                self._node.forget(managed.runner)
        managed.last_run = snapshot
        if snapshot.state is CampaignState.FINISHED:
            await self.store.set_wanted_state(name, "stopped", self._clock(), "finished")
            self.bus.publish("campaign.finished", name, originated=snapshot.originated)
        else:
            self.bus.publish("campaign.stopped", name, originated=snapshot.originated)


def _parse(content: str, source: str) -> Campaign:
    try:
        return parse_campaign(content, source or "campaign.yaml")
    except CampaignError as exc:
        raise ServiceError(400, str(exc)) from exc


def _failure(exc: Exception) -> str:
    """Why a campaign could not start or go on, in words (never a traceback)."""
    if isinstance(exc, CampaignError | StoreError | CampaignHeld | CampaignStartError):
        return str(exc)
    if isinstance(exc, CampaignAborted):
        return f"aborted: {exc}"
    if isinstance(exc, AmiError):
        return f"AMI: {exc}"
    log.exception("service.unexpected_failure")
    return f"unexpected error: {type(exc).__name__}: {exc}"
