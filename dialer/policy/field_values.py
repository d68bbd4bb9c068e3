"""Values as the list filter reads them: a custom field's text as a number or a date,
a duration literal. Pure."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

MIDNIGHT = datetime.min.time().replace(tzinfo=UTC)
_UNIT = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_NUMBER_TEXT = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


# Far enough for any filter, near enough that `today - 36500d` is always a real date.
MAX_DURATION = timedelta(days=36500)


def read_duration(text: str) -> timedelta | None:
    """`90d`, `2w`, `1h30m`, ... (w d h m s); None past MAX_DURATION."""
    seconds = sum(float(n) * _UNIT[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds > MAX_DURATION.total_seconds():
        return None
    return timedelta(seconds=seconds)


def read_number(text: str | None) -> float | None:
    """A field read as a number: digits, optional sign, '.' or ',' before the decimals,
    spaces between digit groups ignored ('1 250,50')."""
    if text is None:
        return None
    compact = str(text).replace(" ", "").replace("\u00a0", "")
    if not _NUMBER_TEXT.fullmatch(compact):
        return None
    return float(compact.replace(",", "."))


def read_moment(text: str | None) -> datetime | None:
    """A field read as a date: YYYY-MM-DD, with a time (and offset) or not, or DD.MM.YYYY.
    A date alone is its midnight in UTC; a time without an offset is UTC."""
    if text is None:
        return None
    text = str(text).strip()
    try:
        dotted = _DOTTED_DATE.fullmatch(text)
        if dotted is not None:
            day, month, year = (int(part) for part in dotted.groups())
            found = datetime.combine(date(year, month, day), MIDNIGHT)
        elif len(text) >= 10 and text[4] == "-" and text[7] == "-":
            found = datetime.fromisoformat(text)
        else:
            return None
        # An offset can carry year 9999 past the end of the calendar: no date, no error.
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
