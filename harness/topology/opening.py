"""Opening the environment a run targets, once: the one place a replica is started or reused.

A command opens its environment with `open_environment`; a child process it starts (pytest)
receives the opened environment as one serialized form (`write_opened`, `PARITY_OPENED`) and
rebuilds it with `read_opened`, without parsing the profile or looking for a replica again.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.profile.environment import Environment
from harness.replica import lifecycle
from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.topology import Provider, open_provider

OPENED_VARIABLE = "PARITY_OPENED"
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
    state = lifecycle.running_state()
    if state is None:
        return False
    wanted = env.topology.get("replica") or {}
    running = state.get("config", {})
    return all(
        running.get(k) == (list(v) if isinstance(v, tuple) else v) for k, v in wanted.items()
    )


def _replica_provider(env: Environment, handle: ReplicaHandle | None = None) -> Provider:
    from harness.topology.replica import ReplicaProvider

    return ReplicaProvider(env, handle)


@contextmanager
def open_environment(env: Environment, *, for_children: bool = False) -> Iterator[Provider]:
    """The environment's provider. For the replica: the running one, or one started for this
    block; `for_children` starts it as a daemon that child processes can reach too."""
    if env.provider != "replica" or uses_running_replica(env):
        yield open_provider(env) if env.provider != "replica" else _replica_provider(env)
        return
    if not for_children:
        with running_replica(replica_config(env)) as (_, handle):
            yield _replica_provider(env, handle)
        return
    if lifecycle.running_state() is not None:
        raise UsageError(
            f"a replica with other settings is running; {env.source} asks for "
            f"{env.topology.get('replica')}: stop it with `parity down` first"
        )
    handle = lifecycle.up(replica_config(env), tied=True)
    try:
        yield _replica_provider(env, handle)
    finally:
        lifecycle.down()


def write_opened(env: Environment, provider: Provider, path: Path) -> Path:
    """The opened environment as one file (mode 0600: it holds resolved secrets)."""
    handle = getattr(provider, "handle", None)
    body = {
        "environment": dataclasses.asdict(env),
        "replica": dataclasses.asdict(handle) if isinstance(handle, ReplicaHandle) else None,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(body, out, default=str)  # a YAML date in `raw` travels as its text
    return path


def read_opened(path: Path) -> tuple[Environment, Provider]:
    """What `write_opened` wrote: the environment and its provider, opened again."""
    body = json.loads(path.read_text())
    env = Environment(**body["environment"])
    if body["replica"] is not None:
        return env, _replica_provider(env, ReplicaHandle(**body["replica"]))
    return env, open_provider(env)
