"""Every callee persona of [dialer-test-callees], dialled the way the dialer dials, gives
the OriginateResponse Reason and Hangup causes that the dialer's outcome mapping expects
(the table in asterisk-traces/README.md), and the queue cases give the queue events the
dialer reads. All calls run at once (about 15 s: the no-answer ring timeout)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import pytest

from tests.asterisk.ami import Message, ami_session
from tests.asterisk.calls import CallRecord, place_call
from tests.asterisk.private_asterisk import EMPTY_QUEUE, RealAsterisk

QUEUE = "dialer-operators"
LONG_MESSAGE = "demo-instruct"  # 73 s: the early_hangup callee must cut it off

# digit -> (persona, OriginateResponse Response, Reason, Hangup cause of X, of X;2)
PLAIN_PERSONAS: dict[int, tuple[str, str, int, int, int]] = {
    0: ("answer", "Success", 4, 16, 16),
    1: ("busy", "Failure", 5, 0, 17),
    2: ("no_answer", "Failure", 3, 19, 19),
    3: ("congestion", "Failure", 8, 0, 34),
    4: ("invalid", "Failure", 0, 1, 1),
    5: ("early_hangup", "Success", 4, 16, 16),
    8: ("answer", "Success", 4, 16, 16),
    9: ("no_answer", "Failure", 3, 19, 19),
}


@dataclass
class PersonaRun:
    plain: dict[int, CallRecord]
    digits_only_busy: CallRecord
    queue_taken: CallRecord
    queue_taken_getvar: Message
    queue_abandon: CallRecord
    queue_timeout: CallRecord


async def _run_all(pbx: RealAsterisk) -> PersonaRun:
    async with ami_session(pbx.host, pbx.port, pbx.username, pbx.secret) as ami:

        async def queue_calls() -> tuple[CallRecord, Message, CallRecord]:
            # One after the other: both use the two test operators of dialer-operators.
            channel_id = str(uuid.uuid4())
            taken_task = asyncio.create_task(
                # AgentComplete trails the hang-up: a loaded machine needs more than 0.5 s.
                place_call(ami, "+79123456786", queue=QUEUE, channel_id=channel_id, grace=3.0)
            )
            # While the operator talks (3 s), read the attempt id on the operator's leg:
            # [dialer-answered] sets it with the inheritance prefix for screen pops.
            connect = await ami.wait_for(
                lambda m: m.get("Event") == "AgentConnect" and m.get("Linkedid") == channel_id,
                20.0,
            )
            getvar = await ami.action(
                "Getvar", Channel=connect["DestChannel"], Variable="DIALER_ATTEMPT"
            )
            taken = await taken_task
            # hello-world (1.4 s, the sample campaign's message) outlasts the callee's
            # 1 s patience: the callee can only reach the queue because it waits for the
            # message first (it plays the same DIALER_MESSAGE on its side).
            abandon = await place_call(ami, "+79123456787", message="hello-world", queue=QUEUE)
            return taken, getvar, abandon

        digits = list(PLAIN_PERSONAS)
        plain_calls = [
            place_call(ami, f"+7912345678{d}", message=LONG_MESSAGE if d == 5 else "beep")
            for d in digits
        ]
        results = await asyncio.gather(
            queue_calls(),
            place_call(ami, "79123456781"),  # no leading +: the _X. pattern
            place_call(ami, "+79123456786", queue=EMPTY_QUEUE, queue_timeout=3),
            *plain_calls,
        )
    (taken, getvar, abandon), digits_only, timeout, *plain = results
    return PersonaRun(
        plain=dict(zip(digits, plain, strict=True)),
        digits_only_busy=digits_only,
        queue_taken=taken,
        queue_taken_getvar=getvar,
        queue_abandon=abandon,
        queue_timeout=timeout,
    )


@pytest.fixture(scope="module")
def personas(real_asterisk: RealAsterisk) -> PersonaRun:
    return asyncio.run(_run_all(real_asterisk))


@pytest.mark.parametrize("digit", list(PLAIN_PERSONAS))
def test_persona_reason_and_causes(personas: PersonaRun, digit: int) -> None:
    persona, response, reason, cause_x, cause_x2 = PLAIN_PERSONAS[digit]
    call = personas.plain[digit]
    originate = call.originate_response
    assert originate["Response"] == response, (persona, originate)
    assert int(originate["Reason"]) == reason, (persona, originate)
    assert originate["Uniqueid"] == call.channel_id
    assert call.hangup_cause(call.channel_id) == cause_x, persona
    assert call.hangup_cause(f"{call.channel_id};2") == cause_x2, persona


def test_answer_is_ended_by_the_dialer_side(personas: PersonaRun) -> None:
    # The callee would stay 60 s; [dialer-answered] plays beep (0.4 s) and hangs up.
    assert personas.plain[0].duration < 5


def test_no_answer_is_ended_by_the_ring_timeout(personas: PersonaRun) -> None:
    assert 14 < personas.plain[2].duration < 20  # Originate Timeout: 15000 ms


def test_early_hangup_cuts_the_message_off(personas: PersonaRun) -> None:
    call = personas.plain[5]
    assert call.duration < 5, "the callee hangs up after 1 s of a 73 s message"
    # The callee's half (;2) asks for the hangup first, then the dialer's half follows.
    requests = [m["Uniqueid"] for m in call.events if m.get("Event") == "SoftHangupRequest"]
    assert requests and requests[0] == f"{call.channel_id};2", requests


def test_number_without_plus_reaches_the_same_persona(personas: PersonaRun) -> None:
    call = personas.digits_only_busy
    assert int(call.originate_response["Reason"]) == 5
    assert call.hangup_cause(f"{call.channel_id};2") == 17


def test_queue_taken_connects_an_operator(personas: PersonaRun) -> None:
    call = personas.queue_taken
    info = call.summary()
    assert call.originate_response["Response"] == "Success", info
    join = call.named("QueueCallerJoin")
    assert join and join[0]["Queue"] == QUEUE, info
    connect = call.named("AgentConnect")
    assert len(connect) == 1 and connect[0]["Uniqueid"] == call.channel_id, info
    assert connect[0]["Queue"] == QUEUE, info
    assert call.named("AgentComplete"), info
    assert not call.named("QueueCallerAbandon"), info
    # The operator hung up after 3 s and Queue() has no `c` option: the lead is hung up
    # with the operator, so the dialplan never reaches the DialerQueueResult UserEvent.
    assert not call.user_events("DialerQueueResult"), info
    getvar = personas.queue_taken_getvar
    assert getvar["Response"] == "Success", getvar
    assert getvar["Value"] == call.attempt, getvar


def test_queue_abandon_hangs_up_before_an_operator_answers(personas: PersonaRun) -> None:
    call = personas.queue_abandon
    info = call.summary()
    assert call.originate_response["Response"] == "Success", info
    assert call.named("QueueCallerJoin"), f"the callee must outlast the message\n{info}"
    assert call.named("AgentCalled"), f"the operators were ringing\n{info}"
    abandon = call.named("QueueCallerAbandon")
    assert len(abandon) == 1 and abandon[0]["Uniqueid"] == call.channel_id, info
    assert not call.named("AgentConnect"), info
    assert not call.user_events("DialerQueueResult"), f"hung up inside Queue()\n{info}"
    assert call.hangup_cause(call.channel_id) == 16, info


def test_queue_timeout_is_reported_by_the_user_event(personas: PersonaRun) -> None:
    call = personas.queue_timeout
    info = call.summary()
    results = call.user_events("DialerQueueResult")
    assert len(results) == 1, info
    assert results[0]["QueueStatus"] == "TIMEOUT", info
    assert results[0]["Attempt"] == call.attempt, info
    assert results[0]["Uniqueid"] == call.channel_id, info
    assert not call.named("AgentConnect"), info
    # As the traces README says: a timeout ALSO emits QueueCallerAbandon, so only the
    # UserEvent tells a timeout from a caller who hung up.
    assert call.named("QueueCallerAbandon"), info
    # Queue() counts its timeout in whole wall-clock seconds (time(NULL)), so a 3 s
    # timeout may end up to 1 s early.
    assert 2 <= call.duration < 8, info
