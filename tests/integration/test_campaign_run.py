"""A whole campaign over real TCP against the simulated PBX, with a real base: a SQLite
file and a private PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.simpbx import SimulatedPbx
from dialer.store.base import ContactStore
from tests.integration.conftest import SECRET, fill_list, make_campaign

pytestmark = pytest.mark.store_backends

# Last digit -> (final outcome, attempts) under the test campaign's retry rules
# (max_attempts 3; busy and congestion retried twice, no answer and abandoned once).
EXPECTED_BY_LAST_DIGIT = {
    "0": (Outcome.TRANSFERRED, 1),  # answers, listens, waits for an operator
    "1": (Outcome.BUSY, 3),
    "2": (Outcome.NO_ANSWER, 2),
    "3": (Outcome.CONGESTION, 3),
    "4": (Outcome.INVALID_NUMBER, 1),
    "5": (Outcome.ANSWERED, 1),  # hangs up during the message: never queued
    "6": (Outcome.TRANSFERRED, 1),
    "7": (Outcome.ABANDONED, 2),  # gives up in the queue
    "8": (Outcome.TRANSFERRED, 1),
    "9": (Outcome.NO_ANSWER, 2),
}


async def _assert_never_dialled_twice(pbx: SimulatedPbx, store: ContactStore) -> int:
    record = await store.get_campaign("spring-promo")
    assert record is not None
    attempts = await store.attempts(record.id)
    channel_ids = [o.channel_id for o in pbx.originates]
    assert len(channel_ids) == len(set(channel_ids)), "an Originate was sent twice"
    assert set(channel_ids) <= {a.attempt_id for a in attempts}
    return len(attempts)


async def test_given_200_contacts_with_every_persona_when_run_then_each_ends_as_expected(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    await fill_list(store, "spring", 200)
    snapshot = await run_campaign(make_campaign(pbx.port), store, SECRET, asyncio.Event())
    assert snapshot.state == "finished"

    record = await store.get_campaign("spring-promo")
    assert record is not None
    lines = await store.contact_report(record.id)
    assert len(lines) == 200
    wrong = []
    for line in lines:
        outcome, attempts = EXPECTED_BY_LAST_DIGIT[line.number[-1]]
        got = (line.status, line.final_outcome, line.attempts)
        if got != (ContactStatus.DONE, outcome, attempts):
            wrong.append((line.number, got))
        assert line.dead == (outcome is Outcome.INVALID_NUMBER)
    assert wrong == []
    total = await _assert_never_dialled_twice(pbx, store)
    assert total == sum(a for _, a in EXPECTED_BY_LAST_DIGIT.values()) * 20
    assert len(pbx.originates) == total
    # Each call's journal in Asterisk is deleted once its outcome is written.
    assert not [key for key in pbx.core.astdb.entries if key.startswith("/dialer/")]


async def test_given_ami_dropped_mid_campaign_when_run_then_all_final_and_none_dialled_twice(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    await fill_list(store, "spring", 200)
    campaign = make_campaign(pbx.port)

    async def saboteur() -> None:
        for _ in range(3):
            while len(pbx.originates) < 60 * (_ + 1):
                await asyncio.sleep(0.01)
            pbx.drop_connections()

    sabotage = asyncio.create_task(saboteur())
    snapshot = await run_campaign(campaign, store, SECRET, asyncio.Event())
    sabotage.cancel()
    assert snapshot.state == "finished"
    record = await store.get_campaign("spring-promo")
    assert record is not None
    lines = await store.contact_report(record.id)
    assert all(line.status is ContactStatus.DONE for line in lines)
    assert all(1 <= line.attempts <= 3 for line in lines)
    total = await _assert_never_dialled_twice(pbx, store)
    assert len(pbx.originates) <= total
    outcomes = Counter(a.outcome for a in await store.attempts(record.id))
    assert outcomes[None] == 0  # every attempt closed
    # Journals whose deletion met a dropped AMI link went once it was back.
    assert not [key for key in pbx.core.astdb.entries if key.startswith("/dialer/")]


async def test_given_one_attempt_per_contact_when_run_then_failures_are_final_as_they_came(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    """The simulator randomises the order of OriginateResponse and Hangup, as Asterisk
    does; the outcome must not depend on it."""
    await fill_list(store, "spring", 40)
    campaign = make_campaign(pbx.port, retry={"max_attempts": 1})
    await run_campaign(campaign, store, SECRET, asyncio.Event())
    record = await store.get_campaign("spring-promo")
    assert record is not None
    finals = Counter(
        (line.number[-1], line.final_outcome) for line in await store.contact_report(record.id)
    )
    assert finals[("1", Outcome.BUSY)] == 4
    assert finals[("3", Outcome.CONGESTION)] == 4
    assert finals[("4", Outcome.INVALID_NUMBER)] == 4


@pytest.mark.parametrize(("channels", "rate"), [(4, 200), (40, 20)])
async def test_given_pacing_limits_when_run_then_pbx_never_sees_more_calls_or_a_faster_rate(
    pbx: SimulatedPbx, store: ContactStore, channels: int, rate: int
) -> None:
    await fill_list(store, "spring", 60)
    campaign = make_campaign(
        pbx.port,
        pacing={"max_channels": channels, "calls_per_second": rate},
        retry={"max_attempts": 1},
    )
    await run_campaign(campaign, store, SECRET, asyncio.Event())
    assert 1 <= pbx.max_concurrent <= channels
    times = sorted(o.time for o in pbx.originates)
    assert len(times) == 60
    # The token bucket holds one second of calls: no one-second window sees more than
    # the rate plus that burst (and one more for timestamps taken at the far end).
    busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    assert busiest <= 2 * rate + 1
