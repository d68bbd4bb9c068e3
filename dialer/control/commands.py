"""One function per CLI command: parse nothing, print results, return the exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from dialer.campaign.ami_secret import resolve_ami_secret
from dialer.campaign.errors import CampaignError
from dialer.campaign.loader import load_campaign
from dialer.campaign.model import Campaign
from dialer.campaign.schema import campaign_json_schema
from dialer.control import app
from dialer.control import report as report_view
from dialer.control.foreground import execute_campaign
from dialer.control.terminal import EXIT_OK, CliError, install_stop_handlers, print_json
from dialer.private_files import open_private
from dialer.store import ContactStore, StoreError, sqlite_location
from ivr.script import IvrScript


@contextlib.asynccontextmanager
async def opened_store(args: argparse.Namespace) -> AsyncIterator[ContactStore]:
    try:
        async with app.opened_store(args.db) as store:
            yield store
    except StoreError as exc:
        raise CliError(str(exc)) from exc


def load_campaign_file(path: Path) -> Campaign:
    try:
        return load_campaign(path)
    except CampaignError as exc:
        raise CliError(str(exc)) from exc


# --- contacts -----------------------------------------------------------------------------
async def contacts(args: argparse.Namespace, console: Console) -> int:
    if args.contacts_command == "import":
        return await _import(args, console)
    if args.contacts_command == "export":
        return await _export(args)
    async with opened_store(args) as store:
        for name in await store.list_names():
            console.print(f"{name}\t{await store.count_contacts(name)} contacts", highlight=False)
    return EXIT_OK


async def _import(args: argparse.Namespace, console: Console) -> int:
    from dialer.contacts.importer import import_file
    from dialer.contacts.sources import ContactFileError

    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file")
    reject_path = args.rejects or default_reject_path(args.db, args.list_name)
    async with opened_store(args) as store:
        try:
            result = await import_file(
                store,
                args.file,
                args.list_name,
                default_region=args.region.upper(),
                phone_column=args.phone_column,
                reject_path=reject_path,
            )
        except ContactFileError as exc:
            raise CliError(str(exc)) from exc
    console.print(
        f"{args.file}: {result.rows_read} rows read, {result.inserted} new contacts, "
        f"{result.merged} merged duplicates, {result.rejected} rejected "
        f"-> list {args.list_name!r}",
        highlight=False,
    )
    for row in result.rejects[:10]:
        console.print(f"  row {row.row_number}: {row.reason}", highlight=False)
    if result.rejected:
        more = result.rejected - min(10, len(result.rejects))
        if more > 0:
            console.print(f"  ... and {more} more", highlight=False)
        console.print(f"rejected rows written to {result.reject_path}", highlight=False)
    return EXIT_OK


def default_reject_path(db: str | None, list_name: str) -> Path:
    """Rejected rows hold contact data: by default they go next to the contact base, in
    its private `rejects/` folder (0700), not into whatever folder the command ran in."""
    from dialer.contacts.importer import reject_file_name

    location = sqlite_location(db)
    base_dir = Path.cwd() if location == ":memory:" else Path(location).resolve().parent
    return base_dir / "rejects" / reject_file_name(list_name)


async def _export(args: argparse.Namespace) -> int:
    from dialer.contacts.exporter import export_format

    try:  # the same rule as the export itself: --format, else the file's suffix
        fmt = export_format(
            args.output or sys.stdout, args.format or (None if args.output else "csv")
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if fmt == "xlsx" and args.output is None:
        raise CliError("--format xlsx needs --output FILE")
    async with opened_store(args) as store:
        where = str(args.output) if args.output else "stdout"
        await export_audited(store, args.list_name, args.output or sys.stdout, fmt, where)
    return EXIT_OK


async def export_audited(
    store: ContactStore,
    list_name: str,
    out: Path | IO[Any],
    fmt: str,
    where: str,
    who: str | None = None,
) -> int:
    """A list's export, written to the audit log first (`dialer contacts export` and the
    API's); returns the rows the audit entry counts."""
    from dialer.contacts.exporter import export_list

    rows = await store.count_contacts(list_name)
    await audit(store, "contacts.export", list_name, f"{fmt} to {where}", rows, who)
    await export_list(store, list_name, out, fmt)
    return rows


