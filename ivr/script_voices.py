"""A script's say texts made ready before the campaign starts.

Texts without contact fields are the same on every call: they are rendered now (or found
in the cache), so the first call does not wait for them and a broken voice stops the
start instead of silencing calls. Each voice that will speak personal texts says a probe
word once, for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from ivr.run_say import contact_field
from ivr.say_template import parse_template
from ivr.script import IvrScript
from ivr.tts import TtsVoices

_PROBE = {"ru": "проверка", "en": "test"}


def prepare_script_voices(script: IvrScript) -> TtsVoices | None:
    """The script's voices with every static text rendered; None when it says no text.
    Blocking (runs the voices): call it from a thread. Raises ivr.tts.TtsError."""
    items = [item for step in script.steps.values() for _, item in step.texts()]
    if not items:
        return None
    voices = TtsVoices(script.tts, script.language)
    voices.sweep()
    personal: set[str | None] = set()
    for item in items:
        template = parse_template(item.text or "")
        if template.is_static:
            voices.render(template.fill(lambda _: None, script.language), item.voice)
        else:
            personal.add(item.voice)
    for voice in personal:
        voices.render(_PROBE.get(script.language, "test"), voice)
    return voices


def fields_not_in(script: IvrScript, columns: Iterable[str]) -> list[str]:
    """Each say text's field that none of `columns` (a list's field names) matches, as
    `ivr.steps.<step>.say[<i>].text: field 'x'` (or `.prompt_text`); `name` is the
    contact's own name."""
    known = {column: "" for column in columns}
    missing: list[str] = []
    for step_name, step in script.steps.items():
        for rel, item in step.texts():
            for placeholder in parse_template(item.text or "").placeholders:
                field = placeholder.field
                if field.casefold() == "name" or contact_field(known, field) is not None:
                    continue
                where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rel)
                missing.append(f"ivr.steps.{step_name}{where}: field {field!r}")
    return missing
