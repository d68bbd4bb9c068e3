"""pydantic validation errors -> file:line:column problems in plain words."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import timedelta
from typing import Any, get_args

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from dialer.campaign.durations import format_duration
from dialer.campaign.errors import CampaignProblem
from dialer.campaign.model import PATTERN_HINTS
from dialer.campaign.yaml_source import NodePlace, Path, Place, SourceDocument, dotted

_KEY_MARKER = "[key]"  # pydantic's last loc item when a dict key (not its value) is wrong
_NEVER_SHOWN = frozenset({"secret"})  # fields whose value must not appear in any message


def explain(error: ErrorDetails, doc: SourceDocument, root: type[BaseModel]) -> CampaignProblem:
    """One pydantic error as a problem at the place in the file a person should look."""
    loc: Path = tuple(error["loc"])
    is_key = bool(loc) and loc[-1] == _KEY_MARKER
    path = loc[:-1] if is_key else loc
    message = _message(error, path, root)
    line, column = _place(error["type"], path, is_key, doc)
    return CampaignProblem(doc.file, line, column, dotted(path), message)


def _place(kind: str, path: Path, is_key: bool, doc: SourceDocument) -> tuple[int, int]:
    if kind == "missing":
        # The field is not in the file: point at the mapping that should hold it.
        _, parent = doc.nearest(path[:-1])
        at = parent.heading
    else:
        found, place = doc.nearest(path)
        at = _spot(place, exact=found == path, on_key=is_key or kind == "extra_forbidden")
    return at.line, at.column


def _spot(place: NodePlace, *, exact: bool, on_key: bool) -> Place:
    if not exact or on_key or place.is_container:
        # A whole mapping (model validator), a key, or something only its parent knows:
        # the line that names it is where a person looks.
        return place.heading
    return place.value


def _message(error: ErrorDetails, path: Path, root: type[BaseModel]) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    got = "a value that is not shown" if _NEVER_SHOWN & set(map(str, path)) else _show(error)
    special = _SPECIAL.get(kind)
    if special is not None:
        return special(error, path, root, got)
    template = _TEMPLATES.get(kind)
    if template is None:  # a kind not seen yet: pydantic's own words are still correct
        return f"{error['msg']}, got {got}"
    return template.format(got=got, **{k: _show_bound(v) for k, v in ctx.items()})


def _show(error: ErrorDetails) -> str:
    value = error.get("input")
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, timedelta):
        return format_duration(value)
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _show_bound(value: Any) -> str:
    return format_duration(value) if isinstance(value, timedelta) else str(value)


_TEMPLATES: dict[str, str] = {
    "missing": "required field is missing",
    "int_parsing": "expected a whole number, got {got}",
    "int_type": "expected a whole number, got {got}",
    "int_from_float": "expected a whole number, got {got}",
    "float_parsing": "expected a number, got {got}",
    "float_type": "expected a number, got {got}",
    "bool_parsing": "expected true or false, got {got}",
    "bool_type": "expected true or false, got {got}",
    "string_type": "expected text, got {got}",
    "string_too_long": "must be at most {max_length} characters long",
    "greater_than": "must be greater than {gt}, got {got}",
    "greater_than_equal": "must be at least {ge}, got {got}",
    "less_than": "must be less than {lt}, got {got}",
    "less_than_equal": "must be at most {le}, got {got}",
    "enum": "expected {expected}, got {got}",
    "literal_error": "expected {expected}, got {got}",
    "list_type": "expected a list ('- item' lines), got {got}",
    "dict_type": "expected a mapping (indented 'key: value' lines), got {got}",
}


def _validator_words(error: ErrorDetails, path: Path, root: type[BaseModel], got: str) -> str:
    # Our own validators already speak plainly; drop pydantic's "Value error, " prefix.
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _unknown_key(error: ErrorDetails, path: Path, root: type[BaseModel], got: str) -> str:
    key = str(path[-1])
    model = model_at(root, path[:-1])
    allowed = list(model.model_fields) if model else []
    by_lower = {name.lower(): name for name in allowed}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {by_lower[close[0]]!r}?"
    return f"unknown key {key!r}; allowed keys here: {', '.join(allowed)}"


def _pattern(error: ErrorDetails, path: Path, root: type[BaseModel], got: str) -> str:
    pattern = str((error.get("ctx") or {}).get("pattern", ""))
    hint = PATTERN_HINTS.get(pattern, f"expected text matching {pattern}")
    return f"{hint}, got {got}"


def _too_short(error: ErrorDetails, path: Path, root: type[BaseModel], got: str) -> str:
    least = (error.get("ctx") or {}).get("min_length", 1)
    return "must not be empty" if least == 1 else f"must be at least {least} characters long"


def _not_a_mapping(error: ErrorDetails, path: Path, root: type[BaseModel], got: str) -> str:
    model = model_at(root, path)
    keys = f" ({', '.join(model.model_fields)})" if model else ""
    return f"expected a mapping of settings{keys} as indented 'key: value' lines, got {got}"


_SPECIAL: dict[str, Callable[[ErrorDetails, Path, type[BaseModel], str], str]] = {
    "value_error": _validator_words,
    "assertion_error": _validator_words,
    "extra_forbidden": _unknown_key,
    "string_pattern_mismatch": _pattern,
    "string_too_short": _too_short,
    "model_type": _not_a_mapping,
    "model_attributes_type": _not_a_mapping,
}


def model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The model class that validates the mapping at path (None: not a model there)."""
    model = root
    for part in path:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        found = _model_in(field.annotation) if field else None
        if found is None:
            return None
        model = found
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):  # Optional[Model], Annotated[Model, ...]
        found = _model_in(arg)
        if found is not None:
            return found
    return None
