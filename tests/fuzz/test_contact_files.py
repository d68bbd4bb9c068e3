"""Hostile contact files: a couple of hundred malformed CSV and XLSX files (random bytes
named .xlsx, zips with broken workbook XML, mutated CSV exports, absurd widths) are
either imported (good rows in, bad rows to the reject file) or refused with a
ContactFileError that names the file; never a traceback, and the base stays usable."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest

from dialer.contacts.importer import import_file
from dialer.contacts.sources import MAX_COLUMNS, ContactFileError
from dialer.store import open_store

SEED = 20261202
GOOD_CSV = "phone;name;city\n+7 912 345-67-80;Иван Петров;Москва\n89123456781;Мария;Тверь\n"


def workbook_bytes() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["phone", "name"])
    sheet.append(["+79123456780", "Иван"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def broken_workbook(rng: random.Random, good: bytes) -> bytes:
    """The good workbook with one of its XML parts cut, garbled or dropped."""
    source = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    victim = rng.choice([n for n in source.namelist() if n.endswith(".xml")])
    with zipfile.ZipFile(out, "w") as broken:
        for name in source.namelist():
            data = source.read(name)
            if name == victim:
                choice = rng.randrange(3)
                if choice == 0:
                    continue  # a part is missing
                if choice == 1:
                    data = data[: rng.randrange(len(data))]  # truncated XML
                else:
                    at = rng.randrange(len(data))
                    data = data[:at] + bytes(rng.randrange(256) for _ in range(8)) + data[at:]
            broken.writestr(name, data)
    return out.getvalue()


def mutated_csv(rng: random.Random) -> bytes:
    data = bytearray(GOOD_CSV.encode("utf-8") * rng.randrange(1, 4))
    for _ in range(rng.randrange(1, 8)):
        kind = rng.randrange(4)
        at = rng.randrange(len(data) + 1)
        if kind == 0:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5)))
        elif kind == 1:
            data[at:at] = rng.choice([b'"', b";;;", b"\n\n", b"=cmd|' /C calc'!A0", b"\r"])
        elif kind == 2 and data:
            del data[at : at + rng.randrange(1, 10)]
        else:
            data[at:at] = "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(5)).encode()
    return bytes(data)


def cases() -> list[tuple[str, bytes]]:
    rng = random.Random(SEED)
    good = workbook_bytes()
    made: list[tuple[str, bytes]] = []
    for i in range(60):
        made.append((f"random{i}.xlsx", bytes(rng.randrange(256) for _ in range(200))))
    for i in range(60):
        made.append((f"broken{i}.xlsx", broken_workbook(rng, good)))
    for i in range(80):
        made.append((f"mutated{i}.csv", mutated_csv(rng)))
    made.append(("wide.csv", (",".join(f"c{i}" for i in range(100_000)) + "\n").encode()))
    made.append(("empty.xlsx", b""))
    made.append(("zip-bomb-ish.xlsx", b"PK\x03\x04" + b"\x00" * 1000))
    return made


async def test_given_malformed_contact_files_then_imported_or_refused_never_a_crash(
    tmp_path: Path,
) -> None:
    store = await open_store(tmp_path / "fuzz.db")
    outcomes = {"imported": 0, "refused": 0}
    try:
        for name, data in cases():
            path = tmp_path / name
            path.write_bytes(data)
            try:
                await import_file(
                    store,
                    path,
                    "fuzz",
                    default_region="RU",
                    reject_path=tmp_path / f"rejects-{name}.csv",
                    workers=0,
                )
                outcomes["imported"] += 1
            except ContactFileError as exc:
                assert name in str(exc), f"the error must name the file: {exc}"
                outcomes["refused"] += 1
        # The base took what was good and is still usable.
        assert await store.count_contacts("fuzz") >= 1
    finally:
        await store.close()
    assert outcomes["refused"] >= 120  # every random and broken workbook, the wide file
    assert outcomes["imported"] >= 1


def test_given_a_file_wider_than_the_limit_then_refused_with_the_limit(tmp_path: Path) -> None:
    from dialer.contacts.sources import open_contact_file

    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n")
    with pytest.raises(ContactFileError, match=f"at most {MAX_COLUMNS}"):
        open_contact_file(path)
