"""Composition root: the one place that builds the collaborators of a run and wires them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from dialer.campaign.model import Campaign
from dialer.engine.runner import CampaignRunner, RunSnapshot
from dialer.pbx.ami_client import AmiConnectionSettings
from dialer.pbx.link import CallEnded, PbxLink, utc_now
from dialer.store.base import ContactStore


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


async def run_campaign(
    campaign: Campaign,
    store: ContactStore,
    secret: str,
    stop: asyncio.Event,
    on_started: Callable[[CampaignRunner], None] | None = None,
    clock: Callable[[], datetime] = utc_now,
    drain_timeout: timedelta = timedelta(seconds=60),
) -> RunSnapshot:
    """Connect to Asterisk, run the campaign until done or stopped, disconnect.

    Raises AmiConnectError / AmiAuthError before dialling anything if AMI is unusable.
    """
    ended: asyncio.Queue[CallEnded] = asyncio.Queue()
    link = PbxLink(ami_settings_of(campaign, secret), on_call_ended=ended.put_nowait, clock=clock)
    await link.start()
    try:
        runner = CampaignRunner(
            campaign, store, link, ended, clock=clock, drain_timeout=drain_timeout
        )
        if on_started is not None:
            on_started(runner)
        return await runner.run(stop)
    finally:
        await link.close()
