"""The FastAGI wire format as pure functions: no sockets, no asyncio.

Asterisk opens the connection, sends an environment block (`agi_*: value` lines ended by
a blank line), then answers each command line with one reply:

    200 result=<r> [(<data>)] [key=value ...]     success (`endpos=`, `digit=` ...)
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel   (the caller has gone)
    520-Invalid command syntax.  Proper usage follows:
    <usage text, any number of lines>
    520 End of proper usage.
    HANGUP                                        unsolicited, between replies

Byte-exact examples are in shared/asterisk-traces/fastagi-session.txt; the formats
below follow Asterisk's res/res_agi.c.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

ENV_PREFIX = "agi_"
USAGE_END = "520 End of proper usage."
# A multi-line `200 ... (data` reply happens only when a value holds a newline; a bound
# keeps a malformed reply from swallowing the rest of the session.
MAX_DATA_LINES = 64

# Commands Asterisk still runs after the hangup (the `dead` flag in res_agi.c's command
# table). EXEC is dead-safe there too but left out on purpose: after a hangup the only
# useful things are reading and writing variables, and an EXEC'd media application
# would only fail.
DEAD_SAFE_COMMANDS = (
    "GET VARIABLE",
    "GET FULL VARIABLE",
    "SET VARIABLE",
    "NOOP",
    "VERBOSE",
    "DATABASE GET",
    "DATABASE PUT",
    "DATABASE DEL",
    "DATABASE DELTREE",
)

_SUCCESS = re.compile(r"200 result=(\S*)(.*)", re.DOTALL)
# What may follow the closing parenthesis of the data: only `key=value` pairs
# (values may be double-quoted, as in SPEECH RECOGNIZE's `text0="..."`).
_TRAILER = re.compile(r'(?:\s+\w+=(?:"[^"]*"|\S*))*\s*')
_KEY_VALUE = re.compile(r'(\w+)=("[^"]*"|\S*)')
_INTERRUPT_KEYS = re.compile(r"[0-9*#]*")


@dataclass(frozen=True)
class AgiReply:
    """One complete reply. `raw` is the reply text as received (lines joined by "\\n")."""

    code: int  # 200, 510, 511, 520; 0 for a line that is not an AGI reply at all
    result: str = ""  # the `result=` value, kept as text: GET DATA returns digit strings
    data: str = ""  # the text in parentheses; for 520 the usage text
    extra: dict[str, str] = field(default_factory=dict)  # endpos=... and the like
    raw: str = ""


class HangupNotice:
    """The unsolicited `HANGUP` line: the caller has gone (sent once, between replies)."""

    def __repr__(self) -> str:
        return "HANGUP"


HANGUP = HangupNotice()


def parse_success(line: str) -> AgiReply | None:
    """Parse a `200 result=...` reply; None while its `(data` is still open (the value
    holds a newline and the rest follows on the next lines)."""
    match = _SUCCESS.fullmatch(line)
    if match is None:
        return AgiReply(code=0, raw=line)
    result, rest = match.group(1), match.group(2)
    data, trailer = "", rest
    stripped = rest.lstrip()
    if stripped.startswith("("):
        body = stripped[1:]
        # The data may itself contain parentheses (a variable's value): it ends at the
        # last ")" that is followed by nothing but key=value pairs.
        for end in range(len(body) - 1, -1, -1):
            if body[end] == ")" and _TRAILER.fullmatch(body, end + 1):
                data, trailer = body[:end], body[end + 1 :]
                break
        else:
            return None
    extra = {key: value.strip('"') for key, value in _KEY_VALUE.findall(trailer)}
    return AgiReply(code=200, result=result, data=data, extra=extra, raw=line)


class ReplyAssembler:
    """Turns reply lines into whole replies.

    Feed it every line Asterisk sends after the environment block (without the "\\n");
    it returns a reply, `HANGUP`, or None while a reply is incomplete. Reading a `520-`
    usage reply to its last line is what keeps the next command's reply in step.
    """

    def __init__(self) -> None:
        self._open: list[str] | None = None  # lines of the reply being assembled
        self._open_code = 0

    def feed(self, line: str) -> AgiReply | HangupNotice | None:
        if self._open is not None:
            return self._continue(self._open, line)
        if line == "HANGUP":
            return HANGUP
        if not line or line.startswith("100"):
            return None  # `100 result=0 Trying...` announces a reply that follows
        if line.startswith("520-"):
            self._open, self._open_code = [line], 520
            return None
        if line.startswith("200"):
            reply = parse_success(line)
            if reply is None:
                self._open, self._open_code = [line], 200
            return reply
        code = line[:3]
        if code in ("510", "511", "520") and line[3:4] in (" ", ""):
            return AgiReply(code=int(code), data=line[4:], raw=line)
        return AgiReply(code=0, raw=line)

    def _continue(self, lines: list[str], line: str) -> AgiReply | None:
        lines.append(line)
        if self._open_code == 520:
            if not line.startswith("520 "):
                return None
            self._open = None
            return AgiReply(code=520, data="\n".join(lines[1:-1]), raw="\n".join(lines))
        text = "\n".join(lines)
        reply = parse_success(text)
        if reply is None and len(lines) < MAX_DATA_LINES:
            return None
        self._open = None
        return reply if reply is not None else AgiReply(code=0, raw=text)


def parse_env_line(line: str) -> tuple[str, str] | None:
    """`agi_calleridname: Иван Петров` -> ("calleridname", "Иван Петров"); None for a
    line that is not an `agi_` header. Empty values (`agi_accountcode: `) stay empty."""
    key, sep, value = line.partition(":")
    if not sep or not key.startswith(ENV_PREFIX) or len(key) == len(ENV_PREFIX):
        return None
    return key[len(ENV_PREFIX) :], value[1:] if value.startswith(" ") else value


def parse_environment(lines: Iterable[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        parsed = parse_env_line(line)
        if parsed is not None:
            headers[parsed[0]] = parsed[1]
    return headers


def split_script(headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The script name and the URL query parameters.

    Asterisk keeps the query string inside `agi_network_script` (`ivr?campaign=spring`);
    `agi_request` (the whole URL) is the fallback when that header is missing.
    """
    target = headers.get("network_script")
    if target is None:
        url = urlsplit(headers.get("request", ""))
        target = f"{url.path}?{url.query}"
    path, _, query = target.partition("?")
    return path.strip("/"), dict(parse_qsl(query, keep_blank_values=True))


