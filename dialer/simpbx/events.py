"""Event builders with the field names and order of a real Asterisk 22 (see
/work/shared/asterisk-traces). Each builder returns the fields after `Timestamp`;
`frame` adds the `Event`/`Privilege`/`Timestamp` head."""

from __future__ import annotations

import time

from .channels import Channel, cause_text
from .wire import format_message

Fields = list[tuple[str, object]]

# manager.conf class of every event the simulator sends (checked against the
# `Privilege:` lines of the traces by the conformity test).
EVENT_CLASS = {
    "Newchannel": "call",
    "NewCallerid": "call",
    "NewConnectedLine": "call",
    "Newstate": "call",
    "LocalBridge": "call",
    "DialBegin": "call",
    "DialState": "call",
    "DialEnd": "call",
    "HangupRequest": "call",
    "SoftHangupRequest": "call",
    "Hangup": "call",
    "OriginateResponse": "call",
    "MusicOnHoldStart": "call",
    "MusicOnHoldStop": "call",
    "BridgeCreate": "call",
    "BridgeEnter": "call",
    "BridgeLeave": "call",
    "BridgeDestroy": "call",
    "QueueCallerJoin": "agent",
    "QueueCallerLeave": "agent",
    "QueueCallerAbandon": "agent",
    "AgentCalled": "agent",
    "AgentConnect": "agent",
    "AgentComplete": "agent",
    "AgentRingNoAnswer": "agent",
    "QueueMemberStatus": "agent",  # their fields: members.member_event
    "QueueMemberAdded": "agent",
    "QueueMemberRemoved": "agent",
    "QueueMemberPause": "agent",
    "UserEvent": "user",
    "DTMFBegin": "dtmf",
    "DTMFEnd": "dtmf",
}

# SoftHangupRequest carries the soft-hangup flag, not a Q.850 cause: always
# AST_SOFTHANGUP_EXPLICIT (16) in the traces.
SOFTHANGUP_EXPLICIT = 16
# The AGI HANGUP command soft-hangs-up with AST_SOFTHANGUP_EXPLICIT proper (0x20): a real
# Asterisk 22 shows `SoftHangupRequest ... Cause: 32` on `;1` at once.
SOFTHANGUP_AGI = 32


def frame(name: str, fields: Fields) -> bytes:
    return format_message(
        [
            ("Event", name),
            ("Privilege", f"{EVENT_CLASS[name]},all"),
            ("Timestamp", f"{time.time():.6f}"),
            *fields,
        ]
    )


def snapshot(ch: Channel, prefix: str = "") -> Fields:
    return [
        (f"{prefix}Channel", ch.name),
        (f"{prefix}ChannelState", ch.state),
        (f"{prefix}ChannelStateDesc", ch.state_desc),
        (f"{prefix}CallerIDNum", ch.cid_num),
        (f"{prefix}CallerIDName", ch.cid_name),
        (f"{prefix}ConnectedLineNum", ch.connected_num),
        (f"{prefix}ConnectedLineName", ch.connected_name),
        (f"{prefix}Language", "en"),
        (f"{prefix}AccountCode", ""),
        (f"{prefix}Context", ch.context),
        (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", ch.priority),
        (f"{prefix}Uniqueid", ch.uniqueid),
        (f"{prefix}Linkedid", ch.linkedid),
    ]


def channel(ch: Channel) -> Fields:
    """Newchannel, Newstate, NewConnectedLine, MusicOnHoldStop: the snapshot alone."""
    return snapshot(ch)


def new_callerid(ch: Channel) -> Fields:
    return [*snapshot(ch), ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]


def moh_start(ch: Channel) -> Fields:
    return [*snapshot(ch), ("Class", "default")]


def hangup_request(ch: Channel, cause: int) -> Fields:
    return [*snapshot(ch), ("Cause", cause)]


def hangup(ch: Channel, cause: int) -> Fields:
    return [*snapshot(ch), ("Cause", cause), ("Cause-txt", cause_text(cause))]


def local_bridge(one: Channel, two: Channel, optimization: bool) -> Fields:
    return [
        *snapshot(one, "LocalOne"),
        *snapshot(two, "LocalTwo"),
        ("Context", two.context),
        ("Exten", two.exten),
        ("LocalOptimization", "Yes" if optimization else "No"),
    ]


def dial(caller: Channel | None, dest: Channel, key: str, value: str) -> Fields:
    """DialBegin (key DialString), DialState and DialEnd (key DialStatus). An Originate
    has no calling channel, so only the Dest* block is present."""
    head = snapshot(caller) if caller is not None else []
    return [*head, *snapshot(dest, "Dest"), (key, value)]


def originate_response(
    action_id: str,
    response: str,
    channel_text: str,
    context: str,
    exten: str,
    reason: int,
    uniqueid: str,
    cid_num: str,
    cid_name: str,
) -> Fields:
    head: Fields = [("ActionID", action_id)] if action_id else []
    return [
        *head,
        ("Response", response),
        ("Channel", channel_text),
        ("Context", context),
        ("Exten", exten),
        ("Reason", reason),
        ("Uniqueid", uniqueid),
        ("CallerIDNum", cid_num),
        ("CallerIDName", cid_name),
    ]


def queue_caller(ch: Channel, queue: str, *extra: tuple[str, object]) -> Fields:
    """QueueCallerJoin/Leave (Position, Count) and QueueCallerAbandon (Position,
    OriginalPosition, HoldTime)."""
    return [*snapshot(ch), ("Queue", queue), *extra]


def agent(
    caller: Channel,
    member_leg: Channel,
    queue: str,
    interface: str,
    member_name: str,
    *extra: tuple[str, object],
) -> Fields:
    """AgentCalled, AgentConnect, AgentComplete, AgentRingNoAnswer."""
    return [
        *snapshot(caller),
        *snapshot(member_leg, "Dest"),
        ("Queue", queue),
        ("Interface", interface),
        ("MemberName", member_name),
        *extra,
    ]


def bridge(bridge_id: str, num_channels: int, ch: Channel | None = None) -> Fields:
    """BridgeCreate/BridgeDestroy (no channel) and BridgeEnter/BridgeLeave."""
    fields: Fields = [
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", "<unknown>"),
        ("BridgeName", "<unknown>"),
        ("BridgeNumChannels", num_channels),
        ("BridgeVideoSourceMode", "none"),
    ]
    return fields + snapshot(ch) if ch is not None else fields


def user_event(ch: Channel, name: str, *extra: tuple[str, object]) -> Fields:
    return [*snapshot(ch), ("UserEvent", name), *extra]


def dtmf(ch: Channel, digit: str, end: bool) -> Fields:
    """DTMFBegin / DTMFEnd: a callee's key appears on `;1` only, as `Received`."""
    duration: Fields = [("DurationMs", 100)] if end else []
    return [*snapshot(ch), ("Digit", digit), *duration, ("Direction", "Received")]
