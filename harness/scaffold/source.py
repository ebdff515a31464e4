"""What `parity init` was pointed at: an AWS load balancer, a static balancer and its targets,
or the replica; and the topology section that names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Source:
    """What `parity init` was pointed at."""

    kind: str  # aws | static | replica
    load_balancer: str | None = None
    region: str | None = None
    aws_profile: str | None = None
    url: str | None = None
    targets: list[tuple[str, str]] = field(default_factory=list)
    health_path: str | None = None  # --health-path; else found by probing HEALTH_PATHS
    health_note: str = ""  # how the health path was chosen, for the profile's comment
    framework: str | None = None  # --framework; else recognised from what the app answers
    session_path: str | None = None  # --session-path: the app's session endpoint
    redis_url: str | None = None  # --redis-url, secrets as ${VAR}


def aws_topology(source: Source) -> dict[str, Any]:
    topo: dict[str, Any] = {"provider": "aws", "load_balancer": source.load_balancer}
    if source.region:
        topo["region"] = source.region
    if source.aws_profile:
        topo["profile"] = source.aws_profile
    return topo
