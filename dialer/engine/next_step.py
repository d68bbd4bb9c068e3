"""A closed attempt's consequences for the contact: the retry decision as the contact's
next step, amended by what the IVR script collected. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.campaign.model import Campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.policy.retry import Decision, RetryPolicy, RetryRule, decide
from dialer.store.base import LeasedContact, NextStep
from ivr.run_result import IvrResult


def retry_policy_of(campaign: Campaign) -> RetryPolicy:
    rules = {}
    for outcome in Outcome:
        rule = campaign.retry.rule_for(outcome)
        if rule is not None:
            rules[outcome] = RetryRule(rule.delay, rule.max, rule.at)
    return RetryPolicy(max_attempts=campaign.retry.max_attempts, rules=rules)


def retry_decision(
    policy: RetryPolicy, outcome: Outcome, lease: LeasedContact, now: datetime
) -> Decision:
    """The retry policy's decision for this contact, its `at` times of day read in the
    contact's stored time zone."""
    zone = callee_zone(lease.timezone)
    return decide(policy, outcome, lease.attempts_made, lease.outcome_counts, now, zone)


def callee_zone(name: str | None) -> tzinfo | None:
    """The contact's stored IANA zone; None (UTC) when it has none or an unknown one."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def next_step_of(decision: Decision, outcome: Outcome) -> NextStep:
    if decision.final:
        return NextStep(ContactStatus.DONE, final_outcome=outcome, mark_dead=decision.mark_dead)
    return NextStep(ContactStatus.PENDING, due_at=decision.retry_at)


def with_ivr_result(
    step: NextStep, result: IvrResult, attempts_made: int, policy: RetryPolicy
) -> NextStep:
    """What the script collected changes the contact's next step: an opt-out ends it
    (and lists the number), a callback the person asked for schedules the next call, and
    the lead's temperature, disposition and fields are written to the contact."""
    fields = dict(result.fields)
    if result.temperature:
        fields["temperature"] = result.temperature
    if result.disposition:
        fields["disposition"] = result.disposition
    if result.optout:
        return NextStep(
            ContactStatus.DONE,
            final_outcome=step.final_outcome,
            opt_out=True,
            set_fields=fields,
            mark_dead=step.mark_dead,
        )
    if result.callback_at is not None and attempts_made < policy.max_attempts:
        return NextStep(ContactStatus.PENDING, due_at=result.callback_at, set_fields=fields)
    return replace(step, set_fields=fields)
