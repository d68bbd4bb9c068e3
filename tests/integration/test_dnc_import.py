"""Do-not-call files and the `dialer dnc` commands: real files, a real SQLite store and
the real `dialer` process."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl

from dialer.contacts.dnc_import import import_do_not_call
from dialer.store.base import NewContact
from tests.integration.test_cli import run_dialer
from tests.store_cases import T0, open_test_store

REGISTER = (
    "Телефон;Дата внесения\n"
    "8 (912) 345-67-89;2024-01-01\n"
    "+7 912 345 67 80;2024-01-02\n"
    "79123456789;2024-01-03\n"  # the first number again, written otherwise
    "12345;2024-01-04\n"
    "+7 912 345&PJSIP/999;2024-01-05\n"
    "\n"
    "9123456781;2024-01-06\n"
)


async def test_register_file_lands_normalised_and_bad_rows_are_reported(tmp_path: Path):
    source = tmp_path / "register.csv"
    source.write_text(REGISTER, encoding="cp1251")
    rejects = tmp_path / "rejects.csv"
    async with open_test_store(tmp_path / "d.db") as store:
        await store.import_contacts("a", [NewContact("+79123456780")])
        campaign = await store.open_campaign("spring", "a", T0)
        report = await import_do_not_call(store, source, None, "RU", rejects)
        assert (report.rows_read, report.added, report.already, report.rejected) == (6, 3, 1, 2)
        assert [(r.row_number, r.reason) for r in report.rejects] == [
            (5, "phone: too short"),
            (6, "phone: contains '&': only digits, spaces, +, -, (, ) and . are allowed"),
        ]
        listed = [n for n, _, _ in await store.do_not_call()]
        assert listed == ["+79123456780", "+79123456781", "+79123456789"]
        assert (await store.progress(campaign.id, T0)).done == 1  # retired at once
        again = await import_do_not_call(store, source, "spring", "RU", rejects)
        assert (again.added, again.already) == (3, 1)
        assert await store.do_not_call_among(["+79123456781"], "spring") == {"+79123456781"}
    with rejects.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert rows[0] == ["row", "reason", "Телефон", "Дата внесения"]
    assert [r[0] for r in rows[1:]] == ["5", "6"]


async def test_file_of_bare_numbers_without_header_and_xlsx_numeric_cells(tmp_path: Path):
    bare = tmp_path / "bare.csv"
    bare.write_text("79123456789\n79123456780\nnope\n", encoding="utf-8")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["phone", "note"])
    sheet.append([79123456781, "numeric cell"])
    sheet.append(["8 912 345-67-82", "text"])
    book.save(tmp_path / "list.xlsx")
    async with open_test_store(tmp_path / "d.db") as store:
        report = await import_do_not_call(store, bare, None, "RU", tmp_path / "r1.csv")
        assert report.headerless and (report.rows_read, report.added) == (3, 2)
        assert [(r.row_number, r.reason) for r in report.rejects] == [
            (3, "phone: contains 'n': only digits, spaces, +, -, (, ) and . are allowed")
        ]
        xlsx = await import_do_not_call(
            store, tmp_path / "list.xlsx", "spring", "RU", tmp_path / "r2.csv"
        )
        assert (xlsx.rows_read, xlsx.added, xlsx.rejected) == (2, 2, 0)
        assert await store.do_not_call_among(["+79123456781", "+79123456782"], "spring") == {
            "+79123456781",
            "+79123456782",
        }


async def test_worker_processes_give_the_same_list(tmp_path: Path):
    source = tmp_path / "big.csv"
    lines = ["phone"] + [f"8 912 {i % 1000:03d}-{i // 1000:02d}-{i % 97:02d}" for i in range(3000)]
    lines[100] = "bad&"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = []
    for workers in (0, 2):
        async with open_test_store(tmp_path / f"w{workers}.db") as store:
            report = await import_do_not_call(
                store, source, None, "RU", tmp_path / f"r{workers}.csv",
                batch_size=700, workers=workers,
            )  # fmt: skip
            assert report.workers == workers
            found.append(
                (report.added, report.already, [r.row_number for r in report.rejects],
                 [e.number async for b in store.do_not_call_batches() for e in b])
            )  # fmt: skip
    assert found[0] == found[1]
    assert found[0][2] == [101]


async def test_dnc_commands_as_a_user_runs_them(tmp_path: Path):
    db = str(tmp_path / "dialer.db")
    source = tmp_path / "register.csv"
    source.write_text(REGISTER, encoding="utf-8")
    code, out, err = await run_dialer("--db", db, "dnc", "import", str(source), "--rejects",
                                      str(tmp_path / "rej.csv"))  # fmt: skip
    assert code == 0, err
    assert "6 rows read, 3 numbers added to the global list, 1 already listed, 2 rejected" in out
    assert "row 5: phone: too short" in out

    code, out, err = await run_dialer("--db", db, "dnc", "add", "8 999 123-45-67", "+79991234568",
                                      "--campaign", "spring")  # fmt: skip
    assert code == 0, err
    assert "2 added to campaign spring's list" in out

    code, out, err = await run_dialer("--db", db, "dnc", "check", "89991234567", "89123456789",
                                      "+79990000000")  # fmt: skip
    assert code == 1, err
    lines = dict(line.split("\t") for line in out.strip().splitlines())
    assert lines["+79991234567"].startswith("campaign spring (since ")
    assert lines["+79123456789"].startswith("global (since ") and "import register.csv" in out
    assert lines["+79990000000"] == "not listed"
    code, out, _ = await run_dialer("--db", db, "dnc", "check", "89991234567", "--campaign", "x")
    assert (code, out.strip()) == (0, "+79991234567\tnot listed")

    code, out, err = await run_dialer("--db", db, "dnc", "remove", "89991234567", "--campaign",
                                      "spring")  # fmt: skip
    assert code == 0 and "1 removed from campaign spring's list" in out, err
    code, _, _ = await run_dialer("--db", db, "dnc", "check", "89991234567")
    assert code == 0

    exported = tmp_path / "out.csv"
    code, _, err = await run_dialer("--db", db, "dnc", "export", "-o", str(exported))
    assert code == 0, err
    with exported.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["number"] for r in rows] == ["+79123456780", "+79123456781", "+79123456789"]
    assert {r["list"] for r in rows} == {"global"}
    code, out, _ = await run_dialer("--db", db, "dnc", "export", "--campaign", "spring")
    assert out.splitlines()[1:] and out.splitlines()[1].startswith("+79991234568,spring,")

    bad_inputs = [
        ["add", "12ab"],
        ["check", "+7"],
        ["add", "1", "--region", "XX"],
        ["import", str(tmp_path / "missing.csv")],
        ["add", "89991234567", "--campaign", " "],
    ]
    for bad in bad_inputs:
        code, _, err = await run_dialer("--db", db, "dnc", *bad)
        assert code == 2 and "error:" in err and "Traceback" not in err, (bad, err)

    code, out, _ = await run_dialer("--db", db, "audit", "--format", "json")
    actions = [(e["action"], e["subject"], e["rows"]) for e in json.loads(out)]
    assert actions == [
        ("dnc.export", "dnc:campaign spring", 1),
        ("dnc.export", "dnc:global", 3),
        ("dnc.remove", "dnc:campaign spring", 1),
        ("dnc.add", "dnc:campaign spring", 2),
        ("dnc.import", "dnc:global", 3),
    ]
    assert "+7" not in out  # the audit log names lists and counts, not numbers
