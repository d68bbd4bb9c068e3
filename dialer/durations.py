"""Human durations in campaign files: `90s`, `10m`, `2h`, `1h30m`, `500ms`, `2d`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

DURATION_HINT = "a duration such as 90s, 10m, 2h or 1h30m"
# Longer than anything a campaign waits for, far inside what timedelta can hold.
MAX_DURATION = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """Parse a duration; raise ValueError with the expected form otherwise."""
    compact = text.strip().replace(" ", "")
    if not _WHOLE.match(compact):
        raise ValueError(f"expected {DURATION_HINT}, got {text!r}")
    seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(compact))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"expected at most {MAX_DURATION.days}d, got {text!r}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    if seconds and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{int(seconds * 1000)}ms"


# The pattern the JSON Schema shows editors (parse_duration is what really decides).
DURATION_PATTERN = r"^\d+(\.\d+)?(ms|s|m|h|d)( ?\d+(\.\d+)?(ms|s|m|h|d))*$"


def _to_timedelta(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"expected {DURATION_HINT}, got {value!r}")


# A duration field of a campaign file: typed as text (`90s`), read as a timedelta.
Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
    PlainSerializer(format_duration, return_type=str),
    # Replaces pydantic's own timedelta schema ("format": "duration" means ISO 8601
    # PT30S, which this file format does not accept).
    WithJsonSchema(
        {"type": "string", "pattern": DURATION_PATTERN, "examples": ["90s", "10m", "1h30m"]}
    ),
]
