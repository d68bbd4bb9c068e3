"""The filter of `dialer lists build --where`: a small language, parsed and evaluated here.
Pure: no I/O; the caller passes `now`. No text of the filter ever reaches SQL: the store
streams each contact's facts and the compiled filter decides in Python.

    filter     = or_expr
    or_expr    = and_expr { "or" and_expr }
    and_expr   = unary { "and" unary }
    unary      = "not" unary | "(" or_expr ")" | condition
    condition  = "dead" | "dnc" | subject test
    subject    = "status" | "temperature" | "last_outcome" | "last_contacted"
               | "attempts" | "dead" | "dnc" | "field" NAME
    test       = op value | ["not"] "in" "(" value { "," value } ")" | "is" ["not"] "set"
    op         = "=" | "!=" | "<" | "<=" | ">" | ">="
    value      = TEXT | NUMBER | DURATION | moment | "true" | "false"
    moment     = DATE | ("today" | "now") [ ("+" | "-") DURATION ]

The value decides how a custom field is read: quoted or bare text compares as text
(= != in only, ignoring case and surrounding spaces), a number as a number, a date or
`today`/`now` as a date, a duration (`90d`) as an age (`> 90d`: older than 90 days). A
contact without the value (or whose value does not read as that type) matches no
comparison; `not (...)` inverts the whole comparison, and `is set` tests presence.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from dialer.outcomes import BaseStatus, Outcome
from dialer.policy.field_values import (
    MAX_DURATION,
    MIDNIGHT,
    read_duration,
    read_moment,
    read_number,
)
from dialer.policy.filter_tokens import FilterError as FilterError  # part of this API
from dialer.policy.filter_tokens import Token, tokens

MAX_LENGTH = 2000  # characters: a filter is a line someone typed
MAX_DEPTH = 32  # nested parentheses and nots: no recursion limit to hit

_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "set", "today", "now", "true", "false"})
_SUBJECTS = ("status", "temperature", "last_outcome", "last_contacted", "attempts", "dead", "dnc")
_FLAGS = ("dead", "dnc")
_ORDER_OPS = ("<", "<=", ">", ">=")
_OPS: Mapping[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
# An age above a bound is a moment below `now - bound`.
_AGE_TO_MOMENT = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


class FilterSubject(Protocol):
    """What the filter reads of a contact (dialer.store.base.ContactFacts)."""

    @property
    def status(self) -> str: ...
    @property
    def last_outcome(self) -> str | None: ...
    @property
    def last_contacted_at(self) -> datetime | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def dead(self) -> bool: ...
    @property
    def do_not_call(self) -> bool: ...
    @property
    def temperature(self) -> str | None: ...
    @property
    def fields(self) -> Mapping[str, str]: ...


Matcher = Callable[[FilterSubject], bool]


@dataclass(frozen=True)
class ListFilter:
    """A parsed filter; `matcher(now)` gives the predicate over contacts."""

    text: str
    _build: Callable[[datetime], Matcher]

    def matcher(self, now: datetime) -> Matcher:
        if now.tzinfo is None:
            raise ValueError("the filter needs an aware `now`")
        return self._build(now)


def parse_filter(text: str) -> ListFilter:
    """Parse `text`; FilterError (and nothing else) if it is not a filter."""
    if len(text) > MAX_LENGTH:
        raise FilterError(MAX_LENGTH + 1, f"a filter of at most {MAX_LENGTH} characters", "more")
    parser = _Parser(tokens(text))
    build = parser.or_expr(0)
    parser.expect_end()
    return ListFilter(text, build)


# A compiled piece: given `now`, the predicate.
_Build = Callable[[datetime], Matcher]
_Getter = Callable[[FilterSubject], Any]


class _Parser:
    def __init__(self, tokens: Sequence[Token]) -> None:
        self._tokens = tokens
        self._at = 0

    @property
    def _next(self) -> Token:
        return self._tokens[self._at]

    def _take(self) -> Token:
        token = self._tokens[self._at]
        self._at += 1
        return token

    def _fail(self, expected: str) -> FilterError:
        return FilterError(self._next.position, expected, self._next.shown)

    def expect_end(self) -> None:
        if self._next.kind != "end":
            raise self._fail("'and', 'or' or the end of the filter")

    def or_expr(self, depth: int) -> _Build:
        parts = [self.and_expr(depth)]
        while self._next.is_word("or"):
            self._take()
            parts.append(self.and_expr(depth))
        if len(parts) == 1:
            return parts[0]
        return lambda now: _any([p(now) for p in parts])

    def and_expr(self, depth: int) -> _Build:
        parts = [self.unary(depth)]
        while self._next.is_word("and"):
            self._take()
            parts.append(self.unary(depth))
        if len(parts) == 1:
            return parts[0]
        return lambda now: _all([p(now) for p in parts])

    def unary(self, depth: int) -> _Build:
        if depth >= MAX_DEPTH:
            raise self._fail(f"at most {MAX_DEPTH} nested parentheses or 'not'")
        token = self._next
        if token.is_word("not"):
            self._take()
            inner = self.unary(depth + 1)
            return lambda now: _negate(inner(now))
        if token.kind == "op" and token.text == "(":
            self._take()
            inner = self.or_expr(depth + 1)
            if not (self._next.kind == "op" and self._next.text == ")"):
                raise self._fail("')' or 'and' / 'or'")
            self._take()
            return inner
        return self.condition()

    def condition(self) -> _Build:
        token = self._next
        if token.is_word("field"):
            self._take()
            name = self._take()
            if name.kind not in ("word", "text"):
                self._at -= 1
                raise self._fail("a field name after 'field' (a word or a quoted name)")
            key = _unquote(name)
            return self.test(f"field {key}", lambda c: c.fields.get(key), "field")
        if not token.is_word(*_SUBJECTS):
            subjects = ", ".join(_SUBJECTS)
            raise self._fail(f"a condition: {subjects}, field NAME, 'not' or '('")
        self._take()
        subject = token.text.lower()
        if subject in _FLAGS:
            flag = _flag(subject)
            if not (self._next.kind == "op" and self._next.text in ("=", "!=")):
                return lambda now: flag
            op = self._take().text
            value = self._take()
            if not value.is_word("true", "false"):
                self._at -= 1
                raise self._fail(f"true or false after {subject} {op}")
            wanted = value.text.lower() == "true"
            wanted = wanted if op == "=" else not wanted
            return lambda now: flag if wanted else _negate(flag)
        getters: dict[str, _Getter] = {
            "status": lambda c: c.status,
            "temperature": lambda c: c.temperature,
            "last_outcome": lambda c: c.last_outcome,
            "last_contacted": lambda c: c.last_contacted_at,
            "attempts": lambda c: c.attempts,
        }
        return self.test(subject, getters[subject], subject)

    def test(self, name: str, getter: _Getter, subject: str) -> _Build:
        token = self._next
        if token.is_word("is"):
            self._take()
            negated = self._next.is_word("not")
            if negated:
                self._take()
            if not self._next.is_word("set"):
                raise self._fail(f"'set' after '{name} is{' not' if negated else ''}'")
            self._take()
            present = _present(getter)
            return lambda now: _negate(present) if negated else present
        negated = token.is_word("not")
        if negated:
            self._take()
            if not self._next.is_word("in"):
                raise self._fail(f"'in' after '{name} not'")
        if self._next.is_word("in"):
            self._take()
            member = _member(getter, self.value_list(name, subject), subject, negated)
            return lambda now: member
        if token.kind != "op" or token.text not in _OPS:
            raise self._fail(f"a comparison after {name}: = != < <= > >=, in, not in or is set")
        op = self._take().text
        return _comparison(getter, op, self.value(name, subject), subject, name)

    def value_list(self, name: str, subject: str) -> list[_Value]:
        if not (self._next.kind == "op" and self._next.text == "("):
            raise self._fail(f"'(' and a list of values after '{name} in'")
        self._take()
        values = [self.value(name, subject)]
        while self._next.kind == "op" and self._next.text == ",":
            self._take()
            values.append(self.value(name, subject))
        if not (self._next.kind == "op" and self._next.text == ")"):
            raise self._fail("',' or ')' in the list of values")
        self._take()
        kinds = {v.kind for v in values}
        if not kinds <= {"text"} and not kinds <= {"number"}:
            raise FilterError(values[0].position, "a list of texts or a list of numbers", "both")
        return values

    def value(self, name: str, subject: str) -> _Value:
        token = self._take()
        if token.kind == "op" and token.text == "-" and self._next.kind == "number":
            return _Value("number", -float(self._take().text), token.position)
        if token.kind == "number":
            return _Value("number", float(token.text), token.position)
        if token.kind == "duration":
            return _Value("age", self.duration(token), token.position)
        if token.kind == "date":
            return _Value("moment", _date_literal(token), token.position)
        if token.is_word("today", "now"):
            return _Value("moment", self.moment_offset(token), token.position)
        if token.kind == "text" or (token.kind == "word" and token.text.lower() not in _KEYWORDS):
            return _Value("text", _unquote(token).strip().casefold(), token.position)
        self._at -= 1
        raise self._fail(f"{_VALUE_HINTS[subject]} after {name}")

    def duration(self, token: Token) -> timedelta:
        found = read_duration(token.text)
        if found is None:
            raise FilterError(
                token.position, f"a duration of at most {MAX_DURATION.days}d", token.shown
            )
        return found

    def moment_offset(self, anchor: Token) -> tuple[str, timedelta]:
        sign = 0
        if self._next.kind == "op" and self._next.text in "+-":
            sign = 1 if self._take().text == "+" else -1
            if self._next.kind != "duration":
                raise self._fail(f"a duration such as 90d after '{anchor.text} +/-'")
            return anchor.text.lower(), sign * self.duration(self._take())
        return anchor.text.lower(), timedelta(0)


@dataclass(frozen=True)
class _Value:
    kind: str  # text, number, age, moment
    value: Any  # str, float, timedelta, datetime or (anchor, offset)
    position: int

    def moment(self, now: datetime) -> datetime:
        if isinstance(self.value, datetime):
            return self.value
        anchor, offset = self.value
        start = now if anchor == "now" else datetime.combine(now.astimezone(UTC).date(), MIDNIGHT)
        moment: datetime = start.astimezone(UTC) + offset
        return moment


_VALUE_HINTS = {
    "status": "a status (" + ", ".join(s.value for s in BaseStatus) + ")",
    "last_outcome": "an outcome (" + ", ".join(o.value for o in Outcome) + ")",
    "last_contacted": "a date, today/now -+ a duration, or an age such as 30d",
    "attempts": "a number",
    "temperature": "a temperature such as hot, warm or cold",
    "field": "a value (text, number, date or duration)",
}
_KINDS = {
    "status": ("text",),
    "last_outcome": ("text",),
    "temperature": ("text",),
    "last_contacted": ("moment", "age"),
    "attempts": ("number",),
    "field": ("text", "number", "moment", "age"),
}
_CHOICES = {
    "status": frozenset(s.value for s in BaseStatus),
    "last_outcome": frozenset(o.value for o in Outcome),
}


def _comparison(getter: _Getter, op: str, value: _Value, subject: str, name: str) -> _Build:
    _check(value, subject, name)
    if value.kind == "text" and op in _ORDER_OPS:
        raise FilterError(value.position, f"= or != to compare {name} with text", repr(op))
    if value.kind == "age" and op not in _ORDER_OPS:
        raise FilterError(value.position, f"< <= > >= to compare the age of {name}", repr(op))
    compare = _OPS[op]
    read = _reader(getter, value.kind, subject)
    if value.kind == "age":
        moment_op = _OPS[_AGE_TO_MOMENT[op]]
        age: timedelta = value.value
        return lambda now: _against(read, moment_op, now.astimezone(UTC) - age)
    if value.kind == "moment":
        return lambda now: _against(read, compare, value.moment(now))
    return lambda now: _against(read, compare, value.value)


def _check(value: _Value, subject: str, name: str) -> None:
    if value.kind not in _KINDS[subject]:
        raise FilterError(value.position, f"{_VALUE_HINTS[subject]} after {name}", value.kind)
    choices = _CHOICES.get(subject)
    if choices is not None and value.value not in choices:
        raise FilterError(value.position, _VALUE_HINTS[subject], repr(value.value))


def _against(read: _Getter, compare: Callable[[Any, Any], bool], bound: Any) -> Matcher:
    def match(contact: FilterSubject) -> bool:
        found = read(contact)
        return found is not None and compare(found, bound)

    return match


def _member(getter: _Getter, values: list[_Value], subject: str, negated: bool) -> Matcher:
    for value in values:
        _check(value, subject, subject)
    read = _reader(getter, values[0].kind, subject)
    wanted = frozenset(v.value for v in values)
    if negated:  # like every comparison, no match without a value
        return lambda contact: (v := read(contact)) is not None and v not in wanted
    return lambda contact: (v := read(contact)) is not None and v in wanted


def _reader(getter: _Getter, kind: str, subject: str) -> _Getter:
    """The contact's value as the comparison's type, None when missing or unreadable."""
    if subject != "field":
        if kind == "text":
            return lambda c: None if (v := getter(c)) is None else str(v).strip().casefold()
        return getter
    if kind == "text":
        return lambda c: None if (v := getter(c)) is None else str(v).strip().casefold()
    if kind == "number":
        return lambda c: read_number(getter(c))
    return lambda c: read_moment(getter(c))


def _present(getter: _Getter) -> Matcher:
    return lambda contact: (v := getter(contact)) is not None and str(v).strip() != ""


def _flag(name: str) -> Matcher:
    if name == "dead":
        return lambda contact: contact.dead
    return lambda contact: contact.do_not_call


def _negate(inner: Matcher) -> Matcher:
    return lambda contact: not inner(contact)


def _all(parts: list[Matcher]) -> Matcher:
    # Pairs, not all(generator): a million contacts per pass, every call counts. Halved,
    # not chained: a 2,000-character `a or b or ...` stays a shallow call tree.
    if len(parts) == 1:
        return parts[0]
    first, second = _all(parts[: len(parts) // 2]), _all(parts[len(parts) // 2 :])
    return lambda contact: first(contact) and second(contact)


def _any(parts: list[Matcher]) -> Matcher:
    if len(parts) == 1:
        return parts[0]
    first, second = _any(parts[: len(parts) // 2]), _any(parts[len(parts) // 2 :])
    return lambda contact: first(contact) or second(contact)


def _unquote(token: Token) -> str:
    return token.text[1:-1] if token.kind == "text" else token.text


def _date_literal(token: Token) -> datetime:
    found = read_moment(token.text)
    if found is None:
        raise FilterError(token.position, "a real date (YYYY-MM-DD)", repr(token.text))
    return found
