"""Scenarios from a JSON file (`scripts/bench-pacing --scenarios FILE.json`).

The file is a JSON list; each object has `name`, `operators` and `answer_rate`, and may
have `answer_rate_change` ({"at_s", "rate"}), `talk_mean_s`, `talk_sd_s`, `wrap_mean_s`,
`machine_rate` (share of answered calls a machine answers), `operators_schedule`
([{"at_s", "operators"}]), `abandon_target`, `hours` and `seeds`. Missing keys take the
bench's defaults. Anything else is refused with the scenario and key it is about.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .scenario import Scenario


class ScenarioFileError(ValueError):
    """The file cannot be read as scenarios; the message says where."""


_KEYS = {
    "name",
    "operators",
    "answer_rate",
    "answer_rate_change",
    "talk_mean_s",
    "talk_sd_s",
    "wrap_mean_s",
    "machine_rate",
    "operators_schedule",
    "abandon_target",
    "hours",
    "seeds",
}


def load_scenarios(path: Path, default_hours: float) -> list[Scenario]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ScenarioFileError(f"{path}: cannot read: {e.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ScenarioFileError(f"{path}: not JSON: {e}") from None
    if not isinstance(data, list) or not data:
        raise ScenarioFileError(f"{path}: expected a non-empty JSON list of scenarios")
    scenarios = [_scenario(item, i, default_hours, path) for i, item in enumerate(data)]
    names = [s.name for s in scenarios]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ScenarioFileError(f"{path}: scenario names used twice: {', '.join(twice)}")
    return scenarios


def _scenario(item: Any, index: int, default_hours: float, path: Path) -> Scenario:
    where = f"{path}: scenario {index + 1}"
    if not isinstance(item, dict):
        raise ScenarioFileError(f"{where}: expected an object")
    if isinstance(item.get("name"), str):
        where = f"{path}: scenario {item['name']!r}"
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise ScenarioFileError(f"{where}: unknown keys {', '.join(unknown)}")
    for key in ("name", "operators", "answer_rate"):
        if key not in item:
            raise ScenarioFileError(f"{where}: `{key}` is required")
    if not isinstance(item["name"], str) or not item["name"]:
        raise ScenarioFileError(f"{where}: `name` must be a non-empty string")
    get = _Reader(item, where)
    hours = get.number("hours", default_hours, low=0.01, high=48.0)
    duration = hours * 3600.0
    change = None
    if "answer_rate_change" in item:
        c = _Reader(get.object("answer_rate_change"), f"{where}: answer_rate_change")
        change = (c.number("at_s", None, 0.0, duration), c.number("rate", None, 0.001, 1.0))
    schedule = []
    for i, entry in enumerate(get.list("operators_schedule")):
        e = _Reader(entry, f"{where}: operators_schedule[{i}]")
        schedule.append((e.number("at_s", None, 0.0, duration), e.integer("operators", 0)))
    defaults = Scenario("defaults", 1, 0.4)
    return Scenario(
        name=item["name"],
        operators=get.integer("operators", 1),
        answer_rate=get.number("answer_rate", None, 0.001, 1.0),
        answer_drop=change,
        operators_schedule=tuple(sorted(schedule)),
        talk_mean=get.number("talk_mean_s", defaults.talk_mean, 1.0, 36000.0),
        talk_sd=get.number("talk_sd_s", defaults.talk_sd, 0.0, 36000.0),
        wrap_mean=get.number("wrap_mean_s", defaults.wrap_mean, 0.1, 3600.0),
        machine_share=get.number("machine_rate", defaults.machine_share, 0.0, 0.99),
        abandon_target=get.number("abandon_target", defaults.abandon_target, 0.001, 0.5),
        duration=duration,
        seeds=get.integer("seeds", 1) if "seeds" in item else None,
    )


class _Reader:
    def __init__(self, item: Any, where: str) -> None:
        if not isinstance(item, dict):
            raise ScenarioFileError(f"{where}: expected an object")
        self.item = item
        self.where = where

    def number(self, key: str, default: float | None, low: float, high: float) -> float:
        value = self.item.get(key, default)
        if value is None:
            raise ScenarioFileError(f"{self.where}: `{key}` is required")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioFileError(f"{self.where}: `{key}` must be a number, not {value!r}")
        if not low <= value <= high:
            raise ScenarioFileError(f"{self.where}: `{key}` must be in [{low:g}, {high:g}]")
        return float(value)

    def integer(self, key: str, low: int) -> int:
        value = self.item.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ScenarioFileError(f"{self.where}: `{key}` must be a whole number >= {low}")
        return value

    def object(self, key: str) -> Any:
        return self.item[key]

    def list(self, key: str) -> list[Any]:
        value = self.item.get(key, [])
        if not isinstance(value, list):
            raise ScenarioFileError(f"{self.where}: `{key}` must be a list")
        return value
