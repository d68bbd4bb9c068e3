"""Every result updates the contact, across campaigns and lists: dead numbers, failure
streaks, aggressive callees and the last disposition. Whole campaigns over real TCP
against the simulated PBX with a real SQLite base; what is (not) dialled again is counted
on the PBX side, from the simulator's own record of the Originates it received."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store.base import ContactStore, NewContact
from tests.integration.conftest import SECRET, fill_list, make_campaign
from tests.integration.test_ivr_campaigns import TIMING, example

pytestmark = pytest.mark.store_backends


def dialled(pbx: SimulatedPbx) -> Counter[str]:
    """Originates the PBX received, by number (with a leading +)."""
    return Counter("+" + o.number.lstrip("+") for o in pbx.originates)


async def run(store: ContactStore, campaign: Campaign) -> None:
    snapshot = await asyncio.wait_for(run_campaign(campaign, store, SECRET, asyncio.Event()), 60)
    assert snapshot.state == "finished"


async def test_given_an_invalid_number_then_no_later_campaign_on_any_list_originates_it(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    numbers = await fill_list(store, "spring", 20)
    invalid = [n for n in numbers if n.endswith("4")]  # the simulator answers cause 1
    await store.import_contacts("autumn", [NewContact(n) for n in (*invalid, "+79129999990")])

    await run(store, make_campaign(pbx.port, retry={"max_attempts": 1}))
    assert {n: dialled(pbx)[n] for n in invalid} == {n: 1 for n in invalid}
    assert all(c.dead == c.number.endswith("4") for c in await store.contacts("spring"))

    # A second campaign on the same list, and one on another list holding the same numbers.
    await run(store, make_campaign(pbx.port, name="spring-again", retry={"max_attempts": 1}))
    await run(store, make_campaign(pbx.port, name="autumn", list="autumn"))

    assert {n: dialled(pbx)[n] for n in invalid} == {n: 1 for n in invalid}
    assert dialled(pbx)["+79129999990"] == 1
    assert [c.dead for c in await store.contacts("autumn")] == [True, True, False]
    assert all(dialled(pbx)[n] == 2 for n in numbers if not n.endswith("4"))


async def test_given_a_number_that_keeps_failing_across_campaigns_then_it_is_dead_after_three(
    store: ContactStore,
) -> None:
    failing, fine = "+79120000011", "+79120000020"
    personas = {failing: "failed", fine: "answer"}
    await store.import_contacts("spring", [NewContact(n) for n in personas])
    pbx = SimulatedPbx(
        SimConfig(port=0, secret=SECRET, operators=5, personas=personas, timing=TIMING)
    )
    await pbx.start()
    try:
        # failed: retried once per campaign, so 2 attempts in the first campaign...
        await run(store, make_campaign(pbx.port))
        assert dialled(pbx)[failing] == 2
        assert not any(c.dead for c in await store.contacts("spring"))
        # ...and the third failure, in the next campaign, makes it dead: no 4th attempt.
        await run(store, make_campaign(pbx.port, name="spring-again"))
        assert dialled(pbx)[failing] == 3
        await run(store, make_campaign(pbx.port, name="spring-third"))
        assert dialled(pbx)[failing] == 3
        assert dialled(pbx)[fine] == 3
    finally:
        await pbx.stop()
    assert {c.number: c.dead for c in await store.contacts("spring")} == {
        failing: True,
        fine: False,
    }


async def _ivr_run(store: ContactStore, pbx: SimulatedPbx, name: str, **overrides: Any) -> None:
    campaign = example(
        "campaign-keypad.yaml",
        pbx.port,
        **{
            "ivr.steps.offer.timeout": "200ms",
            # Pressing 2 ("not interested") marks the callee aggressive in this test.
            "ivr.steps.not_interested.disposition": "aggressive",
            "retry.max_attempts": 1,
            **overrides,
        },
    )
    await run(store, campaign.model_copy(update={"name": name}))


async def test_given_an_aggressive_or_opted_out_callee_then_no_later_campaign_originates_them(
    store: ContactStore,
) -> None:
    personas = {
        "+79120000001": "press:1",  # interested -> hot -> operator
        "+79120000002": "press:2",  # aggressive
        "+79120000003": "press:9",  # stop calling me
    }
    await store.import_contacts(
        "spring", [NewContact(n, fields={"amount_due": "1500"}) for n in personas]
    )
    pbx = SimulatedPbx(
        SimConfig(port=0, secret=SECRET, operators=5, personas=personas, timing=TIMING)
    )
    await pbx.start()
    try:
        await _ivr_run(store, pbx, "keypad-1")
        await _ivr_run(store, pbx, "keypad-2")
    finally:
        await pbx.stop()

    assert dialled(pbx) == {"+79120000001": 2, "+79120000002": 1, "+79120000003": 1}
    dnc = {number: source for number, _, source in await store.do_not_call()}
    assert set(dnc) == {"+79120000002", "+79120000003"}
    assert dnc["+79120000002"].startswith("disposition aggressive (attempt ")
    fields = {c.number: dict(c.fields) for c in await store.contacts("spring")}
    assert fields["+79120000001"] | {"amount_due": "1500"} == {
        "amount_due": "1500",
        "temperature": "hot",
        "disposition": "interested",
    }
    assert fields["+79120000002"]["disposition"] == "aggressive"
    assert fields["+79120000002"]["temperature"] == "cold"


async def test_given_a_campaign_without_a_script_then_answered_contacts_carry_their_disposition(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    await fill_list(store, "spring", 10)
    await run(store, make_campaign(pbx.port, retry={"max_attempts": 1}))
    by_digit = {c.number[-1]: c.fields.get("disposition") for c in await store.contacts("spring")}
    assert by_digit == {
        "0": "transferred",
        "1": None,  # busy
        "2": None,  # no answer
        "3": None,  # congestion
        "4": None,  # invalid: dead, not answered
        "5": "answered",  # hung up during the message
        "6": "transferred",
        "7": "abandoned",
        "8": "transferred",
        "9": None,
    }
