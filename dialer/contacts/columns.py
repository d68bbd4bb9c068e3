"""Which column is what (phone, name, time zone, custom fields), and one row -> contact.

Pure functions on plain strings: the importer runs RowParser.parse in worker processes
for big files, so it holds only picklable data.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.contacts.numbers import InvalidNumber, NormalizedNumber, normalize_number
from dialer.contacts.sources import ContactFileError
from dialer.store.base import NewContact

# Header names, compared after casefolding and dropping spaces, '_', '-' and '.'.
# Order matters: with both "phone" and "mobile" present, "phone" is the number to dial
# and "mobile" stays a custom field.
PHONE_HEADERS = (
    "phone", "phonenumber", "phoneno", "number", "tel", "telephone", "msisdn", "mobile",
    "mobilephone", "cell", "cellphone", "телефон", "номертелефона", "номер", "тел",
    "мобильный", "мобильныйтелефон", "сотовый", "контактныйтелефон",
)  # fmt: skip
NAME_HEADERS = (
    "name", "fullname", "fio", "contactname", "clientname", "customername", "фио", "имя",
    "полноеимя", "имяклиента", "клиент",
)  # fmt: skip
TIMEZONE_HEADERS = ("timezone", "tz", "timezonename", "часовойпояс")
# Consent columns, kept in the contact's fields under these exact keys whatever the
# header says (dialer.policy.consent reads them there).
CONSENT_HEADERS = {
    "consent_date": (
        "consentdate", "consentat", "consentedat", "consentgiven", "consentgivenat",
        "optindate", "датасогласия", "согласиеот", "согласиедата", "датаполучениясогласия",
    ),
    "consent_source": (
        "consentsource", "consentorigin", "optinsource", "источниксогласия",
        "согласиеисточник", "каналсогласия",
    ),
    "consent_scope": (
        "consentscope", "consentpurpose", "consentpurposes", "optinscope",
        "целисогласия", "цельсогласия", "согласиенацели", "областьсогласия", "согласиецели",
    ),
}  # fmt: skip
_CONSENT_KEYS = {alias: key for key, aliases in CONSENT_HEADERS.items() for alias in aliases}
# Columns `dialer contacts export` adds: state of the base, not data to import again.
_EXPORT_ONLY = re.compile(
    r"dead|.+\.(status|attempts|last_outcome|final_outcome|next_due_at|answers)"
)
_SQUASH = re.compile(r"[\s_.\-]+")


def header_key(text: str) -> str:
    return _SQUASH.sub("", text.casefold())


@dataclass(frozen=True)
class RejectedRow:
    row_number: int  # as a spreadsheet shows it: the header is row 1
    reason: str
    raw: tuple[str, ...]  # the cells as read


@dataclass(frozen=True)
class ColumnMap:
    """Column indexes of one file's header."""

    header: tuple[str, ...]
    phone: int
    name: int | None
    timezone: int | None
    fields: tuple[tuple[int, str], ...]  # (index, key) of each custom column

    @property
    def phone_header(self) -> str:
        return self.header[self.phone]

    def header_of(self, index: int | None) -> str | None:
        return None if index is None else self.header[index]


def map_columns(header: Sequence[str], phone_column: str | None = None) -> ColumnMap:
    """Find the phone (required), name and time zone columns; the rest are fields."""
    keys = [header_key(h) for h in header]
    if phone_column:
        phone: int | None = _explicit_column(header, keys, phone_column)
    else:
        phone = _find(keys, PHONE_HEADERS)
    if phone is None:
        found = ", ".join(repr(h) for h in header if h) or "none"
        raise ContactFileError(
            f"no phone column: the header has {found}; name it 'phone' (or телефон, number,"
            " msisdn...) or choose it with the phone column option"
        )
    name = _find(keys, NAME_HEADERS, exclude={phone})
    timezone = _find(keys, TIMEZONE_HEADERS, exclude={phone, name})
    taken = {phone, name, timezone}
    fields: list[tuple[int, str]] = []
    used: set[str] = set()
    for index, text in enumerate(header):
        if index in taken or _EXPORT_ONLY.fullmatch(text):
            continue
        key = _CONSENT_KEYS.get(header_key(text)) or text or f"column {index + 1}"
        suffix = 2
        while key in used:  # two columns with one title: keep both values
            key, suffix = f"{text or 'column'} ({suffix})", suffix + 1
        used.add(key)
        fields.append((index, key))
    return ColumnMap(tuple(header), phone, name, timezone, tuple(fields))


