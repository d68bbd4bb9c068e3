"""What the dialer writes is safe to open and private: no spreadsheet formula from
contact data or column names in any file we write (OWASP CSV injection), and contact
data lands in files only their owner can read."""

from __future__ import annotations

import csv
import io
import stat
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from dialer.contacts.cell_safety import neutralise_formula, restore_neutralised
from dialer.contacts.exporter import export_list
from dialer.contacts.importer import import_file
from dialer.control import report as report_view
from dialer.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
EVIL_HEADER = '=HYPERLINK("http://evil/h","hdr")'
SOURCE = (
    f"phone;name;{EVIL_HEADER};@SUM(A1)\n"
    "+79123456780;=HYPERLINK(\"http://evil\");+cmd|' /C calc'!A0;@SUM(1+1)\n"
    '+79123456781;-2+3;\tTAB;"\rCR"\n'
    "not a number;=1+1;x;y\n"  # rejected: goes to the reject file
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def assert_no_formula(cells: list[str]) -> None:
    for cell in cells:
        if cell.startswith(FORMULA_STARTS):
            assert cell.lstrip("+-").replace(" ", "").isdigit(), f"formula cell {cell!r}"


@pytest.fixture
async def store(tmp_path: Path) -> SqliteStore:
    s = await SqliteStore.open(tmp_path / "base" / "dialer.db")
    source = tmp_path / "source.csv"
    source.write_text(SOURCE, encoding="utf-8")
    await import_file(s, source, "clients", "RU", reject_path=tmp_path / "out" / "rejects.csv")
    return s


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1)", "'@SUM(1)"),
        ("-2+3", "'-2+3"),
        ("\tTAB", "'\tTAB"),
        ("+79123456789", "+79123456789"),
        ("+7 (912) 345-67-89", "+7 (912) 345-67-89"),
        ("-5", "-5"),
        ("Иван", "Иван"),
    ],
)
def test_given_a_cell_then_formulas_are_quoted_and_numbers_kept(text: str, written: str) -> None:
    assert neutralise_formula(text) == written
    assert restore_neutralised(written) == text


async def test_given_hostile_cells_when_exported_as_csv_then_no_cell_is_a_formula(
    store: SqliteStore, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "export.csv"
    await export_list(store, "clients", out)
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "number"
    assert f"'{EVIL_HEADER}" in rows[0]  # the header too
    for row in rows:
        assert_no_formula(row)
    await store.close()


async def test_given_hostile_cells_when_exported_as_xlsx_then_no_cell_is_a_formula(
    store: SqliteStore, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "export.xlsx"
    await export_list(store, "clients", out)
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert any(cell.value == EVIL_HEADER for cell in cells)
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    await store.close()


async def test_given_rejected_rows_then_the_reject_file_has_no_formula(
    store: SqliteStore, tmp_path: Path
) -> None:
    with (tmp_path / "out" / "rejects.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert len(rows) == 2
    for row in rows:
        assert_no_formula(row)
    await store.close()


async def test_given_hostile_names_when_reported_as_csv_then_no_formula(
    store: SqliteStore,
) -> None:
    campaign = await store.open_campaign("spring", "clients", T0)
    lines = await store.contact_report(campaign.id)
    out = io.StringIO()
    report_view.write_csv(lines, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert '\'=HYPERLINK("http://evil")' in [row[1] for row in rows]
    for row in rows:
        assert_no_formula(row)
    assert {row[rows[0].index("dead")] for row in rows[1:]} == {"false"}  # as the export
    await store.close()


async def test_given_new_files_then_only_their_owner_can_read_them(
    store: SqliteStore, tmp_path: Path
) -> None:
    await export_list(store, "clients", tmp_path / "out" / "export.csv")
    await export_list(store, "clients", tmp_path / "out" / "export.xlsx")
    await store.close()
    for name in ("base/dialer.db", "out/rejects.csv", "out/export.csv", "out/export.xlsx"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"
    for name in ("base", "out"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o700, f"{name}/ is {oct(mode)}"
    wal = tmp_path / "base" / "dialer.db-wal"
    if wal.exists():
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
