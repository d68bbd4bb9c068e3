"""The outcome mapping, fed with what a real Asterisk 22 sent for each scenario.

Each trace's received AMI stream goes through our wire parser (in awkward chunk sizes)
and a CallTracker for the originated channel; the tracker must finish with the outcome a
contact-centre engineer expects.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from dialer.outcomes import Outcome
from dialer.pbx.ami_wire import AmiStreamParser
from dialer.pbx.call_tracker import CallTracker
from dialer.pbx.outcome_map import QueueFacts, answered_outcome, unanswered_outcome
from tests.traces import received, sent_headers, trace_path

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

EXPECTED = [
    # trace, outcome, OriginateResponse Reason, cause reported, detail
    ("originate-answered-dtmf.txt", Outcome.ANSWERED, 4, 16, ""),
    ("originate-busy.txt", Outcome.BUSY, 5, 17, ""),
    ("originate-busy-hangup17.txt", Outcome.BUSY, 0, 17, ""),
    ("originate-no-answer.txt", Outcome.NO_ANSWER, 3, 19, ""),
    ("originate-congestion.txt", Outcome.CONGESTION, 8, 34, ""),
    ("originate-congestion-hangup34.txt", Outcome.CONGESTION, 0, 34, ""),
    ("originate-unallocated.txt", Outcome.INVALID_NUMBER, 0, 1, ""),
    ("originate-no-such-extension.txt", Outcome.FAILED, 0, 0, ""),
    ("originate-callee-hangs-up-early.txt", Outcome.ANSWERED, 4, 16, ""),
    ("queue-agent-connect.txt", Outcome.TRANSFERRED, 4, 16, "operator connected"),
    ("queue-agent-hangs-up.txt", Outcome.TRANSFERRED, 4, 16, "operator connected"),
    ("queue-abandon.txt", Outcome.ABANDONED, 4, 16, "caller hung up in queue"),
    ("queue-timeout.txt", Outcome.ABANDONED, 4, 16, "queue timeout"),
    ("amd-human.txt", Outcome.ANSWERED, 4, 16, ""),
    # {AMDCause}: the cause AMD() gave in the trace (LONGGREETING-…, MAXWORDS-…: which
    # of its limits a 30 s greeting hits first varies with the recording)
    ("amd-machine.txt", Outcome.MACHINE, 4, 16, "answering machine ({AMDCause})"),
    ("fastagi-session.txt", Outcome.ANSWERED, 4, 16, ""),
]


def _chunks(data: bytes, rng: random.Random) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        size = rng.randint(1, 97)
        out.append(data[pos : pos + size])
        pos += size
    return out


def _track(trace: str, seed: int) -> CallTracker:
    path = trace_path(trace)
    originate = next(a for a in sent_headers(path) if a.get("Action") == "Originate")
    tracker = CallTracker("attempt", originate["ChannelId"])
    parser = AmiStreamParser()
    rng = random.Random(seed)
    for chunk in _chunks(received(path), rng):
        for message in parser.feed(chunk):
            if message.get("Event") == "OriginateResponse" and (
                message.get("ActionID") != originate["ActionID"]
            ):
                continue
            uniqueid = message.get("Uniqueid", "")
            if (
                message.get("Event") == "OriginateResponse"
                or uniqueid.removesuffix(";2") == (originate["ChannelId"])
            ):
                tracker.apply(message, NOW)
    return tracker


@pytest.mark.parametrize(("trace", "outcome", "reason", "cause", "detail"), EXPECTED)
@pytest.mark.parametrize("seed", [1, 2])
def test_given_recorded_trace_when_tracked_then_outcome_is_the_expected_one(
    trace: str, outcome: Outcome, reason: int, cause: int | None, detail: str, seed: int
) -> None:
    tracker = _track(trace, seed)
    assert tracker.finished
    result = tracker.outcome(NOW)
    assert result.outcome is outcome
    assert result.reason == reason
    assert result.cause == cause
    if "{AMDCause}" in detail:
        amd = next(
            m
            for m in AmiStreamParser().feed(received(trace_path(trace)))
            if m.get("UserEvent") == "AMDResult"
        )
        assert amd["AMDStatus"] == "MACHINE"
        detail = detail.format(AMDCause=amd["AMDCause"])
    assert result.detail == detail


def test_given_unknown_channel_technology_when_originated_async_then_failed_without_channel() -> (
    None
):
    path = trace_path("actions.txt")
    foo = next(
        a
        for a in sent_headers(path)
        if a.get("Action") == "Originate" and a.get("Channel") == "Foo/100" and "Async" in a
    )
    tracker = CallTracker("attempt", foo.get("ChannelId", "none"))
    parser = AmiStreamParser()
    for message in parser.feed(received(path)):
        if (
            message.get("Event") == "OriginateResponse"
            and message.get("ActionID") == foo["ActionID"]
        ):
            tracker.apply(message, NOW)
    assert tracker.finished and tracker.no_channel
    assert tracker.outcome(NOW).outcome is Outcome.FAILED


@pytest.mark.parametrize(
    ("reason", "causes", "expected"),
    [
        (5, (0, 17), Outcome.BUSY),
        (8, (0, 34), Outcome.CONGESTION),
        (3, (19, 19), Outcome.NO_ANSWER),
        (0, (17, 17), Outcome.BUSY),
        (0, (34, None), Outcome.CONGESTION),
        (0, (1, 1), Outcome.INVALID_NUMBER),
        (0, (28, None), Outcome.INVALID_NUMBER),
        (0, (3, 3), Outcome.INVALID_NUMBER),  # no route to destination
        (0, (22, None), Outcome.INVALID_NUMBER),  # number changed
        (0, (2, None), Outcome.FAILED),  # no route to the transit network: the carrier's
        (0, (21, None), Outcome.BUSY),
        (0, (0, 0), Outcome.FAILED),
        (0, (None, None), Outcome.FAILED),
        (1, (0, 38), Outcome.CONGESTION),
        (None, (16, None), Outcome.FAILED),
    ],
)
def test_unanswered_outcome_table(
    reason: int | None, causes: tuple[int | None, ...], expected: Outcome
) -> None:
    assert unanswered_outcome(reason, causes) is expected


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (QueueFacts(), Outcome.ANSWERED),
        (QueueFacts(joined=True, connected=True), Outcome.TRANSFERRED),
        (QueueFacts(joined=True, abandon_event=True), Outcome.ABANDONED),
        (QueueFacts(joined=True, abandon_event=True, queue_status="TIMEOUT"), Outcome.ABANDONED),
        (QueueFacts(queue_status="JOINEMPTY"), Outcome.ABANDONED),
        (QueueFacts(joined=True, connected=True, queue_status="CONTINUE"), Outcome.TRANSFERRED),
    ],
)
def test_answered_outcome_table(facts: QueueFacts, expected: Outcome) -> None:
    assert answered_outcome(facts)[0] is expected


@pytest.mark.parametrize(
    ("amd", "not_sure_is_machine", "expected"),
    [
        ("MACHINE", False, Outcome.MACHINE),
        ("HUMAN", False, Outcome.ANSWERED),
        ("NOTSURE", False, Outcome.ANSWERED),
        ("NOTSURE", True, Outcome.MACHINE),
        ("HUMAN", True, Outcome.ANSWERED),
    ],
)
def test_given_amd_verdict_when_answered_then_machine_as_the_campaign_counts_it(
    amd: str, not_sure_is_machine: bool, expected: Outcome
) -> None:
    assert answered_outcome(QueueFacts(), amd, not_sure_is_machine)[0] is expected
