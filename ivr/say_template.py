"""A `say` text with contact fields in it, parsed once at load time and filled per call.

    template = parse_template("Здравствуйте, {name}! Ваш долг {amount:money}, до {due:date}.")
    text = template.fill(lookup, "ru")
    # -> "Здравствуйте, Анна! Ваш долг две тысячи один рубль, до первого марта."

A placeholder is `{field}` or `{field:type}`; `{{` and `}}` are literal braces. The types
say how a value is spoken (ivr.say_text spells it out in the right gender and case):

    text       the value as it is (the default)
    number     a whole number: "21000" -> "двадцать одна тысяча"
    digits     digit by digit: "12-07" -> "один два ноль семь"
    money      rubles and kopecks: "2,50" -> "два рубля пятьдесят копеек"
    date       day and month: "2026-03-01" -> "первого марта"
    full_date  with the year: "... две тысячи двадцать шестого года"

Dates and amounts the text itself writes with digits ("до 1 марта", "500 руб.") are
spelled the same way (ivr.say_text.spell_written). Pure: no I/O. A value that is missing
or does not read as its type raises FieldError naming the field (never the value: it is
contact data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ivr.say_text import (
    SpellError,
    parse_amount,
    parse_day,
    parse_whole,
    spell_date,
    spell_digits,
    spell_money,
    spell_number,
    spell_written,
)

TYPES = ("text", "number", "digits", "money", "date", "full_date")
MAX_VALUE = 200  # characters of a text value said; a field is a name, not a letter
_FIELD = re.compile(r"[^\x00-\x1f\x7f{}:=;]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

Lookup = Callable[[str], str | None]  # field name -> the contact's value (None: no value)


class TemplateError(ValueError):
    """The text itself is wrong (unbalanced brace, unknown type): found at load time."""


class FieldError(Exception):
    """A call's value cannot be said: the field is empty or not of its type."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field {field!r}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Placeholder:
    field: str
    type: str = "text"


Part = str | Placeholder


@dataclass(frozen=True)
class Template:
    parts: tuple[Part, ...]

    @property
    def placeholders(self) -> list[Placeholder]:
        return [p for p in self.parts if isinstance(p, Placeholder)]

    @property
    def is_static(self) -> bool:
        """No contact field in it: the same audio for every call (rendered before the start)."""
        return not self.placeholders

    def fill(self, lookup: Lookup, language: str) -> str:
        """The text to speak for one contact; FieldError for a value that cannot be said."""
        said: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                said.append(part)
                continue
            value = lookup(part.field)
            if value is None or not value.strip():
                raise FieldError(part.field, "no value")
            try:
                said.append(speak_value(value, part.type, language))
            except SpellError as exc:
                raise FieldError(part.field, f"{exc} (as {part.type})") from None
        return spell_written(one_line("".join(said)), language)


def speak_value(value: str, kind: str, language: str) -> str:
    """One field's value as the words to say."""
    if kind == "number":
        return spell_number(parse_whole(value), language)
    if kind == "digits":
        spoken = spell_digits(value, language)
        if not spoken:
            raise SpellError("no digits")
        return spoken
    if kind == "money":
        return spell_money(parse_amount(value), language)
    if kind in ("date", "full_date"):
        return spell_date(parse_day(value), language, year=kind == "full_date")
    return one_line(value)[:MAX_VALUE]


def one_line(text: str) -> str:
    """Control characters (newlines, tabs, NUL) as plain spaces, runs of spaces as one."""
    return " ".join(_CONTROL.sub(" ", text).split())


def parse_template(text: str) -> Template:
    """The parts of a say text; TemplateError says what is wrong and where."""
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith(("{{", "}}"), i):
            literal.append(c)
            i += 2
            continue
        if c == "}":
            raise TemplateError(
                f"a '}}' with no '{{' at character {i + 1}; write '}}}}' for a brace"
            )
        if c != "{":
            literal.append(c)
            i += 1
            continue
        end = text.find("}", i + 1)
        if end < 0:
            raise TemplateError(f"the '{{' at character {i + 1} is never closed")
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(_placeholder(text[i + 1 : end], i + 1))
        i = end + 1
    if literal:
        parts.append("".join(literal))
    return Template(tuple(parts))


def _placeholder(inner: str, at: int) -> Placeholder:
    field, _, kind = inner.partition(":")
    field, kind = field.strip(), kind.strip() or "text"
    if not field:
        raise TemplateError(f"the placeholder at character {at} names no field: write {{name}}")
    if not _FIELD.fullmatch(field):
        raise TemplateError(
            f"{{{inner}}} at character {at}: a field name is one line without '{{', ':', "
            "'=' or ';' (at most 64 characters)"
        )
    if kind not in TYPES:
        raise TemplateError(
            f"{{{inner}}}: unknown type {kind!r}; types are {', '.join(TYPES)} "
            f"(e.g. {{{field}:money}})"
        )
    return Placeholder(field, kind)
