"""The voicemail drop's result (UserEvent DialerVoicemail, journal key `vm`) becomes the
machine attempt's detail; only a message played to its end reads "message left"."""

from __future__ import annotations

from datetime import UTC, datetime

from dialer.outcomes import Outcome
from dialer.pbx.call_tracker import CallTracker
from dialer.pbx.journal import apply_entry, parse_tree
from dialer.pbx.voicemail import MESSAGE_LEFT, voicemail_detail

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def machine_call(*extra: dict[str, str]) -> CallTracker:
    tracker = CallTracker("a1", "a1")
    tracker.apply({"Event": "OriginateResponse", "Response": "Success", "Reason": "4"}, NOW)
    amd = {"AMDStatus": "MACHINE", "AMDCause": "MAXWORDS-3-2"}
    tracker.apply({"Event": "UserEvent", "UserEvent": "DialerAMD", **amd}, NOW)
    for event in extra:
        tracker.apply(event, NOW)
    tracker.apply({"Event": "Hangup", "Uniqueid": "a1", "Cause": "16"}, NOW)
    return tracker


def test_message_played_after_the_beep_is_left() -> None:
    left = {"Event": "UserEvent", "UserEvent": "DialerVoicemail", "Result": "left_after_beep"}
    ended = machine_call(left).outcome(NOW)
    assert ended.outcome is Outcome.MACHINE
    assert ended.detail == "message left after the beep; answering machine (MAXWORDS-3-2)"


def test_without_the_event_no_message_is_claimed() -> None:
    ended = machine_call().outcome(NOW)
    assert not ended.detail.startswith(MESSAGE_LEFT)


def test_results_that_are_not_a_whole_message_are_not_left() -> None:
    for result in ("greeting_too_long", "beep", "greeting", "waiting", "odd"):
        assert voicemail_detail(result).startswith("message not left"), result
    assert voicemail_detail("left_after_greeting").startswith(MESSAGE_LEFT)
    assert voicemail_detail(None) == ""


def test_the_journal_key_vm_fills_what_the_events_missed() -> None:
    entry = parse_tree(
        [
            {"Key": "/dialer/a1/answered", "Val": "1796194221"},
            {"Key": "/dialer/a1/amd", "Val": "MACHINE"},
            {"Key": "/dialer/a1/vm", "Val": "left_after_beep"},
            {"Key": "/dialer/a1/cause", "Val": "16"},
            {"Key": "/dialer/a1/ended", "Val": "1796194240"},
        ]
    )
    assert entry.vm == "left_after_beep"
    tracker = CallTracker("a1", "a1")
    apply_entry(tracker, entry)
    ended = tracker.outcome(NOW)
    assert ended.outcome is Outcome.MACHINE and ended.detail.startswith("message left after")
