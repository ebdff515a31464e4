"""AWS facts beyond the load balancer: security-group and zone hygiene."""

from __future__ import annotations

from functools import partial
from typing import Any

from harness.topology.aws.errors import aws_call
from harness.topology.model import Topology


def _admits(rule: dict[str, Any], port: int) -> bool:
    low, high = rule.get("FromPort", 0), rule.get("ToPort", 65535)
    return rule.get("IpProtocol") == "-1" or low <= port <= high


def hygiene(ec2: Any, topology: Topology) -> list[str]:
    """Problems: fewer than two zones, instances that do not admit the load balancer's security
    group on the target port, and target ports open to 0.0.0.0/0."""
    problems = []
    zones = {t.zone for t in topology.targets if t.zone and t.zone != "all"}  # all: outside VPC
    if len(zones) < 2:
        problems.append(
            f"targets run in {len(zones)} zone(s) ({', '.join(sorted(zones)) or '-'}):"
            " at least two are needed"
        )
    lb_groups = set(topology.load_balancer.security_groups)
    ids = sorted({g for t in topology.targets for g in t.security_groups})
    rules: dict[str, list[dict[str, Any]]] = {}
    if ids:
        found = aws_call(
            "ec2", "DescribeSecurityGroups", partial(ec2.describe_security_groups, GroupIds=ids)
        )["SecurityGroups"]
        rules = {g["GroupId"]: g.get("IpPermissions", []) for g in found}
    for target in topology.targets:
        if not target.security_groups or target.port is None:
            continue
        perms = [r for g in target.security_groups for r in rules.get(g, [])]
        from_lb = any(
            _admits(r, target.port)
            and lb_groups & {p.get("GroupId") for p in r.get("UserIdGroupPairs", [])}
            for r in perms
        )
        if lb_groups and not from_lb:
            problems.append(
                f"{target.id}: its security groups do not admit the load balancer's "
                f"({', '.join(sorted(lb_groups))}) on port {target.port}"
            )
        if any(
            _admits(r, target.port)
            and any(ip.get("CidrIp") == "0.0.0.0/0" for ip in r.get("IpRanges", []))
            for r in perms
        ):
            problems.append(f"{target.id}: port {target.port} is open to 0.0.0.0/0")
    return problems
