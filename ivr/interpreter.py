"""Runs an IVR script on one answered call, through the abstract CallChannel.

    result = await run_script(script, channel, call, recognizer, clock=now_utc)

The interpreter never raises for what a call can do: the caller hanging up, the PBX
refusing a command, a recogniser failing. It returns an IvrResult with everything
collected so far and `ended_by` saying how the script ended, because the engine must
write the attempt to the contact base in every case. It does no blocking I/O of its own
(recognition runs wherever the SpeechRecognizer puts it), so many calls share one event
loop.

This module is the run loop: step after step until one ends the call. How each kind of
step runs is in ivr.run_keypad (play, menu, keypad survey), ivr.run_speech (ask, spoken
survey) and ivr.run_lead (set, transfer, optout, hangup).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import assert_never

from ivr.channel import CallChannel, CallerHungUp, ChannelError
from ivr.recognition import SpeechRecognizer
from ivr.run_keypad import run_keypad_survey, run_menu, run_play
from ivr.run_lead import run_hangup, run_optout, run_set, run_transfer
from ivr.run_machine import listen_first
from ivr.run_result import EndedBy, IvrResult
from ivr.run_speech import run_ask, run_speech_survey
from ivr.run_state import CallContext, OptoutHook, RunState, ScriptError, Voices
from ivr.script import IvrScript
from ivr.script_steps import (
    AskStep,
    HangupStep,
    MenuStep,
    OptoutStep,
    PlayStep,
    SetStep,
    Step,
    SurveyInput,
    SurveyStep,
    TransferStep,
)

log = logging.getLogger("ivr.interpreter")

# A script may loop on purpose (a menu's "press 0 to hear this again"); a caller cannot
# keep a channel busy forever that way.
MAX_STEPS = 200


async def run_script(
    script: IvrScript,
    channel: CallChannel,
    call: CallContext,
    recognizer: SpeechRecognizer | None,
    clock: Callable[[], datetime],
    *,
    start_at: str | None = None,
    on_optout: OptoutHook | None = None,
    voices: Voices | None = None,
) -> IvrResult:
    """Run the script from its start (or from start_at, e.g. a transfer's on_no_answer).

    on_optout is awaited the moment an optout step is reached, before its confirmation
    plays, so the do-not-call list holds the number even if the caller hangs up then.
    voices (ivr.tts.TtsVoices) renders the say texts; a script with none needs no voices.
    """
    run = RunState(script, channel, call, recognizer, clock, on_optout, voices)
    try:
        first: str | None = start_at or script.start
        if start_at is None and script.machine_speech is not None:
            first = await listen_first(run, script.machine_speech)
        await _walk(run, first)
    except CallerHungUp:
        run.result.ended_by = EndedBy.CALLER_HANGUP
    except (ChannelError, ScriptError) as exc:
        await _fail(run, str(exc))
    except Exception as exc:  # a recogniser or hook failure must not lose the answers
        log.exception("attempt %s: IVR script failed", call.attempt_id)
        await _fail(run, f"{type(exc).__name__}: {exc}")
    return run.result


async def _walk(run: RunState, name: str | None) -> None:
    while name is not None:
        if len(run.result.steps) >= MAX_STEPS:
            raise ScriptError(f"more than {MAX_STEPS} steps in one call")
        step = run.script.steps.get(name)
        if step is None:
            raise ScriptError(f"no step named {name!r}")
        run.result.steps.append(name)
        name = await _run_step(run, step, name)
    if not run.ended:
        # A menu or ask ran out of retries with nowhere to go: the call simply ends.
        await run.end(EndedBy.HANGUP)


async def _run_step(run: RunState, step: Step, name: str) -> str | None:
    """Run one step; the name of the step that follows, None when the call is over."""
    match step:
        case PlayStep():
            return await run_play(run, step)
        case MenuStep():
            return await run_menu(run, step, name)
        case AskStep():
            return await run_ask(run, step, name)
        case SurveyStep() if step.input is SurveyInput.SPEECH:
            return await run_speech_survey(run, step, name)
        case SurveyStep():
            return await run_keypad_survey(run, step, name)
        case SetStep():
            return await run_set(run, step)
        case TransferStep():
            return await run_transfer(run, step)
        case OptoutStep():
            return await run_optout(run, step)
        case HangupStep():
            return await run_hangup(run, step)
        case _:
            assert_never(step)


async def _fail(run: RunState, why: str) -> None:
    log.warning("attempt %s: IVR ended by an error: %s", run.call.attempt_id, why)
    run.result.ended_by, run.result.error = EndedBy.ERROR, why
    with contextlib.suppress(CallerHungUp, ChannelError):  # already gone: nothing to end
        await run.channel.hangup()
