"""AWS facts beyond the load balancer: the ElastiCache session store and security-group hygiene."""

from __future__ import annotations

from functools import partial
from typing import Any

from harness.topology.aws_errors import aws_call
from harness.topology.model import Topology


def session_store(client: Any, ident: str) -> dict[str, str]:
    """Engine, version, node type, cluster mode, TLS and auth of a replication group or cluster."""
    groups = aws_call(
        "elasticache",
        "DescribeReplicationGroups",
        partial(_quiet, client.describe_replication_groups, ReplicationGroupId=ident),
    )
    if groups and groups.get("ReplicationGroups"):
        group = groups["ReplicationGroups"][0]
        members = group.get("MemberClusters") or []
        version = str(group.get("EngineVersion", ""))
        if members and not version:  # moto lists members it cannot describe: then unknown
            found = aws_call(
                "elasticache",
                "DescribeCacheClusters",
                partial(_quiet, client.describe_cache_clusters, CacheClusterId=members[0]),
            )
            clusters = (found or {}).get("CacheClusters", [])
            version = clusters[0].get("EngineVersion", "") if clusters else ""
        return {
            "id": ident,
            "engine": "redis",
            "engine_version": version,
            "node_type": str(group.get("CacheNodeType", "")),
            "cluster_mode": str(group.get("ClusterEnabled", False)).lower(),
            "transit_encryption": str(group.get("TransitEncryptionEnabled", False)).lower(),
            "at_rest_encryption": str(group.get("AtRestEncryptionEnabled", False)).lower(),
            "auth_token": str(group.get("AuthTokenEnabled", False)).lower(),
            "automatic_failover": str(group.get("AutomaticFailover", "")),
            "nodes": str(len(members)),
        }
    clusters = aws_call(
        "elasticache",
        "DescribeCacheClusters",
        partial(client.describe_cache_clusters, CacheClusterId=ident),
    )["CacheClusters"]
    cluster = clusters[0]
    return {
        "id": ident,
        "engine": str(cluster.get("Engine", "")),
        "engine_version": str(cluster.get("EngineVersion", "")),
        "node_type": str(cluster.get("CacheNodeType", "")),
        "cluster_mode": "false",
        "transit_encryption": str(cluster.get("TransitEncryptionEnabled", False)).lower(),
        "at_rest_encryption": str(cluster.get("AtRestEncryptionEnabled", False)).lower(),
        "auth_token": str(cluster.get("AuthTokenEnabled", False)).lower(),
        "nodes": str(cluster.get("NumCacheNodes", 1)),
    }


def _quiet(call: Any, **kwargs: Any) -> Any:
    """A replication-group lookup that answers None for an id that is a plain cluster."""
    from botocore.exceptions import ClientError

    try:
        return call(**kwargs)
    except ClientError as exc:
        if "NotFound" in exc.response.get("Error", {}).get("Code", ""):
            return None
        raise


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
