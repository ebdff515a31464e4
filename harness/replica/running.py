"""A replica together with its control API: what tests, the suites and the daemon run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.replica.control import ControlServer, ReplicaControl
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica


@dataclass(frozen=True)
class ReplicaHandle:
    """How to reach a running replica: its entry URLs and its control API."""

    url: str
    https_url: str
    redis_url: str
    control_url: str
    token: str
    ca_file: str

    @property
    def control(self) -> ReplicaControl:
        return ReplicaControl(self.control_url, self.token)

    def __repr__(self) -> str:
        return f"ReplicaHandle(url={self.url!r}, control_url={self.control_url!r}, token='***')"

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ReplicaHandle:
        return cls(
            state["url"],
            state["https_url"],
            state["redis_url"],
            state["control_url"],
            state["token"],
            state["ca_file"],
        )


@contextmanager
def running_replica(
    config: ReplicaConfig | None = None, work_dir: Path | None = None
) -> Iterator[tuple[Replica, ReplicaHandle]]:
    """Start a replica and its control API; stop both on exit, exception or Ctrl-C."""
    with Replica(config, work_dir) as replica:
        server = ControlServer(replica).start()
        try:
            yield (
                replica,
                ReplicaHandle(
                    replica.url,
                    replica.https_url,
                    replica.redis_url,
                    server.url,
                    server.token,
                    replica.ca_file,
                ),
            )
        finally:
            server.stop()
