"""A closed attempt's consequences for the contact: the retry decision as the contact's
next step, amended by what the IVR script collected and by who answered. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo

from dialer.campaign.model import Campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.pbx.events import CallEnded
from dialer.policy.retry import Decision, RetryPolicy, RetryRule, decide
from dialer.store.base import AttemptResult, LeasedContact, NextStep
from ivr.run_result import EndedBy, IvrResult

# Dispositions that put the number on the do-not-call list, as an opt-out does: a script
# sets one with a `set` step (`disposition: aggressive`).
DO_NOT_CALL_DISPOSITIONS = frozenset({"aggressive"})


def retry_policy_of(campaign: Campaign) -> RetryPolicy:
    rules = {}
    for outcome in Outcome:
        rule = campaign.retry.rule_for(outcome)
        if rule is not None:
            rules[outcome] = RetryRule(rule.delay, rule.max, rule.at)
    return RetryPolicy(
        max_attempts=campaign.retry.max_attempts,
        rules=rules,
        dead_after_failures=campaign.retry.dead_after_failures,
    )


def retry_decision(
    policy: RetryPolicy,
    outcome: Outcome,
    lease: LeasedContact,
    now: datetime,
    zone: tzinfo | None,
) -> Decision:
    """The retry policy's decision for this contact, its `at` times of day read in the
    callee's zone (None: not known for sure, UTC)."""
    return decide(policy, outcome, lease.attempts_made, lease.outcome_counts, now, zone)


def next_step_of(decision: Decision, outcome: Outcome) -> NextStep:
    if decision.final:
        return NextStep(
            ContactStatus.DONE,
            final_outcome=outcome,
            mark_dead=decision.mark_dead,
            dead_after_failures=decision.dead_after_failures,
        )
    return NextStep(
        ContactStatus.PENDING,
        due_at=decision.retry_at,
        dead_after_failures=decision.dead_after_failures,
    )


def closing_of(
    ended: CallEnded,
    lease: LeasedContact,
    ivr_result: IvrResult | None,
    policy: RetryPolicy,
    now: datetime,
    zone: tzinfo | None,
) -> tuple[AttemptResult, NextStep]:
    """What the store writes when an attempt closes: its result and the contact's step
    (a retry's `at` times of day read in `zone`, the callee's when only one is known)."""
    outcome = outcome_with_script(ended.outcome, ivr_result)
    decision = retry_decision(policy, outcome, lease, now, zone)
    result = AttemptResult(
        attempt_id=ended.attempt_id,
        outcome=outcome,
        ended_at=ended.ended_at,
        cause=ended.cause,
        reason=ended.reason,
        answered_at=ended.answered_at,
        detail=ended.detail or _machine_detail(outcome, ivr_result),
        answers=ivr_result.as_json() if ivr_result is not None else {},
    )
    return result, step_after(decision, outcome, ivr_result, lease.attempts_made + 1, policy)


def outcome_with_script(outcome: Outcome, result: IvrResult | None) -> Outcome:
    """An answered call whose script failed is `script_error`: the person did not get the
    script, so it is retried by its own rule instead of counting as reached. One the
    script found to be an answering machine by its first words (ivr.machine_speech with
    `act: true`) is a `machine`, retried by retry.machine."""
    if outcome is Outcome.ANSWERED and result is not None and result.ended_by is EndedBy.ERROR:
        return Outcome.SCRIPT_ERROR
    if outcome is Outcome.ANSWERED and result is not None and _machine_acted(result):
        return Outcome.MACHINE
    return outcome


def _machine_acted(result: IvrResult) -> bool:
    return bool(result.machine and result.machine.get("acted"))


def _machine_detail(outcome: Outcome, result: IvrResult | None) -> str:
    if outcome is not Outcome.MACHINE or result is None or not _machine_acted(result):
        return ""
    assert result.machine is not None
    return f"machine by the first words: {result.machine.get('reason', '')}"


def with_ivr_result(
    step: NextStep, result: IvrResult, attempts_made: int, policy: RetryPolicy
) -> NextStep:
    """What the script collected changes the contact's next step: an opt-out (or a
    do-not-call disposition such as `aggressive`) ends it and lists the number, a callback
    the person asked for schedules the next call, and the lead's temperature, disposition
    and fields are written to the contact."""
    fields = dict(result.fields)
    if result.temperature:
        fields["temperature"] = result.temperature
    if result.disposition:
        fields["disposition"] = result.disposition
    if result.optout or result.disposition in DO_NOT_CALL_DISPOSITIONS:
        return NextStep(
            ContactStatus.DONE,
            final_outcome=step.final_outcome,
            opt_out=True,
            do_not_call_reason="opt-out" if result.optout else f"disposition {result.disposition}",
            set_fields=fields,
            mark_dead=step.mark_dead,
        )
    if result.callback_at is not None and attempts_made < policy.max_attempts:
        return NextStep(ContactStatus.PENDING, due_at=result.callback_at, set_fields=fields)
    return replace(step, set_fields=fields)


def with_answer_fields(step: NextStep, outcome: Outcome) -> NextStep:
    """A person reached, in any mode, leaves the contact their last disposition: the
    script's when it set one, else how the call ended (answered, transferred, abandoned).
    The temperature is the last one a script judged (modes without a script judge none)."""
    if not outcome.reached_a_person or "disposition" in step.set_fields:
        return step
    return replace(step, set_fields={**step.set_fields, "disposition": outcome.value})


def step_after(
    decision: Decision,
    outcome: Outcome,
    ivr_result: IvrResult | None,
    attempts_made: int,
    policy: RetryPolicy,
) -> NextStep:
    """The contact's next step after an attempt (`attempts_made` counting it)."""
    step = next_step_of(decision, outcome)
    if ivr_result is not None:
        step = with_ivr_result(step, ivr_result, attempts_made, policy)
    return with_answer_fields(step, outcome)
