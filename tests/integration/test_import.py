"""import_file against real files and a real SQLite store."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest

from dialer.contacts.importer import ContactFileError, ImportReport, import_file
from dialer.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(tmp_path / "dialer.db")
    yield s
    await s.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


async def contacts_by_number(store: SqliteStore, list_name: str = "clients") -> dict:
    return {c.number: c for c in await store.contacts(list_name)}


async def run(store: SqliteStore, path: Path, **kw: object) -> ImportReport:
    kw.setdefault("reject_path", path.with_suffix(".rejects.csv"))
    return await import_file(store, path, "clients", "RU", **kw)  # type: ignore[arg-type]


# --- encodings and dialects -------------------------------------------------------------
CYRILLIC = (
    "phone,name,город\n8 912 345-67-89,Иванов Пётр,Москва\n+7 495 123 45 67,Ёлкина Анна,Тверь\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
async def test_given_encoding_when_imported_then_cyrillic_text_intact(
    store: SqliteStore, tmp_path: Path, encoding: str
):
    path = write(tmp_path / "c.csv", CYRILLIC, encoding)
    report = await run(store, path)
    assert (report.rows_read, report.inserted, report.rejected) == (2, 2, 0)
    assert report.encoding == encoding
    found = await contacts_by_number(store)
    assert found["+79123456789"].name == "Иванов Пётр"
    assert found["+79123456789"].fields == {"город": "Москва"}
    assert found["+74951234567"].name == "Ёлкина Анна"
    assert found["+74951234567"].timezone == "Europe/Moscow"


def test_cp1251_fixture_really_is_not_utf8():
    raw = CYRILLIC.encode("cp1251")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


async def test_given_file_neither_utf8_nor_cp1251_then_clear_error(
    store: SqliteStore, tmp_path: Path
):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"phone,name\n89123456789,\x98\x00\x01binary\n")
    with pytest.raises(ContactFileError, match=r"not UTF-8 .* nor Windows-1251"):
        await run(store, path)


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
async def test_given_delimiter_when_imported_then_sniffed(
    store: SqliteStore, tmp_path: Path, delimiter: str
):
    rows = [
        ["Телефон", "ФИО", "comment"],
        ["8 (912) 345-67-89", "Иванов, Пётр", "a; b"],
        ["+7 912 000-00-01", "Анна", ""],
    ]
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    report = await run(store, path)
    assert report.delimiter == delimiter
    assert (report.inserted, report.rejected) == (2, 0)
    found = await contacts_by_number(store)
    assert found["+79123456789"].name == "Иванов, Пётр"
    assert found["+79123456789"].fields == {"comment": "a; b"}


async def test_given_single_column_file_then_imported(store: SqliteStore, tmp_path: Path):
    path = write(tmp_path / "c.csv", "msisdn\n79123456789\n79120000001\n")
    report = await run(store, path)
    assert report.inserted == 2


async def test_given_xlsx_with_title_gap_and_numeric_cells_then_imported(
    store: SqliteStore, tmp_path: Path
):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([])  # row 1 blank: the header is the first non-empty row
    sheet.append(["Номер телефона", "Имя", "Часовой пояс", "Сумма долга"])
    sheet.append([79123456789, "Иванов", "Asia/Yekaterinburg", 1500.5])
    sheet.append([89120000001.0, "Петров", None, 200])
    sheet.append(["not a phone", "Сидоров", None, None])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    report = await run(store, path)
    assert (report.rows_read, report.inserted, report.rejected) == (3, 2, 1)
    assert [r.row_number for r in report.rejects] == [5]
    found = await contacts_by_number(store)
    assert found["+79123456789"].timezone == "Asia/Yekaterinburg"
    assert found["+79123456789"].fields == {"Сумма долга": "1500.5"}
    assert found["+79120000001"].name == "Петров"
    assert found["+79120000001"].fields == {"Сумма долга": "200"}


# --- columns ----------------------------------------------------------------------------
async def test_given_no_phone_column_then_error_names_the_columns_found(
    store: SqliteStore, tmp_path: Path
):
    path = write(tmp_path / "c.csv", "client,contact\nИван,89123456789\n")
    expected = "no phone column: the header has 'client', 'contact'"
    with pytest.raises(ContactFileError, match=expected):
        await run(store, path)


async def test_given_phone_column_option_then_that_column_is_dialled(
    store: SqliteStore, tmp_path: Path
):
    path = write(tmp_path / "c.csv", "client,Contact Number,phone\nИван,89123456789,89120000001\n")
    await run(store, path, phone_column="contact  number")
    found = await contacts_by_number(store)
    assert list(found) == ["+79123456789"]
    assert found["+79123456789"].fields == {"client": "Иван", "phone": "89120000001"}
    await run(store, path, phone_column="3")  # or its 1-based position
    assert "+79120000001" in await contacts_by_number(store)
    with pytest.raises(ContactFileError, match="phone column 'mobile' is not in the header"):
        await run(store, path, phone_column="mobile")


async def test_given_explicit_time_zone_then_validated_per_row(store: SqliteStore, tmp_path: Path):
    path = write(
        tmp_path / "c.csv",
        "phone;tz\n89123456789;Asia/Novosibirsk\n89120000001;UTC+3\n89120000002;\n",
    )
    report = await run(store, path)
    assert [(r.row_number, r.reason) for r in report.rejects] == [
        (3, "time zone 'UTC+3' is not an IANA zone name like Europe/Moscow")
    ]
    found = await contacts_by_number(store)
    assert found["+79123456789"].timezone == "Asia/Novosibirsk"
    assert found["+79120000002"].timezone is None  # a mobile: no single zone to infer


# --- duplicates, bad rows, re-import ----------------------------------------------------
async def test_given_duplicates_in_other_formats_then_merged_across_batches(
    store: SqliteStore, tmp_path: Path
):
    path = write(
        tmp_path / "c.csv",
        "phone,name,note\n"
        "8 912 345-67-89,Иван,first\n"
        "89120000001,,\n"
        "+7 (912) 345 67 89,,second\n"
        "79123456789,Иван Петрович,\n",
    )
    report = await run(store, path, batch_size=2)
    assert (report.rows_read, report.inserted, report.merged) == (4, 2, 2)
    found = await contacts_by_number(store)
    assert found["+79123456789"].name == "Иван Петрович"
    assert found["+79123456789"].fields == {"note": "second"}


async def test_given_bad_rows_then_reported_with_row_numbers_and_good_rows_land(
    store: SqliteStore, tmp_path: Path
):
    path = write(
        tmp_path / "c.csv",
        "phone,name\n"  # row 1
        "89123456789,Good One\n"  # row 2
        "123&PJSIP/999,Injector\n"  # row 3
        "\n"  # row 4: blank, skipped but counted like a spreadsheet does
        "12,Short\n"  # row 5
        "89120000001,Good Two\n"  # row 6
        '"123,1",Comma\n'  # row 7
        "89120000002,Extra,surprise\n",  # row 8
    )
    rejects_path = tmp_path / "out" / "rejects.csv"
    report = await run(store, path, reject_path=rejects_path)
    assert (report.rows_read, report.inserted, report.rejected) == (6, 2, 4)
    assert [(r.row_number, r.reason) for r in report.rejects] == [
        (3, "phone: contains '&': only digits, spaces, +, -, (, ) and . are allowed"),
        (5, "phone: too short"),
        (7, "phone: contains ',': only digits, spaces, +, -, (, ) and . are allowed"),
        (8, "3 values but the header has 2 columns (an unquoted separator inside a value?)"),
    ]
    assert report.reject_path == rejects_path
    with rejects_path.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == ["row", "reason", "phone", "name"]
    assert lines[1][:1] + lines[1][2:] == ["3", "123&PJSIP/999", "Injector"]
    assert lines[3][2:] == ["123,1", "Comma"]
    assert lines[4][2:] == ["89120000002", "Extra", "surprise"]
    assert set(await contacts_by_number(store)) == {"+79123456789", "+79120000001"}


async def test_given_no_bad_rows_then_no_reject_file(store: SqliteStore, tmp_path: Path):
    path = write(tmp_path / "c.csv", "phone\n89123456789\n")
    report = await run(store, path)
    assert report.reject_path is None and not path.with_suffix(".rejects.csv").exists()


async def test_default_reject_file_goes_to_current_directory(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "c.csv", "phone\nnope\n")
    report = await import_file(store, path, "Клиенты май", "RU")
    assert report.reject_path is not None
    assert report.reject_path.name.startswith("rejects-Клиенты_май-")
    assert (tmp_path / report.reject_path).exists()
    assert await store.count_contacts("Клиенты май") == 0  # the list exists, empty


async def test_reimport_of_same_file_merges_everything(store: SqliteStore, tmp_path: Path):
    path = write(tmp_path / "c.csv", "phone,name\n89123456789,A\n89120000001,B\n")
    await run(store, path)
    again = await run(store, path)
    assert (again.inserted, again.merged) == (0, 2)
    assert await store.count_contacts("clients") == 2


async def test_worker_processes_give_the_same_result(store: SqliteStore, tmp_path: Path):
    lines = ["phone,name"] + [f"8912{i:07d},Имя {i}" for i in range(300)] + ["bad,row"]
    path = write(tmp_path / "c.csv", "\n".join(lines) + "\n")
    seen: list[int] = []
    report = await run(
        store, path, workers=2, batch_size=50, progress=lambda r: seen.append(r.rows_read)
    )
    assert report.workers == 2
    assert (report.rows_read, report.inserted, report.rejected) == (301, 300, 1)
    assert report.rejects[0].row_number == 302
    assert seen[-1] == 301 and seen == sorted(seen)
    found = await contacts_by_number(store)
    assert found["+79120000299"].name == "Имя 299"


async def test_given_unknown_region_then_error_before_reading(store: SqliteStore, tmp_path: Path):
    path = write(tmp_path / "c.csv", "phone\n89123456789\n")
    with pytest.raises(ContactFileError, match="unknown default region 'XX'"):
        await import_file(store, path, "clients", "XX")


async def test_given_empty_or_missing_file_then_clear_error(store: SqliteStore, tmp_path: Path):
    with pytest.raises(ContactFileError, match="no header row"):
        await run(store, write(tmp_path / "empty.csv", "\n\n"))
    with pytest.raises(ContactFileError, match="no such file"):
        await run(store, tmp_path / "missing.csv")
