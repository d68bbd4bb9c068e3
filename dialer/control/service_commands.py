"""The commands of the service: `dialer serve`, `campaigns`, `tokens`, and the ones that
steer a running service (`start`, `pause`, `resume`, `stop`, and `status` when a service
answers). One function per command, as in dialer.control.commands."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dialer.campaign.errors import CampaignError
from dialer.campaign.loader import load_campaign
from dialer.control import commands
from dialer.control.service import client
from dialer.control.terminal import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_NO_SERVICE,
    EXIT_OK,
    CliError,
    print_json,
)
from dialer.coord import Coordinator, CoordSettings, RedisUnreachable, parse_channel_limit
from dialer.coord.settings import REDIS_ENV


# --- the service itself -------------------------------------------------------------------
async def serve(args: argparse.Namespace, console: Console) -> int:
    from dialer.control.service.serve import ListenError, bind, parse_listen
    from dialer.control.service.serve import serve as run_service

    coordinator = _coordinator(args)
    try:
        sock = bind(*parse_listen(args.listen))
    except ListenError as exc:
        raise CliError(str(exc)) from exc
    async with commands.opened_store(args) as store:
        try:
            return await run_service(store, sock, args.drain_timeout, coordinator)
        except RedisUnreachable as exc:
            raise CliError(str(exc)) from exc


def _coordinator(args: argparse.Namespace) -> Coordinator | None:
    """--redis (or $DIALER_REDIS): this node coordinates with the others; None: alone."""
    url = args.redis or os.environ.get(REDIS_ENV)
    if not url:
        if args.channel_limit:
            raise CliError("--channel-limit counts calls over several nodes: it needs --redis")
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise CliError(f"--redis {url!r}: expected redis://HOST:PORT/DB (or rediss://, unix://)")
    try:
        limits = tuple(parse_channel_limit(text) for text in args.channel_limit)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    ttl = args.node_ttl.total_seconds()
    if ttl < 0.3:
        raise CliError(f"--node-ttl {ttl:g}s: too short for a heartbeat (at least 300ms)")
    return Coordinator(CoordSettings(url, ttl_s=ttl, heartbeat_s=ttl / 3, limits=limits))


# --- campaign files -----------------------------------------------------------------------
async def campaigns(args: argparse.Namespace, console: Console) -> int:
    if args.campaigns_command == "list":
        return await _list_files(args, console)
    path: Path = args.file
    try:
        campaign = load_campaign(path)  # file:line errors before anything is sent
    except CampaignError as exc:
        raise CliError(str(exc)) from exc
    content = path.read_text(encoding="utf-8-sig")
    source = str(path.resolve())
    address = client.service_address(args.server)
    try:
        answer = await client.call(
            address.url, "POST", "/campaigns", {"content": content, "source": source}
        )
    except client.NoService as exc:
        if address.explicit:
            raise CliError(str(exc), EXIT_NO_SERVICE) from exc
        return await _register_offline(args, console, campaign.name, content, source, exc)
    except client.ServiceRefused as exc:
        raise _refused(exc) from exc
    live = answer.get("applied_live") or []
    console.print(
        f"campaign {answer['campaign']!r} version {answer['version']} registered with the "
        f"service at {address.url}"
        + (f"; applied to the running campaign: {', '.join(live)}" if live else ""),
        highlight=False,
    )
    return EXIT_OK


async def _register_offline(
    args: argparse.Namespace,
    console: Console,
    name: str,
    content: str,
    source: str,
    why: Exception,
) -> int:
    from dialer.control.status import campaign_standing

    async with commands.opened_store(args) as store:
        record = await store.get_campaign(name)
        if record is not None:
            now = datetime.now(UTC)
            standing = campaign_standing(record.state, await store.campaign_hold(record.id), now)
            if standing.startswith("running"):
                raise CliError(
                    f"campaign {name!r} is {standing}: send the file to the service that "
                    f"runs it (--server URL or ${client.SERVER_ENV})",
                    EXIT_NO_SERVICE,
                )
        version = await store.add_campaign_file(
            name, content, source, datetime.now(UTC), commands.actor()
        )
    console.print(
        f"campaign {name!r} version {version} registered in the contact base ({why}; "
        "the service takes it when it starts the campaign)",
        highlight=False,
    )
    return EXIT_OK


async def _list_files(args: argparse.Namespace, console: Console) -> int:
    async with commands.opened_store(args) as store:
        wanted = await store.wanted_states()
        rows = []
        for name in await store.campaign_file_names():
            file = await store.campaign_file(name)
            assert file is not None
            state = wanted[name].wanted if name in wanted else "stopped"
            rows.append((name, file.version, state, file.added_at, file.source))
    if args.format == "json":
        keys = ("campaign", "version", "wanted", "added_at", "source")
        print_json([dict(zip(keys, (*r[:3], r[3].isoformat(), r[4]), strict=True)) for r in rows])
        return EXIT_OK
    table = Table(title="Campaign files registered")
    for column in ("campaign", "version", "wanted", "added (UTC)", "from"):
        table.add_column(column)
    for name, version, state, added, source in rows:
        table.add_row(name, str(version), state, f"{added:%Y-%m-%d %H:%M:%S}", source)
    console.print(table)
    return EXIT_OK


# --- tokens -------------------------------------------------------------------------------
async def tokens(args: argparse.Namespace, console: Console) -> int:
    from dialer.control.service.tokens import Role, create_token

    now = datetime.now(UTC)
    async with commands.opened_store(args) as store:
        if args.tokens_command == "create":
            token_id, token = await create_token(store, Role(args.role), args.name, now)
            print(
                f"token {token_id} ({args.role}) created; it is shown only now, keep it "
                f"secret and give it to the client as ${client.TOKEN_ENV}:",
                file=sys.stderr,
            )
            print(token)
            return EXIT_OK
        if args.tokens_command == "revoke":
            if not await store.revoke_api_token(args.token_id, now):
                raise CliError(f"no live token with id {args.token_id}")
            console.print(f"token {args.token_id} revoked", highlight=False)
            return EXIT_OK
        found = await store.api_tokens()
    table = Table(title="API tokens (only their hashes are kept)")
    for column in ("id", "role", "name", "created (UTC)", "revoked"):
        table.add_column(column)
    for t in found:
        revoked = f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else ""
        table.add_row(str(t.id), t.role, t.name, f"{t.created_at:%Y-%m-%d %H:%M}", revoked)
    console.print(table)
    return EXIT_OK


# --- steering a running service -----------------------------------------------------------
async def steer(args: argparse.Namespace, console: Console) -> int:
    address = client.service_address(args.server)
    try:
        status = await client.call(
            address.url, "POST", f"/campaigns/{_segment(args.campaign_name)}/{args.command}"
        )
    except client.NoService as exc:
        raise CliError(str(exc), EXIT_NO_SERVICE) from exc
    except client.ServiceRefused as exc:
        raise _refused(exc) from exc
    console.print(f"{args.campaign_name}: {_state_line(status)}", highlight=False)
    return EXIT_OK


async def status(args: argparse.Namespace, console: Console) -> int:
    """From the service when one answers; from the contact base with --db, or when no
    service answers at the default address (a `dialer run` elsewhere, or none)."""
    if args.db is not None:
        return await commands.status(args, console)
    address = client.service_address(args.server)
    path = (
        "/campaigns" if args.campaign_name is None else f"/campaigns/{_segment(args.campaign_name)}"
    )
    try:
        answer = await client.call(address.url, "GET", path)
    except client.NoService as exc:
        if address.explicit:
            raise CliError(str(exc), EXIT_NO_SERVICE) from exc
        print(f"({exc}: read from the contact base)", file=sys.stderr)
        return await commands.status(args, console)
    except client.ServiceRefused as exc:
        raise _refused(exc) from exc
    if args.format == "json":
        print_json(answer)
    elif args.campaign_name is None:
        _print_rows(console, answer)
    else:
        _print_one(console, answer)
    return EXIT_OK


def _print_rows(console: Console, rows: list[dict[str, Any]]) -> None:
    from dialer.control.status import campaigns_table

    console.print(
        campaigns_table(
            [
                (r["campaign"], r["list"], _with_wanted(r), r["contacts"], r["final"],
                 r["pending"])
                for r in rows
            ]
        )
    )  # fmt: skip


def _print_one(console: Console, data: dict[str, Any]) -> None:
    from dialer.control.status import print_status

    now = datetime.now(UTC)
    saved = datetime.fromisoformat(data["saved_at"]) if data.get("saved_at") else None
    print_status(console, data, saved, now, data.get("standing") or "new")
    console.print(
        f"wanted: {data.get('wanted') or 'not set'}, file version {data.get('version')}",
        highlight=False,
    )
    if data.get("error"):
        console.print(f"[bold red]last start failed:[/] {data['error']}", highlight=False)


def _with_wanted(row: dict[str, Any]) -> str:
    state, wanted, error = row["state"], row.get("wanted"), row.get("error")
    text = state if not wanted or state.startswith(wanted) else f"{state} (wanted {wanted})"
    return f"{text}; failed: {error}" if error else text


def _state_line(status: dict[str, Any]) -> str:
    parts = [
        f"wanted {status.get('wanted')}",
        f"now {status.get('state') or status.get('standing')}",
    ]
    if status.get("stopping"):
        parts.append("stopping: calls in progress drain")
    if status.get("in_flight"):
        parts.append(f"{status['in_flight']} calls up")
    if status.get("error"):
        parts.append(f"failed: {status['error']}")
    return ", ".join(parts)


def _segment(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def _refused(exc: client.ServiceRefused) -> CliError:
    if exc.status == 401:
        return CliError(f"the service refused the token: {exc} (set ${client.TOKEN_ENV})")
    if exc.status == 403:
        return CliError(f"not allowed: {exc}")
    code = EXIT_FAILED if exc.status >= 500 else EXIT_BAD_INPUT
    return CliError(str(exc), code)
