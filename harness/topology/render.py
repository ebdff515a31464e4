"""A readable table of a resolved topology."""

from __future__ import annotations

from harness.profile.environment import mask_url
from harness.topology.model import TargetGroup, Topology


def _group_lines(group: TargetGroup) -> list[str]:
    s, hc = group.stickiness, group.health_check
    sticky = (
        f"{s.type} {s.duration_seconds} s" + (f" ({s.cookie_name})" if s.cookie_name else "")
        if s.enabled
        else "off"
    )
    weight = f"  weight {group.weight}" if group.weight is not None else ""
    lines = [
        f"target group {group.name}{weight}",
        f"  stickiness: {sticky}   deregistration delay: {group.deregistration_delay_seconds:g} s"
        f"   algorithm: {group.algorithm}   slow start: {group.slow_start_seconds} s",
        f"  health check: {hc.protocol} {hc.path} every {hc.interval_seconds:g} s, timeout "
        f"{hc.timeout_seconds:g} s, healthy {hc.healthy_threshold}, unhealthy "
        f"{hc.unhealthy_threshold}, matcher {hc.matcher}",
        f"  {'target':<22} {'address':<16} {'port':<6} {'zone':<12} {'state':<10} reason",
    ]
    for t in group.targets:
        lines.append(
            f"  {t.id:<22} {t.address:<16} {t.port or '-'!s:<6} {t.zone or '-':<12} "
            f"{t.state:<10} {t.reason or '-'}"
        )
    return lines


def render(topology: Topology) -> str:
    lb = topology.load_balancer
    lines = [
        f"load balancer {lb.name} ({topology.provider}, {lb.kind}"
        + (f", {lb.scheme}" if lb.scheme else "")
        + ")",
        f"  entry: {topology.entry_url}" + (f"   dns: {lb.dns_name}" if lb.dns_name else ""),
    ]
    lines += [
        f"  listener {li.protocol}:{li.port} -> {', '.join(li.target_groups) or '-'}"
        for li in lb.listeners
    ]
    for group in topology.target_groups:
        lines += _group_lines(group)
    lines.append(f"redis: {mask_url(topology.redis_url) or 'not configured'}")
    return "\n".join(lines)
