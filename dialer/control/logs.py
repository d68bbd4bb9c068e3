"""Structured logs: `time level logger event key=value ...` on stderr.

Log calls pass an event name as the message and facts as `extra`; this formatter prints
those extras as key=value pairs so logs can be grepped and parsed. Secrets never reach a
log call (AmiConnectionSettings hides its secret), and contact data stays at DEBUG.
"""

from __future__ import annotations

import logging
import sys

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = (
            f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname.lower()} "
            f"{record.name} {record.getMessage()}"
        )
        extras = [
            f"{key}={_quote(value)}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        ]
        text = " ".join([base, *extras])
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def setup_logging(level: str = "warning") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
