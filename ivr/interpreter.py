"""Runs an IVR script on one answered call, through the abstract CallChannel.

    result = await run_script(script, channel, call, recognizer, clock=now_utc)

The interpreter never raises for what a call can do: the caller hanging up, the PBX
refusing a command, a recogniser failing. It returns an IvrResult with everything
collected so far and `ended_by` saying how the script ended, because the engine must
write the attempt to the contact base in every case. It does no blocking I/O of its own
(recognition runs wherever the SpeechRecognizer puts it), so many calls share one event loop.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.callback_times import parse_callback
from ivr.channel import CallChannel, CallerHungUp, ChannelError
from ivr.intents import match_intent
from ivr.recognition import SpeechRecognizer
from ivr.script import IvrScript
from ivr.script_steps import (
    AskStep,
    BaseStep,
    HangupStep,
    MenuStep,
    OptoutStep,
    PlayStep,
    SayItem,
    SetStep,
    SurveyInput,
    SurveyStep,
    TransferStep,
)

log = logging.getLogger("ivr.interpreter")

# A script may loop on purpose (a menu's "press 0 to hear this again"); a caller cannot
# keep a channel busy forever that way.
MAX_STEPS = 200
# Asterisk variable values travel in AGI commands and show on operator screens.
_UNSAFE_IN_VARIABLE = re.compile(r"[\x00-\x1f\x7f\"'\\;=,|]")
_MAX_VARIABLE = 1000
_SAFE_FILE_PART = re.compile(r"[^A-Za-z0-9_.-]")


class EndedBy(StrEnum):
    HANGUP = "hangup"  # a hangup step, or a menu/ask that ran out of retries with no exit
    CALLER_HANGUP = "caller_hangup"
    TRANSFER = "transfer"
    OPTOUT = "optout"
    ERROR = "error"


@dataclass(frozen=True)
class CallContext:
    """The call and the contact it reached."""

    attempt_id: str
    number: str  # E.164
    campaign: str
    name: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)  # the contact's custom fields
    timezone: str | None = None  # IANA name; None: UTC


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
        }


OptoutHook = Callable[[CallContext], Awaitable[None]]


async def run_script(
    script: IvrScript,
    channel: CallChannel,
    call: CallContext,
    recognizer: SpeechRecognizer | None,
    clock: Callable[[], datetime],
    *,
    start_at: str | None = None,
    on_optout: OptoutHook | None = None,
) -> IvrResult:
    """Run the script from its start (or from start_at, e.g. a transfer's on_no_answer).

    on_optout is awaited the moment an optout step is reached, before its confirmation
    plays, so the do-not-call list holds the number even if the caller hangs up then.
    """
    run = _Run(script, channel, call, recognizer, clock, on_optout)
    await run.execute(start_at or script.start)
    return run.result


class _ScriptError(Exception):
    """The script cannot go on (unknown step, no recogniser, too many steps)."""


class _HungUpAnswering(CallerHungUp):
    """The caller hung up right after an answer (the recording ended by the hangup)."""

    def __init__(self, answer: str | None) -> None:
        super().__init__("caller hung up while answering")
        self.answer = answer  # the intent (or survey choice) those last words matched


class _Run:
    def __init__(
        self,
        script: IvrScript,
        channel: CallChannel,
        call: CallContext,
        recognizer: SpeechRecognizer | None,
        clock: Callable[[], datetime],
        on_optout: OptoutHook | None,
    ) -> None:
        self.script = script
        self.channel = channel
        self.call = call
        self.recognizer = recognizer
        self.clock = clock
        self.on_optout = on_optout
        self.result = IvrResult()
        self._ended = False
        self._handlers: dict[type[BaseStep], Callable[[Any, str], Awaitable[str | None]]] = {
            PlayStep: self._play,
            MenuStep: self._menu,
            AskStep: self._ask,
            SurveyStep: self._survey,
            SetStep: self._set,
            TransferStep: self._transfer,
            OptoutStep: self._optout,
            HangupStep: self._hangup,
        }

    async def execute(self, first: str) -> None:
        try:
            await self._walk(first)
        except CallerHungUp:
            self.result.ended_by = EndedBy.CALLER_HANGUP
        except (ChannelError, _ScriptError) as exc:
            await self._fail(str(exc))
        except Exception as exc:  # a recogniser or hook failure must not lose the answers
            log.exception("attempt %s: IVR script failed", self.call.attempt_id)
            await self._fail(f"{type(exc).__name__}: {exc}")

    async def _walk(self, name: str | None) -> None:
        while name is not None:
            if len(self.result.steps) >= MAX_STEPS:
                raise _ScriptError(f"more than {MAX_STEPS} steps in one call")
            step = self.script.steps.get(name)
            if step is None:
                raise _ScriptError(f"no step named {name!r}")
            self.result.steps.append(name)
            name = await self._handlers[type(step)](step, name)
        if not self._ended:
            # A menu or ask ran out of retries with nowhere to go: the call simply ends.
            await self._end(EndedBy.HANGUP)

    async def _end(self, how: EndedBy) -> None:
        self.result.ended_by, self._ended = how, True
        if how is EndedBy.TRANSFER:
            return  # the dialplan goes on to Queue()
        # The script had ended anyway if the caller was just quicker.
        with contextlib.suppress(CallerHungUp):
            await self.channel.hangup()

    async def _fail(self, why: str) -> None:
        log.warning("attempt %s: IVR ended by an error: %s", self.call.attempt_id, why)
        self.result.ended_by, self.result.error = EndedBy.ERROR, why
        with contextlib.suppress(CallerHungUp, ChannelError):  # already gone: nothing to end
            await self.channel.hangup()

    # --- play ---------------------------------------------------------------------------

    async def _play(self, step: PlayStep, name: str) -> str | None:
        if step.prompts:
            await self.channel.play(step.prompts)
        pending: list[str] = []  # consecutive prompts go out as one command
        for item in step.say:
            if item.prompt is not None:
                pending.append(item.prompt)
                continue
            if pending:
                await self.channel.play(pending)
                pending = []
            await self._say(item)
        if pending:
            await self.channel.play(pending)
        return step.next

    async def _say(self, item: SayItem) -> None:
        key = item.number or item.digits or ""
        value = _contact_field(self.call.fields, key)
        if item.number is not None:
            number = _whole_number(value)
            if number is None:
                log.info("attempt %s: field %r is not a number", self.call.attempt_id, key)
            else:
                await self.channel.say_number(number)
        else:
            digits = "".join(c for c in value or "" if c.isdigit())
            if digits:
                await self.channel.say_digits(digits)
            else:
                log.info("attempt %s: field %r has no digits", self.call.attempt_id, key)

    # --- keypad -------------------------------------------------------------------------

    async def _menu(self, step: MenuStep, name: str) -> str | None:
        keys = ""
        tries = step.retries + 1
        for attempt in range(1, tries + 1):
            keys = await self._read(step.prompt, step.timeout.total_seconds(), step.max_digits)
            if keys in step.keys:
                self.result.answers[name] = {"keys": keys, "tries": attempt}
                return step.keys[keys]
            if keys and step.invalid_prompt and attempt < tries:
                await self.channel.play([step.invalid_prompt])
        self.result.answers[name] = {"keys": keys, "tries": tries, "matched": False}
        return step.on_timeout

    async def _read(self, prompt: str, timeout_s: float, max_digits: int) -> str:
        keys = await self.channel.read_digits(prompt, int(timeout_s * 1000), max_digits)
        return keys.rstrip("#")  # some channels hand back the terminating '#'

    async def _survey(self, step: SurveyStep, name: str) -> str | None:
        if step.input is SurveyInput.SPEECH:
            return await self._survey_speech(step, name)
        keys = ""
        tries = step.retries + 1
        timeout = step.timeout.total_seconds() if step.timeout else 5.0
        for attempt in range(1, tries + 1):
            keys = await self._read(step.prompt, timeout, step.keypad_digits)
            if keys.isdigit() and step.min <= int(keys) <= step.max:
                self.result.survey[step.question] = int(keys)
                self.result.answers[name] = {"keys": keys, "score": int(keys), "tries": attempt}
                return step.next
            if step.invalid_prompt and attempt < tries:
                await self.channel.play([step.invalid_prompt])
        self.result.answers[name] = {"keys": keys, "score": None, "tries": tries}
        return step.on_no_answer or step.next

    # --- speech -------------------------------------------------------------------------

    async def _ask(self, step: AskStep, name: str) -> str | None:
        language = self.script.language
        phrases = {intent: spec.phrases.get(language, []) for intent, spec in step.intents.items()}
        try:
            intent = await self._listen(
                name, step.prompt, phrases, step.timeout, step.retries, step.no_match_prompt
            )
        except _HungUpAnswering as gone:
            # "Stop calling me" *click*: the opt-out counts although nobody hears the
            # confirmation.
            chosen = step.intents[gone.answer].next if gone.answer else None
            if isinstance(self.script.steps.get(chosen or ""), OptoutStep):
                await self._record_optout()
            raise
        if intent is None:
            return step.on_no_match
        return step.intents[intent].next

    async def _survey_speech(self, step: SurveyStep, name: str) -> str | None:
        language = self.script.language
        choices = {value: spec.get(language, []) for value, spec in (step.choices or {}).items()}
        value = await self._listen(
            name, step.prompt, choices, step.timeout, step.retries, step.invalid_prompt
        )
        if value is None:
            return step.on_no_answer or step.next
        self.result.survey[step.question] = value
        return step.next

    async def _listen(
        self,
        name: str,
        prompt: str,
        phrases: Mapping[str, Sequence[str]],
        timeout: timedelta | None,
        retries: int,
        retry_prompt: str | None,
    ) -> str | None:
        """Ask, record and recognise until an answer matches; the matching key or None."""
        speech = self.script.speech
        if speech is None or self.recognizer is None:
            raise _ScriptError(f"step {name!r} needs speech recognition, and none is set up")
        grammar = [phrase for listed in phrases.values() for phrase in listed]
        max_ms = int((timeout or speech.max_record).total_seconds() * 1000)
        silence_s = int(speech.silence.total_seconds())
        tries = retries + 1
        for attempt in range(1, tries + 1):
            await self.channel.play([prompt])
            path = speech.record_dir / self._recording_name(name, attempt)
            recorded = await self.channel.record(path, max_ms, silence_s)
            heard = await self.recognizer.recognize(recorded.path, grammar, self.script.language)
            match = match_intent(heard.text, phrases)
            answer = match.intent if heard.confidence >= speech.confidence else None
            self.result.answers[name] = {
                "transcript": heard.text,
                "intent": answer,
                "confidence": round(heard.confidence, 3),
                "recording": str(recorded.path),
                "tries": attempt,
            }
            if recorded.ended_by == "hangup":
                raise _HungUpAnswering(answer)  # the last words still count; see _ask
            if answer is not None:
                return answer
            if retry_prompt and attempt < tries:
                await self.channel.play([retry_prompt])
        return None

    def _recording_name(self, step: str, attempt: int) -> str:
        # The attempt id comes from the engine; never let it climb out of record_dir.
        attempt_id = _SAFE_FILE_PART.sub("_", self.call.attempt_id)
        return f"{attempt_id}-{step}-{attempt}"

    # --- data ---------------------------------------------------------------------------

    async def _set(self, step: SetStep, name: str) -> str | None:
        if step.temperature is not None:
            self.result.temperature = str(step.temperature)
        if step.disposition is not None:
            self.result.disposition = step.disposition
        self.result.fields.update(step.fields)
        if step.callback is not None:
            self._schedule(step.callback)
        return step.next

    def _schedule(self, text: str) -> None:
        now = self.clock()
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        at = parse_callback(text, now, _zone(self.call.timezone))
        if at <= now:
            # "today 09:00" reached at noon: calling back "now" is not what was meant.
            log.info("attempt %s: callback %r is already past", self.call.attempt_id, text)
            return
        self.result.callback_at = at

    # --- endings ------------------------------------------------------------------------

    async def _transfer(self, step: TransferStep, name: str) -> str | None:
        if step.prompt:
            await self.channel.play([step.prompt])
        max_wait = max(1, round(step.max_wait.total_seconds()))
        variables = self._lead_variables(step.queue, max_wait)
        # The dialplan re-enters the script at this step if nobody answers in time.
        variables["DIALER_NO_ANSWER"] = step.on_no_answer or ""
        for variable, value in variables.items():
            await self.channel.set_variable(variable, value)
        self.result.transfer = TransferRequest(step.queue, max_wait, step.on_no_answer)
        await self._end(EndedBy.TRANSFER)
        return None

    def _lead_variables(self, queue: str, max_wait: int) -> dict[str, str]:
        return {
            "DIALER_LEAD_NAME": _variable_text(self.call.name or ""),
            "DIALER_LEAD_NUMBER": _variable_text(self.call.number),
            "DIALER_TEMPERATURE": self.result.temperature or "",
            "DIALER_ANSWERS": answers_summary(self.result, self.script),
            "DIALER_QUEUE": queue,
            "DIALER_QUEUE_TIMEOUT": str(max_wait),
        }

    async def _optout(self, step: OptoutStep, name: str) -> str | None:
        await self._record_optout()
        if step.confirm_prompt:
            await self.channel.play([step.confirm_prompt])
        await self._end(EndedBy.OPTOUT)
        return None

    async def _record_optout(self) -> None:
        self.result.optout = True
        if self.on_optout is not None:
            await self.on_optout(self.call)

    async def _hangup(self, step: HangupStep, name: str) -> str | None:
        if step.prompt:
            await self.channel.play([step.prompt])
        await self._end(EndedBy.HANGUP)
        return None


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
    text = ";".join(f"{_variable_text(str(k))}={_variable_text(str(v))}" for k, v in pairs)
    return text[:_MAX_VARIABLE]


def _variable_text(value: str) -> str:
    return " ".join(_UNSAFE_IN_VARIABLE.sub(" ", value).split())[:_MAX_VARIABLE]


def _contact_field(fields: Mapping[str, str], key: str) -> str | None:
    if key in fields:
        return fields[key]
    # Spreadsheet headers vary ("Amount due", "amount_due"): compare them squashed.
    wanted = _squash(key)
    return next((value for name, value in fields.items() if _squash(name) == wanted), None)


def _squash(text: str) -> str:
    return re.sub(r"[\s_.\-]+", "", text.casefold())


def _whole_number(value: str | None) -> int | None:
    """'1 500,75' -> 1500: SayNumber speaks integers only."""
    if not value:
        return None
    cleaned = re.sub(r"[\s\u00a0]", "", value).replace(",", ".")
    try:
        return int(Decimal(cleaned))
    except (InvalidOperation, ValueError, OverflowError):
        return None


def _zone(name: str | None) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: callback times use UTC", name)
        return ZoneInfo("UTC")
