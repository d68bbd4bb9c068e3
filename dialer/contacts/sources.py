"""Contact files (CSV in any common dialect and encoding, XLSX) as a header and rows.

Everything is streamed: a million-row file is read in constant memory. Rows come out as
(row_number, cells) with the row number a spreadsheet would show (1-based, counting
blank rows), so a reject report points at the line a person can find.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from dialer.contacts.cell_safety import restore_neutralised

_CHUNK = 1 << 20
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"
_ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip archive
# More columns than any contact export has; past it a file is not a contact list, and
# the export (XLSX stops at column 16,384) could not write it back.
MAX_COLUMNS = 1000
# Control characters never found in a text export (tab, CR, LF are fine).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))

Row = tuple[int, list[str]]


class ContactFileError(Exception):
    """The file cannot be imported at all (unreadable, no header, no phone column...)."""


@dataclass
class ContactFile:
    """An opened source: `header` is known up front, `rows()` streams the data rows."""

    path: Path
    kind: str  # "csv" or "xlsx"
    header: list[str]
    header_row: int
    encoding: str | None = None  # CSV only
    delimiter: str | None = None  # CSV only

    def rows(self) -> Iterator[Row]:
        """Data rows after the header, blank rows left out."""
        reader = _csv_rows(self) if self.kind == "csv" else _xlsx_rows(self.path)
        for number, cells in reader:
            if number > self.header_row and any(cells):
                yield number, cells


def open_contact_file(path: Path) -> ContactFile:
    """Detect the format (and for CSV the encoding and delimiter) and read the header."""
    if not path.is_file():
        raise ContactFileError(f"{path}: no such file")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic == _ZIP_MAGIC or path.suffix.lower() in (".xlsx", ".xlsm"):
        kind, encoding, delimiter, rows = "xlsx", None, None, _xlsx_rows(path)
    else:
        kind, encoding = "csv", detect_encoding(path)
        delimiter = _sniff_delimiter(path, encoding)
        rows = _csv_reader(path, encoding, delimiter)
    for number, cells in rows:
        if any(cells):
            header = [cell.strip() for cell in cells]
            if len(header) > MAX_COLUMNS:
                raise ContactFileError(
                    f"{path.name}: row {number}: {len(header)} columns; a contact file may "
                    f"have at most {MAX_COLUMNS}"
                )
            return ContactFile(path, kind, header, number, encoding, delimiter)
    raise ContactFileError(f"{path.name}: the file has no header row (it is empty)")


# --- CSV --------------------------------------------------------------------------------
def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1251, else an error.

    The whole file is checked (streamed) rather than a sample: a cp1251 name on line
    900,000 would otherwise break the import half way.
    """
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    utf8_error = _first_undecodable(path, "utf-8")
    if utf8_error is None:
        return "utf-8"
    cp1251_error = _first_undecodable(path, "cp1251")
    if cp1251_error is None:
        return "cp1251"
    raise ContactFileError(
        f"{path.name}: cannot read the file as text: it is not UTF-8 ({utf8_error}) nor"
        f" Windows-1251 ({cp1251_error}); save it as 'CSV UTF-8' or as .xlsx"
    )


def _first_undecodable(path: Path, encoding: str) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            if len(chunk.translate(None, _BINARY_BYTES)) != len(chunk):
                position = min(i for i in (chunk.find(b) for b in _BINARY_BYTES) if i >= 0)
                return f"control byte 0x{chunk[position]:02x} at offset {offset + position}"
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return f"byte 0x{chunk[exc.start]:02x} at offset {offset + exc.start}"
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "truncated character at the end"
    return None


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with path.open(encoding=encoding, newline="") as f:
        sample = f.read(_SNIFF_BYTES)
    if len(sample) == _SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if not delimiter or delimiter not in first_line:
        # The sniffer guesses from consistency across lines and can be fooled (one
        # column, few lines): fall back to the candidate the header uses most.
        counts = {d: first_line.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        delimiter = best if counts[best] else ","
    return delimiter


def _csv_reader(path: Path, encoding: str, delimiter: str) -> Iterator[Row]:
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, [restore_neutralised(cell) for cell in cells]
        except csv.Error as exc:
            raise ContactFileError(f"{path.name}: row {number + 1}: {exc}") from exc


def _csv_rows(source: ContactFile) -> Iterator[Row]:
    assert source.encoding is not None and source.delimiter is not None
    return _csv_reader(source.path, source.encoding, source.delimiter)


# --- XLSX -------------------------------------------------------------------------------
def _xlsx_rows(path: Path) -> Iterator[Row]:
    import openpyxl  # only needed for spreadsheets; keeps CSV imports light

    # openpyxl parses a zip of XML lazily, row by row, and a broken or hostile file fails
    # with whatever its zip, XML or cell parser raises (BadZipFile, ParseError, KeyError,
    # ValueError, zlib.error, ...): every one of them means "not a readable workbook".
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # InvalidFileException included
        raise ContactFileError(f"{path.name}: not a readable .xlsx workbook ({_why(exc)})") from exc
    number = 0
    try:
        sheet = workbook.worksheets[0]
        # Some writers store a wrong sheet size; without this, rows past it are skipped.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [cell_text(value) for value in values]
    except ContactFileError:
        raise
    except Exception as exc:
        raise ContactFileError(
            f"{path.name}: row {number + 1}: not a readable .xlsx workbook ({_why(exc)})"
        ) from exc
    finally:
        workbook.close()


def _why(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person sees (phone numbers often are numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 79123456789.0 -> "79123456789"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


__all__ = ["ContactFile", "ContactFileError", "Row", "cell_text", "detect_encoding"]
