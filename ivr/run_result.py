"""What one run of an IVR script gives back: IvrResult, for the contact base, and the
one-line summary of it that travels to the operator who takes a transferred call."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ivr.script import IvrScript
from ivr.script_steps import SurveyStep

# Asterisk variable values travel in AGI commands and show on operator screens. Beyond
# the separators, `$`, brackets and parentheses go too: with them a contact's name such
# as ${SHELL(...)} or $[...] would run wherever a dialplan evaluates the value (EVAL(),
# an unquoted expression); tests/asterisk/test_contact_text.py shows it on Asterisk.
_UNSAFE_IN_VARIABLE = re.compile(r"[\x00-\x1f\x7f\"'\\;=,|$\[\]{}()`]")
_MAX_VARIABLE = 1000


class EndedBy(StrEnum):
    HANGUP = "hangup"  # a hangup step, or a menu/ask that ran out of retries with no exit
    CALLER_HANGUP = "caller_hangup"
    TRANSFER = "transfer"
    OPTOUT = "optout"
    ERROR = "error"


@dataclass(frozen=True)
class TransferRequest:
    queue: str
    max_wait_s: int
    on_no_answer: str | None  # the step to run if the call comes back unanswered


@dataclass
class IvrResult:
    """Everything one run collected, for the contact base."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> what was said
    survey: dict[str, int | str] = field(default_factory=dict)  # question -> answer
    temperature: str | None = None
    disposition: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    callback_at: datetime | None = None  # aware UTC
    optout: bool = False
    transfer: TransferRequest | None = None
    steps: list[str] = field(default_factory=list)  # in the order they ran
    ended_by: EndedBy = EndedBy.ERROR
    error: str | None = None  # what went wrong when ended_by is ERROR
    # The first words heard (ivr.run_machine): the speech verdict beside AMD()'s.
    machine: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """Plain JSON-able values (AttemptResult.answers)."""
        return {
            "answers": self.answers,
            "survey": self.survey,
            "temperature": self.temperature,
            "disposition": self.disposition,
            "fields": self.fields,
            "callback_at": self.callback_at.isoformat() if self.callback_at else None,
            "optout": self.optout,
            "transfer": None
            if self.transfer is None
            else {
                "queue": self.transfer.queue,
                "max_wait_s": self.transfer.max_wait_s,
                "on_no_answer": self.transfer.on_no_answer,
            },
            "steps": self.steps,
            "ended_by": str(self.ended_by),
            "error": self.error,
            "machine": self.machine,
        }


def answers_summary(result: IvrResult, script: IvrScript) -> str:
    """`step=value;...` for an operator screen: keys, intents, survey answers, fields.

    One line without quotes, newlines or Asterisk separators: it travels as a channel
    variable to the operator's phone or CRM.
    """
    pairs: list[tuple[str, object]] = []
    for step, answer in result.answers.items():
        if isinstance(script.steps.get(step), SurveyStep):
            continue  # listed below under its question
        value = answer.get("intent") or answer.get("keys")
        if value:
            pairs.append((step, value))
    pairs += list(result.survey.items()) + list(result.fields.items())
    if result.disposition:
        pairs.append(("disposition", result.disposition))
    text = ";".join(f"{variable_text(str(k))}={variable_text(str(v))}" for k, v in pairs)
    return text[:_MAX_VARIABLE]


def variable_text(value: str) -> str:
    """Text made safe for a channel variable: one line, no quotes or separators."""
    return " ".join(_UNSAFE_IN_VARIABLE.sub(" ", value).split())[:_MAX_VARIABLE]
