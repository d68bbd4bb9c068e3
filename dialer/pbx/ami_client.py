"""One AMI connection to Asterisk: login, actions with timeouts, events, pings, reconnect.

This replaces panoramisk's Manager/AMIProtocol, keeping its message objects (see
ami_wire), because of reproduced panoramisk 1.4 defects that would reach our users:
- an exception in an event callback propagates into data_received and drops the link:
  here every callback runs inside its own try/except;
- an action pending when the link drops either never resolves or is re-sent after the
  reconnect (an Originate sent twice dials a person twice): here every pending action
  fails at once with AmiDisconnected and nothing is ever re-sent;
- `close()` leaves a reconnect scheduled: here close() stops the supervisor for good;
- Ping replies are not checked, so a half-open TCP link goes unnoticed: here a Ping
  without a `Ping: Pong` reply within the action timeout tears the link down;
- actions have no timeout: here every action has one.
A wrong secret raises AmiAuthError and is never retried; a Login the server drops, cuts
short or never answers raises AmiConnectError (the command exits 3 with the reason).

Asterisk accepts a Login before its dialplan is loaded: `booted` waits for FullyBooted.
An action unanswered while bytes still arrive (a stuck manager, an event flood) makes
the link not `responsive` until a reply comes, instead of tearing it down.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from panoramisk.message import Message

from dialer.pbx.ami_base import (
    AmiActionTimeout,
    AmiAuthError,
    AmiConnectError,
    AmiConnectionSettings,
    AmiDisconnected,
    AmiError,
)
from dialer.pbx.ami_protocol import (
    BOOT_EVENT,
    SHUTDOWN_EVENT,
    SHUTTING_DOWN_REPLY,
    AmiProtocol,
    PendingAction,
    with_client_events,
)
from dialer.pbx.ami_wire import encode_action

__all__ = [
    "AmiActionTimeout",
    "AmiAuthError",
    "AmiClient",
    "AmiConnectError",
    "AmiConnectionSettings",
    "AmiDisconnected",
    "AmiError",
]

log = logging.getLogger("dialer.ami")
BOOT_HINT = "give the AMI user `read = system` so it gets FullyBooted"

EventHandler = Callable[[Message], None]
ConnectionHandler = Callable[[], Any]  # may return an awaitable


class AmiClient:
    """A supervised AMI link. Construct, `await connect()`, send actions, `await close()`."""

    def __init__(
        self,
        settings: AmiConnectionSettings,
        on_event: EventHandler | None = None,
        on_reconnected: ConnectionHandler | None = None,
        on_disconnected: ConnectionHandler | None = None,
        wanted_events: frozenset[str] | None = None,
    ) -> None:
        self.settings = settings
        self.wanted_events = with_client_events(wanted_events)  # None: every event
        self._on_event: EventHandler = on_event or (lambda _event: None)
        self._on_reconnected = on_reconnected
        self._on_disconnected = on_disconnected
        self._on_responsive: ConnectionHandler | None = None
        self._protocol: AmiProtocol | None = None
        self._pending: dict[str, PendingAction] = {}
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:8]
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False
        self._connected = asyncio.Event()
        self._stalled_since: float | None = None  # an action went unanswered (loop time)
        self.fatal_error: AmiError | None = None
        self.reconnects = 0
        self.version: str | None = None

    # --- public -----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def booted(self) -> bool:
        """Logged in and Asterisk says it is fully booted (dialplan and modules loaded)."""
        protocol = self._protocol
        return self.connected and protocol is not None and protocol.booted.done()

    @property
    def shutting_down(self) -> bool:
        """Asterisk refused an action because it is stopping or restarting: for about a
        second before the socket closes, every Originate would be refused."""
        protocol = self._protocol
        return protocol is not None and protocol.shutting_down

    @property
    def responsive(self) -> bool:
        """False from an action that went unanswered until Asterisk replies again."""
        return self._stalled_since is None

    def attach(
        self,
        on_event: EventHandler,
        on_reconnected: ConnectionHandler | None = None,
        on_disconnected: ConnectionHandler | None = None,
        wanted_events: frozenset[str] | None = None,
        on_responsive: ConnectionHandler | None = None,
    ) -> None:
        """Who hears this link's events (the PBX link, built after the client)."""
        self._on_event = on_event
        self._on_reconnected = on_reconnected
        self._on_disconnected = on_disconnected
        self._on_responsive = on_responsive
        self.wanted_events = with_client_events(wanted_events)

    async def wait_booted(self) -> None:
        """Return once Asterisk is fully booted; after `boot_timeout` without FullyBooted,
        warn and return anyway. Raises AmiDisconnected if the link drops meanwhile."""
        protocol = self._protocol
        if protocol is None or not self.connected:
            raise AmiDisconnected("AMI is not connected")
        if protocol.booted.done():
            return
        log.info("ami.waiting_for_boot", extra={"host": self.settings.host})
        waiter = asyncio.ensure_future(asyncio.shield(protocol.booted))
        lost = asyncio.ensure_future(asyncio.shield(protocol.lost))
        try:
            await asyncio.wait(
                {waiter, lost},
                timeout=self.settings.boot_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()
            lost.cancel()
        if protocol.lost.done() or protocol is not self._protocol:
            raise AmiDisconnected("AMI connection lost while Asterisk was booting")
        if not protocol.booted.done():
            extra = {"waited_s": self.settings.boot_timeout, "hint": BOOT_HINT}
            log.warning("ami.no_fully_booted", extra=extra)
            protocol.booted.set_result(None)

    def want_events(self, names: Iterable[str]) -> None:
        """Let these events through too, from now on (also on the live connection)."""
        if self.wanted_events is None:
            return
        self.wanted_events = with_client_events(self.wanted_events | frozenset(names))
        if self._protocol is not None:
            self._protocol.parser.wanted = self.wanted_events

    async def connect(self, keep_trying: bool = False) -> None:
        """First connection: errors are raised to the caller (no silent retry loop); with
        keep_trying, one that cannot reach Asterisk connects in the background later."""
        try:
            await self._open()
        except AmiConnectError:
            if not keep_trying:
                raise
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    def new_action_id(self, prefix: str = "a") -> str:
        return f"{prefix}-{self._id_prefix}-{next(self._ids)}"

    async def send_action(
        self, headers: Iterable[tuple[str, str]], timeout: float | None = None
    ) -> Message:
        """Send an action and return its response. Raises AmiDisconnected if the link is
        down or drops before the response, AmiActionTimeout after the timeout."""
        result = await self._send(list(headers), is_list=False, timeout=timeout)
        assert isinstance(result, Message)
        return result

    async def send_list_action(
        self, headers: Iterable[tuple[str, str]], timeout: float | None = None
    ) -> list[Message]:
        """Send an action answered by an event list (CoreShowChannels, QueueStatus...).
        Returns the items, without the response and the ...Complete event."""
        result = await self._send(list(headers), is_list=True, timeout=timeout)
        assert isinstance(result, list)
        return result

    async def close(self) -> None:
        """Log off and stop for good: no reconnect is left behind."""
        if self._closed:
            return
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        protocol = self._protocol
        if protocol is not None and self.connected:
            with contextlib.suppress(AmiError, OSError):
                await self._send([("Action", "Logoff")], is_list=False, timeout=1.0)
        if protocol is not None:
            protocol.abort()
        self._fail_pending(AmiDisconnected("AMI client closed"))
        self._connected.clear()

    # --- connection -------------------------------------------------------------------
    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: AmiProtocol(self), s.host, s.port),
                s.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise AmiConnectError(f"cannot reach AMI at {s.host}:{s.port}: {exc}") from exc
        try:
            banner = await asyncio.wait_for(protocol.banner_seen, s.connect_timeout)
        except TimeoutError as exc:
            protocol.abort()
            raise AmiConnectError(f"no AMI banner from {s.host}:{s.port}") from exc
        except AmiDisconnected as exc:
            raise AmiConnectError(
                f"{s.host}:{s.port} closed the connection before the AMI banner"
            ) from exc
        if not banner.startswith("Asterisk Call Manager/"):
            protocol.abort()
            raise AmiConnectError(f"{s.host}:{s.port} is not an AMI port (banner {banner[:40]!r})")
        self._protocol = protocol
        self.version = banner.partition("/")[2]
        try:
            # Asterisk answers a wrong secret about a second late; allow for it.
            response = await self._send(
                [
                    ("Action", "Login"),
                    ("Username", s.username),
                    ("Secret", s.secret),
                    ("Events", "on"),
                ],
                is_list=False,
                timeout=max(s.action_timeout, 3.0),
                require_connected=False,
            )
        except AmiDisconnected as exc:
            # Asterisk shutting down, a proxy, or a reply cut short by a closed socket.
            raise AmiConnectError(
                f"AMI at {s.host}:{s.port} closed the connection during Login"
            ) from exc
        except AmiActionTimeout as exc:
            protocol.abort()
            raise AmiConnectError(
                f"AMI at {s.host}:{s.port} did not answer Login within "
                f"{max(s.action_timeout, 3.0):g}s"
            ) from exc
        assert isinstance(response, Message)
        if response.get("Response") != "Success":
            protocol.abort()
            message = response.get("Message", "")
            raise AmiAuthError(
                f"AMI login as {s.username!r} at {s.host}:{s.port} refused: {message or 'error'}"
            )
        self._connected.set()
        log.info("ami.connected", extra={"host": s.host, "port": s.port, "version": self.version})

    async def _supervise(self) -> None:
        """Ping while connected; reconnect with backoff when the link is lost."""
        delay = self.settings.reconnect_min_delay
        while not self._closed:
            protocol = self._protocol
            if protocol is not None and self.connected:
                await self._watch(protocol)
                continue
            try:
                await self._open()
            except AmiAuthError as exc:
                # A secret that worked before and fails now is still fatal: stop here.
                self.fatal_error = exc
                log.error("ami.login_refused", extra={"error": str(exc)})
                return
            except AmiError as exc:
                log.warning("ami.reconnect_failed", extra={"error": str(exc), "retry_in": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_max_delay)
                continue
            delay = self.settings.reconnect_min_delay
            self.reconnects += 1
            await self._run_callback(self._on_reconnected, "on_reconnected")

    async def _watch(self, protocol: AmiProtocol) -> None:
        """Return when the link is lost, or torn down: a Ping unanswered while nothing at
        all arrives (half-open link), or no reply to anything for `stall_limit`."""
        loop = asyncio.get_running_loop()
        while not self._closed:
            # Ping at once while actions go unanswered: the Pong tells when it is over.
            interval = self.settings.ping_interval if self.responsive else 0.0
            try:
                await asyncio.wait_for(asyncio.shield(protocol.lost), interval)
                return
            except TimeoutError:
                pass
            sent_at = loop.time()
            try:
                reply = await self.send_action([("Action", "Ping")])
                if reply.get("Response") != "Success" or reply.get("Ping") != "Pong":
                    raise AmiError(f"unexpected Ping reply {dict(reply.items())!r}")
                continue
            except AmiActionTimeout as exc:
                stalled = loop.time() - (self._stalled_since or sent_at)
                if protocol.last_received > sent_at and stalled < self.settings.stall_limit:
                    # Bytes still arrive: Asterisk is slow or flooding us, not gone.
                    # The link stays (its events are the calls' fate), dialling waits.
                    log.warning("ami.not_answering", extra={"stalled_s": round(stalled, 1)})
                    continue
                error: AmiError = exc
            except AmiError as exc:
                error = exc
            log.warning("ami.ping_failed", extra={"error": str(error)})
            protocol.abort()
            await asyncio.shield(protocol.lost)
            return

    # --- actions ----------------------------------------------------------------------
    async def _send(
        self,
        headers: list[tuple[str, str]],
        is_list: bool,
        timeout: float | None,
        require_connected: bool = True,
    ) -> Message | list[Message]:
        protocol = self._protocol
        if protocol is None or (require_connected and not self.connected):
            raise AmiDisconnected("AMI is not connected")
        action_id = next((v for k, v in headers if k.lower() == "actionid"), None)
        if action_id is None:
            action_id = self.new_action_id()
            headers = [headers[0], ("ActionID", action_id), *headers[1:]]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = PendingAction(future, is_list)
        self._pending[action_id] = pending
        try:
            protocol.write(encode_action(headers))
            return await asyncio.wait_for(
                asyncio.shield(future), timeout or self.settings.action_timeout
            )
        except TimeoutError as exc:
            name = headers[0][1]
            if self._stalled_since is None and protocol is self._protocol:
                self._stalled_since = asyncio.get_running_loop().time()
                log.warning("ami.action_unanswered", extra={"action": name})
            raise AmiActionTimeout(f"no reply to {name} within the action timeout") from exc
        finally:
            self._pending.pop(action_id, None)

    # --- called by the protocol -------------------------------------------------------
    def _on_message(self, protocol: AmiProtocol, message: Message) -> None:
        if protocol is not self._protocol:
            return
        if "Response" in message and self._stalled_since is not None:
            self._stalled_since = None  # a reply, even a late one: Asterisk answers again
            log.info("ami.answering_again")
            asyncio.get_running_loop().create_task(
                self._run_callback(self._on_responsive, "on_responsive")
            )
        elif message.get("Event") == BOOT_EVENT and not protocol.booted.done():
            protocol.booted.set_result(None)
        if (
            message.get("Message") == SHUTTING_DOWN_REPLY or message.get("Event") == SHUTDOWN_EVENT
        ) and not protocol.shutting_down:
            protocol.shutting_down = True
            log.warning("ami.asterisk_shutting_down", extra={"host": self.settings.host})
        action_id = message.get("ActionID")
        pending = self._pending.get(action_id) if action_id else None
        if (
            pending is not None
            and not pending.future.done()
            and self._complete_pending(pending, message)
        ):
            return
        if "Event" in message:
            try:
                self._on_event(message)
            except Exception:
                log.exception("ami.event_handler_failed", extra={"event": message.get("Event")})

    @staticmethod
    def _complete_pending(pending: PendingAction, message: Message) -> bool:
        """Feed a message carrying a pending ActionID; True if it belonged to the action."""
        if not pending.is_list:
            if "Response" in message:
                pending.future.set_result(message)
                return True
            return False  # an event that merely echoes the ActionID (OriginateResponse)
        if "Response" in message:
            if message.get("Response") != "Success":
                pending.future.set_exception(AmiError(message.get("Message", "action failed")))
            return True
        if message.get("EventList", "").lower() == "complete":
            pending.future.set_result(pending.items)
        else:
            pending.items.append(message)
        return True

    def _on_connection_lost(self, protocol: AmiProtocol) -> None:
        if protocol is not self._protocol:
            return
        was_connected = self.connected
        self._connected.clear()
        self._stalled_since = None  # a new session starts with a clean slate
        self._fail_pending(AmiDisconnected("AMI connection lost while the action was pending"))
        if was_connected and not self._closed:
            log.warning("ami.connection_lost", extra={"host": self.settings.host})
            if self._on_disconnected is not None:
                asyncio.get_running_loop().create_task(
                    self._run_callback(self._on_disconnected, "on_disconnected")
                )

    def _fail_pending(self, error: AmiError) -> None:
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(error)
                # Marks the exception retrieved even if the waiter was cancelled meanwhile.
                pending.future.exception()

    async def _run_callback(self, callback: ConnectionHandler | None, name: str) -> None:
        if callback is None:
            return
        try:
            result = callback()
            if asyncio.iscoroutine(result):
                await result
        except Exception:
            log.exception("ami.callback_failed", extra={"callback": name})
