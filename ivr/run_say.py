"""Texts of `say` items on a call: the contact's fields filled in, rendered by a voice.

The text is contact data: only field names and reasons reach the log (at INFO), never
the values or the text said.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache

from ivr.run_state import RunState, ScriptError
from ivr.say_template import FieldError, Template, parse_template
from ivr.script_say import TextPrompt
from ivr.tts import TtsError

log = logging.getLogger("ivr.run_say")


async def prompt_of(run: RunState, step: TextPrompt) -> str:
    """What a menu, ask or survey step plays to ask: its prompt_text rendered for this
    contact, else its prompt (ScriptError when it has neither that can be played)."""
    if step.prompt_text is not None:
        played = await spoken_text(run, step.prompt_text, step.voice)
        if played is not None:
            return played
    if step.prompt is None:
        raise ScriptError(
            "the step's prompt_text cannot be said for this contact, and it has no prompt"
        )
    return step.prompt


async def spoken_text(run: RunState, text: str, voice: str | None) -> str | None:
    """What to play for a say text (the rendered file's name), None when it cannot be
    said for this contact (a field empty or not of its type) or the voice failed: the
    step goes on without it."""
    if run.voices is None:
        raise ScriptError("a say text needs a text-to-speech voice, and none is set up")
    template = _template(text)
    try:
        said = template.fill(lambda field: field_value(run, field), run.script.language)
    except FieldError as exc:
        log.info("attempt %s: a say text is skipped: %s", run.call.attempt_id, exc)
        return None
    try:
        return await run.voices.speak(said, voice, personal=not template.is_static)
    except TtsError as exc:  # names the voice, never the text
        log.warning("attempt %s: a say text is skipped: %s", run.call.attempt_id, exc)
        return None


def field_value(run: RunState, field: str) -> str | None:
    """A contact field by name; `name` is the contact's name unless a field has that name."""
    value = contact_field(run.call.fields, field)
    if value is None and _squash(field) == "name":
        return run.call.name
    return value


def contact_field(fields: Mapping[str, str], key: str) -> str | None:
    if key in fields:
        return fields[key]
    # Spreadsheet headers vary ("Amount due", "amount_due"): compare them squashed.
    wanted = _squash(key)
    return next((value for name, value in fields.items() if _squash(name) == wanted), None)


def _squash(text: str) -> str:
    return re.sub(r"[\s_.\-]+", "", text.casefold())


@lru_cache(maxsize=512)
def _template(text: str) -> Template:
    return parse_template(text)  # checked at load time: it parses
