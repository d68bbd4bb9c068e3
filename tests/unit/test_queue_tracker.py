"""QueueTracker: operator and queue state from what a real Asterisk 22 sent, and from
synthetic events carrying app_queue's exact field set (queue_member_blob_create)."""

from __future__ import annotations

import pytest

from dialer.operators import OperatorState as S
from dialer.pbx.ami_wire import AmiStreamParser
from dialer.pbx.queue_tracker import OperatorChange, QueueTracker
from tests.traces import received, trace_path

QUEUES = ["operators", "operators-short", "operators-busy"]
OP = "SIP/101"


def blob(event: str, **fields: str) -> dict[str, str]:
    """A member event as app_queue builds it; `fields` override the defaults."""
    base = {
        "Event": event, "Queue": "operators", "MemberName": "Anna", "Interface": OP,
        "StateInterface": OP, "Membership": "dynamic", "Penalty": "0", "CallsTaken": "0",
        "LastCall": "0", "LastPause": "0", "LoginTime": "1795397859", "InCall": "0",
        "Status": "1", "Paused": "0", "PausedReason": "", "Ringinuse": "0", "Wrapuptime": "0",
    }  # fmt: skip
    return base | fields


def agent(event: str, **fields: str) -> dict[str, str]:
    return {"Event": event, "Queue": "operators", "Interface": OP, "MemberName": "Anna"} | fields


def replay(
    name: str, tracker: QueueTracker, wanted: frozenset[str] | None = None
) -> tuple[list[OperatorChange], list[int]]:
    changes: list[OperatorChange] = []
    waiting: list[int] = []
    now = 0.0
    for message in AmiStreamParser(wanted).feed(received(trace_path(name))):
        now = float(message.get("Timestamp") or now)
        changes += tracker.apply(message, now)
        if not waiting or tracker.callers_waiting() != waiting[-1]:
            waiting.append(tracker.callers_waiting())
    return changes, waiting


@pytest.mark.parametrize("filtered", [False, True], ids=["all-events", "wanted-events-only"])
@pytest.mark.parametrize(
    ("trace", "queue", "interface", "states"),
    [
        ("queue-agent-connect.txt", "operators", "Local/op1@operator-sim/n",
         [S.AVAILABLE, S.ON_CALL, S.AVAILABLE]),
        ("queue-agent-hangs-up.txt", "operators-short", "Local/op2@trace-operator-short/n",
         [S.AVAILABLE, S.ON_CALL, S.AVAILABLE]),
        # rung for our caller but never answering: reserved, never ON_CALL
        ("queue-abandon.txt", "operators-busy", "Local/op9@trace-operator-ringing/n",
         [S.AVAILABLE]),
        ("queue-timeout.txt", "operators-busy", "Local/op9@trace-operator-ringing/n",
         [S.AVAILABLE]),
    ],
)  # fmt: skip
def test_trace_replay_gives_member_states_and_caller_waiting_then_gone(
    trace: str, queue: str, interface: str, states: list[S], filtered: bool
) -> None:
    tracker = QueueTracker(QUEUES)
    changes, waiting = replay(trace, tracker, QueueTracker.EVENTS if filtered else None)
    assert [c.after for c in changes] == states
    assert {(c.queue, c.interface) for c in changes} == {(queue, interface)}
    assert [c.before for c in changes] == [None, *states[:-1]]
    assert waiting == [0, 1, 0]
    assert tracker.counts()[S.AVAILABLE] == 1
    # The member's last device status in the trace (1 = not in use), or 0 = never reported:
    # whether a ringing Local member's device shows INUSE at all is a race in Asterisk.
    assert tracker.members(queue)[0].status == last_member_status(trace, interface)


def last_member_status(trace: str, interface: str) -> int:
    statuses = [
        int(m["Status"])
        for m in AmiStreamParser().feed(received(trace_path(trace)))
        if m.get("Event") == "QueueMemberStatus" and m.get("Interface") == interface
    ]
    assert statuses[-1:] in ([], [1])
    return statuses[-1] if statuses else 0


