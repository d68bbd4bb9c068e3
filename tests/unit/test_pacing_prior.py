"""A campaign's next run starts from what its last run learnt: the engine keeps the
pacer's figures in the stored status and seeds the next pacer with them. And a talking
operator counts as supply before hanging up when the pacer is told to look that far."""

from __future__ import annotations

import json

from dialer.campaign.loader import parse_campaign
from dialer.engine.pacing_control import PacingControl
from dialer.operators import OperatorState as S
from dialer.policy.predictive import PredictivePacer, PredictiveSettings
from tests.unit.test_campaign_pacing import BASE

PREDICTIVE = BASE + "pacing: {mode: predictive, compliance_message: id}\n"


def learnt_run(pacing: PacingControl) -> None:
    """A run that saw a 25% answer rate and 60 s calls."""
    pacer = pacing._operator_pacer
    assert pacer is not None
    e = pacer.estimates
    e.person.observe(0.25, 400)
    e.transfer.observe(0.6, 80)
    for _ in range(50):
        e.talk_s.observe(60.0)


def test_given_a_stored_status_when_the_next_run_starts_then_estimates_start_there() -> None:
    campaign = parse_campaign(PREDICTIVE)
    first = PacingControl(campaign, clock=lambda: 1000.0)
    learnt_run(first)
    # what the runner stores (JSON) and reads back at the next start
    stored = json.loads(json.dumps({"pacing": first.status()}))
    assert stored["pacing"]["learnt"]["person"] < 0.3

    second = PacingControl(campaign, clock=lambda: 2000.0)
    second.restore({}, stored)
    status = second.status()
    assert status["estimates"]["person_answer_rate"] < 0.3  # not the generic 1.0
    assert 0.55 < status["estimates"]["transfer_share"] < 0.65
    assert 50.0 < status["estimates"]["talk_s"] < 80.0


def test_given_no_or_a_damaged_stored_status_then_the_generic_prior_stays() -> None:
    campaign = parse_campaign(PREDICTIVE)
    for stored in (None, {}, {"pacing": None}, {"pacing": {"learnt": {"version": 99}}}):
        pacing = PacingControl(campaign, clock=lambda: 1000.0)
        pacing.restore({}, stored)
        assert pacing.status()["estimates"]["person_answer_rate"] == 1.0


def test_given_operators_near_the_end_of_their_calls_when_reach_is_set_then_more_calls() -> None:
    """talk_reach: the chance each talking operator's call, `elapsed` old, ends (and the
    wrap-up after it) within that share of the lead time counts as supply."""
    allowed = {}
    for reach in (0.0, 1.5):
        pacer = PredictivePacer(PredictiveSettings(talk_reach=reach))
        for _ in range(500):
            pacer.ledger.record_live(0.0)  # headroom under the abandon target
        e = pacer.estimates
        e.person.observe(0.3, 500)
        e.transfer.observe(0.7, 500)
        e.wrap_s.observe_all([2.0] * 200)
        for _ in range(300):
            e.talk_s.observe(60.0)  # every call lasts a minute
        for i in range(10):
            pacer.operator_state(0.0, f"op{i}", S.ON_CALL)
        pacer._wanted(20.0)  # it may dial ahead from here, ramping up over 30 s
        allowed[reach] = pacer._wanted(55.0)  # every call is 55 s old
    assert allowed[0.0] == 0
    assert allowed[1.5] > 10  # calls for them go out before they hang up
