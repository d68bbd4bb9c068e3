"""A campaign through a simulated Asterisk whose manager answers late for a while
(every reply 3 s late against a 2 s action timeout) while calls and their events go on:
dialling pauses, nothing is dialled twice, and no call the PBX had is closed `unknown`.
Counted on the simulator's side (its record of the calls it placed)."""

from __future__ import annotations

import asyncio
from collections import Counter

from dialer.control.app import run_campaign
from dialer.engine.runner import CampaignRunner
from dialer.outcomes import ContactStatus, Outcome
from dialer.pbx.link_state import LinkState
from dialer.simpbx import SimulatedPbx
from dialer.store.base import ContactStore
from tests.integration.conftest import SECRET, fill_list, make_campaign


async def test_given_asterisk_answering_late_mid_campaign_then_no_call_it_had_is_unknown(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    await fill_list(store, "spring", 200)
    campaign = make_campaign(pbx.port)  # action_timeout 2s, ping_interval 1s
    runners: list[CampaignRunner] = []
    states: Counter[LinkState] = Counter()
    originated_while_unresponsive = 0

    async def slow_spell() -> None:
        nonlocal originated_while_unresponsive
        while len(pbx.originates) < 60:
            await asyncio.sleep(0.01)
        pbx.reply_delay = 3.0
        loop = asyncio.get_running_loop()
        end = loop.time() + 5.0
        seen_at: int | None = None
        while loop.time() < end:
            state = runners[0].snapshot.link_state
            states[state] += 1
            if state is LinkState.UNRESPONSIVE and seen_at is None:
                seen_at = len(pbx.originates)
            await asyncio.sleep(0.05)
        pbx.reply_delay = 0.0
        if seen_at is not None:
            # Originates already on their way when the link noticed may still arrive.
            originated_while_unresponsive = len(pbx.originates) - seen_at

    spell = asyncio.create_task(slow_spell())
    snapshot = await run_campaign(
        campaign, store, SECRET, asyncio.Event(), on_started=runners.append
    )
    await spell

    assert snapshot.state == "finished"
    assert states[LinkState.UNRESPONSIVE] > 0  # shown while it lasted
    assert originated_while_unresponsive <= campaign.pacing.max_channels
    record = await store.get_campaign("spring-promo")
    assert record is not None
    lines = await store.contact_report(record.id)
    assert all(line.status is ContactStatus.DONE for line in lines)
    attempts = await store.attempts(record.id)
    channel_ids = [o.channel_id for o in pbx.originates]
    assert len(channel_ids) == len(set(channel_ids))
    unknown_the_pbx_had = [
        a.attempt_id for a in attempts if a.outcome is Outcome.UNKNOWN and a.attempt_id in pbx.calls
    ]
    assert unknown_the_pbx_had == []
