"""Composition root: the one module that builds the long-lived objects of a process and
wires them. Commands, the demo and the benchmarks build through it, nothing else does.

A `Node` is one dialer process: the contact store it is given, one AMI link per Asterisk
server (shared by every campaign dialling through that server), one FastAGI server for
every IVR campaign (sessions are routed by attempt id), and one runner per campaign.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dialer.campaign.model import AnswerAction, Campaign
from dialer.engine.call_taps import CallObserver, ObservedDialer
from dialer.engine.campaign_hold import HoldKeeper, HoldPort
from dialer.engine.cluster_campaign import ClusterCampaign
from dialer.engine.cluster_dialer import ClusterDialer
from dialer.engine.dial_gate import DialGate, GatedPacing
from dialer.engine.dialer_port import Dialer
from dialer.engine.ivr_calls import AgiRouter, IvrCalls
from dialer.engine.pacing_control import PacingControl
from dialer.engine.run_snapshot import RunSnapshot
from dialer.engine.runner import CampaignRunner
from dialer.engine.store_patience import StorePatience
from dialer.pbx.ami_client import AmiClient, AmiConnectionSettings
from dialer.pbx.link import PbxLink, utc_now
from dialer.store import ContactStore, open_store

if TYPE_CHECKING:  # imported when used: a plain campaign loads none of them
    from dialer.coord import Coordinator
    from dialer.simpbx import SimConfig, SimulatedPbx
    from ivr.fastagi import FastAgiServer
    from ivr.recognition import SpeechRecognizer
    from ivr.script import IvrScript

Clock = Callable[[], datetime]
DEFAULT_DRAIN_TIMEOUT = timedelta(seconds=60)  # how long a stop waits for calls in progress


class CampaignStartError(Exception):
    """The campaign cannot start: a prompt file, the speech model, the FastAGI port."""


def ami_settings_of(campaign: Campaign, secret: str) -> AmiConnectionSettings:
    ami = campaign.ami
    return AmiConnectionSettings(
        host=ami.host,
        port=ami.port,
        username=ami.username,
        secret=secret,
        connect_timeout=ami.connect_timeout.total_seconds(),
        action_timeout=ami.action_timeout.total_seconds(),
        ping_interval=ami.ping_interval.total_seconds(),
    )


@dataclass
class _Agi:
    server: FastAgiServer
    router: AgiRouter
    address: str  # what the dialplan dials: agi://<address>/ivr?attempt=...


class Node:
    """One dialer process. `add_campaign` for each campaign, then run the runners;
    `close()` stops the FastAGI server and the AMI links."""

    def __init__(
        self,
        store: ContactStore,
        clock: Clock = utc_now,
        agi_turnaround: Callable[[float], None] | None = None,
        coordinator: Coordinator | None = None,
    ) -> None:
        self.store = store
        self.coordinator = coordinator  # several nodes (--redis): holds and calls go through it
        self._clock = clock
        self._agi_turnaround = agi_turnaround  # every FastAGI reply-to-next-command delay
        self._links: dict[tuple[str, int, str], PbxLink] = {}
        self._agi: _Agi | None = None
        # Per runner: what add_campaign wired it to, undone by forget().
        self._parts: dict[int, tuple[PbxLink, PacingControl, IvrCalls | None]] = {}

    async def add_campaign(
        self,
        campaign: Campaign,
        secret: str,
        drain_timeout: timedelta = DEFAULT_DRAIN_TIMEOUT,
        hold: HoldPort | None = None,
        gate: DialGate | None = None,
        observer: CallObserver | None = None,
    ) -> CampaignRunner:
        """Build a campaign's runner. Raises CampaignStartError (prompt, speech model,
        FastAGI port) before touching AMI, then AmiConnectError / AmiAuthError if its
        Asterisk is unusable; nothing is dialled either way. `hold`: the campaign's hold
        if already taken (the runner takes it otherwise). `gate`: its pause switch (the
        service's); `observer`: told of every call (the service's event bus)."""
        ivr_calls, agi_address = await self._ivr_calls(campaign)
        link = await self._link(campaign, secret)
        waiting: Callable[[], int] = lambda: link.callers_waiting(queues)  # noqa: E731
        pacing = (
            PacingControl(campaign, callers_waiting=waiting)
            if gate is None
            else GatedPacing(campaign, gate, callers_waiting=waiting)
        )
        queues = pacing.queues  # empty for a fixed pace: no queue events, no QueueStatus
        await link.watch_queues(queues, pacing, campaign.pacing.wrapup.total_seconds())
        dialer: Dialer = link if observer is None else ObservedDialer(link, campaign.name, observer)
        cluster = None
        if self.coordinator is not None and hold is None:
            cluster = ClusterCampaign(self.coordinator, campaign)
            hold, dialer = cluster, ClusterDialer(dialer, cluster)
        runner = CampaignRunner(
            campaign,
            self.store,
            dialer,
            pacing,
            clock=self._clock,
            drain_timeout=drain_timeout,
            ivr=ivr_calls,
            agi_address=agi_address,
            hold=hold,
            admission=cluster,
        )
        if cluster is not None:
            cluster.snapshot = runner.snapshot  # the live counters every node shows
        self._parts[id(runner)] = (link, pacing, ivr_calls)
        return runner

    def forget(self, runner: CampaignRunner) -> None:
        """A campaign's run is over (the service may start it again, with new parts):
        its pacer stops hearing the operators and the FastAGI router forgets it."""
        link, pacing, ivr_calls = self._parts.pop(id(runner), (None, None, None))
        if link is not None and pacing is not None:
            link.unwatch_queues(pacing)
        if ivr_calls is not None and self._agi is not None:
            self._agi.router.remove(ivr_calls)

    @property
    def agi_sessions(self) -> int | None:
        """FastAGI sessions open now; None while no IVR campaign has started one."""
        return self._agi.server.sessions if self._agi is not None else None

    async def close(self) -> None:
        links, self._links = list(self._links.values()), {}
        for link in links:
            await link.close()
        if self._agi is not None:
            await self._agi.server.stop()
            self._agi = None

    async def _link(self, campaign: Campaign, secret: str) -> PbxLink:
        """The AMI link to the campaign's Asterisk, shared by its campaigns."""
        key = (campaign.ami.host, campaign.ami.port, campaign.ami.username)
        link = self._links.get(key)
        if link is None:
            link = PbxLink(AmiClient(ami_settings_of(campaign, secret)), clock=self._clock)
            await link.start()
            self._links[key] = link
        return link

    async def _ivr_calls(self, campaign: Campaign) -> tuple[IvrCalls | None, str | None]:
        """The IVR side of a campaign with `action: ivr` (nothing otherwise), and the
        address Asterisk should dial for it."""
        script = campaign.ivr
        if campaign.on_answer.action is not AnswerAction.IVR or script is None:
            return None, None
        playable, recognizer = await load_ivr_assets(script, campaign.ami.host)
        store, clock = self.store, self._clock

        async def opt_out(number: str, attempt_id: str) -> None:
            await store.add_do_not_call(
                [number], f"opt-out in campaign {campaign.name} (attempt {attempt_id})", clock()
            )

        calls = IvrCalls(campaign.name, script, recognizer, clock, opt_out, playable)
        await calls.sweep_recordings()
        agi = await self._agi_server(campaign)
        agi.router.add(calls)
        return calls, agi.address

    async def _agi_server(self, campaign: Campaign) -> _Agi:
        """One FastAGI server per process, listening where the first IVR campaign says."""
        if self._agi is not None:
            return self._agi
        from ivr.fastagi import FastAgiServer

        settings = campaign.fastagi
        router = AgiRouter()
        server = FastAgiServer(
            router.handle,
            host=settings.host,
            port=settings.port,
            on_turnaround=self._agi_turnaround,
        )
        try:
            await server.start()
        except OSError as exc:
            raise CampaignStartError(
                f"FastAGI server cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
            ) from exc
        address = settings.advertise or f"{settings.host}:{server.port}"
        self._agi = _Agi(server, router, address)
        return self._agi


