"""pydantic validation errors -> file:line:column problems in plain words."""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from dialer.campaign.errors import CampaignProblem
from dialer.campaign.fields import IVR_SCRIPT_MISSING, PATTERN_HINTS
from dialer.campaign.yaml_source import NodePlace, Path, Place, SourceDocument, dotted
from dialer.durations import format_duration

_KEY_MARKER = "[key]"  # pydantic's last loc item when a dict key (not its value) is wrong
_NEVER_SHOWN = frozenset({"secret"})  # fields whose value must not appear in any message
# Errors a model raises about one field whose fix is written elsewhere: shown there.
_SHOWN_AT: dict[str, Path] = {IVR_SCRIPT_MISSING: ("on_answer", "action")}


def explain(error: ErrorDetails, doc: SourceDocument, root: type[BaseModel]) -> CampaignProblem:
    """One pydantic error as a problem at the place in the file a person should look."""
    loc: Path = tuple(error["loc"])
    is_key = bool(loc) and loc[-1] == _KEY_MARKER
    where = _resolve(root, loc[:-1] if is_key else loc)
    message = _message(error, where)
    path = _SHOWN_AT.get(error["type"], where.path)
    line, column = _place(error["type"], path, is_key, doc, where)
    return CampaignProblem(doc.file, line, column, dotted(path), message)


def problem_at(
    doc: SourceDocument, path: Path, message: str, *, on_key: bool = False
) -> CampaignProblem:
    """A problem found after validation (e.g. in the IVR script's graph) at path."""
    found, place = doc.nearest(path)
    at = _spot(place, exact=found == path, on_key=on_key)
    return CampaignProblem(doc.file, at.line, at.column, dotted(path), message)


@dataclass(frozen=True)
class _Where:
    """An error's location as written in the file, and the models along the way."""

    path: Path  # pydantic's loc without the tags it inserts for discriminated unions
    models: tuple[type[BaseModel] | None, ...]  # models[i] validates the mapping at path[:i]
    annotation: Any  # the type expected at path

    def model(self, depth: int) -> type[BaseModel] | None:
        return self.models[depth] if 0 <= depth < len(self.models) else None


def _resolve(root: type[BaseModel], loc: Path) -> _Where:
    # pydantic reports ("ivr", "steps", "offer", "menu", "keys"): the "menu" is the tag of
    # the union member it tried, not a key in the file.
    path: list[str | int] = []
    models: list[type[BaseModel] | None] = [root]
    annotation: Any = root
    for part in loc:
        members = _tagged_members(annotation)
        if isinstance(part, str) and part in members:
            annotation = members[part]
            models[-1] = annotation
            continue
        annotation = _child(annotation, part)
        path.append(part)
        models.append(_plain_model(annotation))
    return _Where(tuple(path), tuple(models), annotation)


def _unwrap(annotation: Any) -> Any:
    """Annotated[X, ...] -> X and X | None -> X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _plain_model(annotation: Any) -> type[BaseModel] | None:
    found = _unwrap(annotation)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def _tagged_members(annotation: Any) -> dict[str, type[BaseModel]]:
    """tag -> model for a union of models told apart by a Literal field (kind: play)."""
    found = _unwrap(annotation)
    if get_origin(found) not in (Union, types.UnionType):
        return {}
    members: dict[str, type[BaseModel]] = {}
    for member in get_args(found):
        if not (isinstance(member, type) and issubclass(member, BaseModel)):
            return {}
        for field in member.model_fields.values():
            if get_origin(field.annotation) is Literal:
                members.update({str(tag): member for tag in get_args(field.annotation)})
                break
    return members


def _child(annotation: Any, part: str | int) -> Any:
    found = _unwrap(annotation)
    if isinstance(found, type) and issubclass(found, BaseModel):
        field = found.model_fields.get(part) if isinstance(part, str) else None
        return None if field is None else field.annotation
    args = get_args(found)
    if get_origin(found) is dict and len(args) == 2:
        return args[1]
    if get_origin(found) in (list, tuple) and args:
        return args[0]
    return None


def _place(
    kind: str, path: Path, is_key: bool, doc: SourceDocument, where: _Where
) -> tuple[int, int]:
    if kind == "union_tag_invalid":
        # The kind: value is wrong: point at it rather than at the whole step.
        discriminator = _discriminator(where)
        found, place = doc.nearest((*path, discriminator))
        at = _spot(place, exact=found == (*path, discriminator), on_key=False)
    elif kind == "missing":
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


def _message(error: ErrorDetails, where: _Where) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    shown = _NEVER_SHOWN & set(map(str, where.path))
    got = "a value that is not shown" if shown else _show(error)
    special = _SPECIAL.get(kind)
    if special is not None:
        return special(error, where, got)
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


def _validator_words(error: ErrorDetails, where: _Where, got: str) -> str:
    # Our own validators already speak plainly; drop pydantic's "Value error, " prefix.
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _unknown_key(error: ErrorDetails, where: _Where, got: str) -> str:
    key = str(where.path[-1])
    model = where.model(len(where.path) - 1)
    allowed = list(model.model_fields) if model else []
    by_lower = {name.lower(): name for name in allowed}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {by_lower[close[0]]!r}?"
    return f"unknown key {key!r}; allowed keys here: {', '.join(allowed)}"


def _pattern(error: ErrorDetails, where: _Where, got: str) -> str:
    pattern = str((error.get("ctx") or {}).get("pattern", ""))
    hint = PATTERN_HINTS.get(pattern, f"expected text matching {pattern}")
    return f"{hint}, got {got}"


def _too_short(error: ErrorDetails, where: _Where, got: str) -> str:
    least = (error.get("ctx") or {}).get("min_length", 1)
    if error["type"] == "too_short":  # a list or mapping rather than text
        return "must not be empty" if least == 1 else f"must have at least {least} entries"
    return "must not be empty" if least == 1 else f"must be at least {least} characters long"


def _not_a_mapping(error: ErrorDetails, where: _Where, got: str) -> str:
    model = where.model(len(where.path))
    keys = f" ({', '.join(model.model_fields)})" if model else ""
    return f"expected a mapping of settings{keys} as indented 'key: value' lines, got {got}"


def _discriminator(where: _Where) -> str:
    for model in _tagged_members(where.annotation).values():
        for name, field in model.model_fields.items():
            if get_origin(field.annotation) is Literal:
                return name
    return "kind"


def _unknown_tag(error: ErrorDetails, where: _Where, got: str) -> str:
    field = _discriminator(where)
    tags = list(_tagged_members(where.annotation))
    choices = ", ".join(tags[:-1]) + f" or {tags[-1]}" if len(tags) > 1 else "".join(tags)
    if error["type"] == "union_tag_not_found":
        return f"{field}: is missing; give {field}: {choices}"
    tag = str((error.get("ctx") or {}).get("tag", ""))
    close = difflib.get_close_matches(tag, tags, n=1, cutoff=0.6)
    if close:
        return f"unknown {field} {tag!r}; did you mean {close[0]!r}?"
    return f"unknown {field} {tag!r}; expected {choices}"


_SPECIAL: dict[str, Callable[[ErrorDetails, _Where, str], str]] = {
    "value_error": _validator_words,
    "assertion_error": _validator_words,
    IVR_SCRIPT_MISSING: _validator_words,
    "union_tag_invalid": _unknown_tag,
    "union_tag_not_found": _unknown_tag,
    "too_short": _too_short,
    "extra_forbidden": _unknown_key,
    "string_pattern_mismatch": _pattern,
    "string_too_short": _too_short,
    "model_type": _not_a_mapping,
    "model_attributes_type": _not_a_mapping,
}
