"""Export a contact list, with where each contact stands in every campaign on the list.

One row per contact: number, name, timezone, dead, the custom fields (union of keys over
the list), then for each campaign on the list (or only `campaign`):
`<campaign>.status`, `.attempts`, `.last_outcome`, `.final_outcome`, `.next_due_at`.
The importer recognises `dead` and the campaign columns and does not import them as
custom fields, so an exported file can be imported again.

Formats: csv (UTF-8; with a BOM when written to a file so that Excel shows Cyrillic
text), xlsx, json (an array of objects with "fields" and "campaigns" nested).
The list is read through ContactBase.contacts(), so it is held in memory once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from dialer.contacts.cell_safety import neutralise_formula
from dialer.private_files import create_private, open_private
from dialer.store.base import (
    CampaignRecord,
    ContactBase,
    ContactRecord,
    ContactReport,
    Reports,
    StoreError,
)

FORMATS = ("csv", "xlsx", "json")
CAMPAIGN_COLUMNS = (
    "status",
    "attempts",
    "last_outcome",
    "final_outcome",
    "next_due_at",
    "answers",  # what the last call collected (IVR keys, transcript, survey...), as JSON
)
BASE_COLUMNS = ("number", "name", "timezone", "dead")


class ExportSource(ContactBase, Reports, Protocol):
    """What an export reads: the list's contacts and the reports of its campaigns."""


async def export_list(
    store: ExportSource,
    list_name: str,
    out: Path | str | IO[Any],
    fmt: str | None = None,
    campaign: str | None = None,
) -> int:
    """Write the list to `out` (a path, or an open file: text for csv/json, binary for
    xlsx). `fmt` defaults to the path's suffix. Returns the number of contacts."""
    fmt = _format(out, fmt)
    contacts = await store.contacts(list_name)
    campaigns = await _campaigns(store, list_name, campaign)
    reports = {
        c.name: {r.contact_id: r for r in await store.contact_report(c.id)} for c in campaigns
    }
    table = _Table(contacts, reports)
    if fmt == "csv":
        _write_text(out, lambda f: _write_csv(table, f), bom=True)
    elif fmt == "json":
        _write_text(out, lambda f: _write_json(table, f), bom=False)
    else:
        _write_xlsx(table, out)
    return len(contacts)


def _format(out: Path | str | IO[Any], fmt: str | None) -> str:
    if fmt is None:
        if not isinstance(out, str | Path):
            raise ValueError("give the export format (csv, xlsx or json) when writing to a stream")
        fmt = Path(out).suffix.lstrip(".").lower() or "csv"
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return fmt


async def _campaigns(store: Reports, list_name: str, only: str | None) -> list[CampaignRecord]:
    on_list = [c for c in await store.campaigns() if c.list_name == list_name]
    if only is None:
        return on_list
    chosen = [c for c in on_list if c.name == only]
    if not chosen:
        raise StoreError(f"no campaign {only!r} on contact list {list_name!r}")
    return chosen


class _Table:
    """The export as a header and rows of plain values, shared by the three formats."""

    def __init__(
        self, contacts: list[ContactRecord], reports: dict[str, dict[int, ContactReport]]
    ) -> None:
        self.contacts = contacts
        self.reports = reports
        keys: dict[str, None] = {}  # insertion-ordered set: first appearance decides order
        for contact in contacts:
            keys.update(dict.fromkeys(contact.fields))
        self.field_keys = list(keys)
        self.header = [
            *BASE_COLUMNS,
            *self.field_keys,
            *(f"{name}.{col}" for name in reports for col in CAMPAIGN_COLUMNS),
        ]

    def campaign_values(self, contact: ContactRecord) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, by_contact in self.reports.items():
            report = by_contact.get(contact.id)
            if report is None:  # on the list but not enrolled (imported after the start)
                yield name, dict.fromkeys(CAMPAIGN_COLUMNS)
                continue
            yield (
                name,
                {
                    "status": report.status.value,
                    "attempts": report.attempts,
                    "last_outcome": report.last_outcome.value if report.last_outcome else None,
                    "final_outcome": report.final_outcome.value if report.final_outcome else None,
                    "next_due_at": _iso(report.next_due_at),
                    "answers": dict(report.last_answers) or None,
                },
            )

    def rows(self) -> Iterator[list[Any]]:
        for contact in self.contacts:
            row: list[Any] = [contact.number, contact.name, contact.timezone, contact.dead]
            row.extend(contact.fields.get(key) for key in self.field_keys)
            for _, values in self.campaign_values(contact):
                row.extend(values[col] for col in CAMPAIGN_COLUMNS)
            yield row


def _write_text(out: Path | str | IO[Any], write: Callable[[IO[str]], None], bom: bool) -> None:
    if isinstance(out, str | Path):
        encoding = "utf-8-sig" if bom else "utf-8"
        with open_private(Path(out), "w", encoding=encoding, newline="") as f:
            write(f)
    else:
        write(out)


def _write_csv(table: _Table, f: IO[str]) -> None:
    writer = csv.writer(f)
    writer.writerow([neutralise_formula(name) for name in table.header])
    for row in table.rows():
        writer.writerow([neutralise_formula(_text(value)) for value in row])


def _write_json(table: _Table, f: IO[str]) -> None:
    f.write("[")
    for index, contact in enumerate(table.contacts):
        record = {
            "number": contact.number,
            "name": contact.name,
            "timezone": contact.timezone,
            "dead": contact.dead,
            "fields": dict(contact.fields),
            "campaigns": dict(table.campaign_values(contact)),
        }
        f.write(",\n" if index else "\n")
        f.write(json.dumps(record, ensure_ascii=False))
    f.write("\n]\n")


def _write_xlsx(table: _Table, out: Path | str | IO[Any]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("contacts")

    def cell(value: Any) -> Any:
        if isinstance(value, dict):
            value = _text(value)
        if not isinstance(value, str):
            return value
        written = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        written.data_type = "s"  # a name like "=HYPERLINK(...)" stays text, never a formula
        return written

    sheet.append([cell(name) for name in table.header])  # a header can be "=HYPERLINK(..)"
    for row in table.rows():
        sheet.append([cell(value) for value in row])
    if isinstance(out, str | Path):
        create_private(Path(out))
    workbook.save(out)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):  # collected answers: one compact JSON cell
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
