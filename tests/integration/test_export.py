"""export_list: formats, campaign columns, and export -> import round trips."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from dialer.contacts.exporter import export_list
from dialer.contacts.importer import import_file
from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import AttemptResult, NextStep, StoreError
from dialer.store.sqlite import SqliteStore

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SOURCE = (
    "Телефон;ФИО;tz;Город;Сумма\n"
    "8 912 345-67-89;Иванов Пётр;Asia/Yekaterinburg;Екатеринбург;1500\n"
    '+7 495 123 45 67;=HYPERLINK("http://x");;Москва;\n'
    "89120000001;;;;300\n"
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(tmp_path / "dialer.db")
    source = tmp_path / "source.csv"
    source.write_text(SOURCE, encoding="utf-8")
    report = await import_file(s, source, "clients", "RU", reject_path=tmp_path / "r.csv")
    assert report.inserted == 3
    yield s
    await s.close()


async def _call_first_contact(store: SqliteStore) -> None:
    """One campaign in which the first contact got a busy signal and waits for a retry."""
    campaign = await store.open_campaign("spring", "clients", T0)
    [lease] = await store.lease_due(campaign.id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    await store.finish_attempt(
        AttemptResult("a-1", Outcome.BUSY, T0 + timedelta(seconds=20), cause=17),
        NextStep(ContactStatus.PENDING, due_at=T0 + timedelta(hours=2)),
    )


def _snapshot(contacts: list) -> list[tuple]:
    return sorted((c.number, c.name, c.timezone, dict(c.fields)) for c in contacts)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_export_then_import_gives_the_same_contacts(
    store: SqliteStore, tmp_path: Path, fmt: str
):
    await _call_first_contact(store)  # campaign columns must not come back as fields
    out = tmp_path / f"export.{fmt}"
    assert await export_list(store, "clients", out) == 3
    report = await import_file(store, out, "copy", "RU", reject_path=tmp_path / "r2.csv")
    assert (report.inserted, report.rejected) == (3, 0)
    assert _snapshot(await store.contacts("copy")) == _snapshot(await store.contacts("clients"))


async def test_csv_has_base_columns_fields_and_campaign_columns(store: SqliteStore, tmp_path: Path):
    await _call_first_contact(store)
    out = tmp_path / "export.csv"
    await export_list(store, "clients", out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel shows Cyrillic
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "number",
        "name",
        "timezone",
        "dead",
        "Город",
        "Сумма",
        "spring.status",
        "spring.attempts",
        "spring.last_outcome",
        "spring.final_outcome",
        "spring.next_due_at",
        "spring.answers",
    ]
    first = rows[0]
    assert (first["number"], first["name"]) == ("+79123456789", "Иванов Пётр")
    assert first["dead"] == "false"
    assert (first["Город"], first["Сумма"]) == ("Екатеринбург", "1500")
    assert (first["spring.status"], first["spring.attempts"]) == ("pending", "1")
    assert first["spring.last_outcome"] == "busy" and first["spring.final_outcome"] == ""
    assert first["spring.next_due_at"] == "2025-03-01T11:00:00+00:00"
    assert rows[1]["spring.status"] == "pending" and rows[1]["spring.attempts"] == "0"


async def test_csv_to_a_stream_has_no_bom(store: SqliteStore):
    buffer = io.StringIO()
    await export_list(store, "clients", buffer, "csv")
    assert buffer.getvalue().startswith("number,name,timezone,dead,")


async def test_json_nests_fields_and_campaigns(store: SqliteStore, tmp_path: Path):
    await _call_first_contact(store)
    out = tmp_path / "export.json"
    await export_list(store, "clients", out)
    records = json.loads(out.read_text(encoding="utf-8"))
    assert records[0] == {
        "number": "+79123456789",
        "name": "Иванов Пётр",
        "timezone": "Asia/Yekaterinburg",
        "dead": False,
        "fields": {"Город": "Екатеринбург", "Сумма": "1500"},
        "campaigns": {
            "spring": {
                "status": "pending",
                "attempts": 1,
                "last_outcome": "busy",
                "final_outcome": None,
                "next_due_at": "2025-03-01T11:00:00+00:00",
                "answers": None,
            }
        },
    }
    assert "Иванов" in out.read_text(encoding="utf-8")  # UTF-8, not \u escapes


async def test_xlsx_keeps_formula_like_text_as_text(store: SqliteStore, tmp_path: Path):
    out = tmp_path / "export.xlsx"
    await export_list(store, "clients", out)
    sheet = openpyxl.load_workbook(out).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][1] == '=HYPERLINK("http://x")'
    assert sheet.cell(row=3, column=2).data_type == "s"


async def test_campaign_option_limits_columns_to_that_campaign(store: SqliteStore, tmp_path: Path):
    await _call_first_contact(store)
    await store.open_campaign("autumn", "clients", T0)
    buffer = io.StringIO()
    await export_list(store, "clients", buffer, "csv", campaign="autumn")
    header = buffer.getvalue().splitlines()[0].split(",")
    assert [h for h in header if "." in h] == [
        "autumn.status",
        "autumn.attempts",
        "autumn.last_outcome",
        "autumn.final_outcome",
        "autumn.next_due_at",
        "autumn.answers",
    ]
    with pytest.raises(StoreError, match="no campaign 'winter' on contact list 'clients'"):
        await export_list(store, "clients", io.StringIO(), "csv", campaign="winter")


async def test_export_errors(store: SqliteStore, tmp_path: Path):
    with pytest.raises(StoreError, match="unknown contact list"):
        await export_list(store, "nope", tmp_path / "x.csv")
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        await export_list(store, "clients", tmp_path / "x.pdf")
    with pytest.raises(ValueError, match="give the export format"):
        await export_list(store, "clients", io.StringIO())


async def test_given_a_list_longer_than_a_page_then_the_streamed_export_has_every_contact(
    tmp_path: Path,
) -> None:
    """4,500 contacts (three pages), a campaign that enrolled the first 3,000 and called
    some of them: every contact once, in id order, with its campaign columns (empty for
    those imported after the campaign started)."""
    from dialer.store.base import NewContact

    s = await SqliteStore.open(tmp_path / "pages.db")
    await s.import_contacts("big", [NewContact(number=f"+7912{i:07d}") for i in range(3000)])
    campaign = await s.open_campaign("spring", "big", T0)
    for n, lease in enumerate(await s.lease_due(campaign.id, T0, 2500)):
        await s.start_attempt(lease, f"a-{n}", T0)
        await s.finish_attempt(
            AttemptResult(f"a-{n}", Outcome.BUSY, T0 + timedelta(seconds=20), cause=17),
            NextStep(ContactStatus.PENDING, due_at=T0 + timedelta(hours=2)),
        )
    await s.import_contacts("big", [NewContact(number=f"+7913{i:07d}") for i in range(1500)])
    out = tmp_path / "big.csv"
    assert await export_list(s, "big", out) == 4500
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["number"] for r in rows] == [c.number for c in await s.contacts("big")]
    assert sum(r["spring.attempts"] == "1" for r in rows) == 2500
    assert sum(r["spring.status"] == "pending" for r in rows) == 3000
    assert all(r["spring.status"] == "" for r in rows[3000:])
    batches = [len(b) async for b in s.contact_report_batches(campaign.id, 1000)]
    assert batches == [1000, 1000, 1000]
    await s.close()
