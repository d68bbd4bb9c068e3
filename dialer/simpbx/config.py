"""Settings of the simulated PBX, the Originate requests it acts on and the records it
keeps for tests and the demo."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .channels import DialTarget
from .stream import StreamLog


@dataclass(frozen=True)
class SimTiming:
    """Durations in seconds; tests scale them down to a few tens of milliseconds."""

    ring: float = 1.0  # before answer / busy / congestion indication
    no_answer_after: float | None = None  # None = ring until the Originate Timeout
    message: float = 2.0  # length of the played message (DIALER_MESSAGE)
    early_hangup_after: float = 1.0
    operator_answer_delay: float = 1.0  # queue member rings this long before answering
    talk: float = 3.0  # operator talk time (the mean when talk_spread > 0)
    # 0 = every conversation lasts `talk`; > 0 = lognormal with this coefficient of
    # variation (standard deviation / mean), drawn from a generator seeded by SimConfig.seed.
    talk_spread: float = 0.0
    # After a conversation (AgentComplete) a member takes no call for this long. Members
    # report it, rounded up to whole seconds, as Wrapuptime (their own wrap-up time).
    wrapup: float = 0.0
    abandon_patience: float = 0.5  # queue_abandon hangs up this long after joining the queue
    login_failure_delay: float = 1.0  # real Asterisk answers a wrong secret ~1 s late
    queue_patience: float = 60.0  # any other caller gives up waiting in the queue after this
    amd: float = 2.6  # AMD() decides this long after answer (2.6 s in amd-*.txt)
    prompt: float = 1.0  # one IVR prompt: STREAM FILE, SAY ..., GET DATA's file, EXEC Playback
    keypress: float = 0.3  # a scripted key comes this long into a prompt or a wait
    record: float = 2.0  # RECORD FILE: the answer plus the silence that ends it
    # Waits for a key that never comes (silent callers, GET DATA / WAIT FOR DIGIT
    # timeouts) last as long as the command asks; a number here caps them for tests.
    silence_cap: float | None = None


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port; read SimulatedPbx.port after start()
    username: str = "dialer"
    secret: str = field(default="dialer", repr=False)  # never printed or logged
    channel_limit: int = 200  # originated calls up at once; past it: congestion
    operators: int = 2  # operators logged in to each queue at start (0 allowed)
    # Queues that exist from the start, with their operators (QueueStatus lists them before
    # any call). Empty: any queue name exists once Queue() or an action names it. Given:
    # QueueAdd/QueueRemove/QueuePause answer "No such queue" for other names.
    queues: tuple[str, ...] = ()
    # Members are Local/op<N>@<operator_context>/n named "Operator <N>".
    operator_context: str = "operator-sim"
    personas: Mapping[str, str] = field(default_factory=dict)  # E.164 number -> persona
    timing: SimTiming = SimTiming()
    # Event classes sent, like manager.conf `read =`; dialplan/cdr/security are left out
    # on purpose: a real Asterisk would send them too, but the dialer ignores them.
    read_classes: frozenset[str] = frozenset({"system", "call", "agent", "user"})
    seed: int | None = None  # seeds the OriginateResponse-vs-Hangup shuffle and talk times
    # Where `say:<name>` personas find <name>.wav, the audio RECORD FILE "records".
    speech_dir: Path | None = None
    # Seconds from start (and from restart()) until the switch is fully booted. Like a
    # real Asterisk, logins are accepted at once; FullyBooted comes when boot ends, and an
    # Originate before that fails with "Extension does not exist." (no dialplan yet).
    boot_delay: float = 0.0


@dataclass(frozen=True)
class OriginateRequest:
    """An Originate action as the switch carries it out (parsed by actions.py)."""

    action_id: str
    target: DialTarget
    context: str
    exten: str
    priority: int
    timeout_s: float
    caller_id: str
    cid_num: str
    cid_name: str
    variables: Mapping[str, str] = field(default_factory=dict)
    channel_id: str = ""
    other_channel_id: str = ""
    is_async: bool = True


@dataclass(frozen=True)
class OriginateRecord:
    """One Originate the simulator accepted, as the dialer sent it."""

    action_id: str
    channel_id: str  # the ChannelId header ("" when the dialer sent none)
    number: str
    dial_string: str
    persona: str
    time: float  # epoch seconds when the action arrived
    context: str = ""
    exten: str = ""
    timeout_ms: int = 30000
    caller_id: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)
    is_async: bool = True


@dataclass(slots=True)
class CallRecord:
    """The fate of one originated call, keyed by the Uniqueid of its first channel."""

    channel_id: str
    number: str
    persona: str
    dial_string: str
    # "answered", "busy", "no_answer", "congestion", "invalid_number", "failed",
    # "transferred", "abandoned", "machine"; None while the call is still up.
    result: str | None = None
    cause: int | None = None  # Hangup Cause of the originated channel (Uniqueid X)
    other_cause: int | None = None  # Hangup Cause of X;2 (Local only)
    reason: int | None = None  # OriginateResponse Reason (None for a synchronous Originate)
    queue: str = ""
    queue_status: str = ""  # TIMEOUT when Queue() timed out
    played: list[str] = field(default_factory=list)  # files the IVR played (STREAM FILE, GET DATA)
    over_limit: bool = False  # refused as congestion because channel_limit was reached
    started: float = 0.0
    answered: float | None = None
    ended: float | None = None
    amd_status: str = ""  # AMDSTATUS when DIALER_AMD=1 ran AMD()
    agi_status: str = ""  # AGISTATUS when DIALER_AGI ran the IVR: SUCCESS/FAILURE/HANGUP
    agi_commands: list[str] = field(default_factory=list)  # as the FastAGI server sent them
    dtmf: str = ""  # keys the callee pressed
    talk_time: float | None = None  # drawn length of the conversation with an operator
    operator: str = ""  # Interface of the queue member that took the call
    recordings: list[Path] = field(default_factory=list)  # files RECORD FILE wrote
    stream: StreamLog = field(default_factory=StreamLog)  # what EXEC AudioSocket heard
