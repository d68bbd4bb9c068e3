"""The AMI client over real TCP, against a socket-level fake of Asterisk.

Each panoramisk 1.4 defect named in the issue is reproduced here: first on panoramisk
itself where that can be shown without a network, then against our client.
"""

from __future__ import annotations

import asyncio

import pytest
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from dialer.pbx.ami_client import (
    AmiActionTimeout,
    AmiAuthError,
    AmiClient,
    AmiConnectError,
    AmiConnectionSettings,
    AmiDisconnected,
)
from dialer.pbx.ami_wire import AmiStreamParser, UnsafeHeader, encode_action
from tests.fake_ami import FakeAmi, frame

CYRILLIC_EVENT = frame(
    ("Event", "NewCallerid"),
    ("Privilege", "call,all"),
    ("Channel", "Local/100@x-00000001;1"),
    ("CallerIDName", "Иван Петров"),
    ("Uniqueid", "u1"),
)


def settings(port: int, **kw: float) -> AmiConnectionSettings:
    base = dict(ping_interval=30.0, action_timeout=2.0, reconnect_min_delay=0.05)
    base.update(kw)
    return AmiConnectionSettings("127.0.0.1", port, "dialer", "s3cret", **base)  # type: ignore[arg-type]


@pytest.fixture
async def fake() -> FakeAmi:
    server = FakeAmi()
    server.port = await server.start()  # type: ignore[attr-defined]
    yield server
    await server.stop()


def split_inside_character(data: bytes, text: str) -> tuple[bytes, bytes]:
    cut = data.index(text.encode()) + 1  # inside the 2-byte UTF-8 sequence of "И"
    return data[:cut], data[cut:]


def test_panoramisk_defect_cyrillic_split_across_reads_is_lost() -> None:
    class Factory:
        def __init__(self) -> None:
            self.events: list[Message] = []

        def dispatch(self, message: Message) -> None:
            self.events.append(message)

    protocol = AMIProtocol()
    protocol.connection_made(transport=None)
    factory = Factory()
    protocol.factory = factory
    protocol.encoding = "utf8"
    first, second = split_inside_character(CYRILLIC_EVENT, "Иван")
    protocol.data_received(first)
    protocol.data_received(second)
    assert factory.events[0]["CallerIDName"] != "Иван Петров"  # the bug we guard against


def test_given_cyrillic_split_mid_character_when_parsed_then_name_is_intact() -> None:
    parser = AmiStreamParser()
    first, second = split_inside_character(
        b"Asterisk Call Manager/11.0.0\r\n" + CYRILLIC_EVENT, "Иван"
    )
    assert parser.feed(first) == []
    [event] = parser.feed(second)
    assert event["CallerIDName"] == "Иван Петров"


async def test_given_cyrillic_split_across_tcp_reads_when_received_then_event_is_intact(
    fake: FakeAmi,
) -> None:
    events: list[Message] = []
    client = AmiClient(settings(fake.port), on_event=events.append)  # type: ignore[attr-defined]
    await client.connect()
    first, second = split_inside_character(CYRILLIC_EVENT, "Иван")
    await fake.send_raw(first, second, pause=0.05)
    for _ in range(100):
        if any(e.get("Event") == "NewCallerid" for e in events):
            break
        await asyncio.sleep(0.01)
    [event] = [e for e in events if e.get("Event") == "NewCallerid"]
    assert event["CallerIDName"] == "Иван Петров"
    await client.close()


async def test_panoramisk_defect_originate_without_async_crashes_response_handling() -> None:
    action = Action({"Action": "Originate", "Channel": "Local/1@x"})
    reply = Message(
        {"Response": "Success", "ActionID": action.id, "Message": "Originate successfully queued"}
    )
    with pytest.raises(KeyError):
        action.add_message(reply)


def test_given_header_with_newline_when_encoded_then_refused() -> None:
    with pytest.raises(UnsafeHeader):
        encode_action([("Action", "Originate"), ("CallerID", "x\r\nAction: Hangup")])


