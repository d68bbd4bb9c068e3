"""`dialer serve --redis` given something wrong: a clear error and exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli import run_dialer
from tests.redis_server import free_port


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--channel-limit", "trunk:x=3"], "needs --redis"),
        (["--redis", "127.0.0.1:6379"], "expected redis://HOST:PORT/DB"),
        (["--redis", "redis://127.0.0.1:6379/0", "--channel-limit", "x=3"], "trunk:NAME=N"),
        (["--redis", "redis://127.0.0.1:6379/0", "--node-ttl", "100ms"], "too short"),
    ],
)
async def test_bad_cluster_options_are_refused(args: list[str], says: str, tmp_path: Path) -> None:
    code, _, err = await run_dialer("--db", str(tmp_path / "d.db"), "serve", *args)
    assert code == 2
    assert says in err and "Traceback" not in err


async def test_a_redis_that_does_not_answer_stops_the_start(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    code, _, err = await run_dialer(
        "--db", str(tmp_path / "d.db"), "serve", "--listen", "127.0.0.1:0", "--redis", url
    )
    assert code == 2
    assert "Redis does not answer" in err and "Traceback" not in err
