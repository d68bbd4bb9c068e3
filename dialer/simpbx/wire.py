"""AMI framing: ordered `Key: value` lines ended by CRLF, a blank line after each message.

Pure functions and one small incremental reader; no sockets here.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass

# The real banner is `Asterisk Call Manager/11.0.0`; clients read the version after the
# slash. The suffix tells a person looking at the socket (telnet, a capture) that this is
# not a real Asterisk, without changing what a client parses up to the version.
BANNER = b"Asterisk Call Manager/11.0.0 (SIMULATED PBX)\r\n"


def format_message(fields: Iterable[tuple[str, object]]) -> bytes:
    """One AMI message. An empty value keeps the space after the colon, as Asterisk does
    (`AccountCode: `); non-ASCII text (caller names) goes out as raw UTF-8."""
    return ("".join(f"{key}: {value}\r\n" for key, value in fields) + "\r\n").encode()


def response(action_id: str, status: str, *fields: tuple[str, object]) -> bytes:
    """A reply: `Response` first, then `ActionID` only when the action carried one."""
    head: list[tuple[str, object]] = [("Response", status)]
    if action_id:
        head.append(("ActionID", action_id))
    return format_message([*head, *fields])


@dataclass(frozen=True, slots=True)
class Action:
    """An incoming action. Header names are case-insensitive in Asterisk; values are not."""

    headers: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return self.get("Action")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    def get(self, key: str, default: str = "") -> str:
        wanted = key.lower()
        for name, value in self.headers:
            if name.lower() == wanted:
                return value
        return default

    def get_all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.headers if name.lower() == wanted]


def parse_message(text: str) -> Action:
    headers: list[tuple[str, str]] = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        key, colon, value = line.partition(":")
        if colon and key.strip():
            headers.append((key.strip(), value.lstrip(" ")))
    return Action(tuple(headers))


def split_messages(buffer: str) -> tuple[list[Action], str]:
    """Complete messages in `buffer` and the unparsed rest. Lines may end in CRLF or a
    bare LF (Asterisk tolerates both); a blank line ends a message."""
    actions: list[Action] = []
    normalized = buffer.replace("\r\n", "\n")
    while True:
        end = normalized.find("\n\n")
        if end < 0:
            return actions, normalized
        chunk, normalized = normalized[:end], normalized[end + 2 :]
        if chunk.strip():
            actions.append(parse_message(chunk))


class ActionReader:
    """Bytes from a socket in, actions out. A UTF-8 character split across two TCP reads
    is held back by the incremental decoder instead of turning into garbage."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""

    def feed(self, data: bytes) -> list[Action]:
        self._buffer += self._decoder.decode(data)
        actions, self._buffer = split_messages(self._buffer)
        return actions
