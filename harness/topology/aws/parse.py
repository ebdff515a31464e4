"""AWS API responses turned into the typed topology model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.topology.aws.rules import (
    describe_actions,
    describe_conditions,
    group_stickiness,
    priority_key,
)
from harness.topology.model import (
    HealthCheckSettings,
    Listener,
    Rule,
    Stickiness,
    Target,
    TargetGroup,
)


def forwards_of(actions: Sequence[Any]) -> dict[str, int | None]:
    """Target group ARN -> weight (None for a plain forward) of a list of actions."""
    found: dict[str, int | None] = {}
    for action in actions:
        if action.get("Type") != "forward":
            continue
        config = action.get("ForwardConfig") or {}
        weighted = config.get("TargetGroups") or []
        if weighted:
            for tg in weighted:
                found[tg["TargetGroupArn"]] = tg.get("Weight")
        elif action.get("TargetGroupArn"):
            found[action["TargetGroupArn"]] = None
    return found


def rule_of(raw: Any) -> Rule:
    """A rule (or the default action) with its target groups as ARNs."""
    actions = raw.get("Actions", [])
    return Rule(
        priority=str(raw.get("Priority", "default")),
        conditions=describe_conditions(raw),
        actions=describe_actions(actions),
        kinds=" -> ".join(a.get("Type", "forward") for a in actions) or "none",
        weights=[w for w in forwards_of(actions).values() if w is not None],
        target_groups=list(forwards_of(actions)),
        group_stickiness_seconds=group_stickiness(actions),
    )


def listener_of(raw: Any, rules: Sequence[Any]) -> tuple[Listener, dict[str, int | None]]:
    """A listener, its rules in the ALB's order, and every target group it forwards to."""
    default = {"Priority": "default", "Actions": raw.get("DefaultActions", []), "IsDefault": True}
    ordered = [*sorted((r for r in rules if not r.get("IsDefault")), key=priority_key), default]
    forwards = forwards_of(raw.get("DefaultActions", []))
    for rule in rules:
        for arn, weight in forwards_of(rule.get("Actions", [])).items():
            forwards.setdefault(arn, weight)
    listener = Listener(
        raw.get("Protocol", "HTTP"),
        int(raw.get("Port", 0)),
        list(forwards),
        ssl_policy=raw.get("SslPolicy"),
        default_action=describe_action(raw.get("DefaultActions", [])),
        rules=[rule_of(r) for r in ordered],
    )
    return listener, forwards


def describe_action(actions: Sequence[Any]) -> str:
    """A listener's default action in a few words: forward, redirect to ..., fixed-response ..."""
    for action in actions:
        kind = action.get("Type", "forward")
        if kind.startswith("authenticate-"):
            return f"{kind} -> {describe_action([a for a in actions if a is not action])}"
        if kind == "redirect":
            cfg = action.get("RedirectConfig") or {}
            return (
                f"redirect to {cfg.get('Protocol', '#{protocol}')}:{cfg.get('Port', '#{port}')}"
                f" ({cfg.get('StatusCode', '')})"
            )
        if kind == "fixed-response":
            cfg = action.get("FixedResponseConfig") or {}
            return f"fixed-response {cfg.get('StatusCode', '')}"
        if kind == "forward":
            return "forward"
    return "none"


def _int(attrs: dict[str, str], key: str, default: int) -> int:
    try:
        return int(attrs.get(key, default))
    except ValueError:
        return default


def parse_group(raw: Any, attrs: dict[str, str], weight: int | None) -> TargetGroup:
    """A target group with every session-relevant attribute parsed into typed fields."""
    kind = attrs.get("stickiness.type", "lb_cookie")
    duration_key = (
        "stickiness.app_cookie.duration_seconds"
        if kind == "app_cookie"
        else "stickiness.lb_cookie.duration_seconds"
    )
    matcher = raw.get("Matcher") or {}
    return TargetGroup(
        name=raw["TargetGroupName"],
        arn=raw["TargetGroupArn"],
        protocol=raw.get("Protocol", "HTTP"),
        port=raw.get("Port"),
        target_type=raw.get("TargetType", "instance"),
        weight=weight,
        stickiness=Stickiness(
            enabled=attrs.get("stickiness.enabled", "false").lower() == "true",
            type=kind,
            duration_seconds=_int(attrs, duration_key, 86400),
            cookie_name=attrs.get("stickiness.app_cookie.cookie_name") or None,
        ),
        deregistration_delay_seconds=_int(attrs, "deregistration_delay.timeout_seconds", 300),
        algorithm=attrs.get("load_balancing.algorithm.type", "round_robin"),
        slow_start_seconds=_int(attrs, "slow_start.duration_seconds", 0),
        health_check=HealthCheckSettings(
            protocol=raw.get("HealthCheckProtocol", "HTTP"),
            path=raw.get("HealthCheckPath", "/"),
            port=str(raw.get("HealthCheckPort", "traffic-port")),
            interval_seconds=raw.get("HealthCheckIntervalSeconds", 30),
            timeout_seconds=raw.get("HealthCheckTimeoutSeconds", 5),
            healthy_threshold=raw.get("HealthyThresholdCount", 5),
            unhealthy_threshold=raw.get("UnhealthyThresholdCount", 2),
            matcher=matcher.get("HttpCode", "200"),
        ),
        attributes=dict(attrs),
    )


NOT_HTTP = ("lambda", "alb")  # target types that are not an HTTP server of the app


def target_of(
    health: dict[str, Any],
    instances: dict[str, dict[str, Any]],
    url_template: str | None,
    target_type: str = "instance",
    with_port: bool = False,
) -> Target:
    """A target with its address, zone, health and (when a template is given) direct URL.
    `with_port`: the id is `id:port` (one instance registered on several ports, as ECS does)."""
    desc, th = health["Target"], health.get("TargetHealth", {})
    instance = instances.get(desc["Id"], {})
    address = instance.get("PrivateIpAddress") or desc["Id"]
    zone = desc.get("AvailabilityZone") or (instance.get("Placement") or {}).get("AvailabilityZone")
    port = desc.get("Port")
    http = target_type not in NOT_HTTP
    url = (
        url_template.format(private_ip=address, port=port, id=desc["Id"])
        if url_template and http
        else None
    )
    return Target(
        registered_id=desc["Id"],
        http=http,
        reason=th.get("Reason", "") if http else f"not an HTTP target ({target_type})",
        id=f"{desc['Id']}:{port}" if with_port and port else desc["Id"],
        address=address,
        port=port,
        state=th.get("State", "unavailable"),
        zone=zone,
        direct_url=url,
        instance_type=instance.get("InstanceType"),
        image=instance.get("ImageId"),
        security_groups=sorted(g["GroupId"] for g in instance.get("SecurityGroups", [])),
    )
