"""The ElastiCache session store as AWS describes it: engine (redis or valkey), version, node
type, cluster mode, transit encryption, auth, and its eviction policy from the parameter group;
a serverless cache is reported as such."""

from __future__ import annotations

from functools import partial
from typing import Any

from harness.topology.aws.errors import aws_call


def _quiet(call: Any, **kwargs: Any) -> Any:
    """An ElastiCache lookup that answers None for an id of another kind (NotFound)."""
    from botocore.exceptions import ClientError

    try:
        return call(**kwargs)
    except ClientError as exc:
        if "NotFound" in exc.response.get("Error", {}).get("Code", ""):
            return None
        raise


def _optional(call: Any, **kwargs: Any) -> Any:
    """A lookup whose failure only leaves a fact unknown (an API the endpoint lacks, say)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(**kwargs)
    except (ClientError, BotoCoreError, NotImplementedError):
        return None


def _flag(value: Any) -> str:
    return str(bool(value)).lower()


def eviction_policy(client: Any, group_name: str | None) -> dict[str, str]:
    """`maxmemory-policy` of a cache parameter group (every page), when it can be read."""
    if not group_name:
        return {}
    answer = _optional(client.describe_cache_parameters, CacheParameterGroupName=group_name)
    for parameter in (answer or {}).get("Parameters", []):
        if parameter.get("ParameterName") == "maxmemory-policy":
            return {
                "parameter_group": group_name,
                "maxmemory_policy": str(parameter["ParameterValue"]),
            }
    return {"parameter_group": group_name}


def _cluster(client: Any, cluster_id: str) -> dict[str, Any]:
    found = _quiet(client.describe_cache_clusters, CacheClusterId=cluster_id)
    clusters = (found or {}).get("CacheClusters", [])
    return dict(clusters[0]) if clusters else {}


def _from_group(client: Any, ident: str, group: dict[str, Any]) -> dict[str, str]:
    members = group.get("MemberClusters") or []
    member = _cluster(client, members[0]) if members else {}
    parameters = (member.get("CacheParameterGroup") or {}).get("CacheParameterGroupName")
    return {
        "id": ident,
        "engine": str(group.get("Engine") or member.get("Engine") or "redis"),
        "engine_version": str(group.get("EngineVersion") or member.get("EngineVersion", "")),
        "node_type": str(group.get("CacheNodeType", "")),
        "cluster_mode": _flag(group.get("ClusterEnabled", False)),
        "transit_encryption": _flag(group.get("TransitEncryptionEnabled", False)),
        "at_rest_encryption": _flag(group.get("AtRestEncryptionEnabled", False)),
        "auth_token": _flag(group.get("AuthTokenEnabled", False)),
        "automatic_failover": str(group.get("AutomaticFailover", "")),
        "nodes": str(len(members)),
        **eviction_policy(client, parameters),
    }


def _from_cluster(client: Any, ident: str, cluster: dict[str, Any]) -> dict[str, str]:
    parameters = (cluster.get("CacheParameterGroup") or {}).get("CacheParameterGroupName")
    return {
        "id": ident,
        "engine": str(cluster.get("Engine", "")),
        "engine_version": str(cluster.get("EngineVersion", "")),
        "node_type": str(cluster.get("CacheNodeType", "")),
        "cluster_mode": "false",
        "transit_encryption": _flag(cluster.get("TransitEncryptionEnabled", False)),
        "at_rest_encryption": _flag(cluster.get("AtRestEncryptionEnabled", False)),
        "auth_token": _flag(cluster.get("AuthTokenEnabled", False)),
        "nodes": str(cluster.get("NumCacheNodes", 1)),
        **eviction_policy(client, parameters),
    }


def _from_serverless(ident: str, cache: dict[str, Any]) -> dict[str, str]:
    limits = (cache.get("CacheUsageLimits") or {}).get("DataStorage") or {}
    return {
        "id": ident,
        "engine": str(cache.get("Engine", "")),
        "engine_version": str(
            cache.get("FullEngineVersion") or cache.get("MajorEngineVersion", "")
        ),
        "serverless": "true",
        "cluster_mode": "true",  # a serverless cache is addressed like a cluster
        "transit_encryption": "true",  # always on for serverless caches
        "status": str(cache.get("Status", "")),
        "data_storage_limit": f"{limits.get('Maximum', '')} {limits.get('Unit', '')}".strip(),
    }


def session_store(client: Any, ident: str) -> dict[str, str]:
    """A replication group, a cache cluster or a serverless cache named `ident`."""
    groups = aws_call(
        "elasticache",
        "DescribeReplicationGroups",
        partial(_quiet, client.describe_replication_groups, ReplicationGroupId=ident),
    )
    if groups and groups.get("ReplicationGroups"):
        return _from_group(client, ident, groups["ReplicationGroups"][0])
    cluster = aws_call("elasticache", "DescribeCacheClusters", partial(_cluster, client, ident))
    if cluster:
        return _from_cluster(client, ident, cluster)
    serverless = aws_call(
        "elasticache",
        "DescribeServerlessCaches",
        partial(_quiet, client.describe_serverless_caches, ServerlessCacheName=ident),
    )
    caches = (serverless or {}).get("ServerlessCaches", [])
    if caches:
        return _from_serverless(ident, caches[0])
    from harness.errors import EnvironmentUnavailable

    raise EnvironmentUnavailable(
        f"redis.elasticache {ident!r}: no replication group, cache cluster or serverless cache "
        "has that id"
    )


def fail_over(client: Any, ident: str) -> dict[str, Any]:
    """ElastiCache's TestFailover on the replication group's first node group (its primary is
    replaced by a replica, as in a real failure); what was the primary."""
    groups = aws_call(
        "elasticache",
        "DescribeReplicationGroups",
        partial(client.describe_replication_groups, ReplicationGroupId=ident),
    )["ReplicationGroups"]
    node_group = (groups[0].get("NodeGroups") or [{}])[0]
    primary = next(
        (
            m.get("CacheClusterId")
            for m in node_group.get("NodeGroupMembers", [])
            if m.get("CurrentRole") == "primary"
        ),
        None,
    )
    group_id = str(node_group.get("NodeGroupId") or "0001")
    aws_call(
        "elasticache",
        "TestFailover",
        partial(client.test_failover, ReplicationGroupId=ident, NodeGroupId=group_id),
    )
    return {"replication_group": ident, "node_group": group_id, "old_primary": primary}
