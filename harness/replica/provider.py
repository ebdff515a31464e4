"""The replica provider: the embedded replica, through its control API.

It is the one provider that differs from the others, and says how here alone: it is started
for a run when none runs (`opened`), a child process takes over its handle (`hand_off`), its
targets are Parity's own (`owns_targets`), and it is gone when stopped (`ephemeral`). The
profile of the replica `parity up` runs is the default environment (`default_environment`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Self

from harness.errors import EnvironmentUnavailable, UsageError
from harness.profile.environment import Environment, load_file, replica_profile
from harness.replica import lifecycle
from harness.replica.lifecycle import running_state
from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ACTIONS, ReplicaConfig
from harness.topology import TargetStates
from harness.topology.base import ProviderBase
from harness.topology.model import (
    HealthCheckSettings,
    Listener,
    LoadBalancer,
    Rule,
    Stickiness,
    Target,
    TargetGroup,
    Topology,
)

EXTRA_ACTIONS = tuple(a for a in ACTIONS if a not in ("deregister", "register"))
REPLICA_TEST_DELAY = 3.0  # a replica started for one run drains in seconds, not minutes


def replica_config(env: Environment, **overrides: Any) -> ReplicaConfig:
    """The replica a profile asks for (`topology.replica`), with overrides."""
    options = env.topology.replica.given()
    options.setdefault("deregistration_delay", REPLICA_TEST_DELAY)
    options["faults"] = tuple(options.get("faults") or ())
    options.update(overrides)
    return ReplicaConfig(**options)


def uses_running_replica(env: Environment) -> bool:
    """Whether the running replica (if any) is the one this profile describes: a profile with
    no `topology.replica` options takes whatever runs; one with options needs them to match."""
    state = running_state()
    if state is None:
        return False
    wanted = env.topology.replica.given()
    running = state.get("config", {})
    return all(
        running.get(k) == (list(v) if isinstance(v, tuple) else v) for k, v in wanted.items()
    )


def _shown(options: dict[str, Any]) -> dict[str, Any]:
    """Options as the profile wrote them (a list, not a tuple)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def expecting_started(env: Environment, config: dict[str, Any]) -> Environment:
    """`env` expecting exactly the targets a replica of this config (its JSON) started:
    `instances` in each of its weighted `groups`."""
    if not config.get("instances"):
        return env
    started = int(config["instances"]) * max(1, len(config.get("groups") or ()))
    return dataclasses.replace(env, expect=dataclasses.replace(env.expect, targets=started))


def _groups(described: dict[str, Any]) -> list[TargetGroup]:
    """The replica's target groups: one, or the weighted forward's (`parity up --groups`)."""
    plain = _group(described)
    listed = described.get("target_groups") or [{"name": plain.name, "weight": None}]
    if len(listed) == 1:
        return [plain]
    return [
        dataclasses.replace(
            plain,
            name=g["name"],
            weight=g["weight"],
            targets=[t for t in plain.targets if t.id in g["targets"]],
        )
        for g in listed
    ]


def _store_facts(described: dict[str, Any]) -> dict[str, str]:
    store = described.get("store") or {}
    facts = {"mode": str(store.get("mode", "standalone"))}
    if store.get("mode") == "sentinel":
        facts.update(sentinels=",".join(store["sentinels"]), service=str(store["service"]))
    return facts


def _forward(described: dict[str, Any], groups: list[TargetGroup]) -> Rule:
    """The listener's default action: a forward, weighted when there are several groups."""
    sticky = int(described.get("group_stickiness_seconds") or 0)
    weights = [g.weight for g in groups if g.weight is not None]
    shown = ", ".join(f"{g.name} {g.weight}" for g in groups) if weights else ""
    return Rule(
        priority="default",
        actions=f"forward {shown}".strip(),
        target_groups=[g.name for g in groups],
        weights=weights,
        group_stickiness_seconds=sticky or None,
    )


