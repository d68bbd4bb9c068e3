"""Commands (pause, resume, stop) for whichever node drives a campaign: a Redis stream per
campaign, so a command sent while the owner is briefly cut off is read when it returns.
The wanted state is written to the shared store by the node that took the request; the
stream only tells the driving node to act now."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from dialer.coord.settings import Keys

COMMANDS = ("pause", "resume", "stop")
KEEP = 100  # commands kept per campaign (a stream trimmed to about this length)


@dataclass(frozen=True)
class Command:
    campaign: str
    command: str  # one of COMMANDS
    by: str  # who asked (the token's name on the node that took the request)
    sender: str  # that node's id
    stream_id: str


class Commands:
    def __init__(self, redis: Redis, keys: Keys, node_id: str) -> None:
        self._redis = redis
        self._keys = keys
        self._node_id = node_id

    async def send(self, campaign: str, command: str, by: str) -> str:
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}: expected one of {COMMANDS}")
        fields = {"command": command, "by": by, "sender": self._node_id}
        sent = await self._redis.xadd(
            self._keys.commands(campaign),
            fields,  # type: ignore[arg-type]
            maxlen=KEEP,
            approximate=True,
        )
        return str(sent)

    async def tail(self, campaign: str) -> str:
        """The id after which a new reader starts (what was sent before is old news)."""
        last = await self._redis.xrevrange(self._keys.commands(campaign), count=1)
        return str(last[0][0]) if last else "0-0"

    async def read(self, after: dict[str, str], block_ms: int) -> list[Command]:
        """Commands sent to these campaigns after the given ids (waits up to block_ms);
        `after` is moved on past what is returned."""
        if not after:
            return []
        streams = {self._keys.commands(name): last for name, last in after.items()}
        answer = await self._redis.xread(streams, block=block_ms)  # type: ignore[arg-type]
        found: list[Command] = []
        prefix = self._keys.commands("")
        for stream, entries in answer or []:
            campaign = str(stream).removeprefix(prefix)
            for stream_id, fields in entries:
                after[campaign] = str(stream_id)
                found.append(
                    Command(
                        campaign,
                        str(fields.get("command", "")),
                        str(fields.get("by", "")),
                        str(fields.get("sender", "")),
                        str(stream_id),
                    )
                )
        return found
