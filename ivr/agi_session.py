"""One call over one FastAGI connection: AgiSession, the CallChannel that speaks AGI.

The server (ivr.fastagi) reads the environment block and hands the connection to an
AgiSession; from then on the session owns the socket. A background task reads every
line Asterisk sends, so an unsolicited `HANGUP` is noticed even while the handler is
busy; commands go out one at a time and get their replies in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from ivr.agi_protocol import (
    HANGUP,
    AgiReply,
    ReplyAssembler,
    bare,
    check_command,
    is_dead_safe,
    keys_argument,
    quoted,
    split_script,
)
from ivr.channel import CallerHungUp, ChannelError, PlayResult, RecordResult
from ivr.speech_start import record_answer

log = logging.getLogger("ivr.agi_session")

DEFAULT_HANGUP_GRACE = 0.5  # seconds the socket stays open after a hangup
# Asterisk sends `HANGUP` about 42 ms after the `200 result=-1` of the interrupted
# command (trace); -1 without it is a plain failure, such as a missing sound file.
DEFAULT_HANGUP_CONFIRM = 0.5
SILENCE_PROMPT = "silence/1"  # GET DATA needs a prompt; this one is a stock sound
WAV_SAMPLES_PER_MS = 8  # RECORD FILE "wav" is 8 kHz; endpos counts samples
# RECORD FILE reports `(timeout)` for silence detection too; a recording that ended
# this much before its limit was ended by silence.
SILENCE_MARGIN_MS = 250


class AgiCommandError(ChannelError):
    """Asterisk refused or failed a command (510, 520 usage, result=-1 on a live call)."""

    def __init__(self, command: str, reply: AgiReply, message: str) -> None:
        super().__init__(message)
        self.command = command
        self.reply = reply


class SessionClosed(CallerHungUp):
    """The session is over on our side (handler done, server stopping): the call is no
    longer ours, which the interpreter treats like a hangup."""


class _Eof:
    """Queued when the connection ends, to wake a command waiting for its reply."""


_EOF = _Eof()
_WORD = re.compile(r"[A-Za-z]+")


def _verb(line: str) -> str:
    """The command words without arguments, for messages and logs: arguments may carry
    caller data (variable values), which stays out of logs."""
    words = []
    for word in line.split()[:3]:
        if not _WORD.fullmatch(word):
            break
        words.append(word)
    return " ".join(words) or "?"


class AgiSession:
    """One call over one FastAGI connection; implements ivr.channel.CallChannel.

    `command()` is the low-level door (one line in, one reply out); the CallChannel
    methods build their commands with it. A background task reads everything Asterisk
    sends, so an unsolicited `HANGUP` is noticed even while the handler is busy.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        headers: dict[str, str],
        *,
        hangup_grace: float = DEFAULT_HANGUP_GRACE,
        hangup_confirm: float = DEFAULT_HANGUP_CONFIRM,
        on_turnaround: Callable[[float], None] | None = None,
    ) -> None:
        self.headers = headers
        # Dialler-side latency: from a reply's arrival to our next command (seconds).
        self._on_turnaround = on_turnaround
        self._replied_at: float | None = None
        self.script, self.params = split_script(headers)
        self.last_reply: AgiReply | None = None  # e.g. `endpos` of the last STREAM FILE
        self.commands_sent = 0
        self._reader = reader
        self._writer = writer
        self._hangup_grace = hangup_grace
        self._hangup_confirm = hangup_confirm
        self._replies: asyncio.Queue[AgiReply | _Eof] = asyncio.Queue()
        self._lock = asyncio.Lock()  # one command on the wire at a time
        self._gone = asyncio.Event()  # hung up or closed
        self._hung_up = False
        self._closed = False
        # Replies still due for commands whose caller was cancelled: they are dropped
        # when they arrive instead of being taken for the next command's reply.
        self._orphans = 0
        self._grace: asyncio.TimerHandle | None = None
        self._reader_task: asyncio.Task[None] | None = None

    # --- state -------------------------------------------------------------------
    @property
    def variables(self) -> dict[str, str]:
        # Asterisk's headers win over URL parameters of the same name: they describe
        # the channel, the URL is just dialplan text.
        return {**self.params, **self.headers}

    @property
    def uniqueid(self) -> str:
        return self.headers.get("uniqueid", "")

    @property
    def hung_up(self) -> bool:
        return self._hung_up

    @property
    def closed(self) -> bool:
        return self._closed

    # --- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        self._reader_task = asyncio.create_task(
            self._read_replies(), name=f"agi-reader-{self.uniqueid}"
        )

    def close_now(self) -> None:
        """Close the socket (Asterisk then continues the dialplan or runs `h`)."""
        if self._closed:
            return
        self._closed = True
        self._gone.set()
        if self._grace is not None:
            self._grace.cancel()
        self._writer.close()
        self._replies.put_nowait(_EOF)

    async def close(self) -> None:
        self.close_now()
        if self._reader_task is not None:
            # Closing the transport ends the reader with EOF; cancel only a straggler.
            _, pending = await asyncio.wait({self._reader_task}, timeout=1.0)
            for task in pending:
                task.cancel()
        with contextlib.suppress(OSError):  # a reset by the peer: closed all the same
            await self._writer.wait_closed()

    def _mark_hung_up(self, reason: str) -> None:
        if self._hung_up:
            return
        self._hung_up = True
        self._gone.set()
        log.debug("agi_session.hung_up", extra={"agi_uniqueid": self.uniqueid, "reason": reason})
        if not self._closed:
            loop = asyncio.get_running_loop()
            self._grace = loop.call_later(self._hangup_grace, self.close_now)

    async def _read_replies(self) -> None:
        assembler = ReplyAssembler()
        try:
            while raw := await self._reader.readline():
                item = assembler.feed(raw.decode("utf-8", "replace").rstrip("\r\n"))
                if item is HANGUP:
                    self._mark_hung_up("HANGUP line")
                elif isinstance(item, AgiReply):
                    self._replied_at = time.monotonic()
                    self._replies.put_nowait(item)
        except (ValueError, ConnectionError) as exc:  # ValueError: a line over the limit
            log.warning(
                "agi_session.read_failed", extra={"agi_uniqueid": self.uniqueid, "error": str(exc)}
            )
        if not self._closed:
            # Asterisk closed first: the AGI is over for this channel (caller gone).
            self._mark_hung_up("connection closed")
            self.close_now()

    # --- the low-level door --------------------------------------------------------
    async def command(self, line: str) -> AgiReply:
        """Send one AGI command and return its `200` reply.

        Raises CallerHungUp on `511`, on a closed connection, and without sending
        anything for a command that is not dead-channel-safe once the caller has hung
        up; ChannelError (AgiCommandError) on `510`, `520` and unparseable replies.
        A `200 result=-1` is returned as it is: what -1 means depends on the command.
        """
        check_command(line)
        async with self._lock:
            if self._closed:
                raise self._gone_error(line)
            if self._hung_up and not is_dead_safe(line):
                raise CallerHungUp(f"caller hung up; {_verb(line)} not sent")
            log.debug(
                "agi_session.command", extra={"agi_uniqueid": self.uniqueid, "command": _verb(line)}
            )
            self._writer.write(line.encode() + b"\n")
            self.commands_sent += 1
            if self._on_turnaround is not None and self._replied_at is not None:
                self._on_turnaround(time.monotonic() - self._replied_at)
            try:
                await self._writer.drain()
                reply = await self._next_reply(line)
            except asyncio.CancelledError:
                self._orphans += 1  # the line is on its way; its reply must be dropped
                raise
            except ConnectionError as exc:
                self._mark_hung_up("connection reset")
                raise CallerHungUp(f"connection lost during {_verb(line)}") from exc
        self.last_reply = reply
        return self._accept(line, reply)

    async def _next_reply(self, line: str) -> AgiReply:
        while True:
            item = await self._replies.get()
            if isinstance(item, _Eof):
                self._replies.put_nowait(item)  # every later command sees it too
                raise self._gone_error(line)
            if self._orphans:
                self._orphans -= 1
                continue
            return item

    def _gone_error(self, line: str) -> CallerHungUp:
        if self._hung_up:
            return CallerHungUp(f"caller hung up during {_verb(line)}")
        return SessionClosed(f"session closed; {_verb(line)} not answered")

    def _accept(self, line: str, reply: AgiReply) -> AgiReply:
        if reply.code == 200:
            return reply
        if reply.code == 511:
            self._mark_hung_up("511")
            raise CallerHungUp(f"{_verb(line)}: {reply.data}")
        if reply.code == 520:
            raise AgiCommandError(line, reply, f"{_verb(line)}: usage error\n{reply.data}")
        if reply.code == 510:
            raise AgiCommandError(line, reply, f"{_verb(line)}: {reply.data}")
        raise AgiCommandError(line, reply, f"{_verb(line)}: unexpected reply {reply.raw!r}")

    async def _failed(self, line: str, reply: AgiReply) -> NoReturn:
        """`result=-1`: a hangup if Asterisk's HANGUP (or EOF) follows shortly, else a
        failure of the command on a live call (for example a missing sound file)."""
        if not self._gone.is_set():
            try:
                async with asyncio.timeout(self._hangup_confirm):
                    await self._gone.wait()
            except TimeoutError:
                why = f"result={reply.result}" + (f" ({reply.data})" if reply.data else "")
                raise AgiCommandError(line, reply, f"{_verb(line)} failed: {why}") from None
        raise self._gone_error(line)

    def _int_result(self, line: str, reply: AgiReply) -> int:
        try:
            return int(reply.result)
        except ValueError:
            raise AgiCommandError(
                line, reply, f"{_verb(line)}: result is not a number: {reply.raw!r}"
            ) from None

    async def _key_command(self, line: str) -> str | None:
        """Commands whose result is the ASCII code of a key, 0 for none, -1 for failure."""
        reply = await self.command(line)
        code = self._int_result(line, reply)
        if code < 0:
            await self._failed(line, reply)
        if code >= 0x110000:
            raise AgiCommandError(line, reply, f"{_verb(line)}: no such key code {code}")
        return chr(code) if code else None

    # --- CallChannel -----------------------------------------------------------------
    async def play(self, prompts: Sequence[str], interrupt_keys: str = "") -> PlayResult:
        keys = keys_argument(interrupt_keys)
        # Every name is checked before the first is played, not halfway through.
        lines = [f"STREAM FILE {bare(prompt, 'a prompt name')} {keys}" for prompt in prompts]
        for line in lines:
            digit = await self._key_command(line)
            if digit is not None:
                return PlayResult(digit)
        return PlayResult()

    async def say_number(self, number: int, interrupt_keys: str = "") -> PlayResult:
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"say_number needs an int: {number!r}")
        digit = await self._key_command(f"SAY NUMBER {number} {keys_argument(interrupt_keys)}")
        return PlayResult(digit)

    async def say_digits(self, digits: str, interrupt_keys: str = "") -> PlayResult:
        if not digits.isascii() or not digits.isdigit():
            raise ValueError(f"say_digits needs digits 0-9: {digits!r}")
        digit = await self._key_command(f"SAY DIGITS {digits} {keys_argument(interrupt_keys)}")
        return PlayResult(digit)

    async def read_digits(self, prompt: str | None, timeout_ms: int, max_digits: int) -> str:
        if timeout_ms <= 0 or max_digits < 1:
            raise ValueError("read_digits needs timeout_ms > 0 and max_digits >= 1")
        if prompt is None and max_digits == 1:
            key = await self._key_command(f"WAIT FOR DIGIT {timeout_ms}")
            # '#' ends input, as in GET DATA: it is never part of the answer.
            return "" if key in (None, "#") else key
        line = (
            f"GET DATA {bare(prompt or SILENCE_PROMPT, 'a prompt name')} {timeout_ms} {max_digits}"
        )
        reply = await self.command(line)
        if reply.result == "-1":
            await self._failed(line, reply)
        return reply.result  # the digits; `(timeout)` data when the caller stopped early

    async def record(
        self,
        path: Path,
        max_ms: int,
        silence_s: int,
        beep: bool = False,
        start_ms: int | None = None,
    ) -> RecordResult:
        if max_ms <= 0:
            raise ValueError("record needs max_ms > 0")
        if start_ms:
            return await record_answer(self._record_from, path, start_ms, max_ms, silence_s)
        return await self._record_from(path, max_ms, silence_s, 0, beep)

    async def _record_from(
        self, path: Path, max_ms: int, silence_s: int, offset: int, beep: bool = False
    ) -> RecordResult:
        """One RECORD FILE, writing from sample `offset` of the file on (0: a new file)."""
        path_word = bare(str(path), "a recording path")
        words = ["RECORD FILE", path_word, 'wav "#"', str(max_ms), str(offset)]
        if beep:
            words.append("BEEP")
        if silence_s > 0:
            words.append(f"s={silence_s}")
        line = " ".join(words)
        loop = asyncio.get_running_loop()
        started = loop.time()
        reply = await self.command(line)
        elapsed_ms = (loop.time() - started) * 1000
        endpos = reply.extra.get("endpos", "")
        duration = int(endpos) // WAV_SAMPLES_PER_MS if endpos.isdigit() else None
        if reply.data == "dtmf":
            ended_by = "dtmf"
        elif reply.data == "hangup":
            self._mark_hung_up("hangup while recording")
            ended_by = "hangup"  # the recording so far is kept: it is the caller's message
        elif reply.data == "timeout":
            early = elapsed_ms < max_ms - SILENCE_MARGIN_MS
            ended_by = "silence" if silence_s > 0 and early else "timeout"
        elif reply.result == "-1" and reply.data != "writefile":
            await self._failed(line, reply)  # (waitfor), (randomerror): often a hangup
        else:  # (writefile): cannot write the file; (randomerror) with a key during the beep
            raise AgiCommandError(line, reply, f"RECORD FILE failed ({reply.data or reply.raw})")
        return RecordResult(Path(f"{path}.wav"), ended_by, duration)

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command(f"GET VARIABLE {bare(name, 'a variable name')}")
        return reply.data if reply.result == "1" else None

    async def set_variable(self, name: str, value: str) -> None:
        if "=" in bare(name, "a variable name"):
            raise ValueError(f"a variable name must not contain '=': {name!r}")
        await self.command(f"SET VARIABLE {name} {quoted(value, 'a variable value')}")

    async def hangup(self) -> None:
        if self._hung_up or self._closed:
            return  # already gone: nothing to hang up
        await self.command("HANGUP")
        self._mark_hung_up("hung up by the script")
