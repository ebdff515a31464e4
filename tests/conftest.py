"""Fixtures for the harness's own tests: replicas started on demand, stopped by PID."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.replica.processes import free_port
from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from tests.helpers import serving
from tests.installed import installed_venv

pytest_plugins = ["pytester"]


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
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
