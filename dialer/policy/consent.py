"""Whether a contact's recorded consent covers a call's purpose. Pure: no I/O.

Consent lives in the contact's fields, as imported (dialer.contacts.columns maps the
usual headers to these keys):
- consent_date: when it was given: ISO 8601 (2024-05-01, 2024-05-01T10:00:00+03:00; a
  time without offset is UTC) or the Russian 01.05.2024. Required.
- consent_source: how it was obtained (web form, call recording id...). Kept, not judged.
- consent_scope: the purposes it covers, comma-separated (`advertising, surveys`), or
  `all`. Empty or absent: every purpose.

A contact without a date, with one that cannot be read, or with one in the future (a
data error, not a consent that will start) is held back; so is one whose scope does
not name the purpose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time

from dialer.held_back import Held, HeldReason

CONSENT_DATE = "consent_date"
CONSENT_SOURCE = "consent_source"
CONSENT_SCOPE = "consent_scope"
ALL_PURPOSES = "all"

_RUSSIAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_NO_CONSENT = Held(HeldReason.NO_CONSENT)


def consent_verdict(fields: Mapping[str, str], purpose: str, now: datetime) -> Held | None:
    """None when the contact's consent covers `purpose` at `now` (aware), else why not."""
    given = consent_given_at(fields.get(CONSENT_DATE, ""))
    if given is None or given > now:
        return _NO_CONSENT
    if not scope_covers(fields.get(CONSENT_SCOPE, ""), purpose):
        return _NO_CONSENT
    return None


def consent_given_at(text: str) -> datetime | None:
    """The moment consent was given (aware UTC), or None if the text is not a date.
    A date alone counts from the start of that day (UTC)."""
    text = text.strip()
    if not text:
        return None
    russian = _RUSSIAN_DATE.fullmatch(text)
    try:
        if russian:
            day, month, year = (int(part) for part in russian.groups())
            return datetime.combine(date(year, month, day), time(), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01 with a positive offset falls before year 1
        return None


def scope_covers(scope: str, purpose: str) -> bool:
    named = {part.strip().casefold() for part in scope.split(",")} - {""}
    return not named or ALL_PURPOSES in named or purpose.strip().casefold() in named
