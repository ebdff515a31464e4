"""The profile of a replica behind Caddy or nginx: the static provider, as a user would write it.

`parity up --balancer caddy|nginx` writes it to `$PARITY_HOME/replica-<balancer>.yaml` (mode
0600: it holds the replica's password) and the commands that default to the replica use it, so
every check drives that front end through its own interface (the command adapter), never
through the replica's private control API.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from harness.replica.state import home
from harness.replica.supervisor import Replica


def front_profile(replica: Replica) -> dict[str, Any]:
    """A static profile of the replica's Caddy or nginx front end."""
    front = replica.other_front
    assert front is not None
    base = yaml.safe_load(resources.files("harness.profile").joinpath("replica.yaml").read_text())
    session = dict(base["session"])
    session["credentials"] = {"username": "parity-user-{n}", "password": replica.password}
    cfg = replica.config
    return {
        "name": f"replica-{front.name}",
        "production": False,
        "url": replica.url,
        "topology": {
            "provider": "static",
            "targets": [{"id": t.id, "url": t.url} for t in replica.targets()],
            "drain": front.profile_drain(),
        },
        "identity": base["identity"],
        "expect": {
            "balancer": front.name,
            "targets": cfg.instances,
            "deregistration_delay_seconds": cfg.deregistration_delay,
            "health_check": {"path": cfg.health.path},
            "error_budget": 0,
            "version": base["expect"]["version"],
        },
        "session": session,
        "redis": {**base["redis"], "url": replica.redis_url},
        "failover": base["failover"],
        "safety": base["safety"],
    }


def write_front_profile(replica: Replica) -> Path:
    path = home() / f"replica-{replica.config.balancer}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(
            f"# Written by `parity up --balancer {replica.config.balancer}`; removed by down.\n"
        )
        yaml.safe_dump(front_profile(replica), out, sort_keys=False)
    return path
