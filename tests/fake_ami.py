"""A socket-level fake of Asterisk's AMI for failures a real Asterisk will not produce on
demand: frozen links, drops with an action pending, replies split mid-character.

For behaviour (call flows, events), tests use the simulated PBX or a real Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def frame(*headers: tuple[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


FULLY_BOOTED = frame(
    ("Event", "FullyBooted"), ("Privilege", "system,all"), ("Status", "Fully Booted")
)


@dataclass
class FakeAmi:
    secret: str = "s3cret"
    frozen: bool = False  # read but never answer (a half-open link)
    actions: list[dict[str, str]] = field(default_factory=list)
    connections: int = 0
    drop_after_action: str | None = None  # close the socket right after reading this action
    # "answer", or how Login fails: "close" (socket closed on reading it), "truncated"
    # (half a reply, then closed), "silent" (never answered).
    login: str = "answer"
    # Asterisk that stops answering: replies wait in `held` until release() (or go out
    # `reply_delay` seconds late); events still flow.
    booted: bool = True  # False: Login gets no FullyBooted until boot()
    originate_error: str = ""  # refuse every Originate with this Message
    hold_replies: bool = False
    reply_delay: float = 0.0
    held: list[tuple[asyncio.StreamWriter, bytes]] = field(default_factory=list)
    # What CoreShowChannels lists: (Uniqueid, ChannelState) of each channel.
    channels: list[tuple[str, str]] = field(default_factory=list)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_all()
        # Aborted sockets end every handler by themselves; cancelling them instead makes
        # asyncio's stream callback log a spurious CancelledError.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)

    def drop_all(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def send_raw(self, *chunks: bytes, pause: float = 0.02) -> None:
        """Write to every client, chunk by chunk, flushing between chunks."""
        for chunk in chunks:
            for writer in self._writers:
                if writer.transport.is_closing():
                    continue  # a session the client dropped
                writer.write(chunk)
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
            await asyncio.sleep(pause)

    async def boot(self) -> None:
        """Boot ends: FullyBooted to every session, as Asterisk sends it."""
        self.booted = True
        await self.send_raw(FULLY_BOOTED, pause=0.0)

    def release(self) -> None:
        """Answer every held action now, late, in order."""
        self.hold_replies = False
        held, self.held = self.held, []
        for writer, reply in held:
            if not writer.transport.is_closing():
                writer.write(reply)

    async def chatter(self, interval: float = 0.01) -> None:
        """Keep events flowing (a busy Asterisk) until cancelled."""
        n = 0
        while True:
            n += 1
            event = frame(("Event", "Newstate"), ("Uniqueid", f"other-{n}"), ("ChannelState", "4"))
            for writer in self._writers:
                if not writer.transport.is_closing():
                    writer.write(event)
            await asyncio.sleep(interval)

    async def wait_for_action(self, name: str, timeout: float = 5.0) -> dict[str, str]:
        async def poll() -> dict[str, str]:
            while True:
                for action in self.actions:
                    if action.get("Action") == name:
                        return action
                await asyncio.sleep(0.01)

        return await asyncio.wait_for(poll(), timeout)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self._writers.append(writer)
        writer.write(BANNER)
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                action = dict(
                    line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line
                )
                self.actions.append(action)
                if action.get("Action") == self.drop_after_action:
                    writer.transport.abort()
                    return
                if action.get("Action") == "Login" and self.login != "answer":
                    if self.login == "silent":
                        continue
                    if self.login == "truncated":
                        aid = action.get("ActionID", "")
                        writer.write(f"Response: Success\r\nActionID: {aid}\r\nMess".encode())
                        await writer.drain()
                    writer.close()
                    return
                if self.frozen:
                    continue
                reply = self._reply(action)
                if self.hold_replies and action.get("Action") != "Logoff":
                    self.held.append((writer, reply))
                    continue
                if self.reply_delay:
                    asyncio.get_running_loop().call_later(self.reply_delay, writer.write, reply)
                    continue
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)

    def _reply(self, action: dict[str, str]) -> bytes:
        aid = ("ActionID", action.get("ActionID", ""))
        name = action.get("Action")
        if name == "Login":
            if action.get("Secret") != self.secret:
                return frame(("Response", "Error"), aid, ("Message", "Authentication failed"))
            accepted = frame(("Response", "Success"), aid, ("Message", "Authentication accepted"))
            return accepted + (FULLY_BOOTED if self.booted else b"")
        if name == "Ping":
            return frame(("Response", "Success"), aid, ("Ping", "Pong"), ("Timestamp", "1.0"))
        if name == "Originate" and self.originate_error:
            return frame(("Response", "Error"), aid, ("Message", self.originate_error))
        if name == "Originate":
            return frame(("Response", "Success"), aid, ("Message", "Originate successfully queued"))
        if name == "CoreShowChannels":
            items = b"".join(
                frame(("Event", "CoreShowChannel"), aid, ("Uniqueid", u), ("ChannelState", st))
                for u, st in self.channels
            )
            return (
                frame(
                    ("Response", "Success"),
                    aid,
                    ("EventList", "start"),
                    ("Message", "Channels will follow"),
                )
                + items
                + frame(
                    ("Event", "CoreShowChannelsComplete"),
                    aid,
                    ("EventList", "Complete"),
                    ("ListItems", str(len(self.channels))),
                )
            )
        if name == "Logoff":
            return frame(("Response", "Goodbye"), aid, ("Message", "Thanks for all the fish."))
        return frame(("Response", "Error"), aid, ("Message", f"Invalid/unknown command: {name}."))
