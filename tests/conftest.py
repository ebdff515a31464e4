"""Fixtures for the harness's own tests: replicas started on demand, stopped by PID."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.replica.processes import free_port
from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from tests.helpers import serving
from tests.installed import installed_venv

pytest_plugins = ["pytester"]

# A test that asks for one of these fixtures starts servers: it is marked `servers` for it.
SERVER_FIXTURES = {"replica", "fresh_replica", "wheel_bin", "moto_server", "hung_balancer"}
# Programs a test marked otherwise must not start (`pytest -m "not servers"` stays fast).
SERVER_PROGRAMS = {
    *("redis-server", "redis-sentinel", "haproxy", "caddy", "nginx", "gunicorn", "moto_server"),
    *("node", "npm", "ruby", "puma", "locust", "chromium"),
}
SERVER_MODULES = {"moto.server", "gunicorn", "locust", "http.server"}  # as `python -m NAME`


def starts_a_server(argv: list[str]) -> bool:
    """Whether a command line starts one of the server programs, or one as a Python module
    (a replica started inside another `parity` command is not seen: it is a grandchild)."""
    if not argv:
        return False
    if Path(argv[0].split()[0]).name in SERVER_PROGRAMS:
        return True
    return "-m" in argv[:-1] and argv[argv.index("-m") + 1] in SERVER_MODULES


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `servers` every test that asks for a server fixture."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)


@pytest.fixture(autouse=True)
def _servers_only_when_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test not marked `servers` fails at once if it starts a server program (`starts_a_server`)
    or listens on a port in its own process."""
    if request.node.get_closest_marker("servers"):
        return
    name = request.node.nodeid
    popen_init = subprocess.Popen.__init__

    def refuse_servers(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        argv = [str(a) for a in (args if isinstance(args, list | tuple) else [args])]
        if starts_a_server(argv):
            pytest.fail(f"{name} starts {argv[0]}: mark it @pytest.mark.servers", pytrace=False)
        popen_init(self, args, *rest, **kw)

    def refuse_listen(self: socket.socket, *rest: Any) -> None:
        pytest.fail(f"{name} listens on a port: mark it @pytest.mark.servers", pytrace=False)

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse_servers)
    monkeypatch.setattr(socket.socket, "listen", refuse_listen)


@pytest.fixture(scope="module")
def replica() -> Iterator[tuple[Replica, ReplicaHandle]]:
    """A healthy replica for read-only tests of one module."""
    with running_replica(ReplicaConfig(deregistration_delay=2)) as pair:
        yield pair


@pytest.fixture
def fresh_replica() -> Iterator[tuple[Replica, ReplicaHandle]]:
    """A healthy replica of its own, for tests that drain, kill or break targets."""
    with running_replica(ReplicaConfig(deregistration_delay=2)) as pair:
        yield pair


@pytest.fixture(scope="session")
def wheel_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with Parity's wheel installed, once per test process
    (no test installs anything into it)."""
    return installed_venv(tmp_path_factory.mktemp("installed"))


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A real moto_server on 127.0.0.1 (the AWS control plane cannot be reached from here)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with serving(argv, f"{url}/moto-api/", "moto_server"):
        yield url


@pytest.fixture
def hung_balancer() -> Iterator[int]:
    """A balancer that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
