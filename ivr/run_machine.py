"""Listening to the callee's first words before the script starts, to tell a person from
an answering machine (ivr.machine_speech decides; this module records, recognises and
analyses, and stores the verdict beside AMD's).

The recording is `<attempt>-first-words-0.wav` in speech.record_dir (try 0: no step's
recording has it), kept or deleted like the answers' recordings.
"""

from __future__ import annotations

import asyncio
import logging
import wave
from pathlib import Path

from ivr import prompts
from ivr.channel import CallerHungUp
from ivr.greeting_audio import GreetingAudio, analyse_greeting
from ivr.machine_speech import Decision, Heard, MachineSpeechSettings, Verdict, decide
from ivr.recognition import NO_MATCH, Recognition
from ivr.recordings import delete_recording, recording_name
from ivr.run_state import RunState, ScriptError

log = logging.getLogger("ivr.run_machine")

FIRST_WORDS = "first-words"


async def listen_first(run: RunState, settings: MachineSpeechSettings) -> str | None:
    """Listen, decide, record both verdicts in the result; the step to start with (the
    script's start, or on_machine for a machine when the settings act on it; None: the
    call ends)."""
    speech, recognizer = run.script.speech, run.recognizer
    if speech is None or recognizer is None:
        raise ScriptError("machine_speech needs speech recognition, and none is set up")
    listen_ms = int(settings.listen.total_seconds() * 1000)
    path = speech.record_dir / recording_name(run.call.attempt_id, FIRST_WORDS, 0)
    recorded = await run.channel.record(
        path, listen_ms, int(settings.silence.total_seconds()), start_ms=listen_ms
    )
    heard, audio = await _hear(run, recorded.path)
    kept = speech.keep_recordings != "recognised"
    if not kept:
        await asyncio.to_thread(delete_recording, recorded.path)
    spoke = recorded.ended_by != "no_speech"
    decision = decide(
        Heard(heard.text, audio.voiced_ms, audio.beep_hz, spoke), settings, run.script.language
    )
    await _record(run, settings, decision, heard, audio, recorded.path if kept else None)
    if recorded.ended_by == "hangup":
        raise CallerHungUp("caller hung up during the first words")
    if settings.act and decision.verdict is Verdict.MACHINE:
        return settings.on_machine
    return run.script.start


async def _hear(run: RunState, path: Path) -> tuple[Recognition, GreetingAudio]:
    assert run.recognizer is not None
    try:
        heard = await run.recognizer.recognize(path, [], run.script.language)
    except Exception as exc:  # the verdict goes on from the audio alone
        log.warning("attempt %s: first words not recognised: %s", run.call.attempt_id, exc)
        heard = NO_MATCH
    try:
        audio = await asyncio.to_thread(_analyse, path)
    except (OSError, EOFError, wave.Error, prompts.AudioDecodeError) as exc:
        log.warning("attempt %s: first words not analysed: %s", run.call.attempt_id, exc)
        audio = GreetingAudio(0, None)
    return heard, audio


def _analyse(path: Path) -> GreetingAudio:
    with wave.open(str(path), "rb") as w:
        if prompts.is_asterisk_format(w):
            return analyse_greeting(w.readframes(w.getnframes()))
    return analyse_greeting(prompts.to_pcm_8k(prompts.decode_audio(path)))


async def _record(
    run: RunState,
    settings: MachineSpeechSettings,
    decision: Decision,
    heard: Recognition,
    audio: GreetingAudio,
    recording: Path | None,
) -> None:
    try:
        amd = await run.channel.get_variable("AMDSTATUS") or None
        cause = (await run.channel.get_variable("AMDCAUSE") or None) if amd else None
    except CallerHungUp:  # gone while answering: the speech verdict still counts
        amd = cause = None
    run.result.machine = {
        "amd": amd,  # AMD()'s verdict (HUMAN, NOTSURE...); None when AMD did not run
        "amd_cause": cause,
        "speech": str(decision.verdict),
        "reason": decision.reason,
        "acted": settings.act and decision.verdict is Verdict.MACHINE,
        "transcript": heard.text,
        "words": len(heard.text.split()),
        "speech_ms": audio.voiced_ms,
        "beep_hz": audio.beep_hz,
        "recording": str(recording) if recording else None,
    }
    log.info(
        "ivr.machine_speech",
        extra={"attempt": run.call.attempt_id, "amd": amd, "speech": str(decision.verdict)},
    )
