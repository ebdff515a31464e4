"""What a replica is asked to be (`ReplicaConfig`) and what it reports (`TargetState`)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.replica.alb_config import ALGORITHMS
from harness.replica.alb_spec import HealthCheck
from harness.replica.faults import FAULTY_INDEX, check_faults, check_for_front

# what `parity replica act` can do to a target
ACTIONS = ("deregister", "register", "kill", "restart", "fail-health", "pass-health")

MAX_INSTANCES = 8
MAX_GROUPED_INSTANCES = 12
DEFAULT_DEREGISTRATION_DELAY = 10.0
DEFAULT_STICKINESS_SECONDS = 86400
DEFAULT_BUILD = "build-1"
DEFAULT_FAULTY_INSTANCE = FAULTY_INDEX + 1  # 1-based: the second instance
BALANCERS = ("alb", "caddy", "nginx")
STICKINESS_TYPES = ("lb_cookie", "app_cookie")
STORES = ("standalone", "sentinel")
RESERVED_COOKIE_PREFIXES = ("AWSALB", "AWSALBAPP", "AWSALBTG")


GROUP_NAME = re.compile(r"[a-z][a-z0-9-]{0,19}")
BUILD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MAX_BUILDS = 4


def parse_builds(text: str) -> tuple[str, ...]:
    """`current,previous` (newest first) as a tuple; a bad name is one line naming it."""
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    check_builds(names)
    return names


def check_builds(names: tuple[str, ...]) -> None:
    if not names:
        return
    bad = [n for n in names if not BUILD_NAME.fullmatch(n)]
    if bad:
        raise UsageError(
            f"--builds: {bad[0]!r} is not a build name (letters, digits, '.', '_', '-'; up to 40)"
        )
    if len(set(names)) != len(names) or not 2 <= len(names) <= MAX_BUILDS:
        raise UsageError(
            f"--builds {','.join(names)}: 2 to {MAX_BUILDS} distinct builds, newest first "
            "(current,previous)"
        )


def parse_groups(text: str) -> tuple[tuple[str, int], ...]:
    """`blue:90,green:10` as ((name, weight), ...); a bad part is one line naming it."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, weight = part.partition(":")
        if not weight.strip().isdigit():
            raise UsageError(f"--groups {text!r}: {part!r} is not NAME:WEIGHT (blue:90)")
        out.append((name.strip(), int(weight)))
    return tuple(out)


def check_groups(
    groups: tuple[tuple[str, int], ...], stickiness: int, balancer: str, kind: str
) -> None:
    if not groups:
        if stickiness:
            raise UsageError("--group-stickiness needs weighted target groups (--groups)")
        return
    names = [n for n, _ in groups]
    bad = [n for n in names if not GROUP_NAME.fullmatch(n)]
    if bad or len(set(names)) != len(names) or not 2 <= len(groups) <= 5:
        raise UsageError(
            f"--groups {','.join(f'{n}:{w}' for n, w in groups)}: 2 to 5 groups with distinct "
            "names (a lowercase letter, then letters, digits or -, up to 20)"
        )
    if any(not 0 <= w <= 999 for _, w in groups):
        raise UsageError("--groups: weights are 0 to 999, as on an ALB")
    if not 0 <= stickiness <= 604800:
        raise UsageError(f"--group-stickiness {stickiness}: allowed 0 (off) to 604800 s")
    if balancer != "alb" or kind != "lb_cookie":
        raise UsageError(
            "--groups is the ALB's weighted forward: with --balancer alb and lb_cookie stickiness "
            "(AWS refuses app_cookie stickiness in a weighted forward)"
        )


MAX_DEREGISTRATION_LAG = 10.0  # seconds: Parity waits up to PROPAGATION_SECONDS for a move


