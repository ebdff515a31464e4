"""What the local ALB's configuration is made from: its targets, target groups, health check
and settings (`alb_config` renders them as HAProxy's configuration)."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.replica.connections import IDLE_TIMEOUT_SECONDS

BACKEND = "tg"
FAIL_OPEN = ".fail-open"  # each target's twin: a backup with no health check


def fail_open_twin(target_id: str) -> str:
    """The backup server that serves a target while every target of the group is unhealthy."""
    return f"{target_id}{FAIL_OPEN}"


@dataclass(frozen=True)
class HealthCheck:
    """A target group's health check (the replica allows intervals below the ALB's 5 s)."""

    path: str = "/healthz"
    interval_seconds: float = 1.0
    timeout_seconds: float = 1.0
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2
    matcher: str = "200"


@dataclass(frozen=True)
class Target:
    """One registered target: its id, local port, balancing weight and sticky token."""

    id: str
    port: int
    token: str
    weight: int = 1
    backend: str = BACKEND  # its target group's backend (`tg`, or `tg-<group>`)


@dataclass(frozen=True)
class Group:
    """A target group in a weighted forward: its backend, weight and AWSALBTG token."""

    name: str
    weight: int
    token: str

    @property
    def backend(self) -> str:
        return f"{BACKEND}-{self.name}"


@dataclass(frozen=True)
class AlbSpec:
    """Everything the local ALB's configuration is generated from."""

    targets: tuple[Target, ...]
    http_port: int
    https_port: int
    certificate: str
    admin_socket: str
    cookie_key: int
    stickiness_enabled: bool = True
    stickiness_seconds: int = 86400
    app_cookie: str | None = None  # app_cookie stickiness: AWSALBAPP follows this cookie
    algorithm: str = "round_robin"
    health: HealthCheck = field(default_factory=HealthCheck)
    groups: tuple[Group, ...] = ()  # weighted target groups behind the listener
    group_stickiness_seconds: int = 0  # AWSALBTG, when more than 0
    weights_map: str = ""  # the map file of the groups' weights (changed at run time)
    idle_timeout: int = IDLE_TIMEOUT_SECONDS  # client and idle server connections, 504 after
    unsticky_paths: tuple[str, ...] = ()  # balanced anew on every request (a fault)