def test_trace_replay_ignores_queues_outside_the_campaign() -> None:
    tracker = QueueTracker(["sales"])
    assert replay("queue-agent-connect.txt", tracker) == ([], [0])
    assert tracker.members() == []


def status_items() -> list:
    messages = AmiStreamParser().feed(received(trace_path("actions.txt")))
    return [m for m in messages if m.get("ActionID") == "qstatus-1" and "Event" in m]


def test_load_status_from_a_real_queuestatus_gives_members_and_the_waiting_caller() -> None:
    tracker = QueueTracker(QUEUES)
    changes = tracker.load_status(status_items())
    # The member ringing for the waiting caller: Asterisk reports its Local device as in
    # use (Status 2) or not (1) depending on a race in chan_local's device state.
    ringing = next(m for m in status_items() if m.get("Name") == "Operator Never Answers")
    assert ringing["Status"] in ("1", "2")
    busy = S.ON_CALL if ringing["Status"] == "2" else S.AVAILABLE
    assert [(c.queue, c.name, c.before, c.after) for c in changes] == [
        ("operators", "Operator 1", None, S.AVAILABLE),
        ("operators-short", "Operator Short", None, S.AVAILABLE),
        ("operators-busy", "Operator Never Answers", None, busy),
    ]
    op1 = tracker.members("operators")[0]
    assert (op1.interface, op1.calls_taken, op1.paused, op1.in_call) == (
        "Local/op1@operator-sim/n", 1, False, False
    )  # fmt: skip
    assert tracker.callers_waiting("operators-busy") == 1
    assert tracker.callers_waiting() == 1
    on_call = int(busy is S.ON_CALL)
    assert tracker.counts() == {S.AVAILABLE: 3 - on_call, S.ON_CALL: on_call, S.WRAP_UP: 0,
                                S.PAUSED: 0, S.LOGGED_OUT: 0}  # fmt: skip


def test_load_status_keeps_only_the_campaign_queues() -> None:
    tracker = QueueTracker(["Operators"])  # queue names compare case-insensitively
    tracker.load_status(status_items())
    assert [m.queue for m in tracker.members()] == ["Operators"]
    assert tracker.members("operators-busy") == []
    assert tracker.callers_waiting() == 0


def test_load_status_replaces_state_and_reports_only_differences() -> None:
    tracker = QueueTracker(["operators"])
    tracker.apply(blob("QueueMemberAdded"), 1.0)
    tracker.apply(blob("QueueMemberAdded", Interface="SIP/102", MemberName="Boris"), 1.0)
    tracker.apply({"Event": "QueueCallerJoin", "Queue": "operators", "Count": "3"}, 1.0)
    item = blob("QueueMember", Location=OP, Name="Anna", Paused="1")
    del item["Interface"], item["MemberName"]
    changes = tracker.load_status([item])
    assert [(c.name, c.before, c.after) for c in changes] == [
        ("Anna", S.AVAILABLE, S.PAUSED),
        ("Boris", S.AVAILABLE, S.LOGGED_OUT),
    ]
    assert tracker.callers_waiting() == 0
    assert tracker.load_status([item]) == []


@pytest.mark.parametrize(
    ("status", "paused", "in_call", "state"),
    [
        ("0", "0", "0", S.AVAILABLE), ("1", "0", "0", S.AVAILABLE),
        ("2", "0", "0", S.ON_CALL), ("3", "0", "0", S.ON_CALL), ("6", "0", "0", S.ON_CALL),
        ("7", "0", "0", S.ON_CALL), ("8", "0", "0", S.ON_CALL), ("1", "0", "1", S.ON_CALL),
        ("1", "1", "0", S.PAUSED), ("2", "1", "1", S.PAUSED),
        ("4", "0", "0", S.LOGGED_OUT), ("5", "1", "0", S.LOGGED_OUT),
    ],
)  # fmt: skip
def test_member_state_follows_status_paused_and_incall(
    status: str, paused: str, in_call: str, state: S
) -> None:
    tracker = QueueTracker(["operators"])
    tracker.apply(blob("QueueMemberStatus", Status=status, Paused=paused, InCall=in_call), 0.0)
    assert tracker.members()[0].state is state


