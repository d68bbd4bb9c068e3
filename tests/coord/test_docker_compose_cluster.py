"""docker/docker-compose.yml's cluster, checked without Docker (none runs here): its two
dialer nodes are wired to the compose file's PostgreSQL and Redis, and their own
`command` lines, run as real `dialer serve` processes against a private PostgreSQL and
redis-server standing in for those services, make one cluster of two nodes."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from dialer.control.cli import build_parser
from tests.integration.service_helpers import api, make_token, start_service, until
from tests.pg_server import PrivatePostgres

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "docker-compose.yml"
NODES = ("dialer", "dialer-2")


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return dict(loaded["services"])


def test_the_nodes_are_wired_to_the_compose_files_postgres_redis_and_asterisk() -> None:
    found = services()
    assert {"asterisk", "postgres", "redis", *NODES} <= set(found)
    listens = set()
    for name in NODES:
        node = found[name]
        assert node["network_mode"] == "service:asterisk"  # AMI stays on 127.0.0.1
        assert {k: v["condition"] for k, v in node["depends_on"].items()} == {
            "asterisk": "service_healthy",
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }
        db = urllib.parse.urlsplit(node["environment"]["DIALER_DB"])
        assert (db.scheme, db.hostname, db.port) == ("postgresql", "postgres", 5432)
        assert db.username == found["postgres"]["environment"]["POSTGRES_USER"]
        assert db.path == "/" + found["postgres"]["environment"]["POSTGRES_DB"]
        redis = urllib.parse.urlsplit(node["environment"]["DIALER_REDIS"])
        assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)
        args = build_parser().parse_args(node["command"])
        assert args.command == "serve"
        listens.add(args.listen)
    assert len(listens) == len(NODES)  # one network namespace: one port each


def as_run_here(command: list[str]) -> list[str]:
    """The node's serve options, its API on a free port (the test's own)."""
    args = list(command[command.index("serve") + 1 :])
    args[args.index("--listen") + 1] = "127.0.0.1:0"
    return args


async def test_the_compose_nodes_commands_make_one_cluster(
    pg_server: PrivatePostgres, redis_url: str
) -> None:
    found = services()
    db = pg_server.new_database()  # stands in for postgres:5432/dialer
    token = await make_token(db, "supervisor")
    nodes = [
        # --redis: what the compose file gives as DIALER_REDIS (redis:6379 there).
        await start_service(db, *as_run_here(found[name]["command"]), "--redis", redis_url)
        for name in NODES
    ]
    try:

        async def both_listed() -> bool:
            code, cluster = await api(nodes[1].url, "GET", "/cluster", token)
            return code == 200 and len(cluster["nodes"]) == len(NODES)

        await until(both_listed)
    finally:
        for node in nodes:
            assert await node.stop() == 0
