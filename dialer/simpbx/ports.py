"""What the lower modules of the simulated PBX see of the higher ones.

The modules import downwards only. Where a lower one calls back up (a member into its
queue, a call into the switch), it names just those calls as a Protocol, here when
several modules share it or next to itself otherwise, and the higher object fits it
structurally. The order, lowest first:

    wire, channels, personas, agi_usage
    config, events            the vocabulary: settings, records, event builders
    ports                     this module
    members, media            a queue's members; the callee as an IVR hears it
    agi_commands, agi         the FastAGI client
    dialplan                  [dialer-answered]: AMD, IVR, message, queue, Hangup
    calls                     one originated call
    queues                    Queue() and its operators
    core                      the switch: channels, calls, queues
    actions, queue_actions    AMI actions
    operators, server         the Python API and the AMI server

The views upward: Switch (here); members.MemberCall; media.LineCall;
agi_commands.CommandSession; agi.AgiSwitch and agi.AgiCall; dialplan.DialplanCall;
calls.CallHost, calls.QueueJoin and calls.QueueSeat; queues.QueueHost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from .astdb import AstDb
from .config import SimConfig, SimTiming
from .events import Fields

Step = Callable[[], None]  # one event (or a few) of a call, run in a given order


class Switch(Protocol):
    """The switch (core.PbxCore) as the modules below it use it: its settings, its
    loop and its event fan-out."""

    @property
    def config(self) -> SimConfig: ...

    @property
    def timing(self) -> SimTiming: ...

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def astdb(self) -> AstDb: ...

    def emit(self, name: str, builder: Callable[..., Fields], *args: object) -> None: ...
