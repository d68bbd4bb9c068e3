"""The `ivr:` section of a campaign file: a small graph of named steps (pydantic models).

    ivr:
      start: greeting
      steps:
        greeting: {kind: play, prompts: [dialer/hello], next: offer}
        offer:
          kind: menu
          prompt: dialer/press-1-or-2
          keys: {"1": interested, "2": goodbye}
          on_timeout: goodbye
        interested: {kind: transfer, queue: dialer-operators, max_wait: 30s}
        goodbye: {kind: hangup, prompt: dialer/goodbye}

This module declares the shape and the rules of one step; rules that need the whole
graph (references, reachability, loops, prompt files, phrases per language) are in
ivr.script_check, so the campaign loader can report them with file:line:column too.
Each step knows its own outgoing references and sounds, so the checker and the
interpreter never repeat per-kind knowledge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from dialer.durations import Duration, format_duration
from ivr.callback_times import parse_callback

# Same written form as the campaign's other durations (dialer.campaign.model).
# Step names end up in recording file names and channel variables: no '/', no spaces.
_STEP_NAME = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
# Intent names, survey questions, survey choices, dispositions: stored as data.
_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
# Identical to dialer.campaign.model's Asterisk name, so one hint serves both.
_SOUND = r"^[A-Za-z0-9_/.-]{1,128}$"
# '#' ends a multi-digit entry in Asterisk's GET DATA, so it can never be part of a key.
_KEY = r"^[0-9*]{1,20}$"
_LANGUAGE = r"^[a-z]{2,3}$"
# Contact field names come from spreadsheet headers ("amount_due", "Сумма долга").
_FIELD = r"^[^\x00-\x1f\x7f=;]{1,64}$"

PATTERN_HINTS: dict[str, str] = {
    _STEP_NAME: "expected a step name of letters, digits, '_' or '-' "
    "(starting with a letter or '_', at most 64 characters)",
    _NAME: "expected a name of letters, digits, '_', '.' or '-' (at most 64 characters)",
    _SOUND: "expected an Asterisk name of letters, digits, '_', '/', '.' or '-' "
    "(no spaces, at most 128 characters)",
    _KEY: "expected keypad keys: digits and '*' ('#' only ends an entry), e.g. \"1\" or \"42\"",
    _LANGUAGE: "expected a two- or three-letter language code such as ru or en",
    _FIELD: "expected a field name on one line without '=' or ';' (at most 64 characters)",
}


def _one_line(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must be a single line without control characters")
    return value


def _listed(value: Any) -> Any:
    # `prompts: dialer/hello` reads better than a one-item list for the common case.
    return [value] if isinstance(value, str) else value


StepName = Annotated[str, StringConstraints(pattern=_STEP_NAME)]
Name = Annotated[str, StringConstraints(pattern=_NAME)]
SoundName = Annotated[str, StringConstraints(pattern=_SOUND)]
Key = Annotated[str, StringConstraints(pattern=_KEY)]
Language = Annotated[str, StringConstraints(pattern=_LANGUAGE)]
FieldName = Annotated[str, StringConstraints(pattern=_FIELD)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200), BeforeValidator(_one_line)]
Phrases = Annotated[
    dict[Language, Annotated[list[Text], Field(min_length=1)]],
    Field(json_schema_extra={"additionalProperties": False}),
]
Prompts = Annotated[
    list[SoundName],
    BeforeValidator(_listed),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _SOUND},
                {"type": "array", "items": {"type": "string", "pattern": _SOUND}},
            ]
        }
    ),
]

RelPath = tuple[str | int, ...]  # a place inside one step, e.g. ("keys", "1")
# A step's way onward: where it is written, and the step it names (None: the call ends).
Reference = tuple[RelPath, str | None]

# Load-time check of callback texts: any fixed instant shows whether the text parses.
_SOME_NOW = datetime(2000, 1, 3, 12, 0, tzinfo=UTC)


class _Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Step(_Strict):
    # True for steps after which the script is over whatever happens (hangup, optout,
    # transfer): the exits the loop check looks for.
    ends_script: ClassVar[bool] = False

    def references(self) -> list[Reference]:
        """Every step this one can lead to, with where it is written."""
        return []

    def sounds(self) -> list[tuple[RelPath, str]]:
        """Every prompt this step plays, with where it is written."""
        return []


def _sound(path: RelPath, name: str | None) -> list[tuple[RelPath, str]]:
    return [] if name is None else [(path, name)]


# --- play ---------------------------------------------------------------------------------


class SayItem(_Strict):
    """One thing to say: a prompt, or a contact field read as a number or digit by digit."""

    prompt: SoundName | None = Field(None, description="Asterisk sound name to play")
    number: FieldName | None = Field(
        None,
        description="contact field spoken as a number (SayNumber), e.g. amount_due; "
        "a decimal amount is spoken up to its whole part",
    )
    digits: FieldName | None = Field(
        None, description="contact field spoken digit by digit (SayDigits), e.g. contract_no"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SayItem:
        given = [v for v in (self.prompt, self.number, self.digits) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of prompt, number or digits")
        return self


class PlayStep(_Step):
    """Play prompts (and contact fields), then go on."""

    kind: Literal["play"] = Field(description="play: play prompts, then go to next")
    prompts: Prompts = Field(
        default_factory=list, description="Asterisk sound names played one after the other"
    )
    say: list[SayItem] = Field(
        default_factory=list,
        description="played after prompts: more prompts and contact fields, in order",
    )
    next: StepName = Field(description="the step that follows")

    @model_validator(mode="after")
    def _something_to_play(self) -> PlayStep:
        if not self.prompts and not self.say:
            raise ValueError("a play step needs prompts: or say: (or both)")
        return self

    def references(self) -> list[Reference]:
        return [(("next",), self.next)]

    def sounds(self) -> list[tuple[RelPath, str]]:
        played = [(("prompts", i), name) for i, name in enumerate(self.prompts)]
        return played + [
            (("say", i, "prompt"), item.prompt) for i, item in enumerate(self.say) if item.prompt
        ]


# --- menu ---------------------------------------------------------------------------------


class MenuStep(_Step):
    """Play a prompt and read keypad keys; each key (or number) leads to a step."""

    kind: Literal["menu"] = Field(description="menu: read keypad keys")
    prompt: SoundName = Field(description="Asterisk sound name asking for a key")
    keys: Annotated[dict[Key, StepName], Field(min_length=1)] = Field(
        json_schema_extra={"additionalProperties": False},
        description='key (or several digits when max_digits > 1) -> next step, e.g. "1": sales',
    )
    max_digits: int = Field(
        1,
        ge=1,
        le=20,
        description="1: a single key; more: several digits the caller ends with #",
    )
    timeout: Duration = Field(
        timedelta(seconds=5),
        gt=timedelta(0),
        le=timedelta(seconds=60),
        description="how long to wait for keys after the prompt",
    )
    retries: int = Field(
        2, ge=0, le=10, description="how many times to ask again after no key or a wrong key"
    )
    invalid_prompt: SoundName | None = Field(
        None, description="played after a wrong key, before asking again"
    )
    on_timeout: StepName | None = Field(
        None, description="the step after the retries are used up; omitted: the call ends"
    )

    def references(self) -> list[Reference]:
        keys: list[Reference] = [(("keys", key), target) for key, target in self.keys.items()]
        return [*keys, (("on_timeout",), self.on_timeout)]

    def sounds(self) -> list[tuple[RelPath, str]]:
        return [(("prompt",), self.prompt), *_sound(("invalid_prompt",), self.invalid_prompt)]


# --- ask (speech) ---------------------------------------------------------------------


class Intent(_Strict):
    """One meaning an answer can have, the phrases that express it, and where it leads."""

    next: StepName = Field(description="the step that follows this answer")
    phrases: Phrases = Field(
        description="phrases per language code, e.g. ru: [да, конечно], en: [yes, sure]"
    )


class AskStep(_Step):
    """Play a prompt, record the answer, recognise it and map it to an intent."""

    kind: Literal["ask"] = Field(description="ask: recognise a spoken answer")
    prompt: SoundName = Field(description="Asterisk sound name asking the question")
    intents: Annotated[dict[Name, Intent], Field(min_length=1)] = Field(
        json_schema_extra={"additionalProperties": False},
        description="intent name -> its phrases and next step, e.g. yes, no, callback",
    )
    timeout: Duration | None = Field(
        None,
        gt=timedelta(0),
        le=timedelta(seconds=120),
        description="longest answer recorded; omitted: ivr.speech.max_record",
    )
    retries: int = Field(
        2, ge=0, le=10, description="how many times to ask again after silence or no match"
    )
    no_match_prompt: SoundName | None = Field(
        None, description="played when the answer matched no intent, before asking again"
    )
    on_no_match: StepName | None = Field(
        None, description="the step after the retries are used up; omitted: the call ends"
    )

    def references(self) -> list[Reference]:
        chosen: list[Reference] = [
            (("intents", name, "next"), intent.next) for name, intent in self.intents.items()
        ]
        return [*chosen, (("on_no_match",), self.on_no_match)]

    def sounds(self) -> list[tuple[RelPath, str]]:
        return [(("prompt",), self.prompt), *_sound(("no_match_prompt",), self.no_match_prompt)]


# --- survey -------------------------------------------------------------------------------


class SurveyInput(StrEnum):
    KEYPAD = "keypad"
    SPEECH = "speech"


class SurveyStep(_Step):
    """One survey question; the answer is stored as data under `question`."""

    kind: Literal["survey"] = Field(description="survey: store an answer as data")
    question: Name = Field(description="id the answer is stored under, e.g. nps")
    prompt: SoundName = Field(description="Asterisk sound name asking the question")
    input: SurveyInput = Field(
        SurveyInput.KEYPAD,
        description="keypad: a score typed on the keypad (ended with # when it has "
        "several digits); speech: a spoken answer matched to choices",
    )
    min: int = Field(0, ge=0, le=999_999, description="keypad: lowest valid score")
    max: int = Field(10, ge=0, le=999_999, description="keypad: highest valid score")
    choices: dict[Name, Phrases] | None = Field(
        None,
        json_schema_extra={"additionalProperties": False},
        description="speech: stored value -> phrases per language, "
        "e.g. satisfied: {ru: [доволен], en: [satisfied]}",
    )
    timeout: Duration | None = Field(
        None,
        gt=timedelta(0),
        le=timedelta(seconds=120),
        description="keypad: wait for keys (default 5s); speech: longest answer "
        "(default ivr.speech.max_record)",
    )
    retries: int = Field(1, ge=0, le=10, description="how many times to ask again")
    invalid_prompt: SoundName | None = Field(
        None, description="played after an answer that is not valid, before asking again"
    )
    on_no_answer: StepName | None = Field(
        None,
        description="the step after the retries are used up; omitted: go on to next "
        "with the question unanswered",
    )
    next: StepName = Field(description="the step that follows an answer")

    @model_validator(mode="after")
    def _input_matches(self) -> SurveyStep:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.input is SurveyInput.SPEECH and not self.choices:
            raise ValueError("input: speech needs choices: (stored value -> phrases)")
        if self.input is SurveyInput.KEYPAD and self.choices:
            raise ValueError("choices: are for input: speech; a keypad answer is a score")
        return self

    @property
    def keypad_digits(self) -> int:
        return len(str(self.max))

    def references(self) -> list[Reference]:
        found: list[Reference] = [(("next",), self.next)]
        if self.on_no_answer is not None:
            found.append((("on_no_answer",), self.on_no_answer))
        return found

    def sounds(self) -> list[tuple[RelPath, str]]:
        return [(("prompt",), self.prompt), *_sound(("invalid_prompt",), self.invalid_prompt)]


# --- set ----------------------------------------------------------------------------------


class Temperature(StrEnum):
    HOT = "hot"
    WARM = "warm"
    COLD = "cold"


class SetStep(_Step):
    """Record something about the lead: temperature, disposition, fields, a callback."""

    kind: Literal["set"] = Field(description="set: record lead data, then go to next")
    temperature: Temperature | None = Field(None, description="lead temperature: hot, warm, cold")
    disposition: Name | None = Field(None, description="outcome label, e.g. promised_to_pay")
    fields: dict[FieldName, Text] = Field(
        default_factory=dict,
        json_schema_extra={"additionalProperties": False},
        description="custom contact fields to write, name: value",
    )
    callback: str | None = Field(
        None,
        description="call the contact back: 'in 2h', 'tomorrow 10:00', 'monday 09:00', "
        "'2026-12-01 10:00' (times in the contact's time zone)",
    )
    next: StepName = Field(description="the step that follows")

    @field_validator("callback")
    @classmethod
    def _callback_readable(cls, value: str | None) -> str | None:
        if value is not None:
            parse_callback(value, _SOME_NOW, UTC)
        return value

    @model_validator(mode="after")
    def _sets_something(self) -> SetStep:
        if not (self.temperature or self.disposition or self.fields or self.callback):
            raise ValueError("a set step needs temperature, disposition, fields or callback")
        return self

    def references(self) -> list[Reference]:
        return [(("next",), self.next)]


# --- the ends of a script -----------------------------------------------------------------


class TransferStep(_Step):
    """Hand the lead to an Asterisk queue; the script ends and the dialplan runs Queue()."""

    ends_script: ClassVar[bool] = True

    kind: Literal["transfer"] = Field(description="transfer: queue the call for an operator")
    queue: str = Field(
        pattern=_SOUND, description="Asterisk queue name (queues.conf), e.g. dialer-operators"
    )
    max_wait: Duration = Field(
        timedelta(seconds=30),
        gt=timedelta(0),
        description="longest wait in the queue before nobody-answered applies",
    )
    prompt: SoundName | None = Field(None, description="played before the transfer")
    on_no_answer: StepName | None = Field(
        None,
        description="the step run when the call comes back from the queue unanswered; "
        "omitted: the call ends",
    )

    def references(self) -> list[Reference]:
        return [] if self.on_no_answer is None else [(("on_no_answer",), self.on_no_answer)]

    def sounds(self) -> list[tuple[RelPath, str]]:
        return _sound(("prompt",), self.prompt)


class OptoutStep(_Step):
    """Put the number on the do-not-call list at once, confirm, hang up."""

    ends_script: ClassVar[bool] = True

    kind: Literal["optout"] = Field(description="optout: never call this number again")
    confirm_prompt: SoundName | None = Field(
        None, description="played to confirm, e.g. 'you will not be called again'"
    )

    def sounds(self) -> list[tuple[RelPath, str]]:
        return _sound(("confirm_prompt",), self.confirm_prompt)


class HangupStep(_Step):
    """Play a closing prompt and hang up."""

    ends_script: ClassVar[bool] = True

    kind: Literal["hangup"] = Field(description="hangup: end the call")
    prompt: SoundName | None = Field(None, description="closing prompt played before hanging up")

    def sounds(self) -> list[tuple[RelPath, str]]:
        return _sound(("prompt",), self.prompt)


Step = Annotated[
    PlayStep | MenuStep | AskStep | SurveyStep | SetStep | TransferStep | OptoutStep | HangupStep,
    Field(discriminator="kind"),
]


def needs_speech(step: object) -> bool:
    """Whether a step records the caller and needs a recogniser."""
    return isinstance(step, AskStep) or (
        isinstance(step, SurveyStep) and step.input is SurveyInput.SPEECH
    )


# --- the script ---------------------------------------------------------------------------


class SpeechSettings(_Strict):
    """Offline speech recognition (Vosk) for ask steps and spoken survey answers."""

    model_dir: Path = Field(description="directory of the Vosk model for the script's language")
    confidence: float = Field(
        0.5, ge=0.0, le=1.0, description="answers recognised with less confidence do not count"
    )
    record_dir: Path = Field(
        Path("/var/spool/asterisk/dialer-recordings"),
        description="where Asterisk writes the recorded answers (on the Asterisk host)",
    )
    max_record: Duration = Field(
        timedelta(seconds=10),
        gt=timedelta(0),
        le=timedelta(seconds=120),
        description="longest answer recorded",
    )
    silence: Duration = Field(
        timedelta(seconds=2),
        description="this much silence ends an answer; whole seconds, at least 1s",
    )

    @field_validator("silence")
    @classmethod
    def _whole_seconds(cls, value: timedelta) -> timedelta:
        # Asterisk's RECORD FILE takes silence as whole seconds (s=<n>).
        seconds = value.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            raise ValueError(f"must be whole seconds, at least 1s, got {format_duration(value)}")
        return value


class IvrScript(_Strict):
    """The IVR scenario run on every answered call: named steps, starting at start."""

    start: StepName = Field(description="the first step")
    steps: Annotated[dict[StepName, Step], Field(min_length=1)] = Field(
        json_schema_extra={"additionalProperties": False},
        description="step name -> step; each step has a kind: play, menu, ask, survey, "
        "set, transfer, optout or hangup",
    )
    language: Language = Field(
        "ru", description="language code of the prompts and of the phrases recognised"
    )
    speech: SpeechSettings | None = Field(
        None, description="speech recognition; needed by ask steps and spoken survey answers"
    )
    sounds_dir: Path | None = Field(
        None,
        description="directory holding the prompt files (relative: to the campaign file); "
        "when given, every prompt must exist there; omitted: prompts are not checked",
    )