async def test_given_event_callback_raises_when_events_arrive_then_link_stays_up(
    fake: FakeAmi,
) -> None:
    seen: list[str] = []

    def explode(event: Message) -> None:
        seen.append(event.get("Event", ""))
        raise RuntimeError("bug in a handler")

    client = AmiClient(settings(fake.port), on_event=explode)  # type: ignore[attr-defined]
    await client.connect()
    await fake.send_raw(CYRILLIC_EVENT, CYRILLIC_EVENT)
    reply = await client.send_action([("Action", "Ping")])
    assert reply["Ping"] == "Pong"
    assert client.connected and fake.connections == 1
    assert seen.count("NewCallerid") == 2
    await client.close()


async def test_given_link_drops_with_originate_pending_when_reconnected_then_never_resent(
    fake: FakeAmi,
) -> None:
    reconnected = asyncio.Event()
    client = AmiClient(
        settings(fake.port),  # type: ignore[attr-defined]
        on_event=lambda e: None,
        on_reconnected=reconnected.set,
    )
    await client.connect()
    fake.drop_after_action = "Originate"
    with pytest.raises(AmiDisconnected):
        await client.send_action(
            [("Action", "Originate"), ("Channel", "Local/1@x"), ("Async", "true")]
        )
    fake.drop_after_action = None
    await asyncio.wait_for(reconnected.wait(), 5)
    await client.send_action([("Action", "Ping")])
    assert fake.connections == 2
    assert [a["Action"] for a in fake.actions].count("Originate") == 1
    await client.close()


async def test_given_close_when_link_was_up_then_no_reconnect_is_left_running(
    fake: FakeAmi,
) -> None:
    client = AmiClient(settings(fake.port), on_event=lambda e: None)  # type: ignore[attr-defined]
    await client.connect()
    await client.close()
    fake.drop_all()
    await asyncio.sleep(0.2)  # several reconnect delays: nothing may come back
    assert fake.connections == 1
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "ami-supervisor"]
    assert [a["Action"] for a in fake.actions][-1] == "Logoff"


async def test_given_half_open_link_when_ping_unanswered_then_client_reconnects(
    fake: FakeAmi,
) -> None:
    reconnected = asyncio.Event()
    client = AmiClient(
        settings(fake.port, ping_interval=0.1, action_timeout=0.3),  # type: ignore[attr-defined]
        on_event=lambda e: None,
        on_reconnected=reconnected.set,
    )
    await client.connect()
    fake.frozen = True
    await asyncio.wait_for(_wait_for(lambda: not client.connected), 5)
    fake.frozen = False
    await asyncio.wait_for(reconnected.wait(), 5)
    assert fake.connections >= 2  # a reconnect may land while the fake is still frozen
    assert client.connected
    await client.close()


async def test_given_no_reply_when_action_sent_then_it_times_out(fake: FakeAmi) -> None:
    client = AmiClient(settings(fake.port, action_timeout=0.2), on_event=lambda e: None)  # type: ignore[attr-defined]
    await client.connect()
    fake.frozen = True
    with pytest.raises(AmiActionTimeout):
        await client.send_action([("Action", "Ping")])
    await client.close()


async def test_given_wrong_secret_when_connecting_then_auth_error_and_no_retry(
    fake: FakeAmi,
) -> None:
    fake.secret = "other"
    client = AmiClient(settings(fake.port), on_event=lambda e: None)  # type: ignore[attr-defined]
    with pytest.raises(AmiAuthError, match="refused: Authentication failed"):
        await client.connect()
    await asyncio.sleep(0.2)
    assert fake.connections == 1
    await client.close()


@pytest.mark.parametrize(
    ("login", "reason"),
    [
        ("close", "closed the connection during Login"),
        ("truncated", "closed the connection during Login"),
        ("silent", "did not answer Login within 3s"),
    ],
)
async def test_given_login_failing_when_connecting_then_connect_error_with_the_reason(
    fake: FakeAmi, login: str, reason: str
) -> None:
    fake.login = login
    client = AmiClient(settings(fake.port), on_event=lambda e: None)  # type: ignore[attr-defined]
    with pytest.raises(AmiConnectError, match=reason):
        await client.connect()
    assert client.connected is False
    await client.close()


async def test_given_asterisk_booting_when_logged_in_then_booted_only_with_fully_booted(
    fake: FakeAmi,
) -> None:
    fake.booted = False
    client = AmiClient(settings(fake.port), on_event=lambda e: None)  # type: ignore[attr-defined]
    await client.connect()
    waiting = asyncio.create_task(client.wait_booted())
    await asyncio.sleep(0.2)
    assert client.connected and not client.booted and not waiting.done()
    await fake.boot()
    await asyncio.wait_for(waiting, 5)
    assert client.booted
    await client.close()


