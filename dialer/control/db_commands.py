"""`dialer db ...`: the contact base itself.

- `dialer db migrate [--db URL]`: bring a base's schema up to date (every command does
  this when it opens one; this does only that, for a deployment step) and say where it
  stands.
- `dialer db copy SOURCE TARGET`: move a one-node SQLite base to PostgreSQL with all its
  history (dialer.store.transfer says how); the target must be an empty database.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dialer.control.commands import opened_store
from dialer.control.terminal import EXIT_OK, CliError
from dialer.store import StoreError, default_db_path, is_postgres_url, sqlite_location


async def db(args: argparse.Namespace, console: Console) -> int:
    if args.db_command == "migrate":
        return await _migrate(args, console)
    return await _copy(args, console)


async def _migrate(args: argparse.Namespace, console: Console) -> int:
    target = args.db or default_db_path()
    async with opened_store(args) as store:
        where = getattr(store, "path", target)
    kind = "PostgreSQL" if is_postgres_url(target) else "SQLite"
    if kind == "PostgreSQL":
        from dialer.store.postgres.migrations import SCHEMA_VERSION
    else:
        from dialer.store.migrations import SCHEMA_VERSION
    console.print(f"{where}: {kind} schema at version {SCHEMA_VERSION} (current)", highlight=False)
    return EXIT_OK


async def _copy(args: argparse.Namespace, console: Console) -> int:
    from dialer.store.transfer import copy_sqlite_to_postgres

    if is_postgres_url(args.source) or not is_postgres_url(args.target):
        raise CliError(
            "dialer db copy takes a SQLite base then a PostgreSQL URL:"
            " dialer db copy sqlite:///dialer.db postgresql://user@host/dialer"
        )
    try:
        source = sqlite_location(args.source)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    if source == ":memory:" or not Path(source).is_file():
        raise CliError(f"{args.source}: no SQLite contact base there")
    try:
        copied = await copy_sqlite_to_postgres(source, args.target)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    table = Table("table", "rows copied", title=f"{source} -> PostgreSQL")
    for entry in copied:
        table.add_row(entry.table, str(entry.rows))
    console.print(table)
    console.print(
        f"copied {sum(c.rows for c in copied)} rows; row counts checked on both sides",
        highlight=False,
    )
    return EXIT_OK
