"""Pacing settings: the regulators' rules a campaign file must follow."""

from __future__ import annotations

import pytest

from dialer.campaign.errors import CampaignError
from dialer.campaign.loader import parse_campaign
from dialer.campaign.model import Campaign

BASE = """\
name: c
list: l
ami: {secret: x}
dial: {channel: "PJSIP/{number}@trunk"}
on_answer: {action: play_and_queue, queue: ops}
"""


def test_given_predictive_campaign_with_rules_then_valid() -> None:
    campaign = parse_campaign(
        BASE + "pacing: {mode: predictive, abandon_target: 0.02, compliance_message: id}\n"
    )
    assert campaign.pacing.operator_paced
    assert campaign.pacing.connect_limit.total_seconds() == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "retry:\n  abandoned: {delay: 15m, max: 1}\n",
            "retry.abandoned.delay is 15m: an abandoned caller may not be called again within 72h",
        ),
        ("pacing: {mode: predictive}\n", "needs pacing.compliance_message"),
        ("pacing: {mode: predictive, abandon_target: 0.05}\n", "abandon_target"),
        ("pacing: {mode: power, ratio: 0.5, compliance_message: id}\n", "ratio"),
    ],
)
def test_given_rule_broken_then_campaign_refused_with_the_reason(extra: str, message: str) -> None:
    with pytest.raises(CampaignError) as error:
        parse_campaign(BASE + extra)
    assert message in str(error.value)


def test_given_operator_guaranteed_then_early_recall_allowed() -> None:
    campaign = parse_campaign(
        BASE + "pacing: {operator_guaranteed: true}\nretry:\n  abandoned: {delay: 15m, max: 1}\n"
    )
    assert campaign.retry.abandoned.delay.total_seconds() == 900


def test_given_paced_mode_with_play_and_hangup_then_refused() -> None:
    text = BASE.replace("{action: play_and_queue, queue: ops}", "{action: play_and_hangup}")
    with pytest.raises(CampaignError, match="never reaches one"):
        parse_campaign(text + "pacing: {mode: progressive, compliance_message: id}\n")


def test_given_ivr_transfer_waiting_longer_than_connect_limit_in_paced_mode_then_refused() -> None:
    text = BASE.replace("{action: play_and_queue, queue: ops}", "{action: ivr}") + (
        "pacing: {mode: predictive, compliance_message: id}\n"
        "ivr:\n  start: t\n  steps:\n    t: {kind: transfer, queue: ops, max_wait: 30s}\n"
    )
    with pytest.raises(CampaignError, match=r"transfer step\(s\) t wait longer than"):
        parse_campaign(text)
    parse_campaign(text.replace("max_wait: 30s", "max_wait: 2s"))


def test_given_paced_mode_then_queue_waits_connect_limit_and_compliance_message_is_sent() -> None:
    from dialer.engine.dial_requests import answer_plan_of, dial_request_of
    from dialer.pbx.dialplan_contract import channel_variables

    def answer_variables(campaign: Campaign, agi: str | None) -> dict[str, str]:
        plan = answer_plan_of(campaign, agi)
        return channel_variables(dial_request_of(campaign, "a-1", "+79120000000", plan))

    paced = parse_campaign(
        BASE + "pacing: {mode: progressive, compliance_message: dialer/identify}\n"
    )
    fixed = parse_campaign(BASE)
    assert answer_variables(paced, None)["DIALER_QUEUE_TIMEOUT"] == "2"
    assert answer_variables(paced, None)["DIALER_COMPLIANCE_MESSAGE"] == "dialer/identify"
    assert answer_variables(fixed, None)["DIALER_QUEUE_TIMEOUT"] == "30"
    assert answer_variables(fixed, None)["DIALER_COMPLIANCE_MESSAGE"] == ""
