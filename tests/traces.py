"""Reads the byte-exact Asterisk recordings in tests/fixtures/asterisk-traces/.

They are test fixtures, committed with the tests; scripts/record-traces re-records them
(see the README there). A missing file is a test failure, not a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TRACES_DIR = Path(__file__).resolve().parent / "fixtures" / "asterisk-traces"


@dataclass(frozen=True)
class Segment:
    direction: str  # "<" read from Asterisk, ">" written to it
    connection: str
    t: float
    payload: bytes


def trace_path(name: str) -> Path:
    path = TRACES_DIR / name
    if not path.is_file():
        pytest.fail(f"recorded Asterisk trace {path} is missing (scripts/record-traces)")
    return path


def segments(path: Path) -> Iterator[Segment]:
    data, pos = path.read_bytes(), 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        line = data[pos:nl].decode()
        pos = nl + 1
        if line[:2] in ("#<", "#>"):
            n = int(line.split("len=")[1].split()[0])
            payload = data[pos : pos + n]
            pos += n
            if line.endswith(" noeol"):
                pos += 1
            parts = line.split()
            yield Segment(line[1], parts[1], float(parts[2][2:]), payload)


def received(path: Path, connection: str = "ami") -> bytes:
    return b"".join(
        s.payload for s in segments(path) if s.direction == "<" and s.connection == connection
    )


def sent_headers(path: Path, connection: str = "ami") -> list[dict[str, str]]:
    """Every action the recorder wrote, as header dicts."""
    actions = []
    for s in segments(path):
        if s.direction == ">" and s.connection == connection:
            text = s.payload.decode()
            actions.append(dict(line.split(": ", 1) for line in text.split("\r\n") if ": " in line))
    return actions
