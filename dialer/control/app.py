"""Composition root: the one module that builds the long-lived objects of a process and
wires them. Commands, the demo and the benchmarks build through it, nothing else does.

A `Node` is one dialer process: the contact store it is given, one AMI link per Asterisk
server (shared by every campaign dialling through that server), one FastAGI server for
every IVR campaign (sessions are routed by attempt id), and one runner per campaign.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dialer.campaign.ami_secret import server_secret
from dialer.campaign.connection import AsteriskServer
from dialer.campaign.model import AnswerAction, Campaign
from dialer.engine.asterisk_pool import AsteriskPool, PoolMember
from dialer.engine.call_taps import CallObserver, ObservedDialer
from dialer.engine.campaign_hold import HoldKeeper, HoldPort
from dialer.engine.cluster_campaign import ClusterCampaign
from dialer.engine.cluster_dialer import ClusterDialer
from dialer.engine.dial_gate import DialGate, GatedPacing
from dialer.engine.dialer_port import Dialer
from dialer.engine.ivr_calls import AgiRouter, IvrCalls
from dialer.engine.pacing_control import PacingControl
from dialer.engine.queue_share import SharedQueue
from dialer.engine.run_snapshot import RunSnapshot
from dialer.engine.runner import CampaignRunner
from dialer.engine.store_patience import StorePatience
from dialer.engine.trunk_share import SharedTrunk
from dialer.pbx.ami_client import AmiClient, AmiConnectionSettings
from dialer.pbx.link import PbxLink, utc_now
from dialer.store import ContactStore, open_store

if TYPE_CHECKING:  # imported when used: a plain campaign loads none of them
    from dialer.coord import Coordinator
    from dialer.simpbx import SimConfig, SimulatedPbx
    from ivr.audiosocket import AudioSocketServer
    from ivr.fastagi import FastAgiServer
    from ivr.recognition import SpeechRecognizer
    from ivr.script import IvrScript
    from ivr.stream_channel import StreamMedia
    from ivr.tts import TtsVoices

Clock = Callable[[], datetime]
DEFAULT_DRAIN_TIMEOUT = timedelta(seconds=60)  # how long a stop waits for calls in progress


class CampaignStartError(Exception):
    """The campaign cannot start: a prompt file, the speech model, the FastAGI port."""


def ami_settings_of(ami: AsteriskServer, secret: str) -> AmiConnectionSettings:
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
        self._linking = asyncio.Lock()
        # What campaigns on one Asterisk share: a queue's operators, a trunk's channels.
        self._queues: dict[tuple[int, str], SharedQueue] = {}
        self._trunks: dict[tuple[str, int, str], SharedTrunk] = {}
        self._agi: _Agi | None = None
        self._audiosocket: AudioSocketServer | None = None
        # Per runner: what add_campaign wired it to, undone by forget().
        self._parts: dict[int, tuple[list[PbxLink], PacingControl, IvrCalls | None]] = {}

    async def add_campaign(
        self,
        campaign: Campaign,
        secret: str | Mapping[str, str],
        drain_timeout: timedelta = DEFAULT_DRAIN_TIMEOUT,
        hold: HoldPort | None = None,
        gate: DialGate | None = None,
        observer: CallObserver | None = None,
    ) -> CampaignRunner:
        """Build a campaign's runner. Raises CampaignStartError (prompt, speech model,
        FastAGI port) before touching AMI, then AmiConnectError / AmiAuthError if its
        Asterisk is unusable; nothing is dialled either way. `hold`: the campaign's hold
        if already taken (the runner takes it otherwise). `gate`: its pause switch (the
        service's); `observer`: told of every call (the service's event bus). `secret`:
        the first server's (the others' from their secret_env), or each by server name."""
        ivr_calls, agi_address = await self._ivr_calls(campaign)
        pool, pbx_links = await self._pool(campaign, secret)
        waiting: Callable[[], int] = lambda: sum(  # noqa: E731
            link.callers_waiting(queues) for link in pbx_links
        )
        pacing = (
            PacingControl(campaign, callers_waiting=waiting)
            if gate is None
            else GatedPacing(campaign, gate, callers_waiting=waiting)
        )
        queues = pacing.queues  # empty for a fixed pace: no queue events, no QueueStatus
        for link in pbx_links:  # operators' queues may be on any of the servers
            for queue in sorted(queues):
                shared = self._shared_queue(link, queue)
                shared.join(pacing)
                wrapup = campaign.pacing.wrapup.total_seconds()
                await link.watch_queues([queue], shared, wrapup)
        pacing.trunk = self._trunk(campaign, lambda: pacing.on_change())
        dialer: Dialer = pool if observer is None else ObservedDialer(pool, campaign.name, observer)
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
        self._parts[id(runner)] = (pbx_links, pacing, ivr_calls)
        return runner

    def forget(self, runner: CampaignRunner) -> None:
        """A campaign's run is over (the service may start it again, with new parts):
        its pacer stops hearing the operators and the FastAGI router forgets it."""
        links, pacing, ivr_calls = self._parts.pop(id(runner), ([], None, None))
        if pacing is not None:
            for link in links:
                for queue in pacing.queues:
                    self._shared_queue(link, queue).leave(pacing)
            if pacing.trunk is not None:
                pacing.trunk.leave(pacing.name)
        if ivr_calls is not None and self._agi is not None:
            self._agi.router.remove(ivr_calls)

    def _shared_queue(self, link: PbxLink, queue: str) -> SharedQueue:
        """The queue's operators as the node's campaigns on `link` share them."""
        key = (id(link), queue.lower())
        shared = self._queues.get(key)
        if shared is None:
            shared = self._queues[key] = SharedQueue(queue)
        return shared

    def _trunk(self, campaign: Campaign, wake: Callable[[], None]) -> SharedTrunk | None:
        """The channel limit of the campaign's `dial.trunk`, shared on its Asterisk."""
        trunk = campaign.dial.trunk
        if trunk is None:
            return None
        key = (campaign.ami.host, campaign.ami.port, trunk.name.lower())
        shared = self._trunks.get(key)
        if shared is None:
            shared = self._trunks[key] = SharedTrunk(trunk.name, trunk.max_channels)
        shared.join(campaign.name, campaign.pacing.share, trunk.max_channels, wake)
        return shared

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
        if self._audiosocket is not None:
            await self._audiosocket.stop()
            self._audiosocket = None

    async def _pool(
        self, campaign: Campaign, secret: str | Mapping[str, str]
    ) -> tuple[AsteriskPool, list[PbxLink]]:
        """The campaign's Asterisk servers, each over the AMI link this process keeps for
        it (shared by every campaign on that server). The first server must be up to
        start; the others are logged in to in the background when they come up."""
        members, links = [], []
        for index, server in enumerate(campaign.asterisk_servers):
            if isinstance(secret, str):
                password = secret if index == 0 else server_secret(server, os.environ)
            else:
                password = secret[server.key]
            link = await self._link(server, password, keep_trying=index > 0)
            members.append(PoolMember(server.key, link, server.weight, server.max_channels))
            links.append(link)
        return AsteriskPool(members), links

    async def _link(self, server: AsteriskServer, secret: str, keep_trying: bool) -> PbxLink:
        key = (server.host, server.port, server.username)
        async with self._linking:  # campaigns started together must not log in twice
            link = self._links.get(key)
            if link is None:
                settings = ami_settings_of(server, secret)
                link = PbxLink(AmiClient(settings), clock=self._clock)
                await link.start(keep_trying)
                self._links[key] = link
        return link

    async def _ivr_calls(self, campaign: Campaign) -> tuple[IvrCalls | None, str | None]:
        """The IVR side of a campaign with `action: ivr` (nothing otherwise), and the
        address Asterisk should dial for it."""
        script = campaign.ivr
        if campaign.on_answer.action is not AnswerAction.IVR or script is None:
            return None, None
        playable, recognizer, voices = await load_ivr_assets(script, campaign.ami.host)
        store, clock = self.store, self._clock

        async def opt_out(number: str, attempt_id: str) -> None:
            await store.add_do_not_call(
                [number], f"opt-out in campaign {campaign.name} (attempt {attempt_id})", clock()
            )

        media = await self._stream_media(campaign, script, playable)
        calls = IvrCalls(campaign.name, script, recognizer, clock, opt_out, playable, media, voices)
        await calls.sweep_recordings()
        agi = await self._agi_server(campaign)
        agi.router.add(calls)
        return calls, agi.address

    async def _stream_media(
        self, campaign: Campaign, script: IvrScript, playable: Mapping[str, str]
    ) -> StreamMedia | None:
        """The AudioSocket media path (on_answer.media: stream): one server per process."""
        if campaign.on_answer.media != "stream":
            return None
        from ivr.stream_setup import StreamSetupError, start_server, stream_media

        settings = campaign.audiosocket
        try:
            if self._audiosocket is None:
                self._audiosocket = await start_server(settings.host, settings.port)
            server = self._audiosocket
            address = settings.advertise or f"{settings.host}:{server.port}"
            return await stream_media(script, server, address, playable, settings.sounds_dirs)
        except StreamSetupError as exc:
            raise CampaignStartError(str(exc)) from exc

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
) -> tuple[dict[str, str], SpeechRecognizer | None, TtsVoices | None]:
    """The script's prompts converted (name -> playable path), its static say texts
    rendered, its record_dir checked and its speech model loaded: done before the first
    call, so a broken file, voice, directory or model stops the start (or `dialer
    validate`), not a call. CampaignStartError says which and why."""
    from ivr.prompt_files import prepare_script_prompts
    from ivr.prompts import PromptError
    from ivr.recordings import asterisk_is_local, record_dir_problem
    from ivr.script_voices import prepare_script_voices
    from ivr.tts import TtsError

    try:
        playable = await asyncio.to_thread(prepare_script_prompts, script)
    except PromptError as exc:
        raise CampaignStartError(f"prompt file: {exc}") from exc
    try:
        voices = await asyncio.to_thread(prepare_script_voices, script)
    except TtsError as exc:
        raise CampaignStartError(f"say text: {exc}") from exc
    if script.speech is None:
        return dict(playable), None, voices
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
    return dict(playable), recognizer, voices


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
