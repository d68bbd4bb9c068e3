"""`dialer dnc ...`: the do-not-call lists, global and per campaign.

Every change and every export is written to the audit log (who, when, which list, how
many numbers), never the numbers themselves.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rich.console import Console

from dialer.control.commands import audit, default_reject_path, opened_store
from dialer.control.terminal import EXIT_FAILED, EXIT_OK, CliError
from dialer.private_files import open_private
from dialer.store import ContactStore
from dialer.store.person_records import DoNotCallEntry

if TYPE_CHECKING:
    from dialer.contacts.dnc_import import DncImportReport


async def dnc(args: argparse.Namespace, console: Console) -> int:
    handlers = {"import": _import, "add": _add, "remove": _remove, "check": _check}
    if args.dnc_command == "export":
        return await _export(args)
    return await handlers[args.dnc_command](args, console)


def list_label(campaign: str | None) -> str:
    return "the global list" if campaign is None else f"campaign {campaign}'s list"


def audit_subject(campaign: str | None) -> str:
    return "dnc:global" if campaign is None else f"dnc:campaign {campaign}"


def normalised(numbers: list[str], region: str) -> list[str]:
    """Numbers typed on the command line, read like an import's (`--region` for those
    without +); the first bad one stops the command with its reason."""
    import phonenumbers

    from dialer.contacts.numbers import InvalidNumber, normalize_e164

    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise CliError(f"unknown region {region!r}: use a code like RU")
    found: list[str] = []
    for raw in numbers:
        try:
            found.append(normalize_e164(raw, region))
        except InvalidNumber as exc:
            raise CliError(f"{raw!r} is not a number to list: {exc.reason}") from None
    return found


def _campaign(args: argparse.Namespace) -> str | None:
    campaign: str | None = args.campaign
    if campaign is not None and not campaign.strip():
        raise CliError("--campaign needs a campaign name")
    return campaign


async def _import(args: argparse.Namespace, console: Console) -> int:
    from dialer.contacts.sources import ContactFileError

    campaign = _campaign(args)
    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file")
    reject_path = args.rejects or default_reject_path(args.db, f"dnc-{campaign or 'global'}")
    async with opened_store(args) as store:
        try:
            result = await import_numbers(
                store, args.file, args.file.name, campaign, args.region, reject_path,
                args.phone_column, args.source,
            )  # fmt: skip
        except ContactFileError as exc:
            raise CliError(str(exc)) from exc
    console.print(
        f"{args.file}: {result.rows_read} rows read, {result.added} numbers added to"
        f" {list_label(campaign)}, {result.already} already listed, {result.rejected} rejected"
        f" ({result.seconds:.1f} s)",
        highlight=False,
    )
    for row in result.rejects[:10]:
        console.print(f"  row {row.row_number}: {row.reason}", highlight=False)
    if result.rejected:
        if result.rejected > 10:
            console.print(f"  ... and {result.rejected - 10} more", highlight=False)
        console.print(f"rejected rows written to {result.reject_path}", highlight=False)
    return EXIT_OK


async def _add(args: argparse.Namespace, console: Console) -> int:
    campaign = _campaign(args)
    numbers = normalised(args.numbers, args.region)
    async with opened_store(args) as store:
        added = await add_numbers(store, numbers, args.source, campaign)
    console.print(
        f"{added} added to {list_label(campaign)}, {len(set(numbers)) - added} already there",
        highlight=False,
    )
    return EXIT_OK


async def _remove(args: argparse.Namespace, console: Console) -> int:
    campaign = _campaign(args)
    numbers = normalised(args.numbers, args.region)
    async with opened_store(args) as store:
        removed, erased = await remove_numbers(store, numbers, campaign)
    for number in sorted(erased):
        console.print(
            f"[yellow]warning:[/] {number} was listed because its person's data was erased"
            " on request: it can now be imported and called again",
            highlight=False,
        )
    console.print(
        f"{removed} removed from {list_label(campaign)},"
        f" {len(set(numbers)) - removed} were not on it",
        highlight=False,
    )
    return EXIT_OK


async def _check(args: argparse.Namespace, console: Console) -> int:
    """Exit 0 when no number is listed (clear to call), 1 when one is."""
    campaign = _campaign(args)
    numbers = normalised(args.numbers, args.region)
    async with opened_store(args) as store:
        found = await check_numbers(store, numbers, campaign)
    listed = False
    for number, held in found.items():
        listed = listed or bool(held)
        where = "; ".join(
            f"{'global' if e.campaign is None else 'campaign ' + e.campaign}"
            f" (since {e.added_at:%Y-%m-%d %H:%M} UTC, {e.source})"
            for e in held
        )
        print(f"{number}\t{where or 'not listed'}")  # tab-separated, for scripts too
    return EXIT_FAILED if listed else EXIT_OK


# --- shared by these commands and the API (dialer.control.service.http_dnc) ------------
async def add_numbers(
    store: ContactStore, numbers: list[str], source: str, campaign: str | None,
    who: str | None = None,
) -> int:  # fmt: skip
    """Numbers (E.164) onto a list, audited; returns how many were new on it."""
    added = await store.add_do_not_call(numbers, source, datetime.now(UTC), campaign)
    await audit(store, "dnc.add", audit_subject(campaign), f"source {source}", added, who)
    return added


async def remove_numbers(
    store: ContactStore, numbers: list[str], campaign: str | None, who: str | None = None
) -> tuple[int, set[str]]:
    """(how many were removed, the numbers listed by an erasure among them), audited."""
    erased = await store.erased_among(numbers) if campaign is None else set()
    removed = await store.remove_do_not_call(numbers, campaign)
    await audit(store, "dnc.remove", audit_subject(campaign), "", removed, who)
    return removed, erased


async def check_numbers(
    store: ContactStore, numbers: list[str], campaign: str | None
) -> dict[str, list[DoNotCallEntry]]:
    """Each number (in the order given, once) with the entries that list it; with a
    campaign, only the lists that bind it (the global one and its own)."""
    entries = await store.do_not_call_entries(numbers)
    if campaign is not None:
        entries = [e for e in entries if e.campaign in (None, campaign)]
    return {n: [e for e in entries if e.number == n] for n in dict.fromkeys(numbers)}


async def import_numbers(
    store: ContactStore, file: Path, file_name: str, campaign: str | None, region: str,
    reject_path: Path, phone_column: str | None, source: str | None, who: str | None = None,
) -> DncImportReport:  # fmt: skip
    """A do-not-call file onto a list, audited (ContactFileError if it cannot be read)."""
    from dialer.contacts.dnc_import import import_do_not_call

    result = await import_do_not_call(
        store, file, campaign, region, reject_path, phone_column=phone_column,
        source_label=source,
    )  # fmt: skip
    subject = audit_subject(campaign)
    await audit(store, "dnc.import", subject, f"from {file_name}", result.added, who)
    return result


async def _export(args: argparse.Namespace) -> int:
    campaign = _campaign(args)
    where = str(args.output) if args.output else "stdout"
    async with opened_store(args) as store:
        # Counted first: the audit entry is written before any number leaves the base.
        count = sum([len(batch) async for batch in store.do_not_call_batches(campaign)])
        await audit(store, "dnc.export", audit_subject(campaign), f"csv to {where}", count)
        try:
            out: IO[str] = (
                open_private(args.output, "w", encoding="utf-8", newline="")
                if args.output
                else sys.stdout
            )
        except OSError as exc:
            raise CliError(f"{args.output}: {exc.strerror}") from exc
        try:
            writer = csv.writer(out)
            writer.writerow(["number", "list", "added_at", "source"])
            async for batch in store.do_not_call_batches(campaign):
                writer.writerows(
                    [e.number, e.campaign or "global", e.added_at.isoformat(), e.source]
                    for e in batch
                )
        finally:
            if out is not sys.stdout:
                out.close()
    return EXIT_OK