async def audit(
    store: ContactStore, action: str, subject: str, detail: str, rows: int, who: str | None = None
) -> None:
    """Contact data leaves the base: written down before it does (a reader that stops
    half way, or a crash, must not leave an export untraced). `who`: the API's caller;
    by default the user running the command."""
    await store.record_audit(datetime.now(UTC), who or actor(), action, subject, detail, rows)


def actor() -> str:
    """Who runs this command: user@host (the service's API will name its token's user)."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


async def audit_log(args: argparse.Namespace, console: Console) -> int:
    async with opened_store(args) as store:
        entries = await store.audit_entries(args.limit)
    if args.format == "json":
        print_json([{**asdict(e), "at": e.at.isoformat()} for e in entries])
        return EXIT_OK
    table = Table(title="Contact data taken out of the base (latest first)")
    for column in ("when (UTC)", "who", "what", "list / campaign", "detail", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for e in entries:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.subject, e.detail, str(e.rows)
        )
    console.print(table)
    return EXIT_OK


# --- campaigns ----------------------------------------------------------------------------
async def validate(args: argparse.Namespace, console: Console) -> int:
    """The file, then what it names: with --db the list must exist in that base, and an
    IVR script's prompts must convert and its speech model load."""
    campaign = load_campaign_file(args.campaign)
    if args.db is not None:
        location = sqlite_location(args.db)
        if location != ":memory:" and not Path(location).exists():
            raise CliError(f"{args.db}: no contact base there (import a list first)")
        async with opened_store(args) as store:
            names = await store.list_names()
            if campaign.list not in names:
                known = ", ".join(repr(n) for n in names) or "none yet"
                raise CliError(
                    f"{args.campaign}: list: no list {campaign.list!r} in {args.db} "
                    f"(lists: {known})"
                )
            if campaign.ivr is not None:
                await _say_fields_in_list(args, campaign.ivr, campaign.list, store)
    if campaign.ivr is not None:
        try:
            await app.load_ivr_assets(campaign.ivr, campaign.ami.host)
        except app.CampaignStartError as exc:
            raise CliError(f"{args.campaign}: ivr: {exc}") from exc
    console.print(
        f"{args.campaign}: campaign {campaign.name!r} is valid (list {campaign.list!r}, "
        f"{campaign.pacing.max_channels} channels, {campaign.pacing.calls_per_second:g} calls/s)",
        highlight=False,
    )
    return EXIT_OK


async def _say_fields_in_list(
    args: argparse.Namespace, script: IvrScript, list_name: str, store: ContactStore
) -> None:
    """Say texts naming a field that no contact of the list's first 1,000 has."""
    from ivr.script_voices import fields_not_in

    columns: set[str] = set()
    async for batch in store.contact_facts_batches(list_name, batch_size=1000):
        columns.update(key for facts in batch for key in facts.fields)
        break
    missing = fields_not_in(script, columns) if columns else []
    if missing:
        have = ", ".join(sorted(columns))
        raise CliError(
            f"{args.campaign}: {'; '.join(missing)}: no contact of list {list_name!r} has it "
            f"(fields: {have})"
        )


async def schema(args: argparse.Namespace, console: Console) -> int:
    print_json(campaign_json_schema())
    return EXIT_OK


async def run(args: argparse.Namespace, console: Console) -> int:
    campaign = load_campaign_file(args.campaign)
    try:
        secret = resolve_ami_secret(campaign)
    except CampaignError as exc:
        raise CliError(str(exc)) from exc
    async with opened_store(args) as store:
        return await execute_campaign(
            campaign,
            store,
            secret,
            console,
            progress=not args.no_progress,
            drain_timeout=args.drain_timeout,
        )


async def status(args: argparse.Namespace, console: Console) -> int:
    from dialer.control import status as status_view

    async with opened_store(args) as store:
        now = datetime.now(UTC)
        if args.campaign_name is None:
            rows = []
            for each in await store.campaigns():
                progress = await store.progress(each.id, now)
                hold = await store.campaign_hold(each.id)
                standing = status_view.campaign_standing(each.state, hold, now)
                rows.append(
                    (each.name, each.list_name, standing, progress.total,
                     progress.done, progress.pending)
                )  # fmt: skip
            if args.format == "json":
                keys = ("campaign", "list", "state", "contacts", "final", "pending")
                print_json([dict(zip(keys, row, strict=True)) for row in rows])
            else:
                console.print(status_view.campaigns_table(rows))
            return EXIT_OK
        record = await store.get_campaign(args.campaign_name)
        if record is None:
            raise CliError(f"no campaign named {args.campaign_name!r}")
        _, saved, saved_at = await store.load_runtime(record.id)
        hold = await store.campaign_hold(record.id)
    standing = status_view.campaign_standing(record.state, hold, now)
    if args.format == "json":
        print_json(
            {
                **saved,
                "saved_at": saved_at.isoformat() if saved_at else None,
                "standing": standing,
                "hold": status_view.hold_json(hold),
            }
        )
    else:
        status_view.print_status(console, saved, saved_at, now, standing)
    return EXIT_OK


