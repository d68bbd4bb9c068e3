"""The list filter's words: the tokenizer and the error every bad filter raises. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<date>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?(?![\w:]))
    |(?P<duration>(?:\d+(?:\.\d+)?[wdhms])+(?!\w))
    |(?P<number>\d+(?:\.\d+)?(?![\w.]))
    |(?P<word>[^\W\d]\w*)
    |(?P<text>"[^"]*"|'[^']*')
    |(?P<op><=|>=|!=|[=<>(),+-])""",
    re.VERBOSE,
)


class FilterError(ValueError):
    """A filter that cannot be read: where (1-based character) and what was expected."""

    def __init__(self, position: int, expected: str, found: str) -> None:
        super().__init__(f"position {position}: expected {expected}, found {found}")
        self.position = position
        self.expected = expected


@dataclass(frozen=True)
class Token:
    kind: str  # word, text, number, duration, date, op, end
    text: str
    position: int  # 1-based

    @property
    def shown(self) -> str:
        return "the end of the filter" if self.kind == "end" else repr(self.text)

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def tokens(text: str) -> list[Token]:
    found: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise FilterError(at + 1, "a word, a value or an operator", repr(text[at]))
        kind = match.lastgroup or "op"
        if kind != "space":
            found.append(Token(kind, match.group(), at + 1))
        at = match.end()
    found.append(Token("end", "", len(text) + 1))
    return found
