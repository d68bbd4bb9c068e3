"""Composition root: the one place that builds the collaborators of a run and wires them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from dialer.campaign.model import AnswerAction, Campaign
from dialer.engine.ivr_calls import IvrCalls
from dialer.engine.pacing_control import PacingControl
from dialer.engine.runner import CampaignRunner, RunSnapshot
from dialer.pbx.ami_client import AmiConnectionSettings
from dialer.pbx.link import CallEnded, PbxLink, utc_now
from dialer.pbx.queue_tracker import QueueTracker
from dialer.store.base import ContactStore


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


@contextlib.asynccontextmanager
async def ivr_service(
    campaign: Campaign,
    store: ContactStore,
    clock: Callable[[], datetime],
    agi_turnaround: Callable[[float], None] | None = None,
) -> AsyncIterator[tuple[IvrCalls | None, str | None]]:
    """The FastAGI server and the IVR service for a campaign with `action: ivr`
    (nothing otherwise). Yields the service and the address Asterisk should dial."""
    script = campaign.ivr
    if campaign.on_answer.action is not AnswerAction.IVR or script is None:
        yield None, None
        return
    from ivr.fastagi import FastAgiServer  # imported only for IVR campaigns
    from ivr.prompt_files import prepare_script_prompts
    from ivr.prompts import PromptError

    try:
        # Converted before the first call: a broken file stops the start, not a call.
        playable = await asyncio.to_thread(prepare_script_prompts, script)
    except PromptError as exc:
        raise CampaignStartError(f"prompt file: {exc}") from exc
    recognizer = None
    if script.speech is not None:
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

    async def opt_out(number: str, attempt_id: str) -> None:
        await store.add_do_not_call(
            [number], f"opt-out in campaign {campaign.name} (attempt {attempt_id})", clock()
        )

    calls = IvrCalls(campaign.name, script, recognizer, clock, opt_out, playable)
    settings = campaign.fastagi
    server = FastAgiServer(
        calls.handle, host=settings.host, port=settings.port, on_turnaround=agi_turnaround
    )
    try:
        await server.start()
    except OSError as exc:
        raise CampaignStartError(
            f"FastAGI server cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
        ) from exc
    try:
        yield calls, settings.advertise or f"{settings.host}:{server.port}"
    finally:
        await server.stop()


async def run_campaign(
    campaign: Campaign,
    store: ContactStore,
    secret: str,
    stop: asyncio.Event,
    on_started: Callable[[CampaignRunner], None] | None = None,
    clock: Callable[[], datetime] = utc_now,
    drain_timeout: timedelta = timedelta(seconds=60),
    agi_turnaround: Callable[[float], None] | None = None,
) -> RunSnapshot:
    """Connect to Asterisk, run the campaign until done or stopped, disconnect.

    Raises AmiConnectError / AmiAuthError before dialling anything if AMI is unusable,
    CampaignStartError if a prompt, the speech model or the FastAGI port is not usable.
    `agi_turnaround` receives every FastAGI reply-to-next-command delay (seconds).
    """
    ended: asyncio.Queue[CallEnded] = asyncio.Queue()
    pacing = PacingControl(campaign)

    async def read_queues() -> None:
        """Operators' states from Asterisk, at start and after every reconnect."""
        items = []
        for queue in sorted(pacing.queues):
            items += await link.queue_status(queue)
        pacing.load_queues(items)

    async with ivr_service(campaign, store, clock, agi_turnaround) as (ivr_calls, agi_address):
        link = PbxLink(
            ami_settings_of(campaign, secret),
            on_call_ended=ended.put_nowait,
            clock=clock,
            # Call milestones and queue events matter only to the operator pacers; a
            # fixed campaign spends no CPU on them.
            on_progress=pacing.on_progress if pacing.operator_paced else None,
            on_queue_event=pacing.on_queue_event if pacing.operator_paced else None,
            queue_events=QueueTracker.EVENTS if pacing.operator_paced else frozenset(),
            on_ready=read_queues if pacing.operator_paced else None,
        )
        await link.start()
        try:
            runner = CampaignRunner(
                campaign,
                store,
                link,
                ended,
                clock=clock,
                drain_timeout=drain_timeout,
                ivr=ivr_calls,
                agi_address=agi_address,
                pacing=pacing,
            )
            if on_started is not None:
                on_started(runner)
            return await runner.run(stop)
        finally:
            await link.close()
