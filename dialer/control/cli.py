"""The `dialer` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from dialer.control.logs import setup_logging
from dialer.control.terminal import EXIT_OK, CliError
from dialer.coord.settings import NODE_TTL_S
from dialer.durations import parse_duration

DB_HELP = "contact base: a SQLite file or postgresql://...; default $DIALER_DB or ./dialer.db"
LOG_LEVELS = ("debug", "info", "warning", "error")
REGION_HELP = "default region for numbers without + (default RU)"
SERVER_HELP = "the service's URL; default $DIALER_SERVER, else http://127.0.0.1:8080"
STEERING = {
    "start": "start a registered campaign in the running service",
    "pause": "no new calls (calls in progress go on); the service keeps it paused",
    "resume": "dial again after a pause",
    "stop": "stop dialling; calls in progress drain",
}
# Past a terminal (a file, a pipe) lines are not cut at 80 columns.
WIDTH_OFF_TERMINAL = 10_000


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("asterisk-dialer")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _with(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """A parser class whose every (sub)command also takes the options of `common`."""

    class CommandParser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["parents"] = [*kwargs.get("parents", []), common]
            super().__init__(*args, **kwargs)

    return CommandParser


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else WIDTH_OFF_TERMINAL
    return Console(stderr=stderr, width=width)


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialer", description="Outbound autodialer and IVR engine for Asterisk."
    )
    parser.add_argument("--db", help=DB_HELP)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=LOG_LEVELS,
        type=str.lower,
        help="debug, info, warning (default) or error",
    )
    # `--db` is taken before or after the command: `dialer report X --db F` as the README
    # writes it. SUPPRESS keeps a command's parser from resetting what came before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_with(common)
    )

    contacts = sub.add_parser("contacts", help="import and export contact lists")
    csub = contacts.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")
    imp = csub.add_parser("import", help="load a CSV or XLSX file into a list")
    imp.add_argument("file", type=Path)
    imp.add_argument("--list", required=True, dest="list_name", help="list to load into")
    imp.add_argument("--region", default="RU", help="default region for numbers without +")
    imp.add_argument("--phone-column", help="name of the phone column (found by name otherwise)")
    imp.add_argument("--rejects", type=Path, help="where to write rejected rows (CSV)")
    exp = csub.add_parser("export", help="write a list with every contact's campaign status")
    exp.add_argument("--list", required=True, dest="list_name")
    exp.add_argument(
        "--format",
        choices=("csv", "xlsx", "json"),
        help="default: the --output file's suffix, else csv",
    )
    exp.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    csub.add_parser("lists", help="show the lists in the contact base")
    for name, text in (
        ("show", "everything held about one person: lists, calls, recordings, do-not-call"),
        ("erase", "erase one person's data (keeping counts) and never call them again"),
    ):
        person = csub.add_parser(name, help=text)
        person.add_argument("number")
        person.add_argument("--region", default="RU", help=REGION_HELP)
        if name == "show":
            person.add_argument("--format", choices=("table", "json"), default="table")
        else:
            person.add_argument("--yes", action="store_true", help="do not ask to confirm")
    _add_dnc_parser(sub)
    _add_db_parser(sub)

    cstats = csub.add_parser(
        "stats", help="the base by status and temperature, and its last change"
    )
    cstats.add_argument("--list", dest="list_name", help="one list (default: every list)")
    cstats.add_argument("--format", choices=("table", "json"), default="table")

    lists = sub.add_parser("lists", help="build contact lists from others (reactivation)")
    lsub = lists.add_subparsers(dest="lists_command", required=True, metavar="ACTION")
    build = lsub.add_parser(
        "build",
        help="a new list of the contacts of another that match a filter",
        description="Copies the contacts of --from that match --where into a new list "
        "(quote the filter). Example: --where 'temperature = warm and last_contacted > 30d'. "
        "The filter language: README, The base as a whole.",
    )
    build.add_argument("name", help="the new list")
    build.add_argument("--from", dest="from_list", required=True, help="the list to choose from")
    build.add_argument("--where", required=True, nargs="+", help="the filter")
    build.add_argument("--preview", action="store_true", help="count the matches, create nothing")

    val = sub.add_parser("validate", help="check a campaign file")
    val.add_argument("campaign", type=Path)

    sub.add_parser("schema", help="print the campaign file's JSON Schema (for editors)")

    run = sub.add_parser("run", help="call a campaign's list until every contact is final")
    run.add_argument("campaign", type=Path)
    run.add_argument("--no-progress", action="store_true", help="no live display")
    run.add_argument(
        "--drain-timeout",
        type=_duration,
        default=timedelta(seconds=60),
        help="on Ctrl-C, how long to wait for calls in progress (default 60s)",
    )

    pre = sub.add_parser(
        "preview", help="how many contacts a campaign would call at a moment, and why not the rest"
    )
    pre.add_argument("campaign", type=Path)
    pre.add_argument("--at", help="ISO time (default now; without an offset it is UTC)")
    pre.add_argument("--format", choices=("table", "json"), default="table")

    stat = sub.add_parser("status", help="what a campaign is doing now: pacing, operators, abandon")
    stat.add_argument("campaign_name", nargs="?", help="omit to list every campaign")
    stat.add_argument("--format", choices=("table", "json"), default="table")
    stat.add_argument("--server", help=SERVER_HELP + "; without it and --db, the contact "
                      "base is read when no service answers")  # fmt: skip
    _service_parsers(sub)

    aud = sub.add_parser("audit", help="who exported contact data, when, how many rows")
    aud.add_argument("--limit", type=int, default=100)
    aud.add_argument("--format", choices=("table", "json"), default="table")

    rep = sub.add_parser("report", help="what happened to every contact of a campaign")
    rep.add_argument("campaign_name")
    rep.add_argument("--format", choices=("table", "csv", "json", "xlsx"), default="table")
    rep.add_argument("--output", type=Path, help="the file to write (needed for xlsx)")
    rep.add_argument("--limit", type=int, default=50, help="contact rows in the table (0: none)")

    demo = sub.add_parser("demo", help="run a sample campaign against the simulated PBX")
    demo.add_argument("--contacts", type=int, default=300, help="size of the sample list")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--no-progress", action="store_true")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="then keep the service and its dashboard up on loopback (prints the URL and "
        "a viewer token) until Ctrl-C",
    )
    demo.add_argument(
        "--port", type=int, default=8080, help="the dashboard's port with --serve (0: any free)"
    )

    sim = sub.add_parser("simulate-pbx", help="serve a SIMULATED Asterisk AMI (for trials)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=5038)
    sim.add_argument("--username", default="dialer")
    sim.add_argument(
        "--secret-env", default="DIALER_AMI_SECRET", help="env var holding the AMI secret"
    )
    sim.add_argument("--personas", type=Path, help="CSV of number,persona (else last digit)")
    sim.add_argument("--personas-from-list", help="take personas from this list's 'persona' field")
    sim.add_argument("--channel-limit", type=int, default=200)
    sim.add_argument("--operators", type=int, default=2)
    sim.add_argument(
        "--speech-dir", type=Path, help="folder of <name>.wav answers for say:<name> personas"
    )
    return parser


def _add_dnc_parser(sub: Any) -> None:
    dnc = sub.add_parser("dnc", help="do-not-call lists: the global one and one per campaign")
    actions = dnc.add_subparsers(dest="dnc_command", required=True, metavar="ACTION")
    campaign_help = "a campaign's own list (default: the global list)"
    imp = actions.add_parser("import", help="add every number of a CSV or XLSX file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--campaign", help=campaign_help)
    imp.add_argument("--region", default="RU", help=REGION_HELP)
    imp.add_argument("--phone-column", help="the phone column's name or 1-based number")
    imp.add_argument("--rejects", type=Path, help="where to write rejected rows (CSV)")
    imp.add_argument("--source", help="recorded with each number (default: the file's name)")
    for name, text in (
        ("add", "put numbers on a list"),
        ("remove", "take numbers off a list"),
        ("check", "which lists hold each number (exit 1 if any does, 0 if none)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("numbers", nargs="+", metavar="NUMBER")
        action.add_argument("--campaign", help=campaign_help)
        action.add_argument("--region", default="RU", help=REGION_HELP)
        if name == "add":
            action.add_argument("--source", default="cli", help="why (default: cli)")
    exp = actions.add_parser("export", help="write one list as CSV")
    exp.add_argument("--campaign", help=campaign_help)
    exp.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")


def _add_db_parser(sub: Any) -> None:
    """`dialer db` (see dialer.control.db_commands)."""
    base = sub.add_parser("db", help="the contact base itself: schema, copy to PostgreSQL")
    actions = base.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser("migrate", help="bring the base's schema (--db) up to date")
    copy = actions.add_parser(
        "copy", help="copy a SQLite base with its history into an empty PostgreSQL database"
    )
    copy.add_argument("source", help="the SQLite base: a path or sqlite:///path")
    copy.add_argument("target", help="postgresql://user:password@host:port/database (empty)")


def _service_parsers(sub: Any) -> None:
    """`dialer serve` and what talks to it (see dialer.control.service_commands)."""
    serve = sub.add_parser("serve", help="run the dialer as a service with its HTTP API")
    serve.add_argument(
        "--listen", default="127.0.0.1:8080", help="HOST:PORT of the HTTP API (default %(default)s)"
    )
    serve.add_argument(
        "--drain-timeout",
        type=_duration,
        default=timedelta(seconds=60),
        help="on SIGTERM, how long to wait for calls in progress (default 60s)",
    )
    serve.add_argument(
        "--redis",
        help="several nodes: coordinate with the others through this Redis"
        " (redis://HOST:PORT/DB); default $DIALER_REDIS; without it the node runs alone",
    )
    serve.add_argument(
        "--channel-limit",
        action="append",
        default=[],
        metavar="KIND:NAME=N",
        help="with --redis: at most N calls at once over every node through a trunk or an"
        " Asterisk server, e.g. trunk:carrier=30 or server:10.0.0.5:5038=120 (repeatable)",
    )
    serve.add_argument(
        "--node-ttl",
        type=_duration,
        default=timedelta(seconds=NODE_TTL_S),
        help="with --redis: a node not heard of for this long is dead; its campaigns are"
        f" taken over and its channels freed (default {NODE_TTL_S:g}s; it beats every third"
        " of it)",
    )
    files = sub.add_parser("campaigns", help="register campaign files with the service")
    fsub = files.add_subparsers(dest="campaigns_command", required=True, metavar="ACTION")
    add = fsub.add_parser("add", help="validate a campaign file and register it (a new version)")
    add.add_argument("file", type=Path)
    add.add_argument("--server", help=SERVER_HELP)
    listing = fsub.add_parser("list", help="the registered campaign files (from the contact base)")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    for action, what in STEERING.items():
        steer = sub.add_parser(action, help=what)
        steer.add_argument("campaign_name")
        steer.add_argument("--server", help=SERVER_HELP)
    tokens = sub.add_parser("tokens", help="the HTTP API's tokens")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = tsub.add_parser("create", help="a new token, printed once as the last line")
    create.add_argument("--role", required=True, choices=("viewer", "supervisor", "admin"))
    create.add_argument("--name", default="", help="who or what it is for")
    tsub.add_parser("list", help="every token (never the token itself)")
    revoke = tsub.add_parser("revoke", help="the token stops working at once")
    revoke.add_argument("token_id", type=int)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    console = _console()
    err = _console(stderr=True)
    try:
        return asyncio.run(_dispatch(args, console))
    except CliError as exc:
        # Escaped: a message quotes what the user typed ("[/x]" is not markup to us).
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:
        # The reader left (`dialer report X | head -1`): what it wanted was written.
        # Point stdout at /dev/null so the interpreter's final flush does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


async def _dispatch(args: argparse.Namespace, console: Console) -> int:
    # Imported late: `dialer --help` stays instant.
    from dialer.control import (
        base_commands,
        commands,
        demo_serve,
        dnc_commands,
        person_commands,
        preview,
    )
    from dialer.control import service_commands as service
    from dialer.control.db_commands import db

    if args.command == "contacts" and args.contacts_command in ("show", "erase"):
        person = person_commands.show if args.contacts_command == "show" else person_commands.erase
        return await person(args, console)

    handlers = {
        "serve": service.serve,
        "campaigns": service.campaigns,
        "tokens": service.tokens,
        **dict.fromkeys(STEERING, service.steer),
        "contacts": commands.contacts,
        "lists": base_commands.lists,
        "validate": commands.validate,
        "schema": commands.schema,
        "run": commands.run,
        "report": commands.report,
        "audit": commands.audit_log,
        "dnc": dnc_commands.dnc,
        "db": db,
        "status": service.status,
        "preview": preview.preview,
        "demo": demo_serve.demo,
        "simulate-pbx": commands.simulate_pbx,
    }
    if args.command == "contacts" and args.contacts_command == "stats":
        return await base_commands.contacts_stats(args, console)
    return await handlers[args.command](args, console)
