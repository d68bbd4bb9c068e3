"""What Asterisk's AGI() does with `agi://host:port/script`: the FastAGI client side of
the simulated PBX (fastagi-session.txt, res_agi.c).

It connects to the dialer's FastAGI server, sends the `agi_*` environment block and
answers one command line at a time. Like Asterisk it NEVER closes the socket itself:
when the caller hangs up it answers the running command with `result=-1`, sends an
unsolicited `HANGUP` line, refuses channel commands with 511, and the dialplan (and the
`;1` Hangup event) waits until the server closes the connection.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from typing import Protocol

from . import events as ev
from .agi_commands import AgiCommands
from .config import OriginateRequest
from .media import CalleeLine, LineCall
from .ports import Switch

log = logging.getLogger("dialer.simpbx")

AGI_VERSION = "22.10.1"
AGI_PORT = 4573  # when DIALER_AGI has no port
CONNECT_TIMEOUT = 2.0  # MAX_AGI_CONNECT (ms) in res_agi.c
# fastagi-session.txt: `HANGUP` came 42 ms after the `200 result=-1` of the command the
# hangup interrupted (Asterisk drains the channel's control queue first).
HANGUP_NOTICE_DELAY = 0.04
TECH_TYPES = {"local": "Local", "pjsip": "PJSIP", "sip": "SIP", "iax2": "IAX2", "dahdi": "DAHDI"}
# agi_threadid is a pthread id in Asterisk; any stable-looking number will do.
_THREAD_IDS = itertools.count(140713132533440, 8392704)


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (or `host`, port 4573) from DIALER_AGI."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit():
        return address.strip(), AGI_PORT
    return host.strip("[]"), int(port)


class AgiSwitch(Switch, Protocol):
    """The switch as the AGI session uses it: it also keeps the sessions' tasks."""

    @property
    def agi_tasks(self) -> set[asyncio.Task[None]]: ...


class AgiCall(LineCall, Protocol):
    """The answered call (calls.Call) as the AGI session uses it."""

    @property
    def core(self) -> AgiSwitch: ...

    @property
    def request(self) -> OriginateRequest: ...

    @property
    def variables(self) -> dict[str, str]: ...  # the channel variables of `;1`


