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

from dialer.control.logs import setup_logging
from dialer.control.terminal import EXIT_OK, CliError
from dialer.durations import parse_duration

DB_HELP = "contact base (SQLite file); default $DIALER_DB or ./dialer.db"
LOG_LEVELS = ("debug", "info", "warning", "error")
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
    rep.add_argument("--format", choices=("table", "csv", "json"), default="table")
    rep.add_argument("--limit", type=int, default=50, help="contact rows in the table (0: none)")

    demo = sub.add_parser("demo", help="run a sample campaign against the simulated PBX")
    demo.add_argument("--contacts", type=int, default=300, help="size of the sample list")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--no-progress", action="store_true")

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
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
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
    from dialer.control import commands  # imported late: `dialer --help` stays instant
    from dialer.control import service_commands as service

    handlers = {
        "serve": service.serve,
        "campaigns": service.campaigns,
        "tokens": service.tokens,
        **dict.fromkeys(STEERING, service.steer),
        "contacts": commands.contacts,
        "validate": commands.validate,
        "schema": commands.schema,
        "run": commands.run,
        "report": commands.report,
        "audit": commands.audit_log,
        "status": service.status,
        "demo": commands.demo,
        "simulate-pbx": commands.simulate_pbx,
    }
    return await handlers[args.command](args, console)
