"""Fixtures for the harness's own tests: replicas started on demand, stopped by PID."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica

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
