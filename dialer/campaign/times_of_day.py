"""Times of day in a campaign file: `"18:00"` or a list of them (`["11:00", "18:00"]`)."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

TIME_OF_DAY_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_TIME_OF_DAY = re.compile(TIME_OF_DAY_PATTERN)
TIME_OF_DAY_HINT = 'a time of day as HH:MM on a 24-hour clock, such as "18:00"'


def _parse_one(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _TIME_OF_DAY.match(value.strip()):
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    raise ValueError(f"expected {TIME_OF_DAY_HINT}, got {value!r}")


def _to_times(value: Any) -> tuple[time, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    times = tuple(_parse_one(item) for item in items)
    if len(set(times)) != len(times):
        raise ValueError("each time of day may be listed once")
    return tuple(sorted(times))


def _format(times: tuple[time, ...]) -> list[str]:
    return [f"{t:%H:%M}" for t in times]


TimesOfDay = Annotated[
    tuple[time, ...],
    BeforeValidator(_to_times),
    PlainSerializer(_format, return_type=list[str]),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": TIME_OF_DAY_PATTERN},
                {"type": "array", "items": {"type": "string", "pattern": TIME_OF_DAY_PATTERN}},
            ]
        }
    ),
]
