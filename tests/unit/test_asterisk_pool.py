"""The pool of a campaign's Asterisk servers: which server takes each call, and where an
open call is adopted after a restart. Server choice is pure policy (server_choice.py);
the pool adds the servers' links, reservations and adoption."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from dialer.engine.asterisk_pool import AsteriskPool, PoolMember
from dialer.engine.dialer_port import OpenCall
from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallEnded, CallListener, CallMilestone
from dialer.pbx.link_state import LinkState
from dialer.policy.server_choice import ServerLoad, pick_server

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class FakeLink:
    def __init__(self, ready: bool = True, error: Exception | None = None) -> None:
        self.ready_now = ready
        self.fatal_error = error
        self.calls: list[str] = []
        self.adopted: list[tuple[str, datetime]] = []
        self.settled_ids: list[str] = []

    @property
    def ready(self) -> bool:
        return self.ready_now

    @property
    def state(self) -> LinkState:
        return LinkState.READY if self.ready_now else LinkState.DOWN

    @property
    def in_flight(self) -> int:
        return len(self.calls)

    async def originate(self, request: DialRequest, listener: CallListener) -> None:
        self.calls.append(request.attempt_id)

    async def adopt(self, attempts: Sequence[tuple[str, datetime]], listener: CallListener) -> None:
        self.adopted += attempts

    def settled(self, attempt_id: str) -> None:
        self.settled_ids.append(attempt_id)


class Listener:
    wants_milestones = False

    def call_ended(self, event: CallEnded) -> None:
        pass

    def call_milestone(self, event: CallMilestone) -> None:
        pass


def request(attempt_id: str, server: str) -> DialRequest:
    return DialRequest(
        attempt_id, "c", "+79120000000", "Local/{number}@x", "ctx", "s", 1, NOW - NOW, server=server
    )


async def place(pool: AsteriskPool, count: int) -> Counter[str]:
    placed: Counter[str] = Counter()
    for index in range(count):
        server = pool.route()
        if server is None:
            break
        await pool.originate(request(f"a{index}", server), Listener())
        placed[server] += 1
    return placed


async def test_given_weights_2_to_1_when_calls_placed_then_servers_carry_them_2_to_1() -> None:
    a, b = FakeLink(), FakeLink()
    pool = AsteriskPool([PoolMember("a", a, weight=2), PoolMember("b", b, weight=1)])
    assert await place(pool, 90) == Counter({"a": 60, "b": 30})


async def test_given_channel_limits_when_full_then_no_route_and_none_over_the_limit() -> None:
    a, b = FakeLink(), FakeLink()
    pool = AsteriskPool([PoolMember("a", a, max_channels=4), PoolMember("b", b, max_channels=2)])
    assert await place(pool, 100) == Counter({"a": 4, "b": 2})
    assert pool.route() is None


async def test_given_routes_not_yet_originated_then_they_count_against_the_limit() -> None:
    pool = AsteriskPool([PoolMember("a", FakeLink(), max_channels=2)])
    assert [pool.route(), pool.route(), pool.route()] == ["a", "a", None]
    pool.unroute("a")  # the store refused the attempt: its reservation is given back
    assert pool.route() == "a"


async def test_given_a_server_down_or_refusing_when_routing_then_it_is_skipped() -> None:
    down, refused, up = (
        FakeLink(ready=False),
        FakeLink(error=RuntimeError("login refused")),
        FakeLink(),
    )
    pool = AsteriskPool(
        [PoolMember("down", down), PoolMember("bad", refused), PoolMember("up", up)]
    )
    assert pool.ready and pool.fatal_error is None and pool.state is LinkState.READY
    assert await place(pool, 5) == Counter({"up": 5})
    up.ready_now = False
    assert pool.route() is None and not pool.ready and pool.state is LinkState.DOWN
    down.ready_now = True  # back: it takes the calls now
    assert pool.route() == "down"


def test_given_every_server_refusing_then_the_pool_is_fatal() -> None:
    pool = AsteriskPool(
        [
            PoolMember("a", FakeLink(error=RuntimeError("no"))),
            PoolMember("b", FakeLink(error=RuntimeError("no"))),
        ]
    )
    assert isinstance(pool.fatal_error, RuntimeError)


async def test_given_open_calls_when_adopted_then_each_goes_to_its_own_server() -> None:
    a, b = FakeLink(), FakeLink()
    pool = AsteriskPool([PoolMember("a", a), PoolMember("b", b)])
    calls = [
        OpenCall("on-a", NOW, "a"),
        OpenCall("on-b", NOW, "b"),
        OpenCall("before-pools", NOW, None),  # recorded before attempts kept their server
        OpenCall("server-removed", NOW, "gone"),
    ]
    await pool.adopt(calls, Listener())
    assert [call for call, _ in a.adopted] == ["on-a", "before-pools", "server-removed"]
    assert [call for call, _ in b.adopted] == ["on-b"]


loads = st.lists(
    st.builds(
        ServerLoad,
        name=st.text(min_size=1, max_size=3),
        weight=st.integers(1, 10),
        in_flight=st.integers(0, 50),
        limit=st.none() | st.integers(0, 50),
        usable=st.booleans(),
    ),
    max_size=6,
    unique_by=lambda load: load.name,  # names are unique in a campaign (the model checks)
)


@given(loads)
def test_pick_server_never_picks_a_server_without_room(servers: list[ServerLoad]) -> None:
    picked = pick_server(servers)
    with_room = [s for s in servers if s.has_room]
    if not with_room:
        assert picked is None
        return
    assert picked is not None
    chosen = next(s for s in with_room if s.name == picked)
    # Least loaded for its weight among those with room.
    best = min(Fraction(s.in_flight + 1, s.weight) for s in with_room)
    assert Fraction(chosen.in_flight + 1, chosen.weight) == best
