"""The JSON Schema printed by `dialer schema`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialer.campaign.loader import campaign_json_schema
from dialer.campaign.model import Campaign

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaign.yaml"
FREE_FORM_MAPPINGS = {"variables", "calling_hours", "region_zones"}
DURATION_FIELDS = [
    ("AsteriskServer", "connect_timeout"),
    ("AsteriskServer", "action_timeout"),
    ("AsteriskServer", "ping_interval"),
    ("DialSettings", "ring_timeout"),
    ("OnAnswer", "queue_timeout"),
    ("RetryRuleSettings", "delay"),
]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return campaign_json_schema()


def object_schemas(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "Campaign", schema
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object":
            yield name, definition


def test_schema_names_its_dialect_and_title(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Dialer campaign"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False


def test_schema_is_plain_json(schema: dict[str, Any]) -> None:
    assert json.loads(json.dumps(schema)) == schema


def test_schema_has_every_top_level_field_and_the_required_ones(schema: dict[str, Any]) -> None:
    assert set(schema["properties"]) == set(Campaign.model_fields)
    assert set(schema["required"]) == {"name", "list", "ami", "dial"}


def test_every_field_of_every_section_has_a_description(schema: dict[str, Any]) -> None:
    undocumented = [
        f"{name}.{field}"
        for name, definition in object_schemas(schema)
        for field, spec in definition["properties"].items()
        if not spec.get("description")
    ]

    assert undocumented == []


def test_every_ref_points_at_a_definition(schema: dict[str, Any]) -> None:
    refs = re.findall(r'"\$ref": "#/\$defs/([A-Za-z]+)"', json.dumps(schema))

    assert refs
    assert set(refs) <= set(schema["$defs"])


@pytest.mark.parametrize(("model", "field"), DURATION_FIELDS)
def test_durations_are_strings_with_a_pattern_their_default_matches(
    schema: dict[str, Any], model: str, field: str
) -> None:
    spec = schema["$defs"][model]["properties"][field]

    assert spec["type"] == "string"
    assert "format" not in spec  # "duration" would mean ISO 8601 (PT30S)
    pattern = re.compile(spec["pattern"])
    for sample in spec["examples"] + ([spec["default"]] if "default" in spec else []):
        assert pattern.match(sample), sample
    for wrong in ["10", "10 minutes", "-5s", "1:30", "PT30S", ""]:
        assert not pattern.match(wrong), wrong


def test_defaults_are_written_as_in_a_campaign_file(schema: dict[str, Any]) -> None:
    assert schema["$defs"]["DialSettings"]["properties"]["ring_timeout"]["default"] == "30s"
    abandoned = schema["properties"]["retry"]["default"]["abandoned"]
    assert abandoned == {"delay": "72h", "max": 1, "at": []}


def test_example_file_uses_only_keys_the_schema_knows(schema: dict[str, Any]) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))

    def check(value: dict[str, Any], spec: dict[str, Any]) -> None:
        if "anyOf" in spec:  # an optional section: SomeSettings | None
            spec = next(member for member in spec["anyOf"] if "$ref" in member)
        spec = schema["$defs"][spec["$ref"].split("/")[-1]] if "$ref" in spec else spec
        for key, item in value.items():
            assert key in spec["properties"], key
            # variables, calling_hours, region_zones: mappings of the user's own keys.
            if isinstance(item, dict) and key not in FREE_FORM_MAPPINGS:
                check(item, spec["properties"][key])

    check(data, schema)
