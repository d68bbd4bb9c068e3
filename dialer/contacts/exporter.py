"""Export a contact list, with where each contact stands in every campaign on the list.

One row per contact: number, name, timezone, dead, the custom fields (union of keys over
the list), then for each campaign on the list (or only `campaign`):
`<campaign>.status`, `.attempts`, `.last_outcome`, `.final_outcome`, `.next_due_at`.
The importer recognises `dead` and the campaign columns and does not import them as
custom fields, so an exported file can be imported again.

Formats: csv (UTF-8; with a BOM when written to a file so that Excel shows Cyrillic
text), xlsx, json (an array of objects with "fields" and "campaigns" nested).
The list and the campaigns' reports are read a page at a time: memory does not grow
with the list (scripts/bench-export).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Awaitable, Callable
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
    xlsx). `fmt` defaults to the path's suffix. Returns the number of contacts.

    Streamed: one pass collects the custom field names, a second writes the rows, each
    reading the list (and each campaign's report) a page at a time, so memory does not
    grow with the list."""
    fmt = export_format(out, fmt)
    campaigns = await _campaigns(store, list_name, campaign)
    table = _Table(store, list_name, campaigns, await _field_keys(store, list_name))
    if fmt == "csv":
        await _write_text(out, table, _write_csv, bom=True)
    elif fmt == "json":
        await _write_text(out, table, _write_json, bom=False)
    else:
        await _write_xlsx(table, out)
    return table.written


async def _field_keys(store: ContactBase, list_name: str) -> list[str]:
    keys: dict[str, None] = {}  # insertion-ordered set: first appearance decides order
    async for batch in store.contact_batches(list_name):
        for contact in batch:
            keys.update(dict.fromkeys(contact.fields))
    return list(keys)


def export_format(out: Path | str | IO[Any], fmt: str | None) -> str:
    """`fmt`, else the output file's suffix; ValueError for a stream without a format
    or a format (or suffix) that is not csv, xlsx or json."""
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
    """The export as a header and a stream of rows, shared by the three formats."""

    def __init__(
        self,
        store: ExportSource,
        list_name: str,
        campaigns: list[CampaignRecord],
        field_keys: list[str],
    ) -> None:
        self._store = store
        self._list_name = list_name
        self._campaigns = campaigns
        self.field_keys = field_keys
        self.header = [
            *BASE_COLUMNS,
            *field_keys,
            *(f"{c.name}.{col}" for c in campaigns for col in CAMPAIGN_COLUMNS),
        ]
        self.written = 0

    async def contacts(self) -> AsyncIterator[tuple[ContactRecord, dict[str, dict[str, Any]]]]:
        """Each contact with its values in every campaign, in contact id order: the
        campaigns' reports are read alongside, page by page (a merge on the id)."""
        cursors = [_ReportCursor(self._store, c) for c in self._campaigns]
        async for batch in self._store.contact_batches(self._list_name):
            for contact in batch:
                values = {}
                for cursor in cursors:
                    values[cursor.name] = _campaign_values(await cursor.find(contact.id))
                self.written += 1
                yield contact, values

    async def rows(self) -> AsyncIterator[list[Any]]:
        async for contact, campaigns in self.contacts():
            row: list[Any] = [contact.number, contact.name, contact.timezone, contact.dead]
            row.extend(contact.fields.get(key) for key in self.field_keys)
            for values in campaigns.values():
                row.extend(values[col] for col in CAMPAIGN_COLUMNS)
            yield row


class _ReportCursor:
    """One campaign's report, read forward in contact id order as the export asks."""

    def __init__(self, store: Reports, campaign: CampaignRecord) -> None:
        self.name = campaign.name
        self._pages = store.contact_report_batches(campaign.id)
        self._page: list[ContactReport] = []
        self._at = 0
        self._done = False

    async def find(self, contact_id: int) -> ContactReport | None:
        while not self._done:
            while self._at < len(self._page) and self._page[self._at].contact_id < contact_id:
                self._at += 1
            if self._at < len(self._page):
                found = self._page[self._at]
                return found if found.contact_id == contact_id else None
            try:
                self._page, self._at = await anext(self._pages), 0
            except StopAsyncIteration:
                self._done = True
        return None


def _campaign_values(report: ContactReport | None) -> dict[str, Any]:
    if report is None:  # on the list but not enrolled (imported after the start)
        return dict.fromkeys(CAMPAIGN_COLUMNS)
    return {
        "status": report.status.value,
        "attempts": report.attempts,
        "last_outcome": report.last_outcome.value if report.last_outcome else None,
        "final_outcome": report.final_outcome.value if report.final_outcome else None,
        "next_due_at": _iso(report.next_due_at),
        "answers": dict(report.last_answers) or None,
    }


TextWriter = Callable[[_Table, IO[str]], Awaitable[None]]


async def _write_text(
    out: Path | str | IO[Any], table: _Table, write: TextWriter, bom: bool
) -> None:
    if isinstance(out, str | Path):
        encoding = "utf-8-sig" if bom else "utf-8"
        with open_private(Path(out), "w", encoding=encoding, newline="") as f:
            await write(table, f)
    else:
        await write(table, out)


async def _write_csv(table: _Table, f: IO[str]) -> None:
    writer = csv.writer(f)
    writer.writerow([neutralise_formula(name) for name in table.header])
    async for row in table.rows():
        writer.writerow([neutralise_formula(_text(value)) for value in row])


async def _write_json(table: _Table, f: IO[str]) -> None:
    f.write("[")
    index = 0
    async for contact, campaigns in table.contacts():
        record = {
            "number": contact.number,
            "name": contact.name,
            "timezone": contact.timezone,
            "dead": contact.dead,
            "fields": dict(contact.fields),
            "campaigns": campaigns,
        }
        f.write(",\n" if index else "\n")
        f.write(json.dumps(record, ensure_ascii=False))
        index += 1
    f.write("\n]\n")


async def _write_xlsx(table: _Table, out: Path | str | IO[Any]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # Write-only mode streams rows to a temporary file: memory stays flat.
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
    async for row in table.rows():
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
