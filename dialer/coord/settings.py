"""Where Redis is, who this node is, how long what it asserts lives, and the key names."""

from __future__ import annotations

import os
import re
import socket
import uuid
from dataclasses import dataclass, field

REDIS_ENV = "DIALER_REDIS"
# A node (and what it holds) not heard of for this long is dead. Short enough that a dead
# node's campaigns dial again elsewhere within 15 s (TTL + one take-over look + the
# reconciliation), long enough that a loaded node's late beat is not a death.
NODE_TTL_S = 10.0
HEARTBEAT_S = NODE_TTL_S / 3  # two missed beats are not a death

_LIMIT = re.compile(r"^(trunk|server):(.+)=(\d+)$")


class CoordinationLost(Exception):
    """Redis cannot be reached now: no call may be placed until it answers again."""


class RedisUnreachable(Exception):
    """--redis names a Redis that does not answer (at start: a clear error, no traceback)."""


@dataclass(frozen=True)
class ChannelLimit:
    """At most `limit` calls at once through one trunk or one Asterisk server, counted
    over every node."""

    kind: str  # "trunk" | "server"
    name: str  # the trunk (dial template's endpoint) or "host:port" of the server
    limit: int

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


def parse_channel_limit(text: str) -> ChannelLimit:
    """`trunk:carrier=30` or `server:10.0.0.5:5038=120`; ValueError says what is wrong."""
    match = _LIMIT.match(text.strip())
    if match is None:
        raise ValueError(
            f"channel limit {text!r}: expected trunk:NAME=N or server:HOST:PORT=N,"
            " e.g. trunk:carrier=30"
        )
    kind, name, limit = match.groups()
    if int(limit) < 1:
        raise ValueError(f"channel limit {text!r}: the limit must be at least 1")
    return ChannelLimit(kind, name, int(limit))


def new_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class CoordSettings:
    url: str
    node_id: str = field(default_factory=new_node_id)
    ttl_s: float = NODE_TTL_S
    heartbeat_s: float = HEARTBEAT_S
    prefix: str = "dialer:"
    limits: tuple[ChannelLimit, ...] = ()
    connect_timeout_s: float = 2.0

    @property
    def ttl_ms(self) -> int:
        return int(self.ttl_s * 1000)

    def limit_of(self, kind: str, name: str) -> ChannelLimit | None:
        for limit in self.limits:
            if limit.kind == kind and limit.name == name:
                return limit
        return None


@dataclass(frozen=True)
class Keys:
    """Every Redis key the dialer uses, under one prefix."""

    prefix: str

    @property
    def epoch(self) -> str:  # set once per Redis life: a change means Redis lost its data
        return f"{self.prefix}epoch"

    def node(self, node_id: str) -> str:
        return f"{self.prefix}node:{node_id}"

    @property
    def nodes_pattern(self) -> str:
        return f"{self.prefix}node:*"

    def owner(self, campaign: str) -> str:
        return f"{self.prefix}owner:{campaign}"

    def fence(self, campaign: str) -> str:
        return f"{self.prefix}fence:{campaign}"

    def slots(self, limit_key: str) -> str:
        return f"{self.prefix}slots:{limit_key}"

    def in_call(self, number: str) -> str:
        return f"{self.prefix}incall:{number}"

    def commands(self, campaign: str) -> str:
        return f"{self.prefix}commands:{campaign}"

    def live(self, campaign: str) -> str:
        return f"{self.prefix}live:{campaign}"
