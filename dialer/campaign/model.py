"""Campaign file -> validated, typed objects (pydantic).

This module only declares the shape and the rules; dialer.campaign.loader reads YAML
and turns validation errors into file:line:column messages. Checks that concern one
field are field validators (not model validators) so that an error points at the line
of that field rather than at the section it sits in.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dialer.durations import Duration, format_duration
from dialer.outcomes import Outcome
from ivr.script import IvrScript
from ivr.script_fields import PATTERN_HINTS as IVR_PATTERN_HINTS

# The canonical written form; parse_duration also tolerates spaces between the parts.


_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ASTERISK_NAME = r"^[A-Za-z0-9_/.-]{1,128}$"  # sound names, queue names, contexts
_EXTEN = r"^[A-Za-z0-9_+*#]{1,32}$"
_HOST = r"^[A-Za-z0-9_.:-]{1,253}$"  # host name, IPv4 or bare IPv6 address
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# Channel variable names and values end up in an AMI header: no separators, no newlines.
_VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_VAR_VALUE = r"^[^\r\n,=|]{0,200}$"
# Everything a dial string needs (PJSIP/{number}@trunk, SIP/trunk/{number},
# IAX2/peer/{number}, Local/{number}@ctx/n) and nothing Asterisk treats as a separator
# (& joins channels in Dial, ',' and '|' separate arguments, spaces and newlines end
# an AMI header).
_CHANNEL_CHARS = re.compile(r"[A-Za-z0-9_.@:/+#*{}-]")
_TECH_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]*/.")

# Plain words for each pattern above, used by the loader when a value does not match.
PATTERN_HINTS: dict[str, str] = {
    _NAME: "expected a name of letters, digits, '_', '.' or '-' "
    "(starting with a letter or digit, at most 64 characters)",
    _ASTERISK_NAME: "expected an Asterisk name of letters, digits, '_', '/', '.' or '-' "
    "(no spaces, at most 128 characters)",
    _EXTEN: "expected a dialplan extension of letters, digits, '_', '+', '*' or '#'",
    _HOST: "expected a host name or IP address (no spaces, no scheme, no port)",
    _ENV_NAME: "expected an environment variable name such as DIALER_AMI_SECRET "
    "(letters, digits and '_', not starting with a digit)",
    _VAR_NAME: "expected a variable name of letters, digits and '_' "
    "(not starting with a digit, at most 64 characters)",
    _VAR_VALUE: "expected a channel variable value without line breaks, ',', '=' or '|' "
    "(at most 200 characters)",
    **IVR_PATTERN_HINTS,
}
# Error type raised when on_answer.action is ivr and the file has no ivr: section; the
# message is shown at on_answer.action, the line to change if the script was not meant.
IVR_SCRIPT_MISSING = "ivr_script_missing"

VariableName = Annotated[str, StringConstraints(pattern=_VAR_NAME)]
VariableValue = Annotated[str, StringConstraints(pattern=_VAR_VALUE)]


def _single_line(value: str, what: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} must be a single line without control characters")
    return value


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AmiSettings(Strict):
    """Asterisk Manager Interface connection (manager.conf on the Asterisk side)."""

    host: str = Field("127.0.0.1", pattern=_HOST, description="Asterisk host name or IP address")
    port: int = Field(5038, ge=1, le=65535, description="AMI TCP port")
    username: str = Field(
        "dialer", min_length=1, description="AMI user: a [section] name in manager.conf"
    )
    secret: str | None = Field(
        None,
        min_length=1,
        repr=False,  # never show the secret in logs or tracebacks
        description="AMI secret written in this file; prefer secret_env",
    )
    secret_env: str | None = Field(
        None,
        pattern=_ENV_NAME,
        description="name of the environment variable holding the AMI secret",
    )
    connect_timeout: Duration = Field(
        timedelta(seconds=5), gt=timedelta(0), description="give up a TCP connect after this"
    )
    action_timeout: Duration = Field(
        timedelta(seconds=10),
        gt=timedelta(0),
        description="give up waiting for the response to an AMI action after this",
    )
    ping_interval: Duration = Field(
        timedelta(seconds=10),
        gt=timedelta(0),
        description="send an AMI Ping this often to detect a dead connection",
    )

    @field_validator("username", "secret")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        # Both go into AMI headers of the Login action: a line break would inject headers.
        return None if value is None else _single_line(value, "this value")

    @model_validator(mode="after")
    def _one_secret(self) -> AmiSettings:
        if self.secret is not None and self.secret_env is not None:
            raise ValueError("give either secret or secret_env, not both")
        if self.secret is None and self.secret_env is None:
            raise ValueError(
                "give secret_env (name of an environment variable holding the AMI secret) or secret"
            )
        return self


class DialSettings(Strict):
    """How each call is placed: the fields of the AMI Originate action."""

    channel: str = Field(
        ...,
        description="dial string template; {number} is replaced by the E.164 number "
        "(digits and a leading + only), e.g. PJSIP/{number}@trunk",
    )
    caller_id: str = Field(
        "",
        max_length=128,
        description='caller ID shown to the callee, e.g. "Spring Promo" <+74950000000>; '
        "empty leaves it to the trunk",
    )
    context: str = Field(
        "dialer-answered",
        pattern=_ASTERISK_NAME,
        description="dialplan context an answered call continues in",
    )
    exten: str = Field("s", pattern=_EXTEN, description="extension in that context")
    priority: int = Field(1, ge=1, description="priority in that extension")
    ring_timeout: Duration = Field(
        timedelta(seconds=30),
        description="how long to let the callee's phone ring; at least 15s",
    )
    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict,
        json_schema_extra={"additionalProperties": False},
        description="extra channel variables set on every call (NAME: value)",
    )

    @field_validator("channel")
    @classmethod
    def _channel_template(cls, value: str) -> str:
        if "{number}" not in value:
            raise ValueError("must contain the {number} placeholder, e.g. PJSIP/{number}@trunk")
        rest = value.replace("{number}", "")
        if "{" in rest or "}" in rest:
            raise ValueError("may only use the {number} placeholder")
        bad = sorted({c for c in rest if not _CHANNEL_CHARS.fullmatch(c)})
        if bad:
            shown = ", ".join(repr(c) for c in bad)
            raise ValueError(
                f"{shown} cannot be part of a dial string (Asterisk could dial something "
                "else); use letters, digits and _ . @ : / + # * - only"
            )
        if not _TECH_PREFIX.match(value):
            raise ValueError("must look like TECH/resource, e.g. PJSIP/{number}@trunk")
        return value

    @field_validator("caller_id")
    @classmethod
    def _caller_id_line(cls, value: str) -> str:
        return _single_line(value, "caller_id")

    @field_validator("ring_timeout")
    @classmethod
    def _ring_long_enough(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=15):
            # Shorter rings hang up on people reaching for the phone; carriers and
            # regulators treat that as a nuisance call.
            raise ValueError(f"must be at least 15s, got {format_duration(value)}")
        return value


class PacingMode(StrEnum):
    FIXED = "fixed"
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"


RECALL_AFTER_ABANDON = timedelta(hours=72)  # Ofcom: no repeat call within 72 h


class PacingSettings(Strict):
    """How many calls run at once and how fast new ones start."""

    mode: PacingMode = Field(
        PacingMode.FIXED,
        description="fixed: keep up to max_channels calls in flight; progressive: one call "
        "per free operator; power: `ratio` calls per free operator; predictive: calls placed "
        "ahead of operators becoming free, keeping abandoned calls under abandon_target",
    )
    max_channels: int = Field(10, ge=1, le=5000, description="simultaneous calls at most")
    calls_per_second: float = Field(5.0, gt=0, le=1000, description="new calls per second at most")
    ratio: float = Field(1.5, ge=1.0, le=10.0, description="power mode: calls per free operator")
    abandon_target: float = Field(
        0.03,
        gt=0.0,
        le=0.03,
        description="predictive: abandoned share of live-answered calls to stay under, per "
        "rolling 24 h and 30 days (regulators cap it at 3%)",
    )
    connect_limit: Duration = Field(
        timedelta(seconds=2),
        gt=timedelta(0),
        le=timedelta(seconds=60),
        description="a person who should reach an operator and does not within this (after "
        "the transfer point) is an abandoned call; paced modes queue the call this long",
    )
    compliance_message: str | None = Field(
        None,
        pattern=_ASTERISK_NAME,
        description="sound played to a caller no operator took in time (identity and how to "
        "opt out); paced modes need it",
    )
    operator_guaranteed: bool = Field(
        False,
        description="an operator is guaranteed when an abandoned number is called again "
        "(otherwise it is not called again within 72 h)",
    )

    @property
    def operator_paced(self) -> bool:
        return self.mode is not PacingMode.FIXED


class AnswerAction(StrEnum):
    PLAY_AND_HANGUP = "play_and_hangup"
    PLAY_AND_QUEUE = "play_and_queue"
    IVR = "ivr"


class NotSure(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


class AmdSettings(Strict):
    """AMD() runs in the dialplan right after answer; its arguments come from here."""

    enabled: bool = Field(False, description="run answering-machine detection")
    initial_silence: Duration = Field(
        timedelta(milliseconds=2500), description="silence before the greeting that means machine"
    )
    greeting: Duration = Field(
        timedelta(milliseconds=1500), description="a greeting longer than this means machine"
    )
    after_greeting_silence: Duration = Field(
        timedelta(milliseconds=800), description="silence after the greeting that means human"
    )
    total: Duration = Field(
        timedelta(seconds=5), description="longest analysis; then the verdict is NOTSURE"
    )
    not_sure: NotSure = Field(NotSure.HUMAN, description="how to treat a NOTSURE verdict")
    machine_message: str | None = Field(
        None,
        pattern=_ASTERISK_NAME,
        description="sound left on an answering machine (after its beep); none: hang up",
    )


class OnAnswer(Strict):
    """What happens when a person answers."""

    action: AnswerAction = Field(
        AnswerAction.PLAY_AND_HANGUP,
        description="play_and_hangup: play the message and hang up; play_and_queue: play "
        "the message, then put the call in the operators' queue; ivr: run the script of "
        "the ivr: section (message and queue are then not used)",
    )
    message: str = Field(
        "hello-world", pattern=_ASTERISK_NAME, description="Asterisk sound name played on answer"
    )
    queue: str | None = Field(
        None, pattern=_ASTERISK_NAME, description="Asterisk queue name (queues.conf) for transfers"
    )
    queue_timeout: Duration = Field(
        timedelta(seconds=30),
        gt=timedelta(0),
        description="longest wait in the queue before the call counts as abandoned",
    )

    amd: AmdSettings = Field(
        default_factory=lambda: AmdSettings(),
        description="answering-machine detection (Asterisk AMD()) before the message or script",
    )

    @model_validator(mode="after")
    def _queue_needed(self) -> OnAnswer:
        if self.action is AnswerAction.PLAY_AND_QUEUE and not self.queue:
            raise ValueError("action play_and_queue needs queue: <Asterisk queue name>")
        return self


class RetryRule(Strict):
    """When to call again after one kind of outcome."""

    delay: Duration = Field(..., description="wait this long before the next attempt")
    max: int = Field(..., ge=0, description="how many times this outcome may lead to a retry")


class RetrySettings(Strict):
    """Retry rules per outcome; outcomes not listed here are final."""

    max_attempts: int = Field(3, ge=1, le=100, description="attempts per contact at most")
    busy: RetryRule = Field(
        RetryRule(delay=timedelta(minutes=10), max=3), description="the line was busy"
    )
    no_answer: RetryRule = Field(
        RetryRule(delay=timedelta(hours=1), max=2), description="it rang, nobody answered"
    )
    congestion: RetryRule = Field(
        RetryRule(delay=timedelta(minutes=5), max=3),
        description="the network or trunk had no capacity",
    )
    failed: RetryRule = Field(
        RetryRule(delay=timedelta(minutes=30), max=1),
        description="the call failed for another reason (or its fate was lost)",
    )
    machine: RetryRule = Field(
        RetryRule(delay=timedelta(hours=4), max=1),
        description="an answering machine took the call (with on_answer.amd enabled)",
    )
    abandoned: RetryRule = Field(
        RetryRule(delay=timedelta(hours=72), max=1),
        description="answered and queued, but no operator took the call in time",
    )

    def rule_for(self, outcome: Outcome) -> RetryRule | None:
        """The rule that applies to a retryable outcome; None for final ones."""
        return {
            Outcome.BUSY: self.busy,
            Outcome.NO_ANSWER: self.no_answer,
            Outcome.CONGESTION: self.congestion,
            Outcome.FAILED: self.failed,
            Outcome.UNKNOWN: self.failed,
            Outcome.ABANDONED: self.abandoned,
            Outcome.MACHINE: self.machine,
        }.get(outcome)


class FastAgiSettings(Strict):
    """Where the dialer's FastAGI server listens for answered calls (action ivr)."""

    host: str = Field("127.0.0.1", pattern=_HOST, description="address to listen on")
    port: int = Field(4573, ge=0, le=65535, description="port to listen on (0: any free port)")
    advertise: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9.:\[\]-]{1,255}$",
        description="host:port Asterisk connects to (agi://<advertise>/ivr); default host:port",
    )


