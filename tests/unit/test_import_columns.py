"""Header matching and row parsing of the importer, without files or a store."""

from __future__ import annotations

import pytest

from dialer.contacts.columns import RejectedRow, RowParser, map_columns
from dialer.contacts.sources import ContactFileError, cell_text
from dialer.store.base import NewContact


@pytest.mark.parametrize(
    "header",
    [
        ["Phone"],
        [" PHONE NUMBER "],
        ["phone_number"],
        ["Телефон"],
        ["Номер телефона"],
        ["MSISDN"],
        ["tel."],
        ["Mobile-Phone"],
    ],
)
def test_phone_header_found_whatever_the_case_and_spacing(header: list[str]):
    assert map_columns(header).phone == 0


def test_phone_beats_mobile_and_the_loser_becomes_a_field():
    columns = map_columns(["Mobile", "ФИО", "Phone", "TZ", "Город"])
    assert (columns.phone, columns.name, columns.timezone) == (2, 1, 3)
    assert columns.fields == ((0, "Mobile"), (4, "Город"))


def test_fields_keep_header_text_and_make_duplicates_and_blanks_unique():
    columns = map_columns(["phone", "Note", "Note", "", "x.status", "dead"])
    assert columns.fields == ((1, "Note"), (2, "Note (2)"), (3, "column 4"))


def test_missing_phone_column_lists_what_was_found():
    with pytest.raises(ContactFileError, match="the header has 'client', 'Сумма'"):
        map_columns(["client", "Сумма", ""])


def test_row_parser_builds_contact_with_inferred_time_zone():
    parser = RowParser(map_columns(["phone", "name", "city"]), "RU")
    contact = parser.parse(2, [" 8 (495) 123-45-67 ", " Анна ", ""])
    assert contact == NewContact(
        number="+74951234567", name="Анна", timezone="Europe/Moscow", fields={}, source_row=2
    )


def test_row_parser_rejects_with_the_raw_cells():
    parser = RowParser(map_columns(["phone", "name"]), "RU")
    rejected = parser.parse(7, ["123&PJSIP/999", "x"])
    assert isinstance(rejected, RejectedRow)
    assert rejected.row_number == 7 and rejected.raw == ("123&PJSIP/999", "x")
    assert rejected.reason.startswith("phone: contains '&'")


def test_short_rows_are_padded_and_trailing_empty_cells_ignored():
    parser = RowParser(map_columns(["phone", "name", "city"]), "RU")
    assert isinstance(parser.parse(2, ["89123456789"]), NewContact)
    assert isinstance(parser.parse(3, ["89123456789", "A", "B", "", " "]), NewContact)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (79123456789, "79123456789"),
        (79123456789.0, "79123456789"),
        (1.5, "1.5"),
        (True, "true"),
        (" x ", "x"),
    ],
)
def test_spreadsheet_cells_become_the_text_a_person_sees(value: object, text: str):
    assert cell_text(value) == text


@pytest.mark.parametrize(
    "header",
    [
        ["phone", "consent_date", "consent_source", "consent_scope"],
        ["phone", "Consent Date", "Consent-Source", "Consent purposes"],
        ["Телефон", "Дата согласия", "Источник согласия", "Цели согласия"],
    ],
)
def test_consent_columns_land_in_fields_under_their_exact_keys(header: list[str]):
    columns = map_columns(header)
    assert [key for _, key in columns.fields] == ["consent_date", "consent_source", "consent_scope"]
    parsed = RowParser(columns, "RU").parse(2, ["89123456789", "01.05.2024", "web", "all"])
    assert isinstance(parsed, NewContact)
    assert parsed.fields == {
        "consent_date": "01.05.2024",
        "consent_source": "web",
        "consent_scope": "all",
    }
