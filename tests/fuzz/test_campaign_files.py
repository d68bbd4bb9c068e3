"""Hostile campaign files: the example files, mutated a few hundred ways (deleted and
duplicated lines, nasty values, deep nesting, YAML tags, anchors, control bytes), never
end in anything but a CampaignError with a place and a reason: no traceback, whatever
the input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.campaign.errors import CampaignError
from dialer.campaign.loader import load_campaign, parse_campaign

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("campaign*.yaml"))
NASTY_VALUES = [
    "99999999999d",
    "123456789012345678901234567890s",
    "1e308s",
    "-5s",
    "0",
    "-1",
    "99999999999999999999999",
    "1e400",
    ".nan",
    "null",
    "~",
    "''",
    "[]",
    "{}",
    "[" * 300 + "]" * 300,
    "{a: " * 200 + "1" + "}" * 200,
    "!!python/object/apply:os.system ['id']",
    "!!binary aGVsbG8=",
    "&a [*a]",
    "*undefined",
    "\x00",
    "\x1b[31m",
    "'${SHELL(id)}'",
    "'$[1+1]'",
    "'=HYPERLINK(\"http://evil\")'",
    "Local/123&PJSIP/999",
    '"\\ud800"',
    "é" * 5000,
    "x" * 100_000,
    "true",
    "2026-13-45",
    "|\n  block\n  text",
    "- a\n- b",
]


@st.composite
def mutated_campaign(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(EXAMPLES)).read_text(encoding="utf-8").splitlines()
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["value", "delete", "duplicate", "indent", "bytes"]))
        line = lines[at]
        if kind == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(NASTY_VALUES))}"
        elif kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, line)
        elif kind == "indent":
            lines[at] = " " * draw(st.integers(0, 9)) + line.lstrip()
        else:
            junk = draw(st.text(min_size=1, max_size=20))
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + junk + line[cut:]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=300,
    derandomize=True,  # the same cases on every run: a failure reproduces
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=mutated_campaign())
def test_given_a_mutated_campaign_file_then_only_a_campaign_error(text: str) -> None:
    try:
        parse_campaign(text, "fuzzed.yaml")
    except CampaignError as exc:
        assert exc.problems, "an error must say what is wrong"
        for problem in exc.problems:
            assert problem.file == "fuzzed.yaml" and problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nextra: " + "[" * 500 + "]" * 500 + "\n", "nested more than 40 levels"),
        ("name: x\ndial: {ring_timeout: 99999999999d}\n", "at most 366d"),
        ("name: x\ndial: {ring_timeout: 123456789012345678901234567890s}\n", "at most 366d"),
        ("a: &a ['lol','lol']\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b]\n", ""),
        ("name: !!python/object/apply:os.system ['id']\n", ""),
    ],
)
def test_given_hostile_yaml_then_a_clear_error(text: str, expected: str) -> None:
    with pytest.raises(CampaignError) as caught:
        parse_campaign(text, "hostile.yaml")
    assert expected in str(caught.value)
    assert "hostile.yaml:" in str(caught.value)


def test_given_a_binary_file_then_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(CampaignError, match="not UTF-8"):
        load_campaign(path)