@dataclass(frozen=True)
class ReplicaConfig:
    """The embedded replica's shape: instances, target-group settings and faults."""

    instances: int = 2
    faults: tuple[str, ...] = ()
    stickiness_enabled: bool = True
    stickiness_seconds: int = DEFAULT_STICKINESS_SECONDS
    deregistration_delay: float = DEFAULT_DEREGISTRATION_DELAY
    # seconds the front end keeps routing new requests to a target after it is deregistered,
    # as a real ALB does while the deregistration propagates to its nodes
    deregistration_lag: float = 0.0
    algorithm: str = "round_robin"
    health: HealthCheck = field(default_factory=HealthCheck)
    build: str = DEFAULT_BUILD
    session_ttl: int = 86400
    cookie_lifetime: int = 86400
    balancer: str = "alb"  # the front end: alb (HAProxy as an ALB), caddy or nginx
    stickiness_type: str = "lb_cookie"  # or app_cookie: the ALB's AWSALBAPP follows the app's
    app_cookie: str | None = None  # the app cookie's name, for app_cookie
    groups: tuple[tuple[str, int], ...] = ()  # weighted target groups: (name, weight), each
    group_stickiness: int = 0  # AWSALBTG duration in seconds; 0: off
    store: str = "standalone"  # or sentinel: a primary, a replica and three sentinels
    builds: tuple[str, ...] = ()  # mixed builds, newest first: instance n serves builds[n % k]
    faulty_instance: int = DEFAULT_FAULTY_INSTANCE  # 1-based: the one per-instance faults break

    def __post_init__(self) -> None:
        if not 1 <= self.instances <= MAX_INSTANCES:
            raise UsageError(f"--instances {self.instances}: allowed 1 to {MAX_INSTANCES}")
        if not 1 <= self.stickiness_seconds <= 604800:
            raise UsageError(f"--stickiness-seconds {self.stickiness_seconds}: allowed 1 to 604800")
        if not 0 <= self.deregistration_delay <= 3600:
            raise UsageError(
                f"--deregistration-delay {self.deregistration_delay:g}: allowed 0 to 3600"
            )
        if not 0 <= self.deregistration_lag <= MAX_DEREGISTRATION_LAG:
            raise UsageError(
                f"--deregistration-lag {self.deregistration_lag:g}: allowed 0 to "
                f"{MAX_DEREGISTRATION_LAG:g}"
            )
        if self.algorithm not in ALGORITHMS:
            raise UsageError(f"algorithm {self.algorithm!r}: allowed {', '.join(ALGORITHMS)}")
        if self.balancer not in BALANCERS:
            raise UsageError(f"--balancer {self.balancer!r}: allowed {', '.join(BALANCERS)}")
        self._check_stickiness_type()
        check_groups(self.groups, self.group_stickiness, self.balancer, self.stickiness_type)
        if self.groups and self.instances * len(self.groups) > MAX_GROUPED_INSTANCES:
            raise UsageError(
                f"--instances {self.instances} in each of {len(self.groups)} groups: at most "
                f"{MAX_GROUPED_INSTANCES} instances in all"
            )
        object.__setattr__(self, "faults", check_faults(self.faults))
        check_for_front(self.faults, self.balancer)
        if self.store not in STORES:
            raise UsageError(f"--store {self.store!r}: allowed {', '.join(STORES)}")
        if "store-stale-primary" in self.faults and self.store != "sentinel":
            raise UsageError(
                "--fault store-stale-primary needs a store that fails over (--store sentinel)"
            )
        if "ignored-weights" in self.faults and not self.groups:
            raise UsageError("--fault ignored-weights needs weighted target groups (--groups)")
        check_builds(self.builds)
        if self.builds and self.instances * max(1, len(self.groups)) < len(self.builds):
            raise UsageError(
                f"--builds {','.join(self.builds)}: {len(self.builds)} builds need at least "
                f"{len(self.builds)} instances (--instances)"
            )
        if self.faults and self.instances * max(1, len(self.groups)) < 2:
            raise UsageError("--fault needs at least 2 instances (--instances 2 or more)")
        self._check_faulty_instance()

    def _check_faulty_instance(self) -> None:
        """1 to the number of instances (counted across the groups, in order); the default is
        let be with a single instance, where no per-instance fault can apply."""
        total = self.instances * max(1, len(self.groups))
        if self.faulty_instance == DEFAULT_FAULTY_INSTANCE and total < 2:
            return
        if not 1 <= self.faulty_instance <= total:
            raise UsageError(f"--faulty-instance {self.faulty_instance}: allowed 1 to {total}")

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
        data["groups"] = [list(g) for g in self.groups]
        data["builds"] = list(self.builds)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplicaConfig:
        data = dict(data)
        data["health"] = HealthCheck(**data.get("health", {}))
        data["faults"] = tuple(data.get("faults", ()))
        data["groups"] = tuple((str(n), int(w)) for n, w in data.get("groups", ()))
        data["builds"] = tuple(str(b) for b in data.get("builds", ()))
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
    build: str = ""  # the build this target's process was started on
    previous_build: str = ""  # the build it served before its last rollout ("" if none)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
