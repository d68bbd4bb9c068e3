"""Tests against a REAL redis-server, started privately by the suite (tests/redis_server.py).

`redis_server`: one private server for the session, flushed before each test that takes
`redis_url`. `own_redis`: a server of the test's own, for tests that restart it. Without
a redis-server binary every test here is skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import REDIS_BINARY, SKIP_REASON, PrivateRedis, start_private_redis


def _require_redis() -> str:
    if REDIS_BINARY is None:
        pytest.skip(SKIP_REASON)
    return REDIS_BINARY


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    binary = _require_redis()
    with start_private_redis(tmp_path_factory.mktemp("redis"), binary) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: PrivateRedis) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    binary = _require_redis()
    with start_private_redis(tmp_path, binary) as server:
        yield server


# The end-to-end fixtures: a simulated PBX on a free port, the contact base on SQLite (or,
# in a module marked store_backends, on a private PostgreSQL too).
from tests.integration.conftest import (  # noqa: E402, F401
    pbx,
    pg_server,
    pytest_generate_tests,
    store,
    store_backend,
    store_url,
)
