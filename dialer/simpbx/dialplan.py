"""[dialer-answered] after Answer(), step for step as asterisk-config/extensions.conf
runs it on a real Asterisk: optional AMD (and the voicemail drop for machines), then the
IVR over FastAGI or the plain message, then the optional queue, then Hangup.

PRIORITY holds the priorities of the steps in that file; they show in the `Priority:`
field of the UserEvents and in `agi_priority`, and tests/asterisk/test_dialplan_ivr.py
checks them against the real dialplan.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Protocol

from . import events as ev
from .agi import AgiCall, AgiSession
from .astdb import journal
from .channels import Channel
from .ports import Step


class Phase(Enum):
    DIALING = "dialing"
    AMD = "amd"  # answered, AMD() listening
    MESSAGE = "message"  # answered, Playback(DIALER_MESSAGE or DIALER_VM_MESSAGE)
    AGI = "agi"  # answered, the IVR runs over FastAGI
    QUEUED = "queued"  # waiting in Queue()
    TALKING = "talking"  # bridged with an operator
    DONE = "done"


PRIORITY = {
    "amd": 4,
    "amd_event": 5,
    "agi": 9,
    "message": 11,
    "queue_set": 18,  # the last Set() before Queue()
    "compliance": 21,  # the compliance message, after Queue() came back
    "agi_resume": 24,  # the script's on_no_answer step, after Queue() came back
    "hangup": 25,
    "wait_for_silence": 29,  # the greeting's end (TONE_DETECT hears the beep meanwhile)
    "vm_playback": 40,
    "vm_event": 42,  # UserEvent DialerVoicemail, Result: left_after_...
    "vm_hangup": 43,
}
# amd.conf
AMD_DEFAULTS = {
    "initial_silence": 2500,
    "greeting": 1500,
    "after_greeting_silence": 800,
    "total": 5000,
}
AMD_MAX_WORDS = 2  # amd.conf maximum_number_of_words (no DIALER_AMD_* variable sets it)
# The fixed personas of [dialer-test-callees]: Local channels that answer and send no
# audio at all. The scripted people (press:, say:) say "hello" like a person.
LOCAL_WITHOUT_FRAMES = frozenset({"answer", "queue_taken", "queue_abandon", "early_hangup"})


class DialplanCall(AgiCall, Protocol):
    """The answered call (calls.Call) as its dialplan drives it."""

    phase: Phase

    def run(self, steps: Sequence[Step | None]) -> None: ...

    def soft_hangup(self, ch: Channel) -> Step: ...

    def hangup_step(self, ch: Channel, cause: int) -> Step: ...

    def hangup_a_side(self, cause: int) -> None: ...

    def done(self) -> None: ...

    def join_queue(self, name: str, timeout_s: float) -> None: ...


class AnsweredDialplan:
    def __init__(self, call: DialplanCall) -> None:
        self.call = call
        self.variables = call.variables
        self.agi: AgiSession | None = None

    def var(self, name: str) -> str:
        return self.variables.get(name, "").strip()

    def _at(self, step: str, application: str, data: str = "") -> None:
        """Put `;1` on a step of the dialplan (what its events then show)."""
        a = self.call.a
        a.priority, a.application, a.app_data = PRIORITY[step], application, data

    def start(self) -> None:
        if self.var("DIALER_AMD") == "1":
            self._amd()
        else:
            self._human()

    # ---- answering-machine detection ---------------------------------------------------

    def _amd_setting(self, variable: str, key: str) -> int:
        value = self.var(variable)
        return int(value) if value.isdigit() else AMD_DEFAULTS[key]

    def _amd(self) -> None:
        self.call.phase = Phase.AMD
        args = ",".join(
            self.var(name)
            for name in (
                "DIALER_AMD_INITIAL_SILENCE",
                "DIALER_AMD_GREETING",
                "DIALER_AMD_AFTER_GREETING_SILENCE",
                "DIALER_AMD_TOTAL",
            )
        )
        self._at("amd", "AMD", args)
        self.call.after(self.call.core.timing.amd, self._amd_done)

    def amd_verdict(self) -> tuple[str, str]:
        """AMDSTATUS and AMDCAUSE as app_amd on Asterisk 22 gives them for the line this
        persona stands for (tests/asterisk/test_amd_lines_real.py)."""
        persona = self.call.persona
        if persona == "machine":  # a recorded greeting: words with short gaps
            return "MACHINE", f"MAXWORDS-{AMD_MAX_WORDS + 1}-{AMD_MAX_WORDS}"
        if persona == "silent":  # a real line nobody speaks on sends frames of silence
            initial = self._amd_setting("DIALER_AMD_INITIAL_SILENCE", "initial_silence")
            return "MACHINE", f"INITIALSILENCE-{initial}-{initial}"
        if persona in LOCAL_WITHOUT_FRAMES:  # nothing to analyse until the total is up
            total = self._amd_setting("DIALER_AMD_TOTAL", "total")
            return "NOTSURE", f"TOOLONG-{total - 100}"
        after = self._amd_setting("DIALER_AMD_AFTER_GREETING_SILENCE", "after_greeting_silence")
        return "HUMAN", f"HUMAN-{after + 1}-{after}"  # "hello", then silence (amd-human.txt)

    def _amd_done(self) -> None:
        call = self.call
        status, cause = self.amd_verdict()
        self.variables["AMDSTATUS"], self.variables["AMDCAUSE"] = status, cause
        call.record.amd_status = status
        self._at("amd_event", "UserEvent", f"DialerAMD,AMDStatus: {status},AMDCause: {cause}")
        call.core.emit(
            "UserEvent",
            ev.user_event,
            call.a,
            "DialerAMD",
            ("AMDStatus", status),
            ("AMDCause", cause),
            ("Attempt", self.var("DIALER_ATTEMPT")),
        )
        notsure_machine = status == "NOTSURE" and self.var("DIALER_AMD_NOTSURE") == "machine"
        if status == "MACHINE" or notsure_machine:
            self._machine()
        else:
            self._human()

    def _machine(self) -> None:
        """Leave DIALER_VM_MESSAGE after the greeting's beep, or hang up at once."""
        call = self.call
        call.record.result = "machine"
        message = self.var("DIALER_VM_MESSAGE")
        if not message:
            self._hangup()
            return
        call.phase = Phase.MESSAGE
        self.variables["DIALER_VM_RESULT"] = "waiting"
        longest = self.var("DIALER_VM_MAX_GREETING") or "30"
        self._at("wait_for_silence", "WaitForSilence", f"3000,1,{longest}")
        # The machine persona's greeting ends in a beep (heard by TONE_DETECT); anyone
        # else sent down this branch (a NOTSURE silent line) is quiet: silence ends it.
        heard = "beep" if call.persona == "machine" else "greeting"
        call.after(call.core.timing.amd, self._leave_message, message, heard)

    def _leave_message(self, message: str, heard: str) -> None:
        call = self.call
        self.variables["DIALER_VM_RESULT"] = heard
        self._at("vm_playback", "Playback", message)
        call.after(call.core.timing.message, self._message_left, f"left_after_{heard}")

    def _message_left(self, result: str) -> None:
        call = self.call
        self.variables["DIALER_VM_RESULT"] = result
        self._at("vm_event", "UserEvent", f"DialerVoicemail,Result: {result}")
        call.core.emit(
            "UserEvent",
            ev.user_event,
            call.a,
            "DialerVoicemail",
            ("Result", result),
            ("Attempt", self.var("DIALER_ATTEMPT")),
        )
        self._hangup("vm_hangup")

    # ---- a person: the IVR or the message ----------------------------------------------

    def _human(self) -> None:
        call, address = self.call, self.var("DIALER_AGI")
        if address:
            script = f"ivr?attempt={self.var('DIALER_ATTEMPT')}"
            self.agi = AgiSession(call, address, script, PRIORITY["agi"], self._agi_ended)
            call.phase = Phase.AGI
            self._at("agi", "AGI", self.agi.url)
            self.agi.start()
            return
        call.phase = Phase.MESSAGE
        self._at("message", "Playback", self.var("DIALER_MESSAGE"))
        call.after(call.core.timing.message, self.queue_step)

    def queue_returned(self, status: str) -> None:
        """Queue() came back with nobody to take the lead: the compliance message if the
        campaign set one, then the script's on_no_answer step if it named one, else
        Hangup()."""
        self.variables["QUEUESTATUS"] = status
        message = self.var("DIALER_COMPLIANCE_MESSAGE")
        if message:
            self.call.phase = Phase.MESSAGE
            self._at("compliance", "Playback", message)
            self.call.after(self.call.core.timing.message, self._after_queue)
            return
        self._after_queue()

    def _after_queue(self) -> None:
        step, address = self.var("DIALER_NO_ANSWER"), self.var("DIALER_AGI")
        if not (step and address):
            self._hangup()
            return
        call = self.call
        self.variables["DIALER_QUEUE"] = ""  # Set(DIALER_QUEUE=): never queued twice
        script = f"ivr?attempt={self.var('DIALER_ATTEMPT')}&resume={step}"
        self.agi = AgiSession(call, address, script, PRIORITY["agi_resume"], self._agi_ended)
        call.phase = Phase.AGI
        self._at("agi_resume", "AGI", self.agi.url)
        self.agi.start()

    def _agi_ended(self, session: AgiSession) -> None:
        """The FastAGI server closed the socket (or was never reached)."""
        call = self.call
        self.variables["AGISTATUS"] = session.status
        if call.phase is not Phase.AGI:  # the simulator stopped meanwhile
            return
        if session.ended_by == "caller":  # `;2` is gone already; now `;1` (the trace)
            call.run([call.soft_hangup(call.a), call.hangup_step(call.a, session.cause)])
        elif session.ended_by == "ivr":  # AGI HANGUP sets no cause: both halves show 0
            call.hangup_a_side(0)
        elif session.ended_by == "action":
            call.hangup_a_side(session.cause)
        else:  # SUCCESS, or FAILURE (server unreachable): the dialplan goes on
            self.queue_step()
            return
        call.record.result = call.record.result or "answered"
        call.done()

    # ---- the queue, then Hangup() ------------------------------------------------------

    def queue_step(self) -> None:
        call = self.call
        queue = self.var("DIALER_QUEUE")
        if not queue:
            self._hangup()
            return
        call.record.queue = queue
        attempt = self.var("DIALER_ATTEMPT")
        self._at("queue_set", "Set", f"DB(dialer/{attempt}/queue)=joined")
        try:
            timeout = float(self.var("DIALER_QUEUE_TIMEOUT") or 0)
        except ValueError:
            timeout = 0.0
        journal(call.core.astdb, call, "queue", "joined")
        call.join_queue(queue, timeout)

    def _hangup(self, step: str = "hangup") -> None:
        call = self.call
        self._at(step, "Hangup")
        call.record.result = call.record.result or "answered"
        call.hangup_a_side(16)
        call.done()
