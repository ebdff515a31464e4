"""What a replica is asked to be (`ReplicaConfig`) and what it reports (`TargetState`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.replica.alb_config import ALGORITHMS, HealthCheck
from harness.replica.faults import check_faults, check_for_front

MAX_INSTANCES = 8
DEFAULT_DEREGISTRATION_DELAY = 10.0
DEFAULT_STICKINESS_SECONDS = 86400
DEFAULT_BUILD = "build-1"
BALANCERS = ("alb", "caddy", "nginx")
STICKINESS_TYPES = ("lb_cookie", "app_cookie")
RESERVED_COOKIE_PREFIXES = ("AWSALB", "AWSALBAPP", "AWSALBTG")


@dataclass(frozen=True)
class ReplicaConfig:
    """The embedded replica's shape: instances, target-group settings and faults."""

    instances: int = 2
    faults: tuple[str, ...] = ()
    stickiness_enabled: bool = True
    stickiness_seconds: int = DEFAULT_STICKINESS_SECONDS
    deregistration_delay: float = DEFAULT_DEREGISTRATION_DELAY
    algorithm: str = "round_robin"
    health: HealthCheck = field(default_factory=HealthCheck)
    build: str = DEFAULT_BUILD
    session_ttl: int = 86400
    cookie_lifetime: int = 86400
    balancer: str = "alb"  # the front end: alb (HAProxy as an ALB), caddy or nginx
    stickiness_type: str = "lb_cookie"  # or app_cookie: the ALB's AWSALBAPP follows the app's
    app_cookie: str | None = None  # the app cookie's name, for app_cookie

    def __post_init__(self) -> None:
        if not 1 <= self.instances <= MAX_INSTANCES:
            raise UsageError(f"--instances {self.instances}: allowed 1 to {MAX_INSTANCES}")
        if not 1 <= self.stickiness_seconds <= 604800:
            raise UsageError(f"--stickiness-seconds {self.stickiness_seconds}: allowed 1 to 604800")
        if not 0 <= self.deregistration_delay <= 3600:
            raise UsageError(
                f"--deregistration-delay {self.deregistration_delay:g}: allowed 0 to 3600"
            )
        if self.algorithm not in ALGORITHMS:
            raise UsageError(f"algorithm {self.algorithm!r}: allowed {', '.join(ALGORITHMS)}")
        if self.balancer not in BALANCERS:
            raise UsageError(f"--balancer {self.balancer!r}: allowed {', '.join(BALANCERS)}")
        self._check_stickiness_type()
        object.__setattr__(self, "faults", check_faults(self.faults))
        check_for_front(self.faults, self.balancer)
        if self.faults and self.instances < 2:
            raise UsageError("--fault needs at least 2 instances (--instances 2 or more)")

    def _check_stickiness_type(self) -> None:
        if self.stickiness_type not in STICKINESS_TYPES:
            raise UsageError(
                f"--stickiness {self.stickiness_type!r}: allowed {', '.join(STICKINESS_TYPES)}"
            )
        if self.stickiness_type == "lb_cookie":
            if self.app_cookie is not None:
                raise UsageError("--app-cookie is for --stickiness app_cookie")
            return
        if self.balancer != "alb":
            raise UsageError("--stickiness app_cookie is the ALB's: use it with --balancer alb")
        name = self.app_cookie or ""
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise UsageError(
                f"--app-cookie {name!r}: the app's cookie name (letters, digits, - _ .), "
                "required with --stickiness app_cookie"
            )
        if name.upper().startswith(RESERVED_COOKIE_PREFIXES):
            raise UsageError(
                f"--app-cookie {name!r}: names starting with AWSALB, AWSALBAPP or AWSALBTG are "
                "reserved by the ALB"
            )

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["faults"] = list(self.faults)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplicaConfig:
        data = dict(data)
        data["health"] = HealthCheck(**data.get("health", {}))
        data["faults"] = tuple(data.get("faults", ()))
        return cls(**data)


@dataclass
class TargetState:
    """A target as the control API reports it, in the ALB's vocabulary."""

    id: str
    url: str
    port: int
    state: str  # initial | healthy | unhealthy | draining | unused
    reason: str
    weight: int
    pid: int | None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
