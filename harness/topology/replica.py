"""The replica provider: the embedded replica, through its control API."""

from __future__ import annotations

from typing import Any

from harness.errors import EnvironmentUnavailable
from harness.profile.environment import Environment
from harness.replica.control import ACTIONS
from harness.replica.lifecycle import running_state
from harness.replica.running import ReplicaHandle
from harness.topology import TargetStates
from harness.topology.model import (
    HealthCheckSettings,
    Listener,
    LoadBalancer,
    Stickiness,
    Target,
    TargetGroup,
    Topology,
)

EXTRA_ACTIONS = tuple(a for a in ACTIONS if a not in ("deregister", "register"))


def _group(described: dict[str, Any]) -> TargetGroup:
    tg = described["target_group"]
    hc = tg["health_check"]
    sticky = tg["stickiness"]
    return TargetGroup(
        name=tg["name"],
        protocol="HTTP",
        target_type="ip",
        stickiness=Stickiness(
            enabled=sticky["enabled"],
            type=sticky["type"],
            duration_seconds=sticky["duration_seconds"],
            cookie_name=sticky.get("cookie_name"),
        ),
        deregistration_delay_seconds=tg["deregistration_delay_seconds"],
        algorithm=tg["algorithm"],
        health_check=HealthCheckSettings(
            path=hc["path"],
            interval_seconds=hc["interval_seconds"],
            timeout_seconds=hc["timeout_seconds"],
            healthy_threshold=hc["healthy_threshold"],
            unhealthy_threshold=hc["unhealthy_threshold"],
            matcher=hc["matcher"],
        ),
        targets=[
            Target(
                id=t["id"],
                address="127.0.0.1",
                port=t["port"],
                state=t["state"],
                reason=t["reason"],
                zone="local",
                direct_url=t["url"],
            )
            for t in described["targets"]
        ],
    )


class ReplicaProvider:
    """Resolves and drives the embedded replica (one started by `parity up`, or given)."""

    name = "replica"

    def __init__(self, env: Environment, handle: ReplicaHandle | None = None) -> None:
        self.env = env
        if handle is None:
            state = running_state()
            if state is None:
                raise EnvironmentUnavailable("no replica is running: start one with `parity up`")
            handle = ReplicaHandle.from_state(state)
        self.handle = handle
        self._control = handle.control

    def resolve(self) -> Topology:
        described = self._control.describe()
        group = _group(described)
        http_port = int(described["url"].rsplit(":", 1)[1])
        listeners = [Listener("HTTP", http_port, [group.name])]
        if described["https_url"]:
            https_port = int(described["https_url"].rsplit(":", 1)[1])
            listeners.append(Listener("HTTPS", https_port, [group.name]))
        balancer = described.get("balancer", "alb")
        lb = LoadBalancer(
            name=f"parity-replica-{balancer}",
            dns_name=f"127.0.0.1:{http_port}",
            scheme="internal",
            listeners=listeners,
        )
        return Topology(
            provider=self.name,
            entry_url=self.env.url or described["url"],
            load_balancer=lb,
            target_groups=[group],
            redis_url=self.env.redis.get("url") or described["redis_url"],
            secrets={"replica_password": self._control.password()},
            ca_file=described["ca_file"],
        )

    def target_states(self) -> TargetStates:
        described = self._control.describe()
        return {
            t["id"]: (t["state"], t["reason"])
            for t in described["targets"]
            if t["state"] != "unused"
        }

    def deregister(self, target_id: str) -> dict[str, Any]:
        self._control.act(target_id, "deregister")
        return {}

    def register(self, target_id: str, details: dict[str, Any] | None = None) -> None:
        self._control.act(target_id, "register")

    def actions(self) -> tuple[str, ...]:
        return EXTRA_ACTIONS

    def perform(self, action: str, target_id: str) -> None:
        self._control.act(target_id, action)

    def identity(self) -> str:
        return f"replica {self.handle.control_url}"
