"""Channels as AMI shows them: names, Uniqueids, states, and dial-string parsing."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7
STATE_DESC = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up", BUSY: "Busy"}
UNKNOWN = "<unknown>"

# Technologies the simulator pretends to have loaded; anything else fails the way
# `Foo/100` does in actions.txt (Reason 0, `Uniqueid: <unknown>`, no channel events).
KNOWN_TECHS = frozenset({"local", "pjsip", "sip", "iax2", "dahdi"})

# Texts from Asterisk's causes table (Cause-txt in the Hangup event).
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    27: "Destination out of order",
    28: "Invalid number format",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    127: "Interworking, unspecified",
}


def cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


@dataclass(frozen=True, slots=True)
class DialTarget:
    """`Local/+79001234567@dialer-test-callees` or `PJSIP/+79001234567@trunk`."""

    dial_string: str
    tech: str  # as written, e.g. "PJSIP"
    number: str  # the part between `/` and `@` (last path segment for `SIP/peer/num`)
    host: str  # the part after `@` ("" when absent)

    @property
    def is_local(self) -> bool:
        return self.tech.lower() == "local"

    @property
    def is_known(self) -> bool:
        return self.tech.lower() in KNOWN_TECHS

    @property
    def resource(self) -> str:
        """What follows `Tech/`: the DialString of the DialBegin event."""
        return self.dial_string.partition("/")[2]


def parse_dial_string(dial_string: str) -> DialTarget:
    tech, _, rest = dial_string.strip().partition("/")
    rest = rest[:-2] if rest.endswith("/n") else rest  # Local/.../n: a flag, not a host
    before_at, _, host = rest.partition("@")
    number = before_at.rsplit("/", 1)[-1]
    return DialTarget(dial_string=dial_string, tech=tech, number=number, host=host)


@dataclass(slots=True)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    state: int
    context: str
    exten: str
    priority: int = 1
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN
    application: str = ""
    app_data: str = ""
    bridge_id: str = ""
    created: float = field(default_factory=time.monotonic)

    @property
    def state_desc(self) -> str:
        return STATE_DESC.get(self.state, "Unknown")

    def set_caller(self, num: str, name: str) -> None:
        self.cid_num, self.cid_name = num or UNKNOWN, name or UNKNOWN

    def set_connected(self, num: str, name: str) -> None:
        self.connected_num, self.connected_name = num or UNKNOWN, name or UNKNOWN

    def goto(self, context: str, exten: str, priority: int = 1) -> None:
        self.context, self.exten, self.priority = context, exten, priority

    def run(self, application: str, data: str = "") -> None:
        self.application, self.app_data = application, data
        self.priority += 1


class ChannelNamer:
    """Per-server sequences: one hex number per channel (a Local pair shares it, as in
    `Local/100@ctx-00000009;1` / `;2`) and `epoch.N` Uniqueids when no ChannelId is given."""

    def __init__(self) -> None:
        self._sequence = itertools.count()
        self._unique = itertools.count(1)

    def next_name(self, prefix: str) -> str:
        return f"{prefix}-{next(self._sequence):08x}"

    def next_uniqueid(self) -> str:
        return f"{int(time.time())}.{next(self._unique)}"


def parse_caller_id(caller_id: str) -> tuple[str, str]:
    """`"Иван Петров" <+79123456789>` -> ("+79123456789", "Иван Петров"), like
    ast_callerid_parse: a bare number is a number, other bare text is a name."""
    text = caller_id.strip()
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].rpartition("<")
        return num.strip(), name.strip().strip('"').strip()
    if text and all(ch.isdigit() or ch in "+*#" for ch in text):
        return text, ""
    return "", text.strip('"')


def format_duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
