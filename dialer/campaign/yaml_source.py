"""YAML text -> plain data, plus the line and column where every value was written.

PyYAML's own constructors are not used, for three reasons:
- they drop the marks, and error messages need them;
- they keep the last of two duplicate keys without a word;
- YAML 1.1 resolves plain scalars too eagerly for a settings file: `1:30` becomes the
  sexagesimal int 90, `no` becomes False, `0o17` an octal int, `2024-05-01` a date.

So every scalar is kept as the exact text the user typed (only an empty value, `~` and
`null` become None). The pydantic model then converts text where a field wants a number
(pydantic's lax mode turns "5038" into 5038 and rejects "abc" with a clear error), and
durations, names and channel variables reach their validators unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dialer.campaign.errors import CampaignError, CampaignProblem

Path = tuple[str | int, ...]

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_MERGE_TAG = "tag:yaml.org,2002:merge"
# What plain YAML resolves to on its own, plus explicit !!str and friends; anything else
# (!!python/..., !!binary, !!set, custom !tags) has no meaning in a settings file.
_KNOWN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp", "value")
)
# Aliases can repeat a subtree many times over ("billion laughs"); a campaign file has
# a few hundred values at most.
_MAX_NODES = 100_000


@dataclass(frozen=True)
class Place:
    line: int  # from 1
    column: int  # from 1

    @classmethod
    def of(cls, mark: yaml.Mark) -> Place:
        return cls(mark.line + 1, mark.column + 1)


@dataclass(frozen=True)
class NodePlace:
    key: Place | None  # where the key naming the value is written; None for root and items
    value: Place  # where the value itself starts
    is_container: bool  # a mapping or a list, as opposed to a scalar

    @property
    def heading(self) -> Place:
        """Where a person looks for a setting as a whole: its key, else its value."""
        return self.key or self.value


@dataclass
class SourceDocument:
    file: str
    data: dict[str, Any]
    places: dict[Path, NodePlace]
    # Found while reading and worth reporting together with validation errors.
    problems: list[CampaignProblem] = field(default_factory=list)

    def nearest(self, path: Path) -> tuple[Path, NodePlace]:
        """The place of path, or of its longest prefix that was written in the file."""
        for end in range(len(path), -1, -1):
            place = self.places.get(path[:end])
            if place is not None:
                return path[:end], place
        raise KeyError(path)  # unreachable: the root is always recorded


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# A campaign file nests a handful of levels (ivr > steps > step > keys); PyYAML composes
# and our builder walks nodes recursively, so a hostile file 500 levels deep would end in
# RecursionError. The tokens are read flat first, and too deep a file is refused.
MAX_NESTING = 40


def read_document(text: str, file: str) -> SourceDocument:
    """Parse one YAML document whose top level is a mapping; CampaignError otherwise."""
    try:
        _check_nesting(text, file)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise CampaignError([_syntax_problem(exc, file)]) from None
    except yaml.reader.ReaderError as exc:
        raise CampaignError([_reader_problem(exc, text, file)]) from None
    except yaml.YAMLError as exc:  # no other kind is known to come out of compose()
        raise CampaignError([CampaignProblem(file, None, None, "", f"YAML error: {exc}")]) from None
    if root is None or _is_null(root):
        raise CampaignError(
            [CampaignProblem(file, None, None, "", "the file is empty: " + _EXPECTED_TOP)]
        )
    if not isinstance(root, MappingNode):
        start = Place.of(root.start_mark)
        got = "a list" if isinstance(root, SequenceNode) else f"the text {root.value!r}"
        raise CampaignError(
            [CampaignProblem(file, start.line, start.column, "", f"{_EXPECTED_TOP}; got {got}")]
        )
    builder = _Builder(file)
    data = builder.build(root, (), None)
    return SourceDocument(file, data, builder.places, builder.problems)


_OPENERS = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSERS = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _check_nesting(text: str, file: str) -> None:
    depth = 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, _OPENERS):
            depth += 1
            if depth > MAX_NESTING:
                place = Place.of(token.start_mark)
                message = f"nested more than {MAX_NESTING} levels deep: not a campaign file"
                raise CampaignError([CampaignProblem(file, place.line, place.column, "", message)])
        elif isinstance(token, _CLOSERS):
            depth -= 1


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.style is None and node.value in _NULLS


_EXPECTED_TOP = "expected campaign settings as 'key: value' lines (name:, list:, ami:, dial:, ...)"


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.places: dict[Path, NodePlace] = {}
        self.problems: list[CampaignProblem] = []
        self._count = 0
        self._open: set[int] = set()  # ids of nodes being built: catches recursive aliases
        self._merger = yaml.SafeLoader("")  # only its flatten_mapping() is used
        # Mappings already merged in place: an alias visits the same node again, and its
        # merged keys must then not count as duplicates.
        self._flattened: set[int] = set()

    def build(self, node: Node, path: Path, key: Place | None) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            self._fail(node, "too many values (aliases expanding without end?)")
        if id(node) in self._open:
            # PyYAML keeps no place for an alias itself; its key is the best hint.
            self._fail(node, "an alias refers to a mapping or list that contains it", key)
        is_null = _is_null(node)
        # An empty value has no place of its own (PyYAML puts it after the colon): point
        # at its key instead.
        value_place = key if is_null and key and not node.value else Place.of(node.start_mark)
        self.places[path] = NodePlace(key, value_place, not isinstance(node, ScalarNode))
        if node.tag not in _KNOWN_TAGS:
            self._problem(node, path, f"YAML tag {node.tag} is not supported in a campaign file")
        if isinstance(node, ScalarNode):
            return None if is_null else node.value
        self._open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i), None) for i, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)  # YAML has no other node kind
            return self._mapping(node, path)
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        if id(node) not in self._flattened:
            self._flattened.add(id(node))
            self._report_duplicates(node, path)
            self._merge(node, path)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, path, "a key must be a plain name, not a list or mapping")
                continue
            name = key_node.value
            result[name] = self.build(value_node, (*path, name), Place.of(key_node.start_mark))
        return result

    def _merge(self, node: MappingNode, path: Path) -> None:
        try:
            # Applies "<<: *defaults" merge keys in place; own keys win over merged ones
            # because they come later in node.value.
            self._merger.flatten_mapping(node)
        except (yaml.MarkedYAMLError, RecursionError) as exc:
            # RecursionError: "&a {<<: *a}" merges a mapping into itself.
            why = getattr(exc, "problem", None) or "the mapping merges itself"
            self._problem(node, path, f"cannot merge '<<': {why}")
            node.value = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]

    def _report_duplicates(self, node: MappingNode, path: Path) -> None:
        first_seen: dict[str, Place] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            name, here = key_node.value, Place.of(key_node.start_mark)
            earlier = first_seen.get(name)
            if earlier is None:
                first_seen[name] = here
            else:
                self.problems.append(
                    CampaignProblem(
                        self.file,
                        here.line,
                        here.column,
                        dotted((*path, name)),
                        f"duplicate key {name!r}: already given at line {earlier.line}"
                        "; YAML would silently keep only the last one",
                    )
                )

    def _problem(self, node: Node, path: Path, message: str) -> None:
        at = Place.of(node.start_mark)
        self.problems.append(CampaignProblem(self.file, at.line, at.column, dotted(path), message))

    def _fail(self, node: Node, message: str, at: Place | None = None) -> NoReturn:
        at = at or Place.of(node.start_mark)
        raise CampaignError([CampaignProblem(self.file, at.line, at.column, "", message)])


# PyYAML's complaints name parser tokens ("<block end>"); these say what to fix.
# Checked in order against "context | problem"; {cline}/{ccol} are where the context
# (the construct that is left open) starts.
_SYNTAX_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"character '\\t'"), "a tab character: YAML indentation must use spaces"),
    (
        re.compile(r"found character '(.)' that cannot start"),
        "a value cannot start with '{0}': put the value in quotes",
    ),
    (
        re.compile(r"mapping values are not allowed"),
        "unexpected ':': put a value that contains ': ' in quotes, "
        "or fix the indentation of this line",
    ),
    (
        re.compile(r"could not find expected ':'"),
        "a line is missing its ':' (key: value), or a quote opened at line {cline} is not closed",
    ),
    (
        re.compile(r"quoted scalar.*end of stream"),
        "the quote opened at line {cline}, column {ccol} is never closed",
    ),
    (
        re.compile(r"flow sequence.*expected ',' or '\]'"),
        "the '[' at line {cline}, column {ccol} is never closed, or a ',' is missing",
    ),
    (
        re.compile(r"flow mapping.*expected ',' or '\}'"),
        "the '{{' at line {cline}, column {ccol} is never closed, or a ',' is missing",
    ),
    (
        re.compile(r"expected <block end>, but found '([\]}])'"),
        "unexpected '{0}': it closes nothing",
    ),
    (
        re.compile(r"expected <block end>"),
        "this line does not line up with the lines above it: check its indentation",
    ),
    (
        re.compile(r"duplicate anchor '(.*)'"),
        "the anchor &{0} is defined twice (first at line {cline}, column {ccol})",
    ),
    (re.compile(r"undefined alias '(.*)'"), "*{0} refers to an anchor &{0} defined nowhere above"),
    (
        re.compile(r"another document"),
        "a second YAML document ('---'): a campaign file holds exactly one",
    ),
    (
        re.compile(r"unknown escape character '(.)'"),
        "unknown escape '\\{0}' in a double-quoted value: write '\\\\' for a backslash, "
        "or use single quotes",
    ),
]


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> CampaignProblem:
    mark = exc.problem_mark or exc.context_mark
    context = exc.context_mark
    complaint = f"{exc.context or ''} | {exc.problem or ''}"
    message = None
    for pattern, hint in _SYNTAX_HINTS:
        found = pattern.search(complaint)
        if found:
            message = hint.format(
                *found.groups(),
                cline=context.line + 1 if context else "?",
                ccol=context.column + 1 if context else "?",
            )
            break
    if message is None:  # not one of the usual mistakes: give PyYAML's own words
        message = exc.problem or "cannot be read"
        if exc.context and context:
            message += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    return CampaignProblem(file, line, column, "", f"YAML syntax error: {message}")


def _reader_problem(exc: yaml.reader.ReaderError, text: str, file: str) -> CampaignProblem:
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return CampaignProblem(
        file,
        line,
        column,
        "",
        f"character U+{code:04X} is not allowed in YAML text (write it as an escape "
        "inside a double-quoted value)",
    )
