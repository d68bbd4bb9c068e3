"""The AMI TCP server of the simulated PBX: sessions, login, action dispatch, fan-out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from . import actions, astdb, queue_actions
from .config import CallRecord, OriginateRecord, SimConfig
from .core import PbxCore
from .operators import OperatorControl
from .personas import BY_LAST_DIGIT, check_personas
from .wire import BANNER, Action, ActionReader, format_message, response

log = logging.getLogger("dialer.simpbx")

TRUE_WORDS, FALSE_WORDS = actions.TRUE_WORDS, frozenset({"no", "false", "n", "f", "0", "off"})
UNAUTHENTICATED_OK = frozenset({"login", "logoff", "challenge"})


def event_mask(text: str, allowed: frozenset[str]) -> frozenset[str]:
    """The `Events:` header of Login / `EventMask:` of Events, limited to `read=`."""
    value = text.strip().lower()
    if not value or value in TRUE_WORDS or value.isdigit():
        return allowed
    if value in FALSE_WORDS:
        return frozenset()
    return allowed & {part.strip() for part in value.split(",")}


class AmiSession(asyncio.Protocol):
    """One AMI client. Writes made in one loop iteration leave in one send."""

    def __init__(self, pbx: SimulatedPbx) -> None:
        self.pbx = pbx
        self.transport: asyncio.Transport | None = None
        self.authenticated = False
        self.event_classes: frozenset[str] = frozenset()
        self.frozen = False
        self._reader = ActionReader()
        self._blocked = False  # a synchronous Originate or a failed Login is pending
        self._pending: deque[Action] = deque()
        self._held: list[bytes] = []
        self._out: list[bytes] = []
        self._flush_handle: asyncio.Handle | None = None
        self._login_timer: asyncio.TimerHandle | None = None
        self._late: list[bytes] | None = None  # what an action sends, held (reply_delay)
        self._handlers: dict[str, Callable[[Action], None]] = {
            "login": self._login,
            "logoff": self._logoff,
            "events": self._events,
            "ping": lambda a: self.reply(actions.ping(a)),
            "originate": self._originate,
            "hangup": lambda a: actions.hangup(self.pbx.core, a, self),
            "coreshowchannels": lambda a: self.reply(actions.core_show_channels(self.pbx.core, a)),
            "queuestatus": lambda a: self.reply(queue_actions.queue_status(self.pbx.core, a)),
            "queuesummary": lambda a: self.reply(queue_actions.queue_summary(self.pbx.core, a)),
            "queueadd": lambda a: queue_actions.queue_add(self.pbx.core, a, self),
            "queueremove": lambda a: queue_actions.queue_remove(self.pbx.core, a, self),
            "queuepause": lambda a: queue_actions.queue_pause(self.pbx.core, a, self),
            "corestatus": lambda a: self.reply(astdb.core_status(self.pbx.core, a)),
            "dbget": lambda a: self.reply(astdb.db_get(self.pbx.core.astdb, a)),
            "dbgettree": lambda a: self.reply(astdb.db_get_tree(self.pbx.core.astdb, a)),
            "dbdel": lambda a: self.reply(astdb.db_del(self.pbx.core.astdb, a)),
            "dbdeltree": lambda a: self.reply(astdb.db_del_tree(self.pbx.core.astdb, a)),
        }

    # ---- transport --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.pbx.sessions.add(self)
        log.debug(
            "simulated PBX: AMI client connected from %s", transport.get_extra_info("peername")
        )
        self.reply(BANNER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pbx.sessions.discard(self)
        self._pending.clear()  # like Asterisk, unread actions of a dead session never run
        self._held.clear()
        if self._login_timer is not None:
            self._login_timer.cancel()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        for action in self._reader.feed(data):
            if self._blocked:
                self._pending.append(action)
            else:
                self._handle(action)

    def reply(self, data: bytes) -> None:
        if self._late is not None:
            self._late.append(data)
            return
        if self.frozen or self.transport is None or self.transport.is_closing():
            return
        self._out.append(data)
        if self._flush_handle is None:
            self._flush_handle = self.pbx.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def close(self) -> None:
        """Send what is queued, then close (Logoff, failed Login)."""
        self._flush()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self._out.clear()
        self._pending.clear()
        self._held.clear()
        if self.transport is not None:
            self.transport.abort()
        self.pbx.sessions.discard(self)

    def set_frozen(self, frozen: bool) -> None:
        if self.transport is None:
            return
        self.frozen = frozen
        if frozen:
            self._out.clear()
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    def send_event(self, event_class: str, data: bytes) -> None:
        if event_class not in self.event_classes:
            return
        if self._blocked:
            self._held.append(data)
        else:
            self.reply(data)

    def block(self) -> None:
        self._blocked = True

    def unblock(self) -> None:
        self._blocked = False
        if self.transport is None or self.transport.is_closing():
            return
        held, self._held = self._held, []
        for data in held:
            self.reply(data)
        while self._pending and not self._blocked:
            self._handle(self._pending.popleft())

    # ---- actions ------------------------------------------------------------------------

    def _handle(self, action: Action) -> None:
        delay = self.pbx.reply_delay
        if delay <= 0 or not self.authenticated:
            self._dispatch(action)
            return
        # A manager thread running late: the reply, and what the action sent with it,
        # leave `delay` seconds later, in order; other events flow meanwhile.
        self._late = []
        try:
            self._dispatch(action)
        finally:
            late, self._late = self._late, None
        self.pbx.loop.call_later(delay, self._send_late, late)

    def _send_late(self, late: list[bytes]) -> None:
        for data in late:
            self.reply(data)

    def _dispatch(self, action: Action) -> None:
        name = action.name.strip()
        key = name.lower()
        if not name:
            self.reply(actions.error(action, "Missing action in request"))
        elif not self.authenticated and key not in UNAUTHENTICATED_OK:
            self.reply(actions.error(action, "Permission denied"))
        elif key in self._handlers:
            self._handlers[key](action)
        else:
            message = (
                f"Invalid/unknown command: {name}. "
                "Use Action: ListCommands to show available commands."
            )
            self.reply(actions.error(action, message))

    def _login(self, action: Action) -> None:
        config = self.pbx.config
        if self.authenticated:
            self.reply(response(action.action_id, "Success", ("Message", "Already authenticated")))
            return
        if action.get("Username") != config.username or action.get("Secret") != config.secret:
            log.info("simulated PBX: failed AMI login for user %r", action.get("Username"))
            self.block()  # Asterisk answers a wrong secret about a second late, then hangs up
            self._login_timer = self.pbx.loop.call_later(
                config.timing.login_failure_delay, self._login_failed, action
            )
            return
        self.authenticated = True
        self.event_classes = event_mask(action.get("Events"), config.read_classes)
        self.reply(response(action.action_id, "Success", ("Message", "Authentication accepted")))
        if self.pbx.booted:  # else it comes when boot ends
            self.send_event("system", self.pbx.fully_booted_event())

    def _originate(self, action: Action) -> None:
        if not self.pbx.booted:
            # What Asterisk 22 answers before pbx_config has loaded extensions.conf.
            self.pbx.refused_while_booting += 1
            self.reply(actions.error(action, "Extension does not exist."))
            return
        actions.originate(self.pbx.core, action, self)

    def _login_failed(self, action: Action) -> None:
        self._login_timer = None
        self.reply(actions.error(action, "Authentication failed"))
        self.close()

    def _logoff(self, action: Action) -> None:
        self.reply(response(action.action_id, "Goodbye", ("Message", "Thanks for all the fish.")))
        self.close()

    def _events(self, action: Action) -> None:
        self.event_classes = event_mask(action.get("EventMask"), self.pbx.config.read_classes)
        state = "On" if self.event_classes else "Off"
        self.reply(response(action.action_id, "Success", ("Events", state)))


class SimulatedPbx(OperatorControl):
    """A SIMULATED Asterisk: speaks real AMI over TCP, with scripted callees and operators
    (login/logout/pause/set_unavailable/members: see operators.py)."""

    def __init__(self, config: SimConfig) -> None:
        check_personas(config.personas, config.speech_dir)
        self.config = config
        self.sessions: set[AmiSession] = set()
        self._server: asyncio.Server | None = None
        self._port = config.port
        self._core: PbxCore | None = None
        self._stopped = False
        self.started_at = 0.0
        self.booted = False
        self.refused_while_booting = 0  # Originates answered "Extension does not exist."
        self.reply_delay = 0.0  # > 0: every action is answered this many seconds late
        self._boot_timer: asyncio.TimerHandle | None = None
        self.restarts = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.core.loop

    @property
    def core(self) -> PbxCore:
        if self._core is None:
            raise RuntimeError("SimulatedPbx.start() has not run")
        return self._core

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._core = PbxCore(self.config, self, loop)
        self.started_at = loop.time()
        self._boot(self.config.boot_delay)
        self._server = await loop.create_server(
            lambda: AmiSession(self), self.config.host, self.config.port, reuse_address=True
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        log.info("%s", self.describe())

    @property
    def port(self) -> int:
        return self._port

    async def stop(self) -> None:
        if self._stopped or self._server is None:
            return
        self._stopped = True
        if self._boot_timer is not None:
            self._boot_timer.cancel()
        self.core.shutdown()
        self._server.close()
        for session in list(self.sessions):
            session.abort()
        # The FastAGI sessions were cancelled; let them close their sockets.
        await asyncio.gather(*self.core.agi_tasks, return_exceptions=True)
        await self._server.wait_closed()
        log.info("simulated PBX on port %s stopped", self.port)

    def restart(self, boot_delay: float | None = None) -> None:
        """Like `core restart now`: every AMI session and every call is cut, then the
        switch boots again (`boot_delay`, default the configured one) with a new startup
        time and the AstDB as it was. The cut calls' records get result "cut" (no journal
        end: the simulator runs no hangup handler for them); earlier records stay."""
        self._replace_core()
        self._boot(self.config.boot_delay if boot_delay is None else boot_delay)

    def _replace_core(self) -> int:
        old = self.core
        cut = [r for r in old.calls.values() if r.result is None]
        for record in cut:
            record.result, record.ended = "cut", time.time()
        self.drop_connections()
        old.shutdown()
        # CoreStartupTime has a one-second resolution: make the restart visible in it.
        started = max(time.time(), old.started + 1.0)
        self._core = PbxCore(self.config, self, old.loop, astdb=old.astdb, started=started)
        self._core.originates.extend(old.originates)
        self._core.calls.update(old.calls)
        self.started_at = old.loop.time()
        self.restarts += 1
        return len(cut)

    def _boot(self, delay: float) -> None:
        if self._boot_timer is not None:
            self._boot_timer.cancel()
        self.booted = False
        if delay <= 0:
            self._fully_booted()
        else:
            self._boot_timer = self.core.loop.call_later(delay, self._fully_booted)

    def _fully_booted(self) -> None:
        self._boot_timer = None
        self.booted = True
        log.info("simulated PBX fully booted")
        for session in list(self.sessions):
            if session.authenticated:
                session.send_event("system", self.fully_booted_event())

    def fully_booted_event(self) -> bytes:
        uptime = int(self.loop.time() - self.started_at)
        fields = [("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", uptime)]
        return format_message([*fields, ("LastReload", uptime), ("Status", "Fully Booted")])

    def drop_connections(self) -> None:
        """Cut every AMI socket at once; calls go on and their events are lost meanwhile."""
        for session in list(self.sessions):
            session.abort()

    def crash_and_restart(self) -> int:
        """Asterisk killed (-9) and started again: every call vanishes at once, with no
        Hangup event and no hangup handler (so no journal end); the AMI sockets drop; the
        switch comes back empty with a new startup time and the AstDB as it was, booted
        at once. Returns how many calls were cut (their CallRecord result becomes "cut")."""
        return self._replace_core()

    def freeze(self, frozen: bool = True) -> None:
        """Keep open sockets open but silent both ways (a half-open link). What would have
        been sent meanwhile is lost; actions wait in the socket until unfrozen."""
        for session in list(self.sessions):
            session.set_frozen(frozen)

    # ---- EventSink ----------------------------------------------------------------------

    def wants(self, event_class: str) -> bool:
        return any(s.authenticated and event_class in s.event_classes for s in self.sessions)

    def publish(self, event_class: str, data: bytes) -> None:
        for session in self.sessions:
            if session.authenticated:
                session.send_event(event_class, data)

    # ---- what tests and the demo read ----------------------------------------------------

    @property
    def originates(self) -> list[OriginateRecord]:
        return self.core.originates

    @property
    def calls(self) -> dict[str, CallRecord]:
        return self.core.calls

    @property
    def max_concurrent(self) -> int:
        return self.core.max_concurrent

    def describe(self) -> str:
        digits: dict[str, list[str]] = {}
        for digit, persona in sorted(BY_LAST_DIGIT.items()):
            digits.setdefault(persona, []).append(digit)
        rules = ", ".join(f"{'/'.join(d)} {p}" for p, d in digits.items())
        explicit = len(self.config.personas)
        return (
            f"SIMULATED PBX (not a real Asterisk) on {self.config.host}:{self.port}, AMI user "
            f"{self.config.username!r}; callee persona by last digit: {rules}; "
            f"{explicit} number(s) mapped explicitly (IVR callers: press:<keys>, "
            f"say:<names>); {self.config.operators} operator(s) per queue at start; channel limit "
            f"{self.config.channel_limit}; FastAGI client for DIALER_AGI, AMD for DIALER_AMD"
        )


async def serve_forever(config: SimConfig) -> None:
    """Run the simulated PBX until cancelled (`dialer simulate-pbx`)."""
    pbx = SimulatedPbx(config)
    await pbx.start()
    try:
        await asyncio.Event().wait()
    finally:
        await pbx.stop()
