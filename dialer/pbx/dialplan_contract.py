"""The contract between the dialer and asterisk-config/extensions.conf: the dial string
and the `DIALER_*` channel variables that tell `[dialer-answered]` what to do with an
answered call. The only place that knows those names (the dialplan's header lists them).

Contact text never reaches the dial string (digits and a leading + only), and no value
may carry a newline or the comma that separates variables in the Originate header.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

_DIALABLE_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_SAFE_VARIABLE_VALUE = re.compile(r"^[^\r\n,]*$")


class UnsafeDialString(ValueError):
    """The number would put something other than digits (and a leading +) on the dial string."""


def build_dial_string(template: str, number: str) -> str:
    """`PJSIP/{number}@trunk` + `+79123456789` -> `PJSIP/+79123456789@trunk`.

    Only digits and a leading + ever reach the dial string: `123&PJSIP/999` would dial a
    second destination, `123,1` would pass options to Dial().
    """
    if not _DIALABLE_NUMBER.match(number):
        raise UnsafeDialString(f"refusing to dial {number!r}: digits and a leading + only")
    return template.replace("{number}", number)


@dataclass(frozen=True)
class MachineDetection:
    """AMD() arguments; None keeps the amd.conf value."""

    initial_silence: timedelta | None = None
    greeting: timedelta | None = None
    after_greeting_silence: timedelta | None = None
    total: timedelta | None = None
    not_sure_is_machine: bool = False  # how an AMD NOTSURE verdict counts
    machine_message: str = ""  # sound left on an answering machine; empty: hang up
    max_greeting: timedelta = timedelta(seconds=30)  # waited out for the beep at most


@dataclass(frozen=True)
class AnswerPlan:
    """What `[dialer-answered]` does with an answered call."""

    message: str = ""  # sound played when there is no IVR (with one, the script plays)
    queue: str = ""  # queue to hand the lead to; empty: play and hang up (or the script's)
    queue_timeout: timedelta = timedelta(seconds=30)
    agi_address: str = ""  # host:port of our FastAGI server for IVR campaigns
    compliance_message: str = ""  # played to a caller no operator took in time
    amd: MachineDetection | None = None  # None: no answering-machine detection


@dataclass(frozen=True)
class DialRequest:
    attempt_id: str  # also the ChannelId, so every event of the call carries it as Uniqueid
    campaign: str
    number: str
    channel_template: str
    context: str
    exten: str
    priority: int
    ring_timeout: timedelta
    caller_id: str = ""
    answer: AnswerPlan = field(default_factory=AnswerPlan)
    extra_variables: Mapping[str, str] = field(default_factory=dict)  # the campaign's own
    server: str = ""  # which of the campaign's Asterisk servers places it (by name)

    @property
    def amd_not_sure_is_machine(self) -> bool:
        return self.answer.amd is not None and self.answer.amd.not_sure_is_machine


def channel_variables(request: DialRequest) -> dict[str, str]:
    """The Originate's channel variables, in the dialplan's names."""
    plan = request.answer
    variables = {
        "DIALER_ATTEMPT": request.attempt_id,
        "DIALER_CAMPAIGN": request.campaign,
        "DIALER_MESSAGE": plan.message,
        "DIALER_QUEUE": plan.queue,
        "DIALER_QUEUE_TIMEOUT": str(max(1, math.ceil(plan.queue_timeout.total_seconds()))),
        "DIALER_AGI": plan.agi_address,
        "DIALER_COMPLIANCE_MESSAGE": plan.compliance_message,
    }
    amd = plan.amd
    if amd is not None:
        variables.update(
            {
                "DIALER_AMD": "1",
                "DIALER_AMD_INITIAL_SILENCE": _ms(amd.initial_silence),
                "DIALER_AMD_GREETING": _ms(amd.greeting),
                "DIALER_AMD_AFTER_GREETING_SILENCE": _ms(amd.after_greeting_silence),
                "DIALER_AMD_TOTAL": _ms(amd.total),
                "DIALER_AMD_NOTSURE": "machine" if amd.not_sure_is_machine else "human",
                "DIALER_VM_MESSAGE": amd.machine_message,
                "DIALER_VM_MAX_GREETING": str(max(1, math.ceil(amd.max_greeting.total_seconds()))),
            }
        )
    return {**variables, **request.extra_variables}


def variable_header(variables: Mapping[str, str]) -> str:
    """`A=1,B=2` for the Originate's Variable header; ValueError on an unsafe value."""
    for name, value in variables.items():
        if not _SAFE_VARIABLE_VALUE.match(value):
            raise ValueError(f"channel variable {name} has a newline or comma in its value")
    return ",".join(f"{name}={value}" for name, value in variables.items())


def _ms(value: timedelta | None) -> str:
    return "" if value is None else str(int(value.total_seconds() * 1000))