def test_added_paused_unpaused_and_removed_members() -> None:
    tracker = QueueTracker(["operators"])
    steps = [
        (blob("QueueMemberAdded"), [(None, S.AVAILABLE)]),
        (blob("QueueMemberPause", Paused="1", PausedReason="lunch"), [(S.AVAILABLE, S.PAUSED)]),
        (blob("QueueMemberPause", Paused="0"), [(S.PAUSED, S.AVAILABLE)]),
        (blob("QueueMemberPenalty", Penalty="2"), []),
        (blob("QueueMemberRemoved"), [(S.AVAILABLE, S.LOGGED_OUT)]),
        (blob("QueueMemberRemoved"), []),
    ]
    for event, expected in steps:
        assert [(c.before, c.after) for c in tracker.apply(event, 0.0)] == expected, event
    assert tracker.members() == []


def test_ringing_is_available_only_when_our_queue_rang_the_member() -> None:
    tracker = QueueTracker(["operators"])
    tracker.apply(blob("QueueMemberAdded"), 0.0)
    assert tracker.apply(agent("AgentCalled"), 1.0) == []
    assert tracker.apply(blob("QueueMemberStatus", Status="6"), 1.1) == []
    tracker.apply(blob("QueueMemberStatus", Status="1"), 5.0)  # ring over, reservation gone
    changes = tracker.apply(blob("QueueMemberStatus", Status="6"), 9.0)  # a direct call
    assert [(c.before, c.after) for c in changes] == [(S.AVAILABLE, S.ON_CALL)]


def test_wrap_up_after_agent_complete_ends_on_tick() -> None:
    tracker = QueueTracker(["operators"])
    tracker.apply(blob("QueueMemberAdded", Wrapuptime="10"), 0.0)
    assert [c.after for c in tracker.apply(agent("AgentConnect"), 100.0)] == [S.ON_CALL]
    assert [c.after for c in tracker.apply(agent("AgentComplete"), 110.0)] == [S.WRAP_UP]
    assert tracker.apply(blob("QueueMemberStatus", Status="1", Wrapuptime="10"), 110.1) == []
    assert tracker.members()[0].wrapup_s == 10.0
    assert tracker.tick(119.9) == []
    assert [(c.before, c.after) for c in tracker.tick(120.0)] == [(S.WRAP_UP, S.AVAILABLE)]
    assert tracker.tick(130.0) == []


def test_queue_wrapuptime_applies_when_the_member_has_none() -> None:
    tracker = QueueTracker(["operators"], default_wrapup_s=5.0)
    tracker.apply(blob("QueueMemberAdded"), 0.0)
    tracker.apply(agent("AgentConnect"), 1.0)
    assert [c.after for c in tracker.apply(agent("AgentComplete"), 2.0)] == [S.WRAP_UP]
    changes = tracker.apply({"Event": "QueueCallerJoin", "Queue": "x", "Count": "1"}, 7.5)
    assert [c.after for c in changes] == [S.AVAILABLE]  # any later event reports the end


