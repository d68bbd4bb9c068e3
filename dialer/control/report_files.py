"""A campaign's report as files: every contact's row as an XLSX workbook, and the
aggregate figures (no contact data) as rows of (figure, key, value) for CSV and XLSX,
or as one JSON object."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import IO, Any

from dialer.contacts.cell_safety import neutralise_formula
from dialer.control.report import (
    REPORT_COLUMNS,
    ReportTotals,
    _csv_cell,
    nps_of,
    report_row,
)
from dialer.private_files import create_private
from dialer.store.base import ContactReport

SUMMARY_COLUMNS = ("figure", "key", "value")


async def save_report_xlsx(batches: AsyncIterable[list[ContactReport]], path: Path) -> int:
    """Every contact's report row into a workbook at `path` (write-only: rows go to a
    temporary file as they come, memory stays flat); returns the rows written."""
    rows = 0

    async def values() -> AsyncIterable[list[Any]]:
        nonlocal rows
        async for batch in batches:
            for line in batch:
                rows += 1
                yield [_csv_cell(v) for v in report_row(line).values()]

    await save_xlsx("report", list(REPORT_COLUMNS), values(), path)
    return rows


async def save_xlsx(
    sheet_name: str, header: list[str], rows: AsyncIterable[list[Any]], path: Path
) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        written = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        written.data_type = "s"  # text stays text, never a formula
        return written

    sheet.append([cell(name) for name in header])
    async for row in rows:
        sheet.append([cell(value) for value in row])
    create_private(path)
    workbook.save(path)


def summary_json(campaign: str, totals: ReportTotals) -> dict[str, Any]:
    return {
        "campaign": campaign,
        "contacts": totals.contacts,
        "attempts": totals.attempts,
        "reached": totals.reached,
        "do_not_call": totals.do_not_call,
        "results": dict(totals.results),
        "temperatures": dict(totals.temperatures),
        "survey": {
            question: {
                "answers": {str(k): v for k, v in counts.items()},
                "nps": nps_of(counts),
            }
            for question, counts in totals.survey.items()
        },
        "pbx_failures": totals.pbx_failures,
        "script_errors": totals.script_errors,
        "messages_left": totals.messages_left,
    }


def summary_rows(summary: dict[str, Any]) -> Iterable[list[Any]]:
    """The figures as (figure, key, value) rows: one per count."""
    for figure, value in summary.items():
        if figure == "survey":
            for question, found in value.items():
                for answer, count in found["answers"].items():
                    yield [f"survey.{question}", answer, count]
                if found["nps"] is not None:
                    yield [f"survey.{question}", "nps", found["nps"]]
        elif isinstance(value, dict):
            for key, count in value.items():
                yield [figure, key, count]
        else:
            yield [figure, "", value]


def write_summary_csv(summary: dict[str, Any], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(SUMMARY_COLUMNS)
    for row in summary_rows(summary):
        writer.writerow([neutralise_formula(str(v)) for v in row])
