"""The replica's session store: one redis-server, or (`parity up --store sentinel`) a primary, a
replica and three sentinels that the app reaches through Sentinel, as ElastiCache or a
self-managed Sentinel set would be reached.

The app is given `redis+sentinel://HOST:PORT,HOST:PORT,.../SERVICE`; with the
`store-stale-primary` fault it is given the first primary's address instead, so after a failover
it keeps writing to a server that has become a replica (READONLY).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from harness.errors import ReplicaError
from harness.replica import faults
from harness.replica.processes import free_port, wait_until

SERVICE = "parity"
SENTINELS = 3
START_TIMEOUT = 20.0
FAILOVER_TIMEOUT = 15.0
PAUSE_MS = 3_000  # writes to the old primary wait (at most this long) while it steps down;
# PUBLISH waits too, so the sentinels' gossip through it resumes after this

Spawn = Callable[[str, list[str]], Any]


def _server(port: int, work: Path, *extra: str) -> list[str]:
    return [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(work), *extra,
    ]  # fmt: skip


def _answers(port: int) -> Callable[[], bool]:
    client = redis.Redis(port=port, socket_connect_timeout=0.5)

    def ping() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    return ping


class ReplicaStore:
    """The store's processes and addresses."""

    def __init__(self, mode: str, fault_names: tuple[str, ...], work: Path) -> None:
        self.mode, self.faults, self.work = mode, fault_names, work
        self.primary_port = self.replica_port = 0
        self.sentinel_ports: list[int] = []

    # ---- addresses ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The first primary: what the checks and the standalone app use."""
        return f"redis://127.0.0.1:{self.primary_port}/0"

    @property
    def sentinels(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.sentinel_ports]

    def app_url(self) -> str:
        """What the app connects to: through Sentinel, unless the fault pins the old primary."""
        if self.mode != "sentinel" or "store-stale-primary" in self.faults:
            return self.url
        return f"redis+sentinel://{','.join(self.sentinels)}/{SERVICE}"

    def describe(self) -> dict[str, Any]:
        if self.mode != "sentinel":
            return {"mode": "standalone", "url": self.url}
        return {"mode": "sentinel", "sentinels": self.sentinels, "service": SERVICE}

    # ---- life --------------------------------------------------------------------------
    def start(self, spawn: Spawn) -> None:
        self.primary_port = free_port()
        spawn("redis", _server(self.primary_port, self.work, *faults.redis_args(self.faults)))
        if self.mode != "sentinel":
            return
        self.replica_port = free_port()
        replica = ("--replicaof", "127.0.0.1", str(self.primary_port))
        spawn("redis-replica", _server(self.replica_port, self.work, *replica))
        for i in range(SENTINELS):
            port = free_port()
            conf = self.work / f"sentinel-{i}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.work}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 2000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
            )
            spawn(f"sentinel-{i}", ["redis-server", str(conf), "--sentinel"])
            self.sentinel_ports.append(port)

    def wait(self, alive: Callable[[], None]) -> None:
        """Every server answers; with Sentinel, every sentinel knows the replica."""
        ports = [self.primary_port, *([self.replica_port] if self.replica_port else [])]
        for port in ports + self.sentinel_ports:
            ping = _answers(port)

            def ready(check: Callable[[], bool] = ping) -> bool:
                alive()
                return check()

            wait_until(ready, START_TIMEOUT, f"redis on 127.0.0.1:{port}")
        for port in self.sentinel_ports:
            sentinel = redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True)
            wait_until(
                lambda s=sentinel: bool(s.sentinel_slaves(SERVICE)),  # type: ignore[misc]
                START_TIMEOUT,
                f"sentinel on {port} to know the replica",
            )

    # ---- failover ----------------------------------------------------------------------
    def primary(self, sentinel_port: int | None = None) -> str:
        """The primary's address, as a sentinel (the first, by default) sees it."""
        port = sentinel_port or self.sentinel_ports[0]
        sentinel = redis.Redis(port=port, decode_responses=True)
        answer: Any = sentinel.execute_command(  # type: ignore[no-untyped-call]
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE
        )
        return f"{answer[0]}:{answer[1]}" if answer else "none"

    def _replicating(self, address: str) -> bool:
        """The server at `address` is a replica of the current primary, with its link up."""
        port = int(address.rsplit(":", 1)[1])
        try:
            info = redis.Redis(port=port, socket_connect_timeout=0.5).info("replication")
        except redis.RedisError:
            return False
        primary_port = int(self.primary().rsplit(":", 1)[1])
        return (
            info.get("role") == "slave"
            and int(info.get("master_port", 0)) == primary_port
            and info.get("master_link_status") == "up"
        )

    def _other(self, address: str) -> str:
        ports = {self.primary_port, self.replica_port} - {int(address.rsplit(":", 1)[1])}
        return f"127.0.0.1:{ports.pop()}"

    def failover(self) -> dict[str, Any]:
        """A clean failover, as ElastiCache makes one: writes to the primary are paused, the
        replica (in sync) is promoted by SENTINEL FAILOVER, and the old primary is made its
        replica as soon as a sentinel names the new one (Sentinel alone would leave it writable
        for up to its 10 s INFO period, and the writes it took there would be lost). Returns
        once the old primary follows."""
        if self.mode != "sentinel":
            raise ReplicaError("the replica's store is one server: start it with --store sentinel")
        before = self.primary()
        wait_until(lambda: self._replicating(self._other(before)), FAILOVER_TIMEOUT, "the replica")
        old = redis.Redis(port=int(before.rsplit(":", 1)[1]))
        started = time.monotonic()
        sentinel = redis.Redis(port=self.sentinel_ports[0])
        sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)  # type: ignore[no-untyped-call]
        wait_until(lambda: self.primary() != before, FAILOVER_TIMEOUT, "the store failover")
        switched = round(time.monotonic() - started, 3)
        host, port = self.primary().rsplit(":", 1)
        old.execute_command("REPLICAOF", host, port)  # type: ignore[no-untyped-call]
        wait_until(lambda: self._replicating(before), FAILOVER_TIMEOUT, "the old primary to follow")
        return {
            "old_primary": before,
            "new_primary": self.primary(),
            "switched_after_seconds": switched,
        }
