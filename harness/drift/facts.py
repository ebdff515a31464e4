"""Every comparable setting of one environment, by path
(`target_group[0].stickiness.duration_seconds`; target groups paired by their position behind
the listeners), and the build each target serves."""

from __future__ import annotations

from typing import Any

import requests

from harness.errors import ParityError
from harness.profile.environment import Environment
from harness.topology.model import TargetGroup, Topology
from harness.traffic.contract import extract
from harness.traffic.site import Site

TYPED_ATTRIBUTES = {
    "stickiness.enabled",
    "stickiness.type",
    "stickiness.lb_cookie.duration_seconds",
    "stickiness.app_cookie.duration_seconds",
    "stickiness.app_cookie.cookie_name",
    "deregistration_delay.timeout_seconds",
    "load_balancing.algorithm.type",
    "slow_start.duration_seconds",
}


def _group_facts(prefix: str, group: TargetGroup) -> dict[str, Any]:
    s, hc = group.stickiness, group.health_check
    facts: dict[str, Any] = {
        f"{prefix}.protocol": group.protocol,
        f"{prefix}.port": group.port,
        f"{prefix}.target_type": group.target_type,
        f"{prefix}.weight": group.weight,
        f"{prefix}.stickiness.enabled": s.enabled,
        f"{prefix}.stickiness.type": s.type if s.enabled else None,
        f"{prefix}.stickiness.duration_seconds": s.duration_seconds if s.enabled else None,
        f"{prefix}.stickiness.cookie_name": s.cookie_name,
        f"{prefix}.deregistration_delay_seconds": group.deregistration_delay_seconds,
        f"{prefix}.algorithm": group.algorithm,
        f"{prefix}.slow_start_seconds": group.slow_start_seconds,
    }
    for key, value in vars(hc).items():
        facts[f"{prefix}.health_check.{key}"] = value
    for key, value in group.attributes.items():
        if key not in TYPED_ATTRIBUTES:
            facts[f"{prefix}.attribute.{key}"] = value
    return facts


def facts(topology: Topology, builds: dict[str, str] | None = None) -> dict[str, Any]:
    """Every comparable setting of one environment, by path."""
    targets, lb = topology.targets, topology.load_balancer
    zones = sorted({t.zone for t in targets if t.zone})
    out: dict[str, Any] = {
        "targets.count": len(targets),
        "targets.zones": len(zones),
        "targets.instance_types": sorted(t.instance_type for t in targets if t.instance_type)
        or None,
        "targets.images": sorted({t.image for t in targets if t.image}) or None,
        "load_balancer.kind": lb.kind,
        "load_balancer.scheme": lb.scheme,
    }
    ephemeral = not topology.ports_fixed  # free ports a replica listens on are not settings
    names = {li.protocol if ephemeral else f"{li.protocol}:{li.port}": li for li in lb.listeners}
    out["listeners"] = sorted(names)
    for name, li in names.items():
        out[f"listener.{name}.ssl_policy"] = li.ssl_policy
        out[f"listener.{name}.default_action"] = li.default_action
        for rule in li.rules:
            at = f"listener.{name}.rule[{rule.priority}]"
            out[f"{at}.conditions"] = rule.conditions or None
            out[f"{at}.actions"] = rule.kinds
            out[f"{at}.weights"] = rule.weights or None
            out[f"{at}.group_stickiness_seconds"] = rule.group_stickiness_seconds
    for key, value in lb.attributes.items():
        out[f"load_balancer.{key}"] = value
    for i, group in enumerate(topology.target_groups):
        out.update(_group_facts(f"target_group[{i}]", group))
    for key, value in topology.session_store.items():
        if key != "id":
            out[f"session_store.{key}"] = value
    if builds:
        out["builds"] = sorted(set(builds.values()))
    return out


def builds_of(env: Environment, topology: Topology) -> dict[str, str] | None:
    """The build each target serves, when the profile says how to ask and the targets answer."""
    version = env.expect.version
    if not version:
        return None
    site, found = Site(env, topology), {}
    for target in topology.healthy_targets():
        try:
            response = site.user("diff").request(
                "GET", version.path, route=site.route(target.id), timeout=5
            )
        except (requests.RequestException, ParityError):
            return None
        found[target.id] = extract(response, version.spec()) or f"HTTP {response.status_code}"
    return found