class AgiSession:
    def __init__(
        self,
        call: AgiCall,
        address: str,
        script: str,
        priority: int,
        on_end: Callable[[AgiSession], None],
    ) -> None:
        self.call = call
        self.address = address
        self.host, self.port = split_address(address)
        self.script = script  # what follows host:port/ in the URL, query string included
        self.priority = priority  # of the AGI() step in [dialer-answered]
        self.on_end = on_end
        self.gone = asyncio.Event()  # the channel is hung up (caller, IVR or dialer)
        self.ended_by = ""  # "caller", "ivr" or "action" once gone
        self.cause = 16
        self.status = ""  # AGISTATUS: SUCCESS, FAILURE or HANGUP
        self.line = CalleeLine(call, self.gone)
        self.commands = AgiCommands(self, self.line)
        self._dead = False  # `HANGUP` was sent: only dead-channel commands run now
        self._busy = False  # a command is running
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"agi://{self.address}/{self.script}"

    # ---- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        self._task = self.call.core.loop.create_task(self._run())
        self.call.core.agi_tasks.add(self._task)
        self._task.add_done_callback(self.call.core.agi_tasks.discard)

    def close(self) -> None:
        """Simulator shutdown: drop the connection without any further event."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _run(self) -> None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            log.info("simulated PBX: FastAGI %s unreachable (%s): AGISTATUS=FAILURE", self.url, exc)
            self._finish("FAILURE")
            return
        self._writer = writer
        try:
            writer.write(self.environment())
            if self.gone.is_set():  # hung up while connecting
                self._notice()
            while True:
                line = await reader.readline()
                if not line.endswith(b"\n"):  # EOF: the server ended the script
                    break
                await self._handle(line[:-1].decode("utf-8", "replace").rstrip("\r"))
        except ConnectionError:
            pass
        finally:
            writer.close()
        self._finish("HANGUP" if self.gone.is_set() else "SUCCESS")

    def _finish(self, status: str) -> None:
        self.status = status
        self.call.record.agi_status = status
        # After this task has ended, so the dialplan's next steps run outside of it.
        self.call.core.loop.call_soon(self.on_end, self)

    # ---- the wire -------------------------------------------------------------------

    def environment(self) -> bytes:
        """The block setup_env() sends, in its order (fastagi-session.txt)."""
        a, req = self.call.a, self.call.request
        tech = TECH_TYPES.get(req.target.tech.lower(), req.target.tech)
        lines = [
            ("agi_network", "yes"),
            ("agi_network_script", self.script),
            ("agi_request", self.url),
            ("agi_channel", a.name),
            ("agi_language", "en"),
            ("agi_type", tech),
            ("agi_uniqueid", a.uniqueid),
            ("agi_version", AGI_VERSION),
            ("agi_callerid", req.cid_num or "unknown"),
            ("agi_calleridname", req.cid_name or "unknown"),
            ("agi_callingpres", "0"),
            ("agi_callingani2", "0"),
            ("agi_callington", "0"),
            ("agi_callingtns", "0"),
            ("agi_dnid", "unknown"),
            ("agi_rdnis", "unknown"),
            ("agi_context", a.context),
            ("agi_extension", a.exten),
            ("agi_priority", str(self.priority)),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", ""),
            ("agi_threadid", str(next(_THREAD_IDS))),
        ]
        return "".join(f"{key}: {value}\n" for key, value in lines).encode() + b"\n"

    def _write(self, text: str) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(text.encode())

    async def _handle(self, command: str) -> None:
        self.call.record.agi_commands.append(command)
        self._busy = True
        try:
            reply = await self.commands.run(command, self._dead)
        finally:
            self._busy = False
        self._write(reply)
        if self.gone.is_set() and not self._dead:
            if self.ended_by != "ivr":  # the IVR's own HANGUP is noticed at once
                await asyncio.sleep(HANGUP_NOTICE_DELAY)
            self._notice()

    def _notice(self) -> None:
        """The unsolicited `HANGUP` line; from now on the channel is dead."""
        if not self._dead:
            self._dead = True
            self._write("HANGUP\n")

    # ---- what the call tells the session ---------------------------------------------

    def channel_gone(self, ended_by: str, cause: int) -> None:
        """The channel was hung up: by the caller, the IVR (AGI HANGUP) or the dialer."""
        if self.gone.is_set():
            return
        self.ended_by, self.cause = ended_by, cause
        self.gone.set()
        if self._writer is not None and not self._busy:
            self._notice()  # idle between commands: Asterisk says so at once

    def ivr_hangup(self) -> None:
        """AGI HANGUP: a soft hangup of `;1` now; the Hangup events wait for the close."""
        self.call.core.emit("SoftHangupRequest", ev.hangup_request, self.call.a, ev.SOFTHANGUP_AGI)
        self.channel_gone("ivr", 0)

    # ---- channel variables ------------------------------------------------------------

    def variable(self, name: str) -> str | None:
        """GET VARIABLE: channel variables, the functions and builtins an IVR asks for."""
        a, req = self.call.a, self.call.request
        builtins = {
            "CHANNEL": a.name,
            "UNIQUEID": a.uniqueid,
            "CONTEXT": a.context,
            "EXTEN": a.exten,
            "EPOCH": str(int(time.time())),
            "CALLERID(num)": req.cid_num,
            "CALLERID(name)": req.cid_name,
            "CALLERID(all)": f'"{req.cid_name}" <{req.cid_num}>',
            "CHANNEL(name)": a.name,
            "CHANNEL(language)": "en",
        }
        if name in self.call.variables:
            return self.call.variables[name]
        return builtins.get(name)

    def set_variable(self, name: str, value: str) -> None:
        self.call.variables[name] = value