async def report(args: argparse.Namespace, console: Console) -> int:
    from dialer.control.held_view import held_table
    from dialer.control.status import abandon_table
    from dialer.engine.run_snapshot import held_counts_of

    if args.format == "xlsx" and args.output is None:
        raise CliError("--format xlsx needs --output FILE")
    async with opened_store(args) as store:
        batches = report_view.report_batches(store, args.campaign_name)
        if args.format in ("csv", "json", "xlsx"):
            # An unknown campaign is not audited: report_batches says which there are.
            where = str(args.output) if args.output else "stdout"
            await audit_report(store, args.campaign_name, f"{args.format} to {where}")
        if args.format == "xlsx":
            from dialer.control.report_files import save_report_xlsx

            await save_report_xlsx(batches, args.output)
        elif args.format in ("csv", "json"):
            write = report_view.stream_csv if args.format == "csv" else report_view.stream_json
            if args.output is None:
                await write(batches, sys.stdout)
            else:
                with open_private(args.output, "w", encoding="utf-8", newline="") as out:
                    await write(batches, out)
        else:
            await report_view.print_report_streamed(console, store, args.campaign_name, args.limit)
            record = await store.get_campaign(args.campaign_name)
            assert record is not None  # the report found it
            _, saved, _ = await store.load_runtime(record.id)
            pacing = saved.get("pacing")
            windows = abandon_table(pacing if isinstance(pacing, dict) else {})
            if windows is not None:
                console.print(windows)
            held = held_table(held_counts_of(saved), "Held back during the run (times)", "times")
            console.print(held)
    return EXIT_OK


async def audit_report(
    store: ContactStore, campaign_name: str, detail: str, who: str | None = None
) -> bool:
    """A campaign's contact-level report leaves the base: audited with its row count
    first (`dialer report` and the API's). False if there is no such campaign."""
    found = await store.get_campaign(campaign_name)
    if found is None:
        return False
    rows = (await store.progress(found.id, datetime.now(UTC))).total
    await audit(store, "report.export", campaign_name, detail, rows, who)
    return True


# --- simulation ---------------------------------------------------------------------------
async def simulate_pbx(args: argparse.Namespace, console: Console) -> int:
    from dialer.simpbx import SimConfig

    secret = os.environ.get(args.secret_env)
    if not secret:
        raise CliError(f"set the AMI secret in ${args.secret_env} (the simulator checks logins)")
    personas: dict[str, str] = {}
    if args.personas:
        personas.update(_read_personas_file(args.personas))
    if args.personas_from_list:
        async with opened_store(args) as store:
            for contact in await store.contacts(args.personas_from_list):
                if contact.fields.get("persona"):
                    personas[contact.number] = contact.fields["persona"]
    config = SimConfig(
        host=args.host,
        port=args.port,
        username=args.username,
        secret=secret,
        channel_limit=args.channel_limit,
        operators=args.operators,
        personas=personas,
        speech_dir=args.speech_dir,
    )
    stop = asyncio.Event()
    try:
        async with app.running_simulator(config) as pbx:
            console.print(pbx.describe(), highlight=False)
            install_stop_handlers(stop)
            await stop.wait()
    except ValueError as exc:  # an unknown persona name in the file or the list
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
    return EXIT_OK


def _read_personas_file(path: Path) -> dict[str, str]:
    import csv

    from dialer.simpbx.personas import is_valid_persona

    personas: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for line_no, row in enumerate(csv.reader(handle), start=1):
                if not row or row[0].strip().lower() in ("number", "phone"):
                    continue
                if len(row) < 2 or not is_valid_persona(row[1].strip()):
                    raise CliError(
                        f"{path}:{line_no}: expected 'number,persona': a persona name "
                        "(answer, busy, no_answer, ..., machine) or press:<keys> / "
                        "say:<names> (quote values with commas)"
                    )
                personas[row[0].strip()] = row[1].strip()
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from exc
    return personas
