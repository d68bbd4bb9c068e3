"""A closed attempt's consequences for the contact, whatever the answer mode: pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.engine.next_step import step_after
from dialer.outcomes import ContactStatus, Outcome
from dialer.policy.retry import RetryPolicy, RetryRule, decide
from dialer.store.base import NextStep
from ivr.run_result import EndedBy, IvrResult

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=4,
    rules={
        Outcome.FAILED: RetryRule(timedelta(minutes=30), 3),
        Outcome.ABANDONED: RetryRule(timedelta(hours=72), 1),
        Outcome.MACHINE: RetryRule(timedelta(hours=4), 1),
    },
    dead_after_failures=3,
)


def after(outcome: Outcome, ivr: IvrResult | None = None) -> NextStep:
    return step_after(decide(POLICY, outcome, 0, {}, NOW), outcome, ivr, 1, POLICY)


@pytest.mark.parametrize("outcome", [Outcome.ANSWERED, Outcome.TRANSFERRED, Outcome.ABANDONED])
def test_given_a_person_reached_without_a_script_then_the_disposition_is_how_it_ended(
    outcome: Outcome,
) -> None:
    assert after(outcome).set_fields == {"disposition": outcome.value}


@pytest.mark.parametrize("outcome", [Outcome.MACHINE, Outcome.NO_ANSWER, Outcome.FAILED])
def test_given_nobody_reached_then_the_contact_fields_are_left_alone(outcome: Outcome) -> None:
    assert after(outcome).set_fields == {}


def test_given_a_script_judged_the_lead_then_its_temperature_and_disposition_win() -> None:
    ivr = IvrResult(temperature="hot", disposition="interested", ended_by=EndedBy.TRANSFER)
    assert after(Outcome.TRANSFERRED, ivr).set_fields == {
        "temperature": "hot",
        "disposition": "interested",
    }
    # A script that set no disposition: how the call ended stands for it.
    quiet = IvrResult(temperature="cold", ended_by=EndedBy.HANGUP)
    assert after(Outcome.ANSWERED, quiet).set_fields == {
        "temperature": "cold",
        "disposition": "answered",
    }


def test_given_an_aggressive_disposition_then_the_number_goes_on_the_do_not_call_list() -> None:
    step = after(Outcome.ANSWERED, IvrResult(disposition="aggressive", ended_by=EndedBy.HANGUP))
    assert step.status is ContactStatus.DONE
    assert step.opt_out and step.do_not_call_reason == "disposition aggressive"
    assert step.set_fields == {"disposition": "aggressive"}
    optout = after(Outcome.ANSWERED, IvrResult(optout=True, ended_by=EndedBy.OPTOUT))
    assert optout.opt_out and optout.do_not_call_reason == "opt-out"
    assert not after(Outcome.ANSWERED, IvrResult(disposition="interested")).opt_out


def test_given_a_failure_then_the_store_is_asked_to_check_the_streak() -> None:
    retried = after(Outcome.FAILED)
    assert retried.status is ContactStatus.PENDING and retried.dead_after_failures == 3
    assert after(Outcome.BUSY).dead_after_failures is None
    assert after(Outcome.CONGESTION).dead_after_failures is None  # the network, not the number
    invalid = after(Outcome.INVALID_NUMBER)
    assert invalid.mark_dead and invalid.status is ContactStatus.DONE


def test_given_the_first_words_were_a_machine_then_the_call_is_a_machine_when_acted_on() -> None:
    from dialer.engine.next_step import outcome_with_script

    acted = IvrResult(ended_by=EndedBy.HANGUP, machine={"speech": "machine", "acted": True})
    only_reported = IvrResult(
        ended_by=EndedBy.HANGUP, machine={"speech": "machine", "acted": False}
    )
    assert outcome_with_script(Outcome.ANSWERED, acted) is Outcome.MACHINE
    assert outcome_with_script(Outcome.ANSWERED, only_reported) is Outcome.ANSWERED
    assert outcome_with_script(Outcome.TRANSFERRED, acted) is Outcome.TRANSFERRED
    step = after(Outcome.MACHINE, acted)  # retried by retry.machine, the contact untouched
    assert step.status is ContactStatus.PENDING and step.set_fields == {}
