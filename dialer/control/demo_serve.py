"""`dialer demo --serve`: the demo, then the service and its dashboard on loopback over
the demo's contact base until Ctrl-C (exit 0), with a viewer token made for it.

Apart from dialer.control.demo on purpose: this module starts the HTTP service, and the
plain demo (and `dialer.control.commands`) must not import HTTP code.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from rich.console import Console

from dialer.control.demo import run_demo
from dialer.control.terminal import CliError
from dialer.store import ContactStore

DEMO_HOST = "127.0.0.1"  # loopback only: the demo's viewer token is printed on screen
DEMO_DRAIN = timedelta(seconds=5)  # the demo's service drives no campaign: little to drain


async def demo(args: argparse.Namespace, console: Console) -> int:
    if not args.serve:
        return await run_demo(args, console)
    from dialer.control.service.serve import ListenError, bind, serve
    from dialer.control.service.tokens import Role, create_token

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port {args.port}: expected 0-65535 (0: any free port)")
    try:
        sock = bind(DEMO_HOST, args.port)  # before the demo: a port in use fails at once
    except ListenError as exc:
        raise CliError(f"{exc} (pick another with --port, 0 for any free one)") from exc

    async def then(store: ContactStore) -> int:
        _, token = await create_token(store, Role.VIEWER, "demo dashboard", datetime.now(UTC))
        host, port = sock.getsockname()[:2]
        url = f"http://{host}:{port}/dashboard"
        console.rule("dialer demo --serve: the dashboard")
        # Plain lines, never wrapped: the URL is copied as a whole.
        for line in (
            f"dashboard: {url}#token={token}",
            f"viewer token: {token}",
            "(the token reads figures and cannot steer; the page keeps it in the tab only)",
            "Ctrl-C stops the service.",
        ):
            console.print(line, highlight=False, overflow="ignore", crop=False, soft_wrap=True)
        return await serve(store, sock, DEMO_DRAIN)

    try:
        return await run_demo(args, console, then)
    finally:
        sock.close()