def _refuse_line_breaks(value: str, what: str) -> None:
    if "\n" in value or "\r" in value or "\0" in value:
        # One command is one line: a line break would smuggle in a second command.
        raise ValueError(f"{what} must not contain a line break: {value!r}")


def bare(value: str, what: str) -> str:
    """An unquoted argument (sound name, file path, variable name)."""
    _refuse_line_breaks(value, what)
    if not value or any(ch.isspace() or ch in '"\\' for ch in value):
        raise ValueError(f"{what} must be non-empty, without spaces, quotes or backslashes")
    return value


def quoted(value: str, what: str) -> str:
    """A double-quoted argument. Asterisk's parser treats a backslash as an escape, so
    backslashes are doubled; a double quote is refused rather than escaped (the simulated
    PBX and Asterisk must read the value the same way)."""
    _refuse_line_breaks(value, what)
    if '"' in value:
        raise ValueError(f"{what} must not contain a double quote: {value!r}")
    return '"' + value.replace("\\", "\\\\") + '"'


def keys_argument(keys: str) -> str:
    """The quoted escape-digits argument (`"0123456789*#"`): only keypad characters."""
    if not _INTERRUPT_KEYS.fullmatch(keys):
        raise ValueError(f"interrupt keys must be among 0-9 * #: {keys!r}")
    return f'"{keys}"'


def check_command(line: str) -> str:
    _refuse_line_breaks(line, "an AGI command")
    if not line.strip():
        raise ValueError("an AGI command must not be empty")
    return line


def is_dead_safe(line: str) -> bool:
    words = " ".join(line.split()).upper()
    return any(words == cmd or words.startswith(cmd + " ") for cmd in DEAD_SAFE_COMMANDS)
