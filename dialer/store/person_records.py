"""Records about one person: do-not-call entries, everything held about a number
(`dialer contacts show`) and what an erasure removed (`dialer contacts erase`).

Plain values; the role methods that return them are on ContactBase (dialer.store.base).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

# The source of a global do-not-call entry made by an erasure: the number is kept only
# there, so that it is never called again and a later import of it is refused.
ERASURE_SOURCE = "erasure"
# Answer keys whose value is the path of a recording of the caller (ivr.run_speech).
RECORDING_KEYS = frozenset({"recording"})


@dataclass(frozen=True)
class DoNotCallEntry:
    number: str  # E.164
    campaign: str | None  # None: the global list
    added_at: datetime
    source: str  # "opt-out in campaign x (attempt y)", "cli", a file name, "erasure"...


@dataclass(frozen=True)
class PersonContact:
    """The person as a contact of one list."""

    list_name: str
    contact_id: int
    name: str | None
    timezone: str | None
    fields: Mapping[str, str]
    dead: bool


@dataclass(frozen=True)
class PersonAttempt:
    """One call placed to the person, in any campaign."""

    attempt_id: str
    campaign: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    cause: int | None
    detail: str
    answers: Mapping[str, object]


@dataclass(frozen=True)
class PersonData:
    """Everything the base holds about one number."""

    number: str
    contacts: tuple[PersonContact, ...] = ()
    attempts: tuple[PersonAttempt, ...] = ()
    do_not_call: tuple[DoNotCallEntry, ...] = ()

    @property
    def recordings(self) -> list[str]:
        return [path for a in self.attempts for path in recording_paths(a.answers)]

    @property
    def known(self) -> bool:
        return bool(self.contacts or self.attempts or self.do_not_call)


@dataclass(frozen=True)
class Erasure:
    """What erase_person changed. The counts stay in the base: contact rows and attempts
    remain, under `marker` instead of the number, without their personal data."""

    marker: str  # random, so the erased rows cannot be traced back to the number
    contacts: int  # contact rows cleared
    attempts: int  # attempts that lost the number and their answers
    # Recording files the erased answers pointed to, for the caller to delete: the store
    # does not touch the file system (the files may be on the Asterisk host's share).
    recordings: list[str] = field(default_factory=list)


def recording_paths(answers: Mapping[str, object]) -> list[str]:
    """Paths of recordings named anywhere in an attempt's answers, in order, once each."""
    seen: dict[str, None] = {}
    for path in _walk(answers):
        seen.setdefault(path, None)
    return list(seen)


def _walk(value: object) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in RECORDING_KEYS and isinstance(item, str) and item:
                yield item
            else:
                yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)
