"""How play, menu and keypad survey steps run on a call: prompts and contact fields out,
keys in."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from ivr.run_say import contact_field, prompt_of, spoken_text
from ivr.run_state import RunState
from ivr.script_say import SayItem
from ivr.script_steps import MenuStep, PlayStep, SurveyStep

log = logging.getLogger("ivr.run_keypad")


async def run_play(run: RunState, step: PlayStep) -> str | None:
    # Every text of the step starts rendering now, while what comes before it plays.
    texts = {
        i: asyncio.ensure_future(spoken_text(run, item.text, item.voice))
        for i, item in enumerate(step.say)
        if item.text
    }
    try:
        if step.prompts:
            await run.channel.play(step.prompts)
        await _play_say(run, step, texts)
    finally:
        for task in texts.values():
            if not task.done():
                task.cancel()  # the caller hung up: stop waiting (the render itself finishes)
            elif not task.cancelled():
                task.exception()  # retrieved, if an earlier hangup left it unawaited
    return step.next


async def _play_say(
    run: RunState, step: PlayStep, texts: Mapping[int, asyncio.Future[str | None]]
) -> None:
    pending: list[str] = []  # consecutive prompts go out as one command
    for i, item in enumerate(step.say):
        if item.prompt is not None:
            pending.append(item.prompt)
            continue
        if i in texts:
            if pending and not texts[i].done():
                await run.channel.play(pending)  # heard while the text renders
                pending = []
            played = await texts[i]
            if played is not None:
                pending.append(played)
            continue
        if pending:
            await run.channel.play(pending)
            pending = []
        await _say(run, item)
    if pending:
        await run.channel.play(pending)


async def _say(run: RunState, item: SayItem) -> None:
    key = item.number or item.digits or ""
    value = contact_field(run.call.fields, key)
    if item.number is not None:
        number = _whole_number(value)
        if number is None:
            log.info("attempt %s: field %r is not a number", run.call.attempt_id, key)
        else:
            await run.channel.say_number(number)
    else:
        digits = "".join(c for c in value or "" if c.isdigit())
        if digits:
            await run.channel.say_digits(digits)
        else:
            log.info("attempt %s: field %r has no digits", run.call.attempt_id, key)


async def run_menu(run: RunState, step: MenuStep, name: str) -> str | None:
    keys = ""
    tries = step.retries + 1
    prompt = await prompt_of(run, step)
    for attempt in range(1, tries + 1):
        keys = await _read(run, prompt, step.timeout.total_seconds(), step.max_digits)
        if keys in step.keys:
            run.result.answers[name] = {"keys": keys, "tries": attempt}
            return step.keys[keys]
        if keys and step.invalid_prompt and attempt < tries:
            await run.channel.play([step.invalid_prompt])
    run.result.answers[name] = {"keys": keys, "tries": tries, "matched": False}
    return step.on_timeout


async def run_keypad_survey(run: RunState, step: SurveyStep, name: str) -> str | None:
    keys = ""
    tries = step.retries + 1
    timeout = step.timeout.total_seconds() if step.timeout else 5.0
    prompt = await prompt_of(run, step)
    for attempt in range(1, tries + 1):
        keys = await _read(run, prompt, timeout, step.keypad_digits)
        if keys.isdigit() and step.min <= int(keys) <= step.max:
            run.result.survey[step.question] = int(keys)
            run.result.answers[name] = {"keys": keys, "score": int(keys), "tries": attempt}
            return step.next
        if step.invalid_prompt and attempt < tries:
            await run.channel.play([step.invalid_prompt])
    run.result.answers[name] = {"keys": keys, "score": None, "tries": tries}
    return step.on_no_answer or step.next


async def _read(run: RunState, prompt: str, timeout_s: float, max_digits: int) -> str:
    keys = await run.channel.read_digits(prompt, int(timeout_s * 1000), max_digits)
    return keys.rstrip("#")  # some channels hand back the terminating '#'


def _whole_number(value: str | None) -> int | None:
    """'1 500,75' -> 1500: SayNumber speaks integers only."""
    if not value:
        return None
    cleaned = re.sub(r"[\s\u00a0]", "", value).replace(",", ".")
    try:
        return int(Decimal(cleaned))
    except (InvalidOperation, ValueError, OverflowError):
        return None
