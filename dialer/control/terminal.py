"""What a command needs from the terminal: exit codes, the error that carries one, the
Ctrl-C / SIGTERM handlers of a foreground run, JSON on stdout."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and something went wrong
EXIT_BAD_INPUT = 2  # bad arguments, campaign file, contact file...
EXIT_PBX = 3  # AMI unreachable or login refused
EXIT_HELD = 4  # another live process runs the campaign
EXIT_NO_SERVICE = 5  # no dialer service answers (start, pause, resume, stop, --server)


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def install_stop_handlers(stop: asyncio.Event) -> None:
    """First Ctrl-C (or SIGTERM): stop dialling and drain. Second: leave at once."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            os._exit(130)
        print("\nstopping: no new calls; waiting for calls in progress", file=sys.stderr)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
