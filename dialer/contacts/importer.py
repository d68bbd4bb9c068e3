"""Import a contact file (CSV or XLSX) into a list of the contact store.

Streams the file in batches: constant memory for a million rows, one store transaction
per batch. Bad rows never stop the import: they go to the reject file (all of them) and
to the report (the first MAX_KEPT_REJECTS), and every valid row lands.

Number parsing is the costly step (about 25 µs a row). Files big enough to be worth it
are parsed in worker processes, while this process reads ahead and writes to the store;
small files are parsed in a thread so the event loop stays responsive either way.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import multiprocessing
import os
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

import phonenumbers

from dialer.contacts.cell_safety import neutralise_formula
from dialer.contacts.columns import (
    ColumnMap,
    PackedContact,
    RejectedRow,
    RowParser,
    map_columns,
    unpack,
)
from dialer.contacts.sources import ContactFile, ContactFileError, Row, open_contact_file
from dialer.private_files import open_private
from dialer.store.base import ContactBase, NewContact

log = logging.getLogger(__name__)

MAX_KEPT_REJECTS = 1000
ERASED_REASON = "erased on request"
# Below this size, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024

Parsed = list[NewContact | RejectedRow]


@dataclass
class ImportReport:
    list_name: str
    source: Path
    rows_read: int = 0  # data rows (blank rows are skipped, not counted)
    inserted: int = 0  # new contacts in the list
    merged: int = 0  # duplicates, within the file or of contacts already in the list
    rejected: int = 0
    rejects: list[RejectedRow] = field(default_factory=list)  # the first MAX_KEPT_REJECTS
    reject_path: Path | None = None  # written only if a row was rejected
    columns: ColumnMap | None = None
    encoding: str | None = None  # CSV only
    delimiter: str | None = None  # CSV only
    workers: int = 0  # processes that parsed numbers (0: parsed in this process)
    seconds: float = 0.0


async def import_file(
    store: ContactBase,
    path: str | Path,
    list_name: str,
    default_region: str,
    phone_column: str | None = None,
    reject_path: str | Path | None = None,
    batch_size: int = 5000,
    workers: int | None = None,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import `path` into `list_name`; numbers without + are read as `default_region`.

    `phone_column` names the phone column (or gives its 1-based number) when the header
    does not say it. Rejected rows go to `reject_path` (default:
    ./rejects-<list>-<time>.csv). `workers`: processes parsing numbers (None: one per
    CPU, at most 4, for files of 4 MB or more; 0: none). Raises ContactFileError when
    the file cannot be imported at all; `progress` gets the report (counts so far)
    after each batch.

    Worker processes start with the forkserver method: like any multiprocessing user,
    a script calling this must guard its entry point with `if __name__ == "__main__"`.
    """
    started = time.perf_counter()
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ContactFileError(f"unknown default region {default_region!r}: use a code like RU")
    source = await asyncio.to_thread(open_contact_file, Path(path))
    try:
        columns = map_columns(source.header, phone_column)
    except ContactFileError as exc:
        raise ContactFileError(f"{source.path.name}: {exc}") from exc
    report = ImportReport(
        list_name,
        source.path,
        columns=columns,
        encoding=source.encoding,
        delimiter=source.delimiter,
    )
    rejects = RejectFile(
        Path(reject_path) if reject_path else default_reject_path(list_name),
        source.header,
        source.delimiter or ",",
    )
    parser = RowParser(columns, region)
    report.workers = _worker_count(source, workers)
    try:
        batches = _parsed_batches(source, parser, batch_size, report.workers)
        async with aclosing(batches) as parsed_batches:
            async for parsed in parsed_batches:
                await _store_batch(store, list_name, parsed, report, rejects)
                if progress is not None:
                    progress(report)
        if report.inserted + report.merged == 0:
            await store.import_contacts(list_name, [])  # the list exists even if all failed
    finally:
        rejects.close()
    report.rejects = rejects.kept
    report.reject_path = rejects.path if rejects.count else None
    report.seconds = time.perf_counter() - started
    log.info(
        "imported %s into list %s: %d rows, %d new, %d merged, %d rejected in %.1f s",
        source.path.name,
        list_name,
        report.rows_read,
        report.inserted,
        report.merged,
        report.rejected,
        report.seconds,
    )
    return report


