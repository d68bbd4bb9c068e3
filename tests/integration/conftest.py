"""Fixtures for end-to-end runs: a simulated PBX on a free loopback port and a contact
base in a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.simpbx import SimConfig, SimTiming, SimulatedPbx
from dialer.store import open_store
from dialer.store.base import ContactStore, NewContact
from tests.pg_server import PrivatePostgres, why_unavailable

SECRET = "test-secret"
FAST = SimTiming(
    ring=0.05,
    no_answer_after=0.2,
    message=0.1,
    early_hangup_after=0.05,
    operator_answer_delay=0.05,
    talk=0.1,
    abandon_patience=0.02,
    login_failure_delay=0.05,
)


def numbers(count: int) -> list[str]:
    """Valid Russian mobile numbers whose last digit cycles 0..9 (= simulated persona)."""
    return [f"+7912{i:07d}" for i in range(count)]


async def fill_list(store: ContactStore, list_name: str, count: int) -> list[str]:
    nums = numbers(count)
    await store.import_contacts(
        list_name, [NewContact(number=n, name=f"Контакт {i}") for i, n in enumerate(nums)]
    )
    return nums


def campaign_dict(port: int, list_name: str = "spring", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "spring-promo",
        "list": list_name,
        "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
        "ami": {
            "host": "127.0.0.1",
            "port": port,
            "username": "dialer",
            "secret": SECRET,
            "ping_interval": "1s",
            "action_timeout": "2s",
        },
        "dial": {
            "channel": "Local/{number}@dialer-test-callees",
            "caller_id": '"Иван Петров" <+74950000000>',
            "ring_timeout": "15s",
        },
        "pacing": {"max_channels": 40, "calls_per_second": 200},
        "on_answer": {
            "action": "play_and_queue",
            "message": "hello-world",
            "queue": "dialer-operators",
            "queue_timeout": "2s",
        },
        "retry": {
            "max_attempts": 3,
            "busy": {"delay": "100ms", "max": 2},
            "no_answer": {"delay": "100ms", "max": 1},
            "congestion": {"delay": "100ms", "max": 2},
            "failed": {"delay": "100ms", "max": 1},
            "abandoned": {"delay": "100ms", "max": 1},
            "pbx_failure": {"delay": "100ms", "max": 3},
        },
    }
    data.update(overrides)
    # The test rules recall abandoned callers within 100 ms, which the campaign model
    # allows only when an operator is guaranteed.
    data["pacing"] = {"operator_guaranteed": True, **data["pacing"]}
    return data


def make_campaign(port: int, **overrides: Any) -> Campaign:
    return Campaign.model_validate(campaign_dict(port, **overrides))


@pytest.fixture
async def pbx() -> AsyncIterator[SimulatedPbx]:
    sim = SimulatedPbx(
        SimConfig(port=0, secret=SECRET, channel_limit=500, operators=30, timing=FAST)
    )
    await sim.start()
    yield sim
    await sim.stop()


# --- the store on either backend ---------------------------------------------------------
# A module marked `pytestmark = pytest.mark.store_backends` runs each test that uses
# `store` (or `store_url`) on SQLite and on a private PostgreSQL; a test marked
# `sqlite_only` (it opens the file behind the store's back) runs on SQLite alone.
BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    both = metafunc.definition.get_closest_marker("store_backends") is not None
    alone = metafunc.definition.get_closest_marker("sqlite_only") is not None
    if both and not alone and "store_backend" in metafunc.fixturenames:
        metafunc.parametrize("store_backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PrivatePostgres]:
    """One private PostgreSQL for the session (skipped, saying why, when none can run)."""
    reason = why_unavailable()
    if reason is not None:
        pytest.skip(reason)
    server = PrivatePostgres().start()
    yield server
    server.stop()


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def store_url(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where the test's base lives: a file, or a fresh database on the private server."""
    if store_backend == "postgresql":
        server: PrivatePostgres = request.getfixturevalue("pg_server")
        return server.new_database()
    return str(tmp_path / "dialer.db")


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[ContactStore]:
    opened = await open_store(store_url)
    yield opened
    await opened.close()
