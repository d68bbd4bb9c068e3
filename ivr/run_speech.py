"""How ask steps and spoken survey answers run on a call: ask, record, recognise, match
the words to an intent (or survey choice), ask again until one matches."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta

from ivr.channel import StreamingChannel
from ivr.intents import match_intent
from ivr.recognition import Recognition
from ivr.recordings import delete_recording, recording_name
from ivr.run_lead import run_set
from ivr.run_say import prompt_of
from ivr.run_state import HungUpAnswering, RunState, ScriptError
from ivr.script_steps import AskStep, OptoutStep, SetStep, SurveyStep


async def run_ask(run: RunState, step: AskStep, name: str) -> str | None:
    language = run.script.language
    phrases = {intent: spec.phrases.get(language, []) for intent, spec in step.intents.items()}
    try:
        intent = await _listen(
            run,
            name,
            await prompt_of(run, step),
            phrases,
            step.timeout,
            step.retries,
            step.no_match_prompt,
            step.barge_in,
        )
    except HungUpAnswering as gone:
        if gone.answer:
            await _act_on_last_words(run, step.intents[gone.answer].next)
        raise
    if intent is None:
        return step.on_no_match
    return step.intents[intent].next


async def _act_on_last_words(run: RunState, name: str | None) -> None:
    """ "Yes" *click*, "call me later" *click*, "stop calling me" *click*: what was said
    still counts. The steps it leads to that only decide about the lead run (set:
    temperature, disposition, fields, callback; optout), although nobody hears anything
    more; the first step that would talk or transfer ends it."""
    seen: set[str] = set()
    while name is not None and name not in seen:
        seen.add(name)
        chosen = run.script.steps.get(name)
        if isinstance(chosen, SetStep):
            run.result.steps.append(name)
            name = await run_set(run, chosen)
        elif isinstance(chosen, OptoutStep):
            run.result.steps.append(name)
            await run.record_optout()
            return
        else:
            return


async def run_speech_survey(run: RunState, step: SurveyStep, name: str) -> str | None:
    language = run.script.language
    choices = {value: spec.get(language, []) for value, spec in (step.choices or {}).items()}
    try:
        value = await _listen(
            run,
            name,
            await prompt_of(run, step),
            choices,
            step.timeout,
            step.retries,
            step.invalid_prompt,
            step.barge_in is not False,
        )
    except HungUpAnswering as gone:
        if gone.answer:  # the score said just before the hangup is an answer too
            run.result.survey[step.question] = gone.answer
        raise
    if value is None:
        return step.on_no_answer or step.next
    run.result.survey[step.question] = value
    return step.next


async def _listen(
    run: RunState,
    name: str,
    prompt: str,
    phrases: Mapping[str, Sequence[str]],
    timeout: timedelta | None,
    retries: int,
    retry_prompt: str | None,
    barge_in: bool,
) -> str | None:
    """Ask, hear and recognise until an answer matches; the matching key or None."""
    speech = run.script.speech
    channel = run.channel
    streaming = isinstance(channel, StreamingChannel)
    if speech is None or (run.recognizer is None and not streaming):
        raise ScriptError(f"step {name!r} needs speech recognition, and none is set up")
    grammar = [phrase for listed in phrases.values() for phrase in listed]
    max_ms = int((timeout or speech.max_record).total_seconds() * 1000)
    silence_s = int(speech.silence.total_seconds())
    start_ms = int(speech.speech_start.total_seconds() * 1000)
    tries = retries + 1
    for attempt in range(1, tries + 1):
        recording: str | None = None
        barged_in: bool | None = None
        heard: Recognition
        if isinstance(channel, StreamingChannel):  # heard while spoken, barge-in
            streamed = await channel.listen(
                prompt,
                grammar,
                run.script.language,
                barge_in=barge_in,
                speech_start_ms=start_ms,
                max_ms=max_ms,
            )
            heard, ended_by = streamed.recognition, streamed.ended_by
            barged_in = streamed.barged_in
        else:
            assert run.recognizer is not None
            await channel.play([prompt])
            path = speech.record_dir / recording_name(run.call.attempt_id, name, attempt)
            recorded = await channel.record(path, max_ms, silence_s, start_ms=start_ms)
            heard = await run.recognizer.recognize(recorded.path, grammar, run.script.language)
            ended_by = recorded.ended_by
            if speech.keep_recordings == "recognised":  # the transcript is all that stays
                await asyncio.to_thread(delete_recording, recorded.path)
            else:
                recording = str(recorded.path)
        match = match_intent(heard.text, phrases)
        answer = match.intent if heard.confidence >= speech.confidence else None
        run.result.answers[name] = {
            "transcript": heard.text,
            "intent": answer,
            "confidence": round(heard.confidence, 3),
            "recording": recording,
            "tries": attempt,
        }
        if barged_in is not None:
            run.result.answers[name]["barged_in"] = barged_in
        if ended_by == "hangup":
            raise HungUpAnswering(answer)  # the last words still count; see run_ask
        if answer is not None:
            return answer
        if retry_prompt and attempt < tries:
            await channel.play([retry_prompt])
    return None
