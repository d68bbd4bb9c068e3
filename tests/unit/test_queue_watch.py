"""The PBX link's operator tracking: QueueStatus re-read on demand, changes handed to the
listeners of each queue, wrap-up ends reported by a timer (no AMI event marks them)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

import pytest

from dialer.operators import OperatorChange, OperatorState
from dialer.pbx.queue_watch import QueueWatch


class Listener:
    def __init__(self) -> None:
        self.changes: list[OperatorChange] = []

    def operators_changed(self, changes: Sequence[OperatorChange]) -> None:
        self.changes += changes


def member(queue: str, name: str, status: int = 1, paused: str = "0") -> dict[str, str]:
    return {
        "Event": "QueueMember",
        "Queue": queue,
        "Name": name,
        "Location": f"Local/{name}@operators/n",
        "Status": str(status),
        "Paused": paused,
        "InCall": "0",
        "Wrapuptime": "0",
    }


async def test_given_two_listeners_when_queues_are_read_then_each_hears_only_its_queues() -> None:
    watch = QueueWatch(clock=lambda: 1000.0)
    sales, support = Listener(), Listener()
    watch.watch(["sales"], sales)
    watch.watch(["support"], support)
    status = {
        "sales": [member("sales", "ann"), member("sales", "bob", paused="1")],
        "support": [member("support", "cid"), {"Event": "QueueEntry", "Queue": "support"}],
    }

    async def read(queue: str) -> Sequence[Mapping[str, str]]:
        return status[queue]

    await watch.reload(read)
    assert {(c.name, c.after) for c in sales.changes} == {
        ("ann", OperatorState.AVAILABLE),
        ("bob", OperatorState.PAUSED),
    }
    assert [(c.name, c.after) for c in support.changes] == [("cid", OperatorState.AVAILABLE)]
    assert watch.callers_waiting(["support"]) == 1
    assert watch.callers_waiting(["sales"]) == 0

    # After a reconnect ann is gone: she is reported logged out, to sales only.
    status["sales"] = [member("sales", "bob", paused="1")]
    sales.changes.clear()
    support.changes.clear()
    await watch.reload(read)
    assert [(c.name, c.after) for c in sales.changes] == [("ann", OperatorState.LOGGED_OUT)]
    assert support.changes == []
    watch.close()


async def test_given_a_wrap_up_when_it_is_over_then_a_timer_reports_the_operator_free() -> None:
    now = [1000.0]
    watch = QueueWatch(clock=lambda: now[0])
    listener = Listener()
    watch.watch(["sales"], listener)
    ann = member("sales", "ann")
    ann["Wrapuptime"] = "0.05"

    async def read(queue: str) -> Sequence[Mapping[str, str]]:
        return [ann]

    await watch.reload(read)
    interface = ann["Location"]
    watch.apply({"Event": "AgentConnect", "Queue": "sales", "Interface": interface})
    watch.apply({"Event": "AgentComplete", "Queue": "sales", "Interface": interface})
    assert listener.changes[-1].after is OperatorState.WRAP_UP
    now[0] += 0.05
    for _ in range(100):  # the timer fires on the loop; no event arrives meanwhile
        if listener.changes[-1].after is OperatorState.AVAILABLE:
            break
        await asyncio.sleep(0.01)
    assert listener.changes[-1].after is OperatorState.AVAILABLE
    watch.close()


async def test_given_a_queue_emptied_by_a_restart_when_read_then_a_warning_repeats_each_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    watch = QueueWatch(clock=lambda: now[0])
    watch.watch(["sales"], Listener())
    status = {"sales": [member("sales", "ann")]}

    async def read(queue: str) -> Sequence[Mapping[str, str]]:
        return status[queue]

    def warned() -> list[str]:
        found = [r for r in caplog.records if r.getMessage() == "pbx.queue_without_operators"]
        assert all(r.levelno == logging.WARNING for r in found)
        return [r.__dict__["queue"] for r in found]

    caplog.set_level(logging.INFO, logger="dialer.pbx")
    await watch.reload(read)
    assert warned() == []
    status["sales"] = []  # Asterisk restarted and forgot its QueueAdd members
    await watch.reload(read)
    assert warned() == ["sales"]
    await watch.reload(read)  # a reconnect storm does not flood the log
    now[0] += 59.0
    watch.apply(member("sales", "bob", status=5) | {"Event": "QueueMemberAdded"})
    assert warned() == ["sales"]  # an unavailable member is no operator either
    now[0] += 1.0
    for _ in range(200):  # the reminder timer fires with no event arriving
        if len(warned()) == 2:
            break
        await asyncio.sleep(0.01)
    assert warned() == ["sales", "sales"]
    watch.apply(member("sales", "bob") | {"Event": "QueueMemberStatus"})
    assert [r.__dict__["queue"] for r in caplog.records if "operators_back" in r.getMessage()]
    now[0] += 120.0
    watch.apply(member("sales", "bob", status=5) | {"Event": "QueueMemberStatus"})
    assert warned() == ["sales"] * 3  # emptied again: said at once
    watch.close()


async def test_given_a_listener_unwatched_then_it_hears_no_more_and_the_others_still_do() -> None:
    """A campaign the service stops: its pacer leaves; the queue stays watched."""
    watch = QueueWatch(clock=lambda: 1000.0)
    ended, running = Listener(), Listener()
    watch.watch(["sales"], ended)
    watch.watch(["sales"], running)
    watch.unwatch(ended)

    async def read(queue: str) -> Sequence[Mapping[str, str]]:
        return [member("sales", "ann")]

    await watch.reload(read)
    assert ended.changes == []
    assert [(c.name, c.after) for c in running.changes] == [("ann", OperatorState.AVAILABLE)]
