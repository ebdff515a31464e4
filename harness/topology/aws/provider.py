"""The AWS provider: an Application Load Balancer, its target groups and targets, via boto3.

Works against AWS (health checks, `draining` for the delay) and moto (everything healthy at once,
deregistered targets gone at once, an error when deregistering an unregistered target).
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from harness.errors import EnvironmentUnavailable
from harness.profile.environment import Environment
from harness.topology import TargetStates, routing
from harness.topology.aws import extras as aws_extras
from harness.topology.aws import store as aws_store
from harness.topology.aws.errors import aws_call
from harness.topology.aws.parse import listener_of, parse_group, target_of
from harness.topology.base import ProviderBase
from harness.topology.model import LoadBalancer, Target, TargetGroup, Topology

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_elbv2.type_defs import LoadBalancerTypeDef, TargetDescriptionTypeDef

RETRIES = Config(retries={"max_attempts": 10, "mode": "adaptive"})  # backs off when throttled
# The first call: an endpoint that does not answer is an error in seconds, not after ten
# backed-off attempts (adaptive mode retries connection errors too).
FIRST_CONTACT = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5)
HEALTH_MIN_INTERVAL = 1.0  # at most one DescribeTargetHealth per group per second


class AwsProvider(ProviderBase):
    """Resolves an ALB by name, ARN or DNS name and drives its targets."""

    name = "aws"

    def __init__(self, env: Environment) -> None:
        self.env = env
        topo = env.topology
        self.ref = str(topo.load_balancer)
        session = aws_call(
            "sts",
            "Session",
            lambda: boto3.Session(profile_name=topo.profile, region_name=topo.region),
            env.source,
        )
        self.region = session.region_name
        kwargs: dict[str, Any] = {"config": RETRIES}
        if topo.endpoint_url:
            kwargs["endpoint_url"] = topo.endpoint_url
        self.elb: ElasticLoadBalancingv2Client = aws_call(
            "elbv2", "client", lambda: session.client("elbv2", **kwargs), env.source
        )
        self._session, self._client_kwargs = session, kwargs
        first = {**kwargs, "config": FIRST_CONTACT}
        self._first_contact: ElasticLoadBalancingv2Client | None = aws_call(
            "elbv2", "client", lambda: session.client("elbv2", **first), env.source
        )
        self.ec2: EC2Client = aws_call(
            "ec2", "client", lambda: session.client("ec2", **kwargs), env.source
        )
        self._groups: list[TargetGroup] = []
        self._health: dict[str, tuple[float, list[Any]]] = {}  # group arn -> (when, answer)

    # ---- finding the load balancer --------------------------------------------------------
    def _all_load_balancers(self) -> list[LoadBalancerTypeDef]:
        client = self._first_contact or self.elb
        pages = client.get_paginator("describe_load_balancers").paginate()
        found = aws_call(
            "elbv2",
            "DescribeLoadBalancers",
            lambda: [lb for page in pages for lb in page["LoadBalancers"]],
            self.env.source,
        )
        self._first_contact = None  # it answered: from now on, the patient client
        return found

    def find_load_balancer(self) -> LoadBalancerTypeDef:
        ref = self.ref
        candidates = self._all_load_balancers()
        if ref.startswith("arn:"):
            matches = [lb for lb in candidates if lb["LoadBalancerArn"] == ref]
        elif "." in ref:
            matches = [lb for lb in candidates if lb["DNSName"].lower() == ref.lower().rstrip(".")]
        else:
            matches = [lb for lb in candidates if lb["LoadBalancerName"] == ref]
        names = ", ".join(sorted(lb["LoadBalancerName"] for lb in candidates)) or "none"
        if not matches:
            raise EnvironmentUnavailable(
                f"load balancer {ref!r} not found in {self.region}; load balancers there: {names}"
            )
        if len(matches) > 1:
            found = ", ".join(lb["LoadBalancerArn"] for lb in matches)
            raise EnvironmentUnavailable(f"load balancer {ref!r} is ambiguous: {found}")
        return matches[0]

    # ---- resolve -----------------------------------------------------------------------------
    def resolve(self) -> Topology:
        lb = self.find_load_balancer()
        arn = lb["LoadBalancerArn"]
        listeners_raw = aws_call(
            "elbv2",
            "DescribeListeners",
            lambda: [
                listener
                for page in self.elb.get_paginator("describe_listeners").paginate(
                    LoadBalancerArn=arn
                )
                for listener in page["Listeners"]
            ],
        )
        weights: dict[str, int | None] = {}
        listeners = []
        raw_rules: dict[int, list[Any]] = {}
        for raw in listeners_raw:
            rules = self._rules(raw["ListenerArn"])
            raw_rules[int(raw.get("Port", 0))] = rules
            listener, forwards = listener_of(raw, rules)
            listeners.append(listener)
            weights.update({k: v for k, v in forwards.items() if k not in weights or v})
        entry_listener = routing.entry_listener(listeners, self.env.topology.route)
        route = routing.select(entry_listener, raw_rules, self.env.topology.route)
        if route is not None and entry_listener is not None:
            chosen = next(r for r in entry_listener.rules if r.priority == route.rule)
            weights = {arn: w for arn, w in weights.items() if arn in chosen.target_groups}
        groups = [self._group(tg_arn, weight) for tg_arn, weight in weights.items()]
        names = {g.arn: g.name for g in groups}
        for listener in listeners:
            listener.target_groups = [g.name for g in groups if g.arn in listener.target_groups]
            for rule in listener.rules:
                rule.target_groups = [names.get(a, a.split("/")[-2]) for a in rule.target_groups]
        attrs = aws_call(
            "elbv2",
            "DescribeLoadBalancerAttributes",
            lambda: self.elb.describe_load_balancer_attributes(LoadBalancerArn=arn),
        )
        balancer = LoadBalancer(
            name=lb["LoadBalancerName"],
            arn=arn,
            dns_name=lb["DNSName"],
            scheme=lb.get("Scheme"),
            kind=lb.get("Type", "application"),
            listeners=listeners,
            attributes={a["Key"]: a["Value"] for a in attrs["Attributes"]},
            security_groups=sorted(lb.get("SecurityGroups", [])),
        )
        self._groups = groups
        entry = self.env.url or routing.entry_url(lb["DNSName"], entry_listener, route)
        topology = Topology(self.name, entry, balancer, groups, redis_url=self.env.redis.url)
        topology.route = route
        topology.host = route.host if route else None
        if self.env.redis.elasticache:
            client = self._session.client("elasticache", **self._client_kwargs)
            topology.session_store = aws_store.session_store(client, self.env.redis.elasticache)
        return topology

    def _rules(self, listener_arn: str) -> list[Any]:
        """Every rule of a listener, page after page (a page holds at most 50 or so)."""
        pages = self.elb.get_paginator("describe_rules").paginate(ListenerArn=listener_arn)
        return aws_call(
            "elbv2", "DescribeRules", lambda: [r for page in pages for r in page["Rules"]]
        )

    def store_failover_ready(self) -> str | None:
        """Why the store cannot be failed over from here, or None."""
        if not self.env.redis.elasticache:
            return "name the ElastiCache replication group in redis.elasticache"
        return None

    def store_failover(self) -> dict[str, Any]:
        """ElastiCache TestFailover on `redis.elasticache` (guarded by the caller)."""
        client = self._session.client("elasticache", **self._client_kwargs)
        return aws_store.fail_over(client, str(self.env.redis.elasticache))

    def hygiene(self, topology: Topology) -> list[str]:
        """Security-group and zone problems of the resolved topology."""
        return aws_extras.hygiene(self.ec2, topology)

    def _group(self, arn: str, weight: int | None) -> TargetGroup:
        raw = aws_call(
            "elbv2",
            "DescribeTargetGroups",
            lambda: self.elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0],
        )
        attrs = aws_call(
            "elbv2",
            "DescribeTargetGroupAttributes",
            lambda: self.elb.describe_target_group_attributes(TargetGroupArn=arn),
        )
        group = parse_group(raw, {a["Key"]: a["Value"] for a in attrs["Attributes"]}, weight)
        group.targets = self._targets(arn, group.target_type)
        return group

    def _targets(self, tg_arn: str, target_type: str) -> list[Target]:
        health = aws_call(
            "elbv2",
            "DescribeTargetHealth",
            lambda: self.elb.describe_target_health(TargetGroupArn=tg_arn)[
                "TargetHealthDescriptions"
            ],
        )
        instances: dict[str, dict[str, Any]] = {}
        ids = [h["Target"]["Id"] for h in health]
        if target_type == "instance" and ids:
            reservations = aws_call(
                "ec2",
                "DescribeInstances",
                lambda: self.ec2.describe_instances(InstanceIds=ids)["Reservations"],
            )
            instances = {i["InstanceId"]: dict(i) for r in reservations for i in r["Instances"]}
        template = self.env.topology.instance_url
        ids_seen = [h["Target"]["Id"] for h in health]
        return [
            target_of(
                dict(h), instances, template, target_type, ids_seen.count(h["Target"]["Id"]) > 1
            )
            for h in health
        ]

    # ---- health and drive ------------------------------------------------------------------
    def _known_groups(self) -> list[TargetGroup]:
        if not self._groups:
            self.resolve()
        return self._groups

    def _target_health(self, arn: str) -> list[Any]:
        """DescribeTargetHealth of one group, asked at most once a second (the Describe* token
        bucket refills at about 10 a second for the whole account)."""
        cached = self._health.get(arn)
        if cached is not None and time.monotonic() - cached[0] < HEALTH_MIN_INTERVAL:
            return cached[1]
        health = aws_call(
            "elbv2",
            "DescribeTargetHealth",
            partial(self.elb.describe_target_health, TargetGroupArn=arn),
        )["TargetHealthDescriptions"]
        self._health[arn] = (time.monotonic(), list(health))
        return list(health)

    def target_states(self) -> TargetStates:
        states: TargetStates = {}
        for group in self._known_groups():
            for h in self._target_health(str(group.arn)):
                th = h.get("TargetHealth", {})
                states.setdefault(
                    h["Target"]["Id"], (th.get("State", "unavailable"), th.get("Reason", ""))
                )
        return {k: v for k, v in states.items() if v[0] != "unused"}

    def deregister(self, target_id: str) -> dict[str, Any]:
        self._health.clear()  # what we change, we read afresh
        registrations = self._registrations(target_id)
        if not registrations:
            raise EnvironmentUnavailable(
                f"target {target_id} is not registered in any target group of {self.ref}"
            )
        for reg in registrations:
            try:
                self.elb.deregister_targets(
                    TargetGroupArn=str(reg["target_group_arn"]), Targets=[_desc(target_id, reg)]
                )
            except ClientError as exc:  # moto: already unregistered; AWS succeeds there
                if exc.response.get("Error", {}).get("Code") != "InvalidTarget":
                    aws_call("elbv2", "DeregisterTargets", partial(_reraise, exc))
        return {"registrations": registrations}

    def register(self, target_id: str, details: dict[str, Any] | None = None) -> None:
        self._health.clear()
        registrations = (details or {}).get("registrations") or self._registrations(target_id)
        for reg in registrations:
            aws_call(
                "elbv2",
                "RegisterTargets",
                partial(
                    self.elb.register_targets,
                    TargetGroupArn=str(reg["target_group_arn"]),
                    Targets=[_desc(target_id, reg)],
                ),
            )

    def _registrations(self, target_id: str) -> list[dict[str, Any]]:
        """Each registration of the target: its group, the AWS id, port and zone (an IP target
        outside the VPC is registered with zone `all` and must be registered so again)."""
        return [
            {
                "target_group_arn": str(group.arn),
                "id": target.registered_id or target.id,
                "port": target.port,
                "zone": target.zone if group.target_type == "ip" else None,
            }
            for group in self._known_groups()
            for target in group.targets
            if target.id == target_id
        ]

    def actions(self) -> tuple[str, ...]:
        return ()

    def perform(self, action: str, target_id: str) -> None:
        raise EnvironmentUnavailable(f"the aws provider cannot {action} a target")

    def identity(self) -> str:
        return f"aws {self.ref} ({self.region})"


def _reraise(exc: ClientError) -> None:
    raise exc


def _desc(target_id: str, registration: dict[str, Any]) -> TargetDescriptionTypeDef:
    """The TargetDescription of one registration: the AWS id, its port, and its zone."""
    desc: TargetDescriptionTypeDef = {"Id": str(registration.get("id") or target_id)}
    if registration.get("port"):
        desc["Port"] = int(registration["port"])
    if registration.get("zone"):
        desc["AvailabilityZone"] = str(registration["zone"])
    return desc
