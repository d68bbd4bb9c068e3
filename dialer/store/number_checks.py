"""What both backends check before they write numbers, the same on each: E.164 only
(defence in depth: the importers normalise, the store refuses anything else), and one
row per number in an import batch."""

from __future__ import annotations

import re
from collections.abc import Iterable

from dialer.store.base import NewContact

E164 = re.compile(r"\+[1-9][0-9]{5,14}")


def checked_numbers(numbers: Iterable[str]) -> list[str]:
    """The numbers as a list, or ValueError naming the first that is not E.164."""
    batch = list(numbers)
    for number in batch:
        if not E164.fullmatch(number):
            raise ValueError(f"not an E.164 number: {number!r}: normalise first")
    return batch


def dedupe_contacts(contacts: Iterable[NewContact]) -> tuple[list[NewContact], int]:
    """Merge repeated numbers inside one batch (last value wins), checking each number;
    returns the batch in first-seen order and how many rows were merged."""
    by_number: dict[str, NewContact] = {}
    rows = 0
    for contact in contacts:
        rows += 1
        if not E164.fullmatch(contact.number):
            raise ValueError(f"not an E.164 number (row {contact.source_row}): normalise first")
        previous = by_number.get(contact.number)
        if previous is not None:
            contact = NewContact(
                number=contact.number,
                name=contact.name or previous.name,
                timezone=contact.timezone or previous.timezone,
                fields={**previous.fields, **contact.fields},
                source_row=contact.source_row,
            )
        by_number[contact.number] = contact
    return list(by_number.values()), rows - len(by_number)