def _group(described: dict[str, Any]) -> TargetGroup:
    tg = described["target_group"]
    hc = tg["health_check"]
    sticky = tg["stickiness"]
    return TargetGroup(
        name=tg["name"],
        protocol="HTTP",
        target_type="ip",
        settings_source="replica",
        states_source="the replica's control API",
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


class ReplicaProvider(ProviderBase):
    """Resolves and drives the embedded replica (one started by `parity up`, or given)."""

    name = "replica"
    ephemeral: ClassVar[bool] = True

    def __init__(self, env: Environment, handle: ReplicaHandle | None = None) -> None:
        super().__init__(env)
        if handle is None:
            state = running_state()
            if state is None:
                raise EnvironmentUnavailable("no replica is running: start one with `parity up`")
            handle = ReplicaHandle.from_state(state)
        self.handle = handle
        self._control = handle.control

    # ---- what differs from the other providers --------------------------------------------
    @classmethod
    @contextmanager
    def opened(cls, env: Environment, *, for_children: bool = False) -> Iterator[Self]:
        """The running replica, or one started for this block; `for_children` starts it as a
        daemon that child processes can reach too."""
        if uses_running_replica(env):
            yield cls(env)
            return
        if not for_children:
            with running_replica(replica_config(env)) as (_, handle):
                yield cls(env, handle)
            return
        if running_state() is not None:
            raise UsageError(
                f"a replica with other settings is running; {env.source} asks for "
                f"{_shown(env.topology.replica.given())}: stop it with `parity down` first"
            )
        handle = lifecycle.up(replica_config(env), tied=True)
        try:
            yield cls(env, handle)
        finally:
            lifecycle.down()

    @classmethod
    def default_environment(cls) -> Environment:
        """The profile of the replica `parity up` runs: the one it wrote for a variant
        (`--balancer`, `--stickiness app_cookie`, `--groups`, `--store`), else the built-in one
        expecting every target it started (`--instances`); the built-in one when none runs."""
        state = running_state()
        if state is None:
            return replica_profile()
        path = Path(state["profile"]) if state.get("profile") else None
        if path is not None and path.exists():
            return dataclasses.replace(load_file(path), owned_targets=True)
        return expecting_started(replica_profile(), state.get("config") or {})

    def owns_targets(self) -> bool:
        return True

    def hand_off(self) -> dict[str, Any] | None:
        return dataclasses.asdict(self.handle)

    @classmethod
    def taken_over(cls, env: Environment, handed: dict[str, Any] | None) -> Self:
        return cls(env, ReplicaHandle(**handed) if handed else None)

    def resolve(self) -> Topology:
        described = self._control.describe()
        groups = _groups(described)
        names = [g.name for g in groups]
        http_port = int(described["url"].rsplit(":", 1)[1])
        listeners = [Listener("HTTP", http_port, names, rules=[_forward(described, groups)])]
        if described["https_url"]:
            https_port = int(described["https_url"].rsplit(":", 1)[1])
            listeners.append(
                Listener("HTTPS", https_port, names, rules=[_forward(described, groups)])
            )
        balancer = described.get("balancer", "alb")
        lb = LoadBalancer(
            name=f"parity-replica-{balancer}",
            dns_name=f"127.0.0.1:{http_port}",
            scheme="internal",
            listeners=listeners,
            attributes=dict(described.get("load_balancer_attributes") or {}),  # idle timeout
        )
        return Topology(
            provider=self.name,
            entry_url=self.env.url or described["url"],
            load_balancer=lb,
            target_groups=groups,
            redis_url=self.env.redis.url or described["redis_url"],
            secrets={"replica_password": self._control.password()},
            ca_file=described["ca_file"],
            session_store=_store_facts(described),
            ports_fixed=False,
        )

    def store_failover_ready(self) -> str | None:
        """Why the store cannot be failed over, or None."""
        store = self._control.describe().get("store") or {}
        return (
            None if store.get("mode") == "sentinel" else "start the replica with --store sentinel"
        )

    def store_failover(self) -> dict[str, Any]:
        """Fail the session store over (`parity up --store sentinel`)."""
        return self._control.store_failover()

    def set_weights(self, weights: dict[str, int]) -> dict[str, int]:
        """The weighted forward's new weights, by group name (`parity-blue` or `blue`)."""
        plain = {name.removeprefix("parity-"): weight for name, weight in weights.items()}
        now = self._control.set_weights(plain)
        return {f"parity-{name}": weight for name, weight in now.items()}

    def weights(self) -> dict[str, int]:
        """The weighted forward's weights now, by target-group name."""
        return {g.name: g.weight for g in self.resolve().target_groups if g.weight is not None}

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
