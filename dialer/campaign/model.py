"""Campaign file -> validated, typed objects (pydantic).

This module only declares the shape and the rules; dialer.campaign.loader reads YAML
and turns validation errors into file:line:column messages. Checks that concern one
field are field validators (not model validators) so that an error points at the line
of that field rather than at the section it sits in.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dialer.campaign.compliance_settings import ComplianceSettings
from dialer.campaign.connection import (
    AsteriskServer,
    AudioSocketSettings,
    DialSettings,
    FastAgiSettings,
)
from dialer.campaign.fields import (
    ASTERISK_NAME_PATTERN,
    IVR_SCRIPT_MISSING,
    NAME_PATTERN,
    Strict,
)
from dialer.campaign.times_of_day import TimesOfDay
from dialer.campaign.webhooks import WebhookSettings
from dialer.durations import Duration, format_duration
from dialer.outcomes import Outcome
from dialer.policy.retry import DEAD_AFTER_FAILURES
from dialer.regulation import ABANDONED_RECALL_HOLD
from ivr.script import IvrScript

# The canonical written form; parse_duration also tolerates spaces between the parts.


class PacingMode(StrEnum):
    FIXED = "fixed"
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"


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
        pattern=ASTERISK_NAME_PATTERN,
        description="sound played to a caller no operator took in time (identity and how to "
        "opt out); paced modes need it",
    )
    wrapup: Duration = Field(
        timedelta(0),
        ge=timedelta(0),
        le=timedelta(hours=1),
        description="the queue's wrapuptime in queues.conf: operators take no call this long "
        "after each one. Asterisk does not report it over AMI; a member's own wrap-up "
        "(QueueAdd Wrapuptime) is read from Asterisk and wins",
    )
    operator_guaranteed: bool = Field(
        False,
        description="an operator is guaranteed when an abandoned number is called again "
        "(otherwise it is not called again within 72 h)",
    )
    share: float = Field(
        1.0,
        gt=0.0,
        le=1000.0,
        description="this campaign's weight where campaigns share something: the "
        "operators of a queue other campaigns feed too, the channels of a shared "
        "dial.trunk (weights 2 and 1 split them two to one)",
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
        pattern=ASTERISK_NAME_PATTERN,
        description="sound left on an answering machine (after its beep); none: hang up",
    )
    max_greeting: Duration = Field(
        timedelta(seconds=30),
        gt=timedelta(0),
        le=timedelta(minutes=5),
        description="longest machine greeting waited out for its beep (or its end) before "
        "machine_message plays; a longer one gets no message",
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
        "hello-world",
        pattern=ASTERISK_NAME_PATTERN,
        description="Asterisk sound name played on answer",
    )
    queue: str | None = Field(
        None,
        pattern=ASTERISK_NAME_PATTERN,
        description="Asterisk queue name (queues.conf) for transfers",
    )
    queue_timeout: Duration = Field(
        timedelta(seconds=30),
        gt=timedelta(0),
        description="longest wait in the queue before the call counts as abandoned",
    )

    media: Literal["agi", "stream"] = Field(
        "agi",
        description="ivr: how speech steps hear the caller; agi: record, then recognise "
        "the file; stream: AudioSocket media stream (see audiosocket:), heard as spoken, "
        "the caller may talk over prompts (barge-in). Keypad steps use FastAGI either way",
    )
    amd: AmdSettings = Field(
        default_factory=lambda: AmdSettings(),
        description="answering-machine detection (Asterisk AMD()) before the message or script",
    )

    @model_validator(mode="after")
    def _queue_needed(self) -> OnAnswer:
        if self.action is AnswerAction.PLAY_AND_QUEUE and not self.queue:
            raise ValueError("action play_and_queue needs queue: <Asterisk queue name>")
        if self.media == "stream" and self.action is not AnswerAction.IVR:
            raise ValueError(
                "media: stream is how an ivr script hears the caller: needs action: ivr"
            )
        return self


class RetryRuleSettings(Strict):
    """When to call again after one kind of outcome."""

    delay: Duration = Field(..., description="wait this long before the next attempt")
    max: int = Field(..., ge=0, description="how many times this outcome may lead to a retry")
    at: TimesOfDay = Field(
        (),
        description='recycling: times of day in the callee\'s local time ("18:00" or a '
        "list); the retry is due at the first of them once the delay has passed, so a "
        "number nobody answered in the morning is tried again in the evening",
    )


class RetrySettings(Strict):
    """Retry rules per outcome; outcomes not listed here are final."""

    max_attempts: int = Field(3, ge=1, le=100, description="attempts per contact at most")
    dead_after_failures: int | None = Field(
        DEAD_AFTER_FAILURES,
        ge=1,
        description="a number whose calls failed (invalid or unreachable) this many times in "
        "a row, across every campaign, is dead: it leaves every list (null: never)",
    )
    busy: RetryRuleSettings = Field(
        RetryRuleSettings(delay=timedelta(minutes=10), max=3), description="the line was busy"
    )
    no_answer: RetryRuleSettings = Field(
        RetryRuleSettings(delay=timedelta(hours=1), max=2), description="it rang, nobody answered"
    )
    congestion: RetryRuleSettings = Field(
        RetryRuleSettings(delay=timedelta(minutes=5), max=3),
        description="the network or trunk had no capacity",
    )
    failed: RetryRuleSettings = Field(
        RetryRuleSettings(delay=timedelta(minutes=30), max=1),
        description="the call failed for another reason (or its fate was lost)",
    )
    machine: RetryRuleSettings = Field(
        RetryRuleSettings(delay=timedelta(hours=4), max=1),
        description="an answering machine took the call (with on_answer.amd enabled)",
    )
    abandoned: RetryRuleSettings = Field(
        RetryRuleSettings(delay=ABANDONED_RECALL_HOLD, max=1),
        description="answered and queued, but no operator took the call in time",
    )
    pbx_failure: RetryRuleSettings = Field(
        RetryRuleSettings(delay=timedelta(minutes=2), max=3),
        description="the call was cut by Asterisk going away (a crash or restart)",
    )

    script_error: RetryRuleSettings = Field(
        RetryRuleSettings(delay=timedelta(minutes=30), max=1),
        description="answered, but the IVR script failed (e.g. Asterisk could not write a "
        "recording); the attempt's error says why",
    )

    def rule_for(self, outcome: Outcome) -> RetryRuleSettings | None:
        """The rule that applies to a retryable outcome; None for final ones."""
        return {
            Outcome.BUSY: self.busy,
            Outcome.NO_ANSWER: self.no_answer,
            Outcome.CONGESTION: self.congestion,
            Outcome.FAILED: self.failed,
            Outcome.UNKNOWN: self.failed,
            Outcome.ABANDONED: self.abandoned,
            Outcome.MACHINE: self.machine,
            Outcome.PBX_FAILURE: self.pbx_failure,
            Outcome.SCRIPT_ERROR: self.script_error,
        }.get(outcome)


class Campaign(Strict):
    """One outbound campaign: whom to call, through which Asterisk, and what to do."""

    name: str = Field(..., pattern=NAME_PATTERN, description="campaign name, unique in the store")
    list: str = Field(
        ..., pattern=NAME_PATTERN, description="contact list name (dialer contacts import --list)"
    )
    ami: AsteriskServer = Field(
        ..., description="Asterisk Manager Interface connection (the first Asterisk server)"
    )
    servers: tuple[AsteriskServer, ...] = Field(
        (),
        description="more Asterisk servers to dial through (a pool with ami:); a server "
        "that is down or booting is skipped",
    )
    dial: DialSettings = Field(..., description="how each call is placed")
    pacing: PacingSettings = Field(PacingSettings(), description="how many calls and how fast")
    on_answer: OnAnswer = Field(OnAnswer(), description="what happens when a person answers")
    retry: RetrySettings = Field(RetrySettings(), description="when to call a contact again")
    fastagi: FastAgiSettings = Field(
        FastAgiSettings(), description="the FastAGI server that runs the IVR script"
    )
    audiosocket: AudioSocketSettings = Field(
        AudioSocketSettings(), description="the media server (on_answer.media: stream)"
    )
    ivr: IvrScript | None = Field(
        None,
        validate_default=True,  # so that action ivr without this section is caught
        description="the IVR script run on every answered call; needs on_answer.action: ivr",
    )
    compliance: ComplianceSettings = Field(
        ComplianceSettings(), description="calling hours, profile, consent, caps"
    )
    webhooks: tuple[WebhookSettings, ...] = Field((), description="events POSTed to receivers")

    @model_validator(mode="after")
    def _paced_campaigns_follow_the_rules(self) -> Campaign:
        pacing = self.pacing
        abandoned_recall = self.retry.abandoned.delay
        if not pacing.operator_guaranteed and abandoned_recall < ABANDONED_RECALL_HOLD:
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

    @field_validator("servers")
    @classmethod
    def _servers_distinct(
        cls, servers: tuple[AsteriskServer, ...], info: ValidationInfo
    ) -> tuple[AsteriskServer, ...]:
        first = info.data.get("ami")  # None: ami: itself is wrong, and reported there
        seen_names: set[str] = set()
        seen_logins: set[tuple[str, int, str]] = set()
        for server in (first, *servers) if first is not None else servers:
            login = (server.host, server.port, server.username)
            if server.key in seen_names or login in seen_logins:
                raise ValueError(
                    f"Asterisk server {server.key} ({login[0]}:{login[1]}, user {login[2]}) "
                    "is listed twice: list each server once, each with its own name"
                )
            seen_names.add(server.key)
            seen_logins.add(login)
        return servers

    @property
    def asterisk_servers(self) -> tuple[AsteriskServer, ...]:
        """Every Asterisk server the campaign dials through, `ami:` first."""
        return (self.ami, *self.servers)

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
