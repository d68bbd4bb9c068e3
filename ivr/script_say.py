"""What a step says: `say` items of a play step (SayItem), and the question of a menu,
ask or survey step (TextPrompt): a recorded prompt, a text spoken by a TTS voice with
the contact's fields in it, or both (the prompt then stands in when the text cannot be
said for a contact: an empty field, a value not of its type).
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from ivr.say_template import parse_template
from ivr.script_fields import FieldName, Name, RelPath, SayText, SoundName, StrictModel


def _template(value: str | None) -> str | None:
    if value is not None:
        parse_template(value)  # TemplateError is a ValueError: reported at this line
    return value


class SayItem(StrictModel):
    """One thing to say: a prompt, a contact field read as a number or digit by digit, or a
    text spoken by a TTS voice with contact fields in it."""

    prompt: SoundName | None = Field(None, description="Asterisk sound name to play")
    number: FieldName | None = Field(
        None,
        description="contact field spoken as a number (SayNumber), e.g. amount_due; "
        "a decimal amount is spoken up to its whole part",
    )
    digits: FieldName | None = Field(
        None, description="contact field spoken digit by digit (SayDigits), e.g. contract_no"
    )
    text: SayText | None = Field(
        None,
        description="text spoken by a TTS voice, with contact fields: 'Здравствуйте, {name}! "
        "Ваш долг {amount:money} до {due:date}' (types: text, number, digits, money, date, "
        "full_date)",
    )
    voice: Name | None = Field(
        None,
        description="text: the voice (ivr.tts.voices or espeak-<lang>); omitted: ivr.tts.voice",
    )

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _template(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> SayItem:
        given = [v for v in (self.prompt, self.number, self.digits, self.text) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of prompt, number, digits or text")
        if self.voice is not None and self.text is None:
            raise ValueError("voice: is for a text: item")
        return self


class TextPrompt(StrictModel):
    """The question a menu, ask or survey step plays before each try."""

    prompt: SoundName | None = Field(
        None, description="Asterisk sound name asking the question (or asking for a key)"
    )
    prompt_text: SayText | None = Field(
        None,
        description="the question spoken by a TTS voice, with contact fields: '{name}, "
        "нажмите 1, чтобы ...'; with prompt too, prompt plays when the text cannot be said",
    )
    voice: Name | None = Field(None, description="prompt_text: the voice; omitted: ivr.tts.voice")

    @field_validator("prompt_text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _template(value)

    @model_validator(mode="after")
    def _asks_something(self) -> TextPrompt:
        if self.prompt is None and self.prompt_text is None:
            raise ValueError("give prompt (a sound), prompt_text (spoken by a voice) or both")
        if self.voice is not None and self.prompt_text is None:
            raise ValueError("voice: is for prompt_text")
        return self

    def texts(self) -> list[tuple[RelPath, SayItem]]:
        if self.prompt_text is None:
            return []
        return [(("prompt_text",), SayItem(text=self.prompt_text, voice=self.voice))]
