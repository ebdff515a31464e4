"""A readable table of a resolved topology."""

from __future__ import annotations

from harness.profile.environment import mask_url
from harness.topology.model import Rule, TargetGroup, Topology


def _group_lines(group: TargetGroup) -> list[str]:
    s, hc = group.stickiness, group.health_check
    sticky = (
        f"{s.type} {s.duration_seconds} s" + (f" ({s.cookie_name})" if s.cookie_name else "")
        if s.enabled
        else "off"
    )
    weight = f"  weight {group.weight}" if group.weight is not None else ""
    lines = [
        f"target group {group.name}{weight}  (settings {group.settings_from()}; target states "
        f"from {group.states_source})",
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


def _rule_line(rule: Rule, chosen: bool) -> str:
    conditions = ", ".join(rule.conditions) or "-"
    sticky = (
        f"  group stickiness {rule.group_stickiness_seconds} s"
        if rule.group_stickiness_seconds is not None
        else ""
    )
    mark = "   <- topology.route" if chosen else ""
    return f"    {rule.priority:<8} {conditions:<48} {rule.actions}{sticky}{mark}"


def render(topology: Topology) -> str:
    lb = topology.load_balancer
    lines = [
        f"load balancer {lb.name} ({topology.provider}, {lb.kind}"
        + (f", {lb.scheme}" if lb.scheme else "")
        + ")",
        f"  entry: {topology.entry_url}" + (f"   dns: {lb.dns_name}" if lb.dns_name else ""),
    ]
    route = topology.route
    for li in lb.listeners:
        name = f"{li.protocol}:{li.port}"
        lines.append(f"  listener {name} -> {', '.join(li.target_groups) or '-'}")
        weighted = any(r.weights or r.group_stickiness_seconds for r in li.rules)
        if len(li.rules) > 1 or route is not None or weighted:
            lines += [
                _rule_line(
                    rule,
                    route is not None and route.listener == name and route.rule == rule.priority,
                )
                for rule in li.rules
            ]
    if route is not None:
        lines.append(f"  route: {route.listener} {route.why}")
        lines += [f"    passed over {why}" for why in route.passed_over]
        if route.host:
            lines.append(f"    requests carry Host: {route.host} (and TLS SNI {route.host})")
    for group in topology.target_groups:
        lines += _group_lines(group)
    lines.append(f"redis: {mask_url(topology.redis_url) or 'not configured'}")
    return "\n".join(lines)
