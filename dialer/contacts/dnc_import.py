"""Import a do-not-call file (CSV or XLSX: a regulator's register, a client's opt-out
list) into the global list or a campaign's.

The same file handling, number normalisation and reject file as a contact import
(sources.py, numbers.py, importer.RejectFile); only the phone column matters. A file of
bare numbers with no header row (the usual register export) is read as such.

Parsing numbers is the costly step (phonenumbers, pure Python): big files are parsed in
worker processes, in file order, while this process writes batches to the store.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path

import phonenumbers

from dialer.contacts.columns import RejectedRow, map_columns
from dialer.contacts.importer import RejectFile, _worker_count
from dialer.contacts.numbers import InvalidNumber, normalize_e164
from dialer.contacts.sources import ContactFile, ContactFileError, open_contact_file
from dialer.store.base import ContactBase

log = logging.getLogger(__name__)

BATCH_SIZE = 50_000

Parsed = list[str | RejectedRow]


@dataclass
class DncImportReport:
    source: Path
    campaign: str | None  # None: the global list
    rows_read: int = 0
    added: int = 0  # numbers new on the list
    already: int = 0  # on the list already, or repeated in the file
    rejected: int = 0
    rejects: list[RejectedRow] = field(default_factory=list)  # the first ones
    reject_path: Path | None = None  # written only if a row was rejected
    headerless: bool = False  # the file had no header row: bare numbers
    workers: int = 0
    seconds: float = 0.0


async def import_do_not_call(
    store: ContactBase,
    path: Path,
    campaign: str | None,
    default_region: str,
    reject_path: Path,
    phone_column: str | None = None,
    source_label: str | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
) -> DncImportReport:
    """Add every valid number of `path` to the global list (campaign None) or that
    campaign's; rejected rows go to `reject_path`. ContactFileError when the file cannot
    be read at all."""
    started = time.perf_counter()
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ContactFileError(f"unknown default region {default_region!r}: use a code like RU")
    source = await asyncio.to_thread(open_contact_file, path)
    report = DncImportReport(source.path, campaign)
    phone, report.headerless = _phone_index(source, phone_column, region)
    rejects = RejectFile(reject_path, source.header, source.delimiter or ",")
    report.workers = _worker_count(source, workers)
    label = source_label or f"import {source.path.name}"
    now = datetime.now(UTC)
    parse = partial(parse_rows, phone=phone, region=region)
    try:
        async for parsed in _parsed_batches(source, parse, batch_size, report.workers):
            numbers: list[str] = []
            for item in parsed:
                if isinstance(item, str):
                    numbers.append(item)
                else:
                    rejects.add(item)
            report.rows_read += len(parsed)
            added = await store.add_do_not_call(numbers, label, now, campaign)
            report.added += added
            report.already += len(numbers) - added
    finally:
        rejects.close()
    report.rejected = rejects.count
    report.rejects = rejects.kept
    report.reject_path = rejects.path if rejects.count else None
    report.seconds = time.perf_counter() - started
    log.info(
        "do-not-call import %s into %s: %d rows, %d new, %d already listed, %d rejected in %.1f s",
        source.path.name,
        f"campaign {campaign}" if campaign else "the global list",
        report.rows_read,
        report.added,
        report.already,
        report.rejected,
        report.seconds,
    )
    return report


def parse_rows(rows: Sequence[tuple[int, Sequence[str]]], phone: int, region: str) -> Parsed:
    """Each row's number in E.164, or the row rejected with the reason (picklable: runs in
    worker processes)."""
    parsed: Parsed = []
    for number, cells in rows:
        raw = cells[phone].strip() if phone < len(cells) else ""
        try:
            parsed.append(normalize_e164(raw, region))
        except InvalidNumber as exc:
            parsed.append(RejectedRow(number, f"phone: {exc.reason}", tuple(cells)))
    return parsed


def _phone_index(source: ContactFile, phone_column: str | None, region: str) -> tuple[int, bool]:
    """The phone column's index, and whether the first row is data rather than a header."""
    try:
        return map_columns(source.header, phone_column).phone, False
    except ContactFileError as exc:
        if phone_column is None and source.header:
            try:
                normalize_e164(source.header[0], region)
            except InvalidNumber:
                pass
            else:
                source.header_row -= 1  # the first row is a number: read it as data
                source.header = [f"column {i + 1}" for i in range(len(source.header))]
                return 0, True
        raise ContactFileError(f"{source.path.name}: {exc}") from exc


async def _parsed_batches(
    source: ContactFile, parse: partial[Parsed], batch_size: int, workers: int
) -> AsyncIterator[Parsed]:
    rows = source.rows()

    def take() -> list[tuple[int, tuple[str, ...]]]:
        return [(number, tuple(cells)) for number, cells in islice(rows, batch_size)]

    if workers == 0:
        while raw := await asyncio.to_thread(take):
            yield await asyncio.to_thread(parse, raw)
        return
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        pending: deque[asyncio.Future[Parsed]] = deque()
        while True:
            raw = await asyncio.to_thread(take)
            if raw:
                pending.append(loop.run_in_executor(pool, parse, raw))
            # Every worker busy plus one batch read ahead; results stay in file order.
            if pending and (not raw or len(pending) > workers):
                yield await pending.popleft()
            if not raw and not pending:
                return