class Campaign(Strict):
    """One outbound campaign: whom to call, through which Asterisk, and what to do."""

    name: str = Field(..., pattern=_NAME, description="campaign name, unique in the store")
    list: str = Field(
        ..., pattern=_NAME, description="contact list name (dialer contacts import --list)"
    )
    ami: AmiSettings = Field(..., description="Asterisk Manager Interface connection")
    dial: DialSettings = Field(..., description="how each call is placed")
    pacing: PacingSettings = Field(PacingSettings(), description="how many calls and how fast")
    on_answer: OnAnswer = Field(OnAnswer(), description="what happens when a person answers")
    retry: RetrySettings = Field(RetrySettings(), description="when to call a contact again")
    fastagi: FastAgiSettings = Field(
        FastAgiSettings(), description="the FastAGI server that runs the IVR script"
    )
    ivr: IvrScript | None = Field(
        None,
        validate_default=True,  # so that action ivr without this section is caught
        description="the IVR script run on every answered call; needs on_answer.action: ivr",
    )

    @model_validator(mode="after")
    def _paced_campaigns_follow_the_rules(self) -> Campaign:
        pacing = self.pacing
        abandoned_recall = self.retry.abandoned.delay
        if not pacing.operator_guaranteed and abandoned_recall < RECALL_AFTER_ABANDON:
            raise PydanticCustomError(
                "abandon_recall",
                "retry.abandoned.delay is {delay}: an abandoned caller may not be called again "
                "within 72h unless an operator is guaranteed (set pacing.operator_guaranteed: "
                "true if one is)",
                {"delay": format_duration(abandoned_recall)},
            )
        if pacing.operator_paced:
            if self.on_answer.action is AnswerAction.PLAY_AND_HANGUP:
                raise PydanticCustomError(
                    "paced_without_queue",
                    "pacing.mode {mode} paces calls to operators, but on_answer.action "
                    "play_and_hangup never reaches one: use play_and_queue or ivr",
                    {"mode": pacing.mode.value},
                )
            slow = [
                name
                for name, step in (self.ivr.steps.items() if self.ivr else ())
                if getattr(step, "kind", "") == "transfer" and step.max_wait > pacing.connect_limit  # type: ignore[union-attr]
            ]
            if slow:
                raise PydanticCustomError(
                    "transfer_slower_than_connect_limit",
                    "pacing.mode {mode}: transfer step(s) {steps} wait longer than "
                    "pacing.connect_limit ({limit}); a caller no operator takes within the "
                    "limit is an abandoned call: set their max_wait to at most {limit}",
                    {
                        "mode": pacing.mode.value,
                        "steps": ", ".join(slow),
                        "limit": format_duration(pacing.connect_limit),
                    },
                )
            if not pacing.compliance_message:
                raise PydanticCustomError(
                    "compliance_message_missing",
                    "pacing.mode {mode} needs pacing.compliance_message: the recorded "
                    "identification played when no operator takes a call within "
                    "connect_limit",
                    {"mode": pacing.mode.value},
                )
        return self

    @field_validator("ivr")
    @classmethod
    def _ivr_goes_with_action(
        cls, value: IvrScript | None, info: ValidationInfo
    ) -> IvrScript | None:
        on_answer = info.data.get("on_answer")
        if on_answer is None:  # on_answer itself is wrong, and reported there
            return value
        if on_answer.action is AnswerAction.IVR and value is None:
            raise PydanticCustomError(
                IVR_SCRIPT_MISSING,
                "action ivr runs the script of an ivr: section, and there is none; "
                "add ivr: with start: and steps:",
            )
        if value is not None and on_answer.action is not AnswerAction.IVR:
            raise ValueError(
                f"the ivr: script runs only with on_answer.action: ivr "
                f"(on_answer.action is {on_answer.action})"
            )
        return value
