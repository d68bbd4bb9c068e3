"""The steps of an IVR script, one pydantic model per kind (play, menu, ask, survey, set,
transfer, optout, hangup).

This module declares the shape and the rules of one step; rules that need the whole
graph (references, reachability, loops, prompt files, phrases per language) are in
ivr.script_check, so the campaign loader can report them with file:line:column too.
Each step knows its own outgoing references and sounds, so the checker and the
interpreter never repeat per-kind knowledge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from dialer.durations import Duration
from ivr.callback_times import parse_callback
from ivr.script_fields import (
    SOUND_PATTERN,
    FieldName,
    Key,
    Name,
    Phrases,
    Prompts,
    Reference,
    RelPath,
    SoundName,
    StepName,
    StrictModel,
    Text,
)
from ivr.script_say import SayItem, TextPrompt

# Load-time check of callback texts: any fixed instant shows whether the text parses.
_SOME_NOW = datetime(2000, 1, 3, 12, 0, tzinfo=UTC)


class BaseStep(StrictModel):
    """What every kind of step tells the checker and the interpreter."""

    # True for steps after which the script is over whatever happens (hangup, optout,
    # transfer): the exits the loop check looks for.
    ends_script: ClassVar[bool] = False

    def references(self) -> list[Reference]:
        """Every step this one can lead to, with where it is written."""
        return []

    def sounds(self) -> list[tuple[RelPath, str]]:
        """Every prompt this step plays, with where it is written."""
        return []

    def texts(self) -> list[tuple[RelPath, SayItem]]:
        """Every text a voice says in this step, with where it is written."""
        return []


def _sound(path: RelPath, name: str | None) -> list[tuple[RelPath, str]]:
    return [] if name is None else [(path, name)]


# --- play ---------------------------------------------------------------------------------


class PlayStep(BaseStep):
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

    def texts(self) -> list[tuple[RelPath, SayItem]]:
        return [(("say", i, "text"), item) for i, item in enumerate(self.say) if item.text]


# --- menu ---------------------------------------------------------------------------------


class MenuStep(TextPrompt, BaseStep):
    """Play a prompt and read keypad keys; each key (or number) leads to a step."""

    kind: Literal["menu"] = Field(description="menu: read keypad keys")
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
        return [
            *_sound(("prompt",), self.prompt),
            *_sound(("invalid_prompt",), self.invalid_prompt),
        ]


# --- ask (speech) ---------------------------------------------------------------------


class Intent(StrictModel):
    """One meaning an answer can have, the phrases that express it, and where it leads."""

    next: StepName = Field(description="the step that follows this answer")
    phrases: Phrases = Field(
        description="phrases per language code, e.g. ru: [да, конечно], en: [yes, sure]"
    )


class AskStep(TextPrompt, BaseStep):
    """Play a prompt, record the answer, recognise it and map it to an intent."""

    kind: Literal["ask"] = Field(description="ask: recognise a spoken answer")
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
    barge_in: bool = Field(
        True,
        description="true: the caller may talk over the prompt, which stops (media "
        "stream only); false: the prompt plays to its end first (a legal message)",
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
        return [
            *_sound(("prompt",), self.prompt),
            *_sound(("no_match_prompt",), self.no_match_prompt),
        ]


# --- survey -------------------------------------------------------------------------------


class SurveyInput(StrEnum):
    KEYPAD = "keypad"
    SPEECH = "speech"


class SurveyStep(TextPrompt, BaseStep):
    """One survey question; the answer is stored as data under `question`."""

    kind: Literal["survey"] = Field(description="survey: store an answer as data")
    question: Name = Field(description="id the answer is stored under, e.g. nps")
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
    barge_in: bool | None = Field(
        None,
        description="speech: true (default) lets the caller talk over the prompt, which "
        "stops (media stream only); false: the prompt plays to its end first",
    )
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
        if self.input is SurveyInput.KEYPAD and self.barge_in is not None:
            raise ValueError("barge_in: is for input: speech (a keypad prompt stops at a key)")
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
        return [
            *_sound(("prompt",), self.prompt),
            *_sound(("invalid_prompt",), self.invalid_prompt),
        ]


# --- set ----------------------------------------------------------------------------------


class Temperature(StrEnum):
    HOT = "hot"
    WARM = "warm"
    COLD = "cold"


class SetStep(BaseStep):
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


class TransferStep(BaseStep):
    """Hand the lead to an Asterisk queue; the script ends and the dialplan runs Queue()."""

    ends_script: ClassVar[bool] = True

    kind: Literal["transfer"] = Field(description="transfer: queue the call for an operator")
    queue: str = Field(
        pattern=SOUND_PATTERN,
        description="Asterisk queue name (queues.conf), e.g. dialer-operators",
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


class OptoutStep(BaseStep):
    """Put the number on the do-not-call list at once, confirm, hang up."""

    ends_script: ClassVar[bool] = True

    kind: Literal["optout"] = Field(description="optout: never call this number again")
    confirm_prompt: SoundName | None = Field(
        None, description="played to confirm, e.g. 'you will not be called again'"
    )

    def sounds(self) -> list[tuple[RelPath, str]]:
        return _sound(("confirm_prompt",), self.confirm_prompt)


class HangupStep(BaseStep):
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
