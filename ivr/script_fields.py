"""The field types an IVR script is written in: names, sounds, keys, phrases.

Each is a constrained string (pydantic), with the hint a campaign file error shows for
its pattern (PATTERN_HINTS), shared by the step models (ivr.script_steps) and the script
(ivr.script). StrictModel is their common base: unknown keys are errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

# Step names end up in recording file names and channel variables: no '/', no spaces.
_STEP_NAME = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
# Intent names, survey questions, survey choices, dispositions: stored as data.
_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
# Identical to dialer.campaign.model's Asterisk name, so one hint serves both.
SOUND_PATTERN = r"^[A-Za-z0-9_/.-]{1,128}$"
# '#' ends a multi-digit entry in Asterisk's GET DATA, so it can never be part of a key.
_KEY = r"^[0-9*]{1,20}$"
_LANGUAGE = r"^[a-z]{2,3}$"
# Contact field names come from spreadsheet headers ("amount_due", "Сумма долга").
_FIELD = r"^[^\x00-\x1f\x7f=;]{1,64}$"

PATTERN_HINTS: dict[str, str] = {
    _STEP_NAME: "expected a step name of letters, digits, '_' or '-' "
    "(starting with a letter or '_', at most 64 characters)",
    _NAME: "expected a name of letters, digits, '_', '.' or '-' (at most 64 characters)",
    SOUND_PATTERN: "expected an Asterisk name of letters, digits, '_', '/', '.' or '-' "
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
SoundName = Annotated[str, StringConstraints(pattern=SOUND_PATTERN)]
Key = Annotated[str, StringConstraints(pattern=_KEY)]
Language = Annotated[str, StringConstraints(pattern=_LANGUAGE)]
FieldName = Annotated[str, StringConstraints(pattern=_FIELD)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200), BeforeValidator(_one_line)]
# A `say` text: one paragraph a voice reads; its placeholders are checked by the step.
SayText = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
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
                {"type": "string", "pattern": SOUND_PATTERN},
                {"type": "array", "items": {"type": "string", "pattern": SOUND_PATTERN}},
            ]
        }
    ),
]

RelPath = tuple[str | int, ...]  # a place inside one step, e.g. ("keys", "1")
# A step's way onward: where it is written, and the step it names (None: the call ends).
Reference = tuple[RelPath, str | None]


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
