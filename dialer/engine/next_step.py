"""A closed attempt's consequences for the contact: the retry decision as the contact's
next step, amended by what the IVR script collected. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dialer.campaign.model import Campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.pbx.events import CallEnded
from dialer.policy.retry import Decision, RetryPolicy, RetryRule, decide
from dialer.store.base import AttemptResult, LeasedContact, NextStep
from ivr.run_result import EndedBy, IvrResult


def retry_policy_of(campaign: Campaign) -> RetryPolicy:
    rules = {}
    for outcome in Outcome:
        rule = campaign.retry.rule_for(outcome)
        if rule is not None:
            rules[outcome] = RetryRule(rule.delay, rule.max)
    return RetryPolicy(max_attempts=campaign.retry.max_attempts, rules=rules)


def next_step_of(decision: Decision, outcome: Outcome) -> NextStep:
    if decision.final:
        return NextStep(ContactStatus.DONE, final_outcome=outcome, mark_dead=decision.mark_dead)
    return NextStep(ContactStatus.PENDING, due_at=decision.retry_at)


def closing_of(
    ended: CallEnded,
    lease: LeasedContact,
    ivr_result: IvrResult | None,
    policy: RetryPolicy,
    now: datetime,
) -> tuple[AttemptResult, NextStep]:
    """What the store writes when an attempt closes: its result and the contact's step."""
    outcome = outcome_with_script(ended.outcome, ivr_result)
    decision = decide(policy, outcome, lease.attempts_made, lease.outcome_counts, now)
    result = AttemptResult(
        attempt_id=ended.attempt_id,
        outcome=outcome,
        ended_at=ended.ended_at,
        cause=ended.cause,
        reason=ended.reason,
        answered_at=ended.answered_at,
        detail=ended.detail,
        answers=ivr_result.as_json() if ivr_result is not None else {},
    )
    step = next_step_of(decision, outcome)
    if ivr_result is not None:
        step = with_ivr_result(step, ivr_result, lease.attempts_made + 1, policy)
    return result, step


def outcome_with_script(outcome: Outcome, result: IvrResult | None) -> Outcome:
    """An answered call whose script failed is `script_error`: the person did not get the
    script, so it is retried by its own rule instead of counting as reached."""
    if outcome is Outcome.ANSWERED and result is not None and result.ended_by is EndedBy.ERROR:
        return Outcome.SCRIPT_ERROR
    return outcome


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
