"""The AGI commands of the simulated PBX: argument parsing, the command table and the
replies, as res_agi.c of Asterisk 22 writes them (checked against fastagi-session.txt
and a private Asterisk 22.10.1; see tests/integration/test_simpbx_agi*.py).

What the callee does (keys, speech, hanging up) comes from its persona through
`media.CalleeLine`; this module only turns commands into replies.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from .agi_usage import USAGE
from .media import DIGIT_ANY, CalleeLine, LineCall, samples

UNKNOWN = "510 Invalid or unknown command\n"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine\n"
MAX_ARGS = 128  # res_agi.c: longer command lines are truncated


class Usage(Exception):
    """RESULT_SHOWUSAGE: the command exists but its arguments are wrong (a 520 reply)."""


def parse_args(line: str) -> list[str]:
    """res_agi.c parse_args(): words split on blanks; double quotes group; a backslash
    makes the next character literal. `"a b"` is one word, `""` an empty one."""
    argv: list[str] = []
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:  # an opening quote after blanks starts a word
                argv.append("")
                whitespace = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            if len(argv) >= MAX_ARGS - 1:
                continue
            argv.append("")
            whitespace = False
        argv[-1] += ch
        escaped = False
    return argv


def scan_int(text: str) -> int | None:
    """sscanf("%d"): a leading integer (`12x` reads 12), or None."""
    found = re.match(r"\s*([+-]?\d+)", text)
    return int(found.group(1)) if found else None


def atoi(text: str) -> int:
    return scan_int(text) or 0


@dataclass(frozen=True)
class Spec:
    words: tuple[str, ...]
    handler: str  # AgiCommands method
    dead_ok: bool  # allowed after the hangup (the `dead` flag of res_agi.c's table)


COMMANDS: tuple[Spec, ...] = (
    Spec(("answer",), "answer", False),
    Spec(("channel", "status"), "channel_status", False),
    Spec(("exec",), "exec", True),
    Spec(("get", "data"), "get_data", False),
    Spec(("get", "full", "variable"), "get_full_variable", True),
    Spec(("get", "option"), "get_option", False),
    Spec(("get", "variable"), "get_variable", True),
    Spec(("hangup",), "hangup", False),
    Spec(("noop",), "noop", True),
    Spec(("record", "file"), "record_file", False),
    Spec(("say", "alpha"), "say", False),
    Spec(("say", "digits"), "say", False),
    Spec(("say", "number"), "say", False),
    Spec(("set", "variable"), "set_variable", True),
    Spec(("stream", "file"), "stream_file", False),
    Spec(("verbose",), "verbose", True),
    Spec(("wait", "for", "digit"), "wait_for_digit", False),
)


def find_command(argv: list[str]) -> Spec | None:
    """The longest table entry whose words begin argv (case-insensitive)."""
    words = [word.lower() for word in argv]
    found = [spec for spec in COMMANDS if tuple(words[: len(spec.words)]) == spec.words]
    return max(found, key=lambda spec: len(spec.words)) if found else None


def usage_reply(spec: Spec) -> str:
    text = USAGE.get(" ".join(spec.words))
    if text is None:
        return "520 Invalid command syntax.  Proper usage not available.\n"
    return f"520-Invalid command syntax.  Proper usage follows:\n{text}\n520 End of proper usage.\n"


class CommandSession(Protocol):
    """The FastAGI session (agi.AgiSession) as the commands use it."""

    @property
    def call(self) -> LineCall: ...

    def variable(self, name: str) -> str | None: ...

    def set_variable(self, name: str, value: str) -> None: ...

    def ivr_hangup(self) -> None: ...


class AgiCommands:
    def __init__(self, session: CommandSession, line: CalleeLine) -> None:
        self.session = session
        self.call = session.call
        self.line = line

    async def run(self, command: str, dead: bool) -> str:
        argv = parse_args(command)
        spec = find_command(argv)
        if spec is None:
            return UNKNOWN
        if dead and not spec.dead_ok:
            return DEAD
        handler: Callable[[list[str], bool], Awaitable[str]] = getattr(self, spec.handler)
        try:
            return await handler(argv, dead)
        except Usage:
            return usage_reply(spec)

    # ---- channel and variables ----------------------------------------------------------

    async def answer(self, argv: list[str], dead: bool) -> str:
        return "200 result=0\n"  # the channel is already up

    async def noop(self, argv: list[str], dead: bool) -> str:
        return "200 result=0\n"

    async def verbose(self, argv: list[str], dead: bool) -> str:
        if len(argv) < 2:
            raise Usage
        return "200 result=1\n"

    async def channel_status(self, argv: list[str], dead: bool) -> str:
        if len(argv) > 3:
            raise Usage
        a = self.call.a
        if len(argv) == 3 and argv[2] != a.name:
            return "200 result=-1\n"
        return f"200 result={a.state}\n"

    async def get_variable(self, argv: list[str], dead: bool) -> str:
        if len(argv) != 3:
            raise Usage
        value = self.session.variable(argv[2])
        return "200 result=0\n" if value is None else f"200 result=1 ({value})\n"

    async def get_full_variable(self, argv: list[str], dead: bool) -> str:
        if len(argv) not in (4, 5):
            raise Usage
        if len(argv) == 5 and argv[4] != self.call.a.name:
            return "200 result=0\n"
        text = re.sub(r"\$\{([^}]*)\}", lambda m: self.session.variable(m.group(1)) or "", argv[3])
        return f"200 result=1 ({text})\n"

    async def set_variable(self, argv: list[str], dead: bool) -> str:
        if len(argv) != 4:
            raise Usage
        self.session.set_variable(argv[2], argv[3])
        return "200 result=1\n"

    async def hangup(self, argv: list[str], dead: bool) -> str:
        if len(argv) > 2:
            raise Usage
        if len(argv) == 2 and argv[1] != self.call.a.name:
            return "200 result=-1\n"  # no such channel (the sim only knows its own)
        self.session.ivr_hangup()
        return "200 result=1\n"

    # ---- prompts ------------------------------------------------------------------------

    async def stream_file(self, argv: list[str], dead: bool) -> str:
        if len(argv) not in (4, 5):
            raise Usage
        offset = scan_int(argv[4]) if len(argv) == 5 else 0
        if offset is None:
            raise Usage
        self.call.record.played.append(argv[2])
        played = await self.line.play(argv[3])
        endpos = offset + samples(played.elapsed)
        if played.hungup:
            return f"200 result=-1 endpos={endpos}\n"
        return f"200 result={played.code} endpos={endpos}\n"

    async def get_option(self, argv: list[str], dead: bool) -> str:
        if len(argv) not in (4, 5):
            raise Usage
        timeout_ms = atoi(argv[4]) if len(argv) == 5 else 5000  # the dialplan's dtimeout
        played = await self.line.play(argv[3])
        endpos = samples(played.elapsed)
        if played.hungup:
            return f"200 result=-1 endpos={endpos}\n"
        code = played.code
        if played.key is None:
            key = await self.line.wait_key(timeout_ms)
            if key is None:
                return f"200 result=-1 endpos={endpos}\n"
            # Like res_agi.c: a key outside the escape digits counts as no key.
            code = ord(key) if key and key in argv[3] else 0
        return f"200 result={code} endpos={endpos}\n"

    async def say(self, argv: list[str], dead: bool) -> str:
        what = argv[1].lower()
        allowed = (4,) if what == "digits" else (4, 5)
        if len(argv) not in allowed or (what != "alpha" and scan_int(argv[2]) is None):
            raise Usage
        played = await self.line.play(argv[3])
        return "200 result=-1\n" if played.hungup else f"200 result={played.code}\n"

    async def exec(self, argv: list[str], dead: bool) -> str:
        if len(argv) < 2:
            raise Usage
        app, data = argv[1].lower(), " ".join(argv[2:])
        if app == "set" and "=" in data:
            name, _, value = data.partition("=")
            self.session.set_variable(name.strip(), value)
        if dead:  # a real Asterisk answers 0 even for Playback on a dead channel
            return "200 result=0\n"
        if app == "audiosocket":
            return await self.line.audiosocket(data)
        if app in ("playback", "background", "wait"):
            seconds = float(atoi(data)) if app == "wait" else None
            played = await self.line.play("", seconds, prompt=app != "wait")
            if played.hungup:
                return "200 result=-1\n"
        return "200 result=0\n"

    # ---- the callee's answers -----------------------------------------------------------

    async def wait_for_digit(self, argv: list[str], dead: bool) -> str:
        timeout_ms = scan_int(argv[3]) if len(argv) == 4 else None
        if timeout_ms is None:
            raise Usage
        key = await self.line.wait_key(timeout_ms)
        if key is None:
            return "200 result=-1\n"
        return f"200 result={ord(key) if key else 0}\n"

    async def get_data(self, argv: list[str], dead: bool) -> str:
        """ast_app_getdata(): the prompt is interrupted by any key; '#' ends the input;
        no key within the (first-digit or between-digits) timeout ends it too."""
        if len(argv) < 3:
            raise Usage
        timeout = atoi(argv[3]) if len(argv) >= 4 else 0
        max_digits = atoi(argv[4]) if len(argv) >= 5 else 1024
        first, between = (6000, 2000) if timeout == 0 else (timeout, timeout)
        if max_digits <= 0:
            return "200 result=-1\n"
        if argv[2]:
            self.call.record.played.append(argv[2])
        played = await self.line.play(DIGIT_ANY) if argv[2] else None
        if played is not None and played.hungup:
            return "200 result=-1\n"
        key, digits = (played.key if played else None), ""
        while True:
            if key is None:
                key = await self.line.wait_key(between if digits else first, bool(digits))
                if key is None:
                    return "200 result=-1\n"
                if not key:
                    return f"200 result={digits} (timeout)\n"
            if key == "#":
                return f"200 result={digits}\n"
            digits += key
            if len(digits) >= max_digits:
                return f"200 result={digits}\n"
            key = None

    async def record_file(self, argv: list[str], dead: bool) -> str:
        """RECORD FILE path format escape timeout [offset] [BEEP] [s=silence]."""
        max_ms = scan_int(argv[5]) if len(argv) >= 6 else None
        if max_ms is None:
            raise Usage
        silence_s = 0
        for arg in argv[6:9]:
            if arg.startswith("s="):
                silence_s = atoi(arg[2:])
                break
        # The sample offset: the 7th word when it is a number (not BEEP, not s=...).
        offset = atoi(argv[6]) if len(argv) >= 7 and argv[6].isdigit() else 0
        rec = await self.line.record(argv[2], argv[3], max_ms, silence_s, offset)
        if rec.hungup:
            return f"200 result=-1 (hangup) endpos={samples(rec.elapsed)}\n"
        if rec.frames is None:
            return "200 result=-1 (writefile)\n"
        # `(timeout)` also when silence ended it, and result= is what was left of the
        # timeout (fastagi-session.txt: `200 result=1751 (timeout) endpos=8160`).
        return f"200 result={rec.leftover_ms} (timeout) endpos={rec.frames}\n"