async def load_ivr_assets(
    script: IvrScript, asterisk_host: str
) -> tuple[dict[str, str], SpeechRecognizer | None]:
    """The script's prompts converted (name -> playable path), its record_dir checked and
    its speech model loaded: done before the first call, so a broken file, directory or
    model stops the start (or `dialer validate`), not a call. CampaignStartError says
    which and why."""
    from ivr.prompt_files import prepare_script_prompts
    from ivr.prompts import PromptError
    from ivr.recordings import asterisk_is_local, record_dir_problem

    try:
        playable = await asyncio.to_thread(prepare_script_prompts, script)
    except PromptError as exc:
        raise CampaignStartError(f"prompt file: {exc}") from exc
    if script.speech is None:
        return dict(playable), None
    from ivr.speech import SpeechError, VoskRecognizer  # loads Vosk: speech only

    recognizer = VoskRecognizer(
        {script.language: script.speech.model_dir},
        threshold=script.speech.confidence,
        setting="ivr.speech.model_dir",
    )
    try:
        await recognizer.warm_up()
    except SpeechError as exc:
        raise CampaignStartError(str(exc)) from exc
    problem = record_dir_problem(script.speech.record_dir, local=asterisk_is_local(asterisk_host))
    if problem is not None:
        raise CampaignStartError(problem)
    return dict(playable), recognizer


async def run_campaign(
    campaign: Campaign,
    store: ContactStore,
    secret: str,
    stop: asyncio.Event,
    on_started: Callable[[CampaignRunner], None] | None = None,
    clock: Clock = utc_now,
    drain_timeout: timedelta = DEFAULT_DRAIN_TIMEOUT,
    agi_turnaround: Callable[[float], None] | None = None,
) -> RunSnapshot:
    """A node with one campaign: take the campaign's hold (CampaignHeld if another live
    process drives it: refused before AMI is touched), connect, run until done or
    stopped, disconnect."""
    hold, patience = HoldKeeper(store, clock), StorePatience(lambda _: None)
    record = await patience.call(
        "open", lambda: store.open_campaign(campaign.name, campaign.list, clock())
    )
    await patience.call("hold", lambda: hold.take(campaign.name, record.id))
    node = Node(store, clock=clock, agi_turnaround=agi_turnaround)
    try:
        runner = await node.add_campaign(campaign, secret, drain_timeout, hold=hold)
        if on_started is not None:
            on_started(runner)
        return await runner.run(stop)
    finally:
        await node.close()
        await hold.release()  # a no-op when the runner released it


@contextlib.asynccontextmanager
async def opened_store(path: str | Path | None) -> AsyncIterator[ContactStore]:
    """The contact base at `path` ($DIALER_DB or ./dialer.db when None), closed after."""
    store = await open_store(path)
    try:
        yield store
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def running_simulator(config: SimConfig) -> AsyncIterator[SimulatedPbx]:
    """The SIMULATED Asterisk (demo, trials, benchmarks), listening until the block ends."""
    from dialer.simpbx import SimulatedPbx

    pbx = SimulatedPbx(config)
    await pbx.start()
    try:
        yield pbx
    finally:
        await pbx.stop()
