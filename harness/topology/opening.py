"""Opening the environment a command targets, starting a replica for it when none runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.profile.environment import Environment
from harness.replica.lifecycle import running_state
from harness.replica.running import running_replica
from harness.replica.spec import ReplicaConfig
from harness.topology import Provider, open_provider

REPLICA_TEST_DELAY = 3.0  # a replica started for one run drains in seconds, not minutes


def replica_config(env: Environment, **overrides: Any) -> ReplicaConfig:
    """The replica a profile asks for (`topology.replica`), with overrides."""
    options = dict(env.topology.get("replica") or {})
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
    wanted = env.topology.get("replica") or {}
    running = state.get("config", {})
    return all(
        running.get(k) == (list(v) if isinstance(v, tuple) else v) for k, v in wanted.items()
    )


@contextmanager
def open_environment(env: Environment) -> Iterator[Provider]:
    """The environment's provider; for the replica, the running one or one started for now."""
    if env.provider != "replica" or uses_running_replica(env):
        yield open_provider(env)
        return
    from harness.topology.replica import ReplicaProvider

    with running_replica(replica_config(env)) as (_, handle):
        yield ReplicaProvider(env, handle)
