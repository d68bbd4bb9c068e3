"""Place a call the way the dialer does (Async Originate with a ChannelId) and gather
every AMI event that belongs to it, so tests can assert on Reason, causes and queue
events of one call while other calls run at the same time."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from tests.asterisk.ami import AmiClient, Message
from tests.asterisk.private_asterisk import TEST_DIAL_STRING


@dataclass
class CallRecord:
    number: str
    attempt: str
    channel_id: str
    action_id: str = ""
    started: float = 0.0
    ended: float = 0.0
    response: Message = field(default_factory=dict)  # the reply to Originate
    events: list[Message] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.ended - self.started

    def named(self, event: str) -> list[Message]:
        return [m for m in self.events if m.get("Event") == event]

    @property
    def originate_response(self) -> Message:
        found = self.named("OriginateResponse")
        assert found, f"no OriginateResponse for {self.number}"
        return found[0]

    def hangup_cause(self, uniqueid: str) -> int:
        """The Cause of the Hangup event of channel `uniqueid` (X or X;2)."""
        found = [m for m in self.named("Hangup") if m.get("Uniqueid") == uniqueid]
        assert found, f"no Hangup for {uniqueid} ({self.number})"
        return int(found[0]["Cause"])

    def user_events(self, name: str) -> list[Message]:
        return [m for m in self.named("UserEvent") if m.get("UserEvent") == name]

    def summary(self) -> str:
        """The call's events, one short line each, for assertion messages."""
        keys = ("Response", "Reason", "Cause", "Queue", "QueueStatus", "Channel", "DestChannel")
        lines = [f"{self.number} ({self.channel_id}), {self.duration:.2f} s:"]
        for message in self.events:
            fields = " ".join(f"{k}={message[k]}" for k in keys if k in message)
            lines.append(f"  {message.get('Event')} {fields}")
        return "\n".join(lines)

    def belongs(self, message: Message) -> bool:
        x = self.channel_id
        return (
            message.get("Uniqueid") in (x, f"{x};2")
            or message.get("Linkedid") == x  # queue member legs carry the caller's Linkedid
            or message.get("DestLinkedid") == x
            or (
                message.get("Event") == "OriginateResponse"
                and message.get("ActionID") == self.action_id
            )
            or (message.get("Event") == "UserEvent" and message.get("Attempt") == self.attempt)
        )


async def place_call(
    ami: AmiClient,
    number: str,
    *,
    message: str = "beep",
    queue: str = "",
    queue_timeout: int = 10,
    ring_timeout_ms: int = 15000,
    wait: float = 40.0,
    grace: float = 0.5,
    channel_id: str | None = None,
) -> CallRecord:
    """Originate `number` through the test callees and wait until the call is over.

    Over means: OriginateResponse seen and both Local halves hung up (or, for a failed
    Originate without channels, just the OriginateResponse). `grace` seconds more are
    collected for trailing events such as AgentComplete. Pass `channel_id` to know the
    call's Uniqueid before it ends (e.g. to act on it while it is up).
    """
    call = CallRecord(
        number=number,
        attempt=f"t{uuid.uuid4().hex[:10]}",
        channel_id=channel_id or str(uuid.uuid4()),
    )
    start = len(ami.messages)
    call.started = time.monotonic()
    variables = (
        f"DIALER_ATTEMPT={call.attempt},DIALER_CAMPAIGN=asterisk-tests,"
        f"DIALER_MESSAGE={message},DIALER_QUEUE={queue},DIALER_QUEUE_TIMEOUT={queue_timeout}"
    )
    call.action_id = await ami.send(
        "Originate",
        Channel=TEST_DIAL_STRING.format(number=number),
        Context="dialer-answered",
        Exten="s",
        Priority="1",
        Timeout=str(ring_timeout_ms),
        CallerID='"Dialer test" <+74950000000>',
        Variable=variables,
        ChannelId=call.channel_id,
        Async="true",
    )
    call.response = await ami.wait_for(
        lambda m: "Response" in m and m.get("ActionID") == call.action_id, 5.0, start
    )
    originate = await ami.wait_for(
        lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == call.action_id,
        wait,
        start,
    )
    if originate.get("Uniqueid") != "<unknown>":
        for uniqueid in (call.channel_id, f"{call.channel_id};2"):
            await ami.wait_for(
                lambda m, u=uniqueid: m.get("Event") == "Hangup" and m.get("Uniqueid") == u,
                wait,
                start,
            )
    call.ended = time.monotonic()
    await asyncio.sleep(grace)
    call.events = [m for m in ami.messages[start:] if call.belongs(m)]
    return call