async def test_given_no_fully_booted_ever_when_boot_timeout_passes_then_it_goes_on(
    fake: FakeAmi,
) -> None:
    fake.booted = False  # as for an AMI user without `read = system`
    client = AmiClient(settings(fake.port, boot_timeout=0.2), on_event=lambda e: None)  # type: ignore[attr-defined]
    await client.connect()
    await asyncio.wait_for(client.wait_booted(), 5)
    assert client.booted
    await client.close()


async def test_given_replies_never_come_while_events_flow_then_reconnect_after_stall_limit(
    fake: FakeAmi,
) -> None:
    reconnected, disconnected = asyncio.Event(), asyncio.Event()
    client = AmiClient(
        settings(fake.port, ping_interval=0.1, action_timeout=0.2, stall_limit=0.6),  # type: ignore[attr-defined]
        on_event=lambda e: None,
        on_reconnected=reconnected.set,
        on_disconnected=disconnected.set,
    )
    await client.connect()
    fake.hold_replies = True
    chatter = asyncio.create_task(fake.chatter())
    await asyncio.wait_for(_wait_for(lambda: not client.responsive), 5)
    await asyncio.sleep(0.3)
    assert client.connected  # bytes still arrive: not torn down at the first lost Pong
    await asyncio.wait_for(disconnected.wait(), 5)  # given up after the stall limit
    fake.hold_replies = False
    await asyncio.wait_for(reconnected.wait(), 5)
    chatter.cancel()
    assert fake.connections == 2
    assert client.responsive
    await client.close()


async def test_given_nothing_listening_when_connecting_then_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    client = AmiClient(settings(port), on_event=lambda e: None)
    with pytest.raises(AmiConnectError, match=f"127.0.0.1:{port}"):
        await client.connect()


async def test_given_secret_in_settings_when_printed_then_it_is_hidden() -> None:
    assert "s3cret" not in repr(settings(5038))


async def _wait_for(condition) -> None:  # type: ignore[no-untyped-def]
    while not condition():
        await asyncio.sleep(0.01)


# --- a peer that is not (a sane) Asterisk -------------------------------------------------


async def endless(
    server_bytes: bytes, chunk: bytes, megabytes: int, sent: list[int]
) -> tuple[asyncio.Server, int]:
    """A server that sends `server_bytes`, then `chunk` over and over (never an end),
    counting in `sent` what the client took before it hung up."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(server_bytes)
            for _ in range(megabytes * 16):
                block = chunk * (65536 // len(chunk))
                writer.write(block)
                await writer.drain()
                sent.append(len(block))
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_given_a_banner_that_never_ends_then_connect_error_not_a_growing_buffer() -> None:
    sent: list[int] = []
    server, port = await endless(b"", b"Asterisk Call Manager/11.0.0 ", 64, sent)
    client = AmiClient(settings(port, connect_timeout=10.0))
    try:
        with pytest.raises(AmiConnectError):
            await asyncio.wait_for(client.connect(), 15)
    finally:
        await client.close()
        server.close()
    # Dropped after the first KiB, not read on until the connect timeout (64 MiB here).
    assert sum(sent) < 16 << 20


def test_given_an_endless_message_then_the_parser_refuses_it_past_the_limit() -> None:
    from dialer.pbx.ami_wire import MAX_MESSAGE, AmiFramingError

    parser = AmiStreamParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    with pytest.raises(AmiFramingError, match="longer than"):
        for _ in range(MAX_MESSAGE // 65536 + 2):
            parser.feed(b"Event: Flood\r\nValue: " + b"x" * 65536)


async def test_given_an_endless_message_after_login_then_the_link_drops_with_a_clear_log(
    fake: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    client = AmiClient(settings(fake.port))  # type: ignore[attr-defined]
    await client.connect()
    await fake.send_raw(b"Event: Flood\r\nValue: " + b"x" * (3 << 20))
    for _ in range(200):
        if fake.connections >= 2:
            break
        await asyncio.sleep(0.02)
    assert fake.connections >= 2  # dropped and connected again
    assert any(r.getMessage() == "ami.framing_error" for r in caplog.records)
    await client.close()
