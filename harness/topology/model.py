"""The resolved topology: load balancer, listeners, target groups, targets, Redis."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from harness.profile.environment import mask_url

HEALTHY = "healthy"
DRAINED_STATES = ("unused", "gone")


@dataclass
class HealthCheckSettings:
    protocol: str = "HTTP"
    path: str = "/"
    port: str = "traffic-port"
    interval_seconds: float = 30
    timeout_seconds: float = 5
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    matcher: str = "200"


@dataclass
class Stickiness:
    enabled: bool = False
    type: str = "lb_cookie"
    duration_seconds: int = 86400
    cookie_name: str | None = None  # app_cookie only


@dataclass
class Target:
    id: str
    address: str
    port: int | None
    state: str  # initial | healthy | unhealthy | draining | unused | unavailable | gone
    reason: str = ""
    zone: str | None = None
    direct_url: str | None = None
    instance_type: str | None = None
    image: str | None = None
    security_groups: list[str] = field(default_factory=list)
    registered_id: str | None = None  # the provider's own id, when `id` adds the port to it
    http: bool = True  # lambda and alb targets are not HTTP servers of the app


@dataclass
class TargetGroup:
    name: str
    arn: str | None = None
    protocol: str = "HTTP"
    port: int | None = None
    target_type: str = "instance"
    weight: int | None = None  # in a weighted forward action
    stickiness: Stickiness = field(default_factory=Stickiness)
    deregistration_delay_seconds: float = 300
    algorithm: str = "round_robin"
    slow_start_seconds: int = 0
    health_check: HealthCheckSettings = field(default_factory=HealthCheckSettings)
    attributes: dict[str, str] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    # where stickiness, delay, algorithm and health check came from: "aws", "replica", or
    # "expect" (the profile's own expectation, not observed: nothing to compare it with)
    settings_source: str = "aws"
    states_source: str = "AWS DescribeTargetHealth"  # where the targets' states were read

    @property
    def settings_observed(self) -> bool:
        return self.settings_source != "expect"

    def settings_from(self) -> str:
        """Where the settings came from, in words."""
        return SETTINGS_SOURCES.get(self.settings_source, self.settings_source)


SETTINGS_SOURCES = {
    "aws": "observed: AWS (DescribeTargetGroups, DescribeTargetGroupAttributes)",
    "replica": "observed: the replica's control API",
    "expect": "assumed: the profile's expect:, not observed",
}


@dataclass
class Rule:
    """One listener rule (or the default action) as the ALB evaluates it."""

    priority: str  # a number, or "default"
    conditions: list[str] = field(default_factory=list)  # "host-header staging.example.com"
    actions: str = "forward"  # "authenticate-oidc -> forward", "forward blue 90, green 10"
    kinds: str = "forward"  # the actions without names: "authenticate-oidc -> forward"
    weights: list[int] = field(default_factory=list)  # of a weighted forward, in order
    target_groups: list[str] = field(default_factory=list)  # names
    group_stickiness_seconds: int | None = None  # TargetGroupStickinessConfig, when enabled


@dataclass
class Listener:
    protocol: str
    port: int
    target_groups: list[str] = field(default_factory=list)  # names
    ssl_policy: str | None = None
    default_action: str = "forward"  # forward | redirect to ... | fixed-response ...
    rules: list[Rule] = field(default_factory=list)  # in the ALB's order, the default last


@dataclass
class RouteMatch:
    """Which rule `topology.route` selects, and why; the checks test its target groups only."""

    listener: str  # "HTTPS:443"
    rule: str  # a priority, or "default"
    why: str
    passed_over: list[str] = field(default_factory=list)
    host: str | None = None
    path: str | None = None


@dataclass
class LoadBalancer:
    name: str
    arn: str | None = None
    dns_name: str | None = None
    scheme: str | None = None
    kind: str = "application"
    listeners: list[Listener] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    security_groups: list[str] = field(default_factory=list)


@dataclass
class Topology:
    """Everything a provider resolved about one environment."""

    provider: str
    entry_url: str
    load_balancer: LoadBalancer
    target_groups: list[TargetGroup]
    redis_url: str | None = None
    session_store: dict[str, str] = field(default_factory=dict)  # engine, version, node type ...
    ca_file: str | None = None  # a CA bundle that signs the entry's certificate (the replica's)
    route: RouteMatch | None = None  # the rule `topology.route` selected
    host: str | None = None  # the Host (and TLS SNI) every request carries, when not the URL's
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # never serialised
    # a drain keeps clients pinned to the target until it leaves (HAProxy `state drain`),
    # instead of moving them at once (an ALB's deregistration, HAProxy maint): topology.drain.pinned
    drain_keeps_pinned: bool = False
    ports_fixed: bool = True  # False: the listeners' ports are free ones (the replica's)

    @property
    def targets(self) -> list[Target]:
        """Every target once, in target-group order."""
        seen: dict[str, Target] = {}
        for group in self.target_groups:
            for target in group.targets:
                seen.setdefault(target.id, target)
        return list(seen.values())

    def healthy_targets(self) -> list[Target]:
        """Healthy HTTP targets: what traffic checks send requests to."""
        return [t for t in self.targets if t.state == HEALTHY and t.http]

    def group_of(self, target_id: str) -> TargetGroup | None:
        return next(
            (g for g in self.target_groups if any(t.id == target_id for t in g.targets)), None
        )

    def to_json(self) -> dict[str, Any]:
        """JSON for machines and reports; secrets and Redis passwords left out."""
        data = dataclasses.asdict(self)
        data.pop("secrets")
        data.pop("ports_fixed")  # how `parity diff` reads the ports, not a setting
        data["redis_url"] = mask_url(self.redis_url)
        return data