def _explicit_column(header: Sequence[str], keys: list[str], wanted: str) -> int:
    key = header_key(wanted)
    if key in keys:
        return keys.index(key)
    if wanted.isdigit() and 1 <= int(wanted) <= len(header):
        return int(wanted) - 1  # a 1-based column number
    found = ", ".join(repr(h) for h in header if h) or "none"
    raise ContactFileError(f"phone column {wanted!r} is not in the header; the header has {found}")


def _find(
    keys: list[str], candidates: Sequence[str], exclude: Collection[int | None] = ()
) -> int | None:
    for candidate in candidates:
        for index, key in enumerate(keys):
            if key == candidate and index not in exclude:
                return index
    return None


# A valid row as plain tuples: (row_number, number, name, timezone, field items). Worker
# processes send rows back in this form: it pickles several times faster than NewContact.
PackedContact = tuple[int, str, str | None, str | None, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class RowParser:
    """Turns the cells of one row into a NewContact or a RejectedRow."""

    columns: ColumnMap
    default_region: str

    def parse(self, row_number: int, cells: Sequence[str]) -> NewContact | RejectedRow:
        item = self.parse_packed(row_number, cells)
        return item if isinstance(item, RejectedRow) else unpack(item)

    def parse_batch(
        self, rows: Sequence[tuple[int, Sequence[str]]]
    ) -> list[NewContact | RejectedRow]:
        return [self.parse(number, cells) for number, cells in rows]

    def parse_batch_packed(
        self, rows: Sequence[tuple[int, Sequence[str]]]
    ) -> list[PackedContact | RejectedRow]:
        return [self.parse_packed(number, cells) for number, cells in rows]

    def parse_packed(self, row_number: int, cells: Sequence[str]) -> PackedContact | RejectedRow:
        columns = self.columns
        width = len(columns.header)
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            return RejectedRow(
                row_number,
                f"{len(cells)} values but the header has {width} columns"
                " (an unquoted separator inside a value?)",
                tuple(cells),
            )
        number = _normalize(_cell(cells, columns.phone), self.default_region)
        if isinstance(number, str):
            return RejectedRow(row_number, f"phone: {number}", tuple(cells))
        timezone = number.timezone
        if columns.timezone is not None and (explicit := _cell(cells, columns.timezone)):
            if not _is_zone(explicit):
                reason = f"time zone {explicit!r} is not an IANA zone name like Europe/Moscow"
                return RejectedRow(row_number, reason, tuple(cells))
            timezone = explicit
        name = _cell(cells, columns.name) if columns.name is not None else ""
        fields = tuple((key, val) for index, key in columns.fields if (val := _cell(cells, index)))
        return (row_number, number.e164, name or None, timezone, fields)


def unpack(item: PackedContact) -> NewContact:
    row_number, number, name, timezone, fields = item
    return NewContact(
        number=number, name=name, timezone=timezone, fields=dict(fields), source_row=row_number
    )


def _cell(cells: Sequence[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


@lru_cache(maxsize=1 << 16)
def _normalize(raw: str, region: str) -> NormalizedNumber | str:
    """Cached by the exact text: lists repeat numbers, and parsing is the costly step."""
    try:
        return normalize_number(raw, region)
    except InvalidNumber as exc:
        return exc.reason


@lru_cache(maxsize=1024)
def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder
        return False
    return True