def reject_file_name(list_name: str) -> str:
    slug = re.sub(r"[^\w.-]+", "_", list_name).strip("_") or "list"
    return f"rejects-{slug}-{datetime.now():%Y%m%d-%H%M%S}.csv"


def default_reject_path(list_name: str) -> Path:
    return Path("rejects") / reject_file_name(list_name)


async def _store_batch(
    store: ContactBase,
    list_name: str,
    parsed: Parsed,
    report: ImportReport,
    rejects: RejectFile,
) -> None:
    contacts: list[NewContact] = []
    for item in parsed:
        if isinstance(item, NewContact):
            contacts.append(item)
        else:
            rejects.add(item)
    erased = await store.erased_among(c.number for c in contacts) if contacts else set()
    if erased:
        # The person asked for their data to be erased: the row is not stored, and the
        # reject file gets the row number and the reason only, not their data again.
        for contact in contacts:
            if contact.number in erased:
                rejects.add(RejectedRow(contact.source_row or 0, ERASED_REASON, ()))
        contacts = [c for c in contacts if c.number not in erased]
    report.rows_read += len(parsed)
    report.rejected = rejects.count
    if contacts:
        stats = await store.import_contacts(list_name, contacts)
        report.inserted += stats.inserted
        report.merged += stats.merged


# --- parsing, in a thread or in worker processes -----------------------------------------
def _worker_count(source: ContactFile, wanted: int | None) -> int:
    if wanted is not None:
        return max(0, wanted)
    cpus = os.cpu_count() or 1
    big = source.path.stat().st_size >= PARALLEL_MIN_BYTES
    return min(cpus, 4) if big and cpus > 1 else 0


def _take_and_parse(rows: Iterator[Row], count: int, parser: RowParser) -> Parsed:
    return parser.parse_batch(list(islice(rows, count)))


def _take_tuples(rows: Iterator[Row], count: int) -> list[tuple[int, tuple[str, ...]]]:
    # Tuples, not lists: they unpickle several times faster in the workers.
    return [(number, tuple(cells)) for number, cells in islice(rows, count)]


def _unpack_all(items: list[PackedContact | RejectedRow]) -> Parsed:
    return [item if isinstance(item, RejectedRow) else unpack(item) for item in items]


async def _parsed_batches(
    source: ContactFile, parser: RowParser, batch_size: int, workers: int
) -> AsyncGenerator[Parsed, None]:
    rows = source.rows()
    if workers == 0:
        while parsed := await asyncio.to_thread(_take_and_parse, rows, batch_size, parser):
            yield parsed
        return
    # Fork-free start methods: forking a process that runs an event loop and threads
    # can copy a held lock into the child.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        pending: deque[asyncio.Future[list[PackedContact | RejectedRow]]] = deque()
        while True:
            raw = await asyncio.to_thread(_take_tuples, rows, batch_size)
            if raw:
                pending.append(loop.run_in_executor(pool, parser.parse_batch_packed, raw))
            # Keep every worker busy plus one batch read ahead; results stay in file order.
            if pending and (not raw or len(pending) > workers):
                yield _unpack_all(await pending.popleft())
            if not raw and not pending:
                return


# --- reject file ------------------------------------------------------------------------
class RejectFile:
    """CSV of rejected rows: row, reason, then the original columns. Created on the
    first reject; UTF-8 with BOM so that Excel shows Cyrillic text correctly."""

    def __init__(self, path: Path, header: list[str], delimiter: str) -> None:
        self.path = path
        self.count = 0
        self.kept: list[RejectedRow] = []
        self._header = header
        self._delimiter = delimiter
        self._file: IO[str] | None = None
        self._writer: Any = None  # csv writer; its type is private to the csv module

    def add(self, row: RejectedRow) -> None:
        self.count += 1
        if len(self.kept) < MAX_KEPT_REJECTS:
            self.kept.append(row)
        log.debug("row %d rejected: %s %r", row.row_number, row.reason, row.raw)
        if self._writer is None:
            self._file = open_private(self.path, "w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._file, delimiter=self._delimiter)
            self._writer.writerow(["row", "reason", *map(neutralise_formula, self._header)])
        self._writer.writerow(
            [row.row_number, neutralise_formula(row.reason), *map(neutralise_formula, row.raw)]
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


__all__ = ["MAX_KEPT_REJECTS", "ContactFileError", "ImportReport", "RejectedRow", "import_file"]