def test_each_queue_has_its_own_wrapuptime_and_a_member_s_own_wins() -> None:
    tracker = QueueTracker(["operators"])
    tracker.add_queues(["Sales"], wrapup_s=3.0)
    tracker.add_queues(["sales"], wrapup_s=1.0)  # a second campaign: the longest stays
    tracker.load_status(
        [
            blob("QueueMember", Queue="sales", Location="SIP/1", Name="A", Interface=""),
            blob("QueueMember", Queue="sales", Location="SIP/2", Wrapuptime="7", Interface=""),
            blob("QueueMember", Queue="operators", Location="SIP/3", Name="C", Interface=""),
        ]
    )
    assert [(m.queue, m.interface, m.wrapup_s) for m in tracker.members()] == [
        ("Sales", "SIP/1", 3.0),
        ("Sales", "SIP/2", 7.0),
        ("operators", "SIP/3", 0.0),
    ]
    tracker.apply(agent("AgentConnect", Queue="sales", Interface="SIP/1"), 10.0)
    changes = tracker.apply(agent("AgentComplete", Queue="sales", Interface="SIP/1"), 20.0)
    assert [c.after for c in changes] == [S.WRAP_UP]
    assert tracker.next_wrapup_end() == 23.0


def test_no_wrap_up_means_available_once_the_device_is_idle() -> None:
    tracker = QueueTracker(["operators"])
    tracker.apply(blob("QueueMemberStatus", Status="2", InCall="1"), 0.0)
    assert tracker.apply(agent("AgentComplete", Reason="caller"), 1.0) == []  # still in use
    assert [c.after for c in tracker.apply(blob("QueueMemberStatus"), 1.1)] == [S.AVAILABLE]


def test_a_member_in_two_campaign_queues_counts_once_in_its_most_available_state() -> None:
    tracker = QueueTracker(["operators", "sales"])
    tracker.apply(blob("QueueMemberAdded", Paused="1"), 0.0)
    tracker.apply(blob("QueueMemberAdded", Queue="sales"), 0.0)
    assert len(tracker.members()) == 2
    assert tracker.counts()[S.AVAILABLE] == 1
    assert tracker.counts()[S.PAUSED] == 0


@pytest.mark.parametrize(
    "event",
    [
        blob("QueueMemberStatus", Status="busy"),
        blob("QueueMemberStatus", Paused="yes"),
        blob("QueueMemberStatus", Interface=""),
        {k: v for k, v in blob("QueueMemberStatus", Status="5").items() if k != "Status"},
        {k: v for k, v in blob("QueueMemberRemoved").items() if k != "Interface"},
        {"Event": "QueueCallerJoin", "Queue": "operators", "Count": "many"},
        {"Event": "QueueCallerLeave", "Queue": "operators"},
        {"Event": "AgentConnect", "Queue": "operators"},
        {"Event": "AgentComplete", "Queue": None},
        blob("QueueMemberPause", Paused="1", Queue="other"),
        {"Event": "QueueMemberStatus"},
        {},
    ],
)
def test_malformed_or_foreign_events_are_skipped_without_changing_state(event: dict) -> None:
    tracker = QueueTracker(["operators"])
    tracker.apply(blob("QueueMemberAdded"), 0.0)
    tracker.apply({"Event": "QueueCallerJoin", "Queue": "operators", "Count": "2"}, 0.0)
    before = tracker.members()
    assert tracker.apply(event, 1.0) == []
    assert tracker.members() == before
    assert tracker.callers_waiting("operators") == 2


def test_load_status_skips_malformed_items_and_keeps_the_rest() -> None:
    tracker = QueueTracker(["operators"])
    good = blob("QueueMember", Location="SIP/103", Name="Vera")
    del good["Interface"], good["MemberName"]
    changes = tracker.load_status([blob("QueueMember", Status="x"), {"Event": "QueueMember"}, good])
    assert [(c.interface, c.name, c.after) for c in changes] == [("SIP/103", "Vera", S.AVAILABLE)]


def test_events_lists_what_apply_reads_and_not_list_items() -> None:
    assert {"QueueMemberStatus", "AgentConnect", "AgentComplete", "QueueCallerJoin",
            "QueueCallerLeave", "QueueMemberRemoved"} <= QueueTracker.EVENTS  # fmt: skip
    assert not {"QueueMember", "QueueEntry", "QueueParams"} & QueueTracker.EVENTS
