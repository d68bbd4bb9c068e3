"""A call cut by Asterisk going away (Outcome.PBX_FAILURE): retried soon by its own rule,
never an abandon for the regulator's ledger, and counted in the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dialer.campaign.model import Campaign
from dialer.control.report import pbx_failure_caption
from dialer.engine.pacing_control import PacingControl
from dialer.outcomes import Outcome
from dialer.pbx.events import CallMilestone, Milestone
from dialer.policy.retry import RetryPolicy, RetryRule, decide

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def campaign(**pacing: Any) -> Campaign:
    return Campaign.model_validate(
        {
            "name": "unit",
            "list": "people",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": {"secret": "unused"},
            "dial": {"channel": "Local/{number}@callees"},
            "pacing": {"max_channels": 10, "calls_per_second": 100, **pacing},
            "on_answer": {
                "action": "play_and_queue",
                "queue": "dialer-operators",
                "message": "hello-world",
            },
        }
    )


def test_given_default_rules_when_a_pbx_failure_then_retried_within_minutes_not_final() -> None:
    settings = campaign().retry
    rule = settings.rule_for(Outcome.PBX_FAILURE)
    assert rule is not None and rule.delay <= timedelta(minutes=5) and rule.max >= 1
    policy = RetryPolicy(3, {Outcome.PBX_FAILURE: RetryRule(rule.delay, rule.max)})
    decision = decide(policy, Outcome.PBX_FAILURE, 0, {}, NOW)
    assert decision.retry_at == NOW + rule.delay
    assert not decision.mark_dead


def test_given_a_queued_call_cut_by_the_pbx_then_the_abandon_ledger_does_not_count_it() -> None:
    clock = [1_790_000_000.0]
    control = PacingControl(
        campaign(mode="progressive", compliance_message="dialer/identify"), clock=lambda: clock[0]
    )
    control.placed(["cut", "left"])
    for attempt in ("cut", "left"):
        for milestone in (Milestone.ANSWERED, Milestone.TRANSFER):
            control.on_milestone(CallMilestone(attempt, milestone, NOW))
    clock[0] += 1.0
    control.on_ended("cut", Outcome.PBX_FAILURE)  # Asterisk killed while it waited
    control.on_ended("left", Outcome.ABANDONED)  # the caller hung up waiting
    abandon = control.status()["abandon"]["24h"]
    assert abandon["abandoned"] == 1


def test_given_an_adopted_call_when_it_ends_abandoned_then_the_ledger_counts_it() -> None:
    control = PacingControl(
        campaign(mode="progressive", compliance_message="dialer/identify"),
        clock=lambda: 1_790_000_000.0,
    )
    control.placed(["own"])
    control.on_ended("adopted", Outcome.ABANDONED)  # placed by the killed process
    control.on_ended("own", Outcome.NO_ANSWER)
    assert control.status()["abandon"]["24h"]["abandoned"] == 1


def test_given_calls_cut_by_the_pbx_when_reported_then_the_report_says_how_many() -> None:
    assert pbx_failure_caption(3).startswith("3 call(s) cut by a PBX failure")
    assert pbx_failure_caption(0) == ""
