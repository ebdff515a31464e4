"""The session store in every topology the checks support, against real servers the tests start:
a 3-node Redis Cluster, a Sentinel set (a primary, a replica, three sentinels), TLS with an ACL
user; the eviction policy read back; ElastiCache engines, parameter groups and serverless caches
(botocore's Stubber, where moto has no model)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
from botocore.stub import Stubber

from harness.errors import EnvironmentUnavailable
from harness.profile.sections import Redis
from harness.replica.processes import free_port, stop_pid, wait_until
from harness.store.connection import StoreSettings, open_store, settings_of
from harness.store.eviction import read_eviction
from harness.topology.aws.store import fail_over, session_store


def _ping(port: int, **kwargs: Any) -> Callable[[], bool]:
    def ok() -> bool:
        try:
            return bool(redis.Redis(port=port, socket_connect_timeout=0.3, **kwargs).ping())
        except (redis.RedisError, OSError):
            return False

    return ok


class Servers:
    """redis-server processes for one test, each stopped by its PID."""

    def __init__(self, work: Path, stack: ExitStack) -> None:
        self.work, self.stack = work, stack

    def start(self, *args: str, ready: Callable[[], bool] | None = None) -> None:
        log = self.work / f"redis-{len(list(self.work.glob('redis-*.log')))}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    "redis-server",
                    *args,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.work),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.stack.callback(stop_pid, proc.pid, proc=proc)
        if ready is None:
            return

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"redis-server {' '.join(args)} exited: {log.read_text()}")
            return ready()

        wait_until(up, 15, f"redis-server {' '.join(args[:2])}")

    def plain(self, *args: str) -> int:
        port = free_port()
        self.start("--port", str(port), "--bind", "127.0.0.1", *args, ready=_ping(port))
        return port


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    with ExitStack() as stack:
        yield Servers(tmp_path, stack)


def _cluster_ok(nodes: list[redis.Redis]) -> bool:
    """Every node sees the cluster ok (each learns it on its own: the first one is not enough)."""
    return all(n.cluster("info")["cluster_state"] == "ok" for n in nodes)


@pytest.mark.servers
def test_a_cluster_is_used_through_its_slots(servers: Servers, tmp_path: Path) -> None:
    ports = []
    for i in range(3):
        cluster = ["--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / f"{i}.conf")]
        bus = ["--cluster-port", str(free_port())]  # not port + 10000, which can pass 65535
        ports.append(servers.plain(*cluster, *bus))
    subprocess.run(
        ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
         "--cluster-replicas", "0", "--cluster-yes"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{ports[1]}/0"
    nodes = [redis.Redis(port=p) for p in ports]
    wait_until(lambda: _cluster_ok(nodes), 20, "every node of the cluster to say it is ok")
    plain = redis.Redis.from_url(url)
    keys = [f"session:{i}" for i in range(30)]
    with pytest.raises(redis.exceptions.MovedError):  # what a plain client meets
        for key in keys:
            plain.set(key, "x")
    store = open_store(settings_of(Redis(mode="cluster"), url))
    for key in keys:
        store.set(key, "x", ex=600)
    assert all(store.exists(k) for k in keys) and all(0 < store.ttl(k) <= 600 for k in keys)
    assert read_eviction(store).policy == "noeviction"


@pytest.mark.servers
def test_a_cluster_over_tls(servers: Servers, tmp_path: Path) -> None:
    """The same through rediss://, checked against the cluster's CA (TLS between nodes too)."""
    ca, cert, key = _tls_files(tmp_path)
    tls = ["--tls-cert-file", str(cert), "--tls-key-file", str(key),
           "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no",
           "--tls-cluster", "yes", "--tls-replication", "yes"]  # fmt: skip
    ports = []
    for i in range(3):
        port = free_port()
        servers.start(
            "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", *tls,
            "--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / f"t{i}.conf"),
            "--cluster-port", str(free_port()),
            ready=_ping(port, ssl=True, ssl_ca_certs=str(ca)),
        )  # fmt: skip
        ports.append(port)
    subprocess.run(
        ["redis-cli", "--tls", "--cacert", str(ca), "--cluster", "create",
         *(f"127.0.0.1:{p}" for p in ports), "--cluster-replicas", "0", "--cluster-yes"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    nodes = [redis.Redis(port=p, ssl=True, ssl_ca_certs=str(ca)) for p in ports]
    wait_until(lambda: _cluster_ok(nodes), 20, "every node of the TLS cluster to say it is ok")
    url = f"rediss://127.0.0.1:{ports[2]}/0"
    store = open_store(settings_of(Redis(mode="cluster", ca_file=str(ca)), url))
    for i in range(20):
        store.set(f"session:{i}", "x")
    assert all(store.exists(f"session:{i}") for i in range(20))
    with pytest.raises(EnvironmentUnavailable, match="cannot be used"):
        open_store(settings_of(Redis(mode="cluster"), url))  # the system CAs do not know it


def _sentinel_conf(path: Path, port: int, primary: int) -> None:
    path.write_text(
        f"port {port}\nbind 127.0.0.1\nsentinel monitor sessions 127.0.0.1 {primary} 2\n"
        "sentinel down-after-milliseconds sessions 1000\nsentinel failover-timeout sessions 5000\n"
    )


@pytest.mark.servers
def test_a_sentinel_set_gives_the_primary(servers: Servers, tmp_path: Path) -> None:
    primary = servers.plain()
    replica = servers.plain("--replicaof", "127.0.0.1", str(primary))
    sentinels = []
    for i in range(3):
        port = free_port()
        conf = tmp_path / f"sentinel-{i}.conf"
        _sentinel_conf(conf, port, primary)
        servers.start(str(conf), "--sentinel", ready=_ping(port))
        sentinels.append(f"127.0.0.1:{port}")
    settings = settings_of(
        Redis(mode="sentinel", sentinels=tuple(sentinels), service="sessions"), None
    )
    store = open_store(settings)
    store.set("session:s", "x")
    assert redis.Redis(port=primary).get("session:s") == b"x"
    wait_until(lambda: redis.Redis(port=replica).get("session:s") == b"x", 10, "replication")
    unknown = settings_of(Redis(mode="sentinel", sentinels=tuple(sentinels), service="nope"), None)
    with pytest.raises(EnvironmentUnavailable, match="Sentinel service nope"):
        open_store(unknown)


def _tls_files(work: Path) -> tuple[Path, Path, Path]:
    ca_key, ca, key, csr, cert = (work / n for n in ("ca.key", "ca.pem", "k.pem", "r.csr", "c.pem"))
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=parity-ca",
        "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(key),
        "-out", str(csr))  # fmt: skip
    ext = work / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "1", "-out", str(cert), "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


@pytest.mark.servers
def test_tls_with_an_acl_user(servers: Servers, tmp_path: Path) -> None:
    ca, cert, key = _tls_files(tmp_path)
    port = free_port()
    servers.start(
        "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
        "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
        "--tls-auth-clients", "no",
        ready=_ping(port, ssl=True, ssl_ca_certs=str(ca)),
    )  # fmt: skip
    admin = redis.Redis(port=port, ssl=True, ssl_ca_certs=str(ca))
    admin.acl_setuser("parity", enabled=True, passwords=["+s3cret-pass"], keys=["session:*"],
                      commands=["+@all"])  # fmt: skip
    url = f"rediss://parity:s3cret-pass@127.0.0.1:{port}/0"
    store = open_store(settings_of(Redis(ca_file=str(ca)), url))
    store.set("session:tls", "x")
    assert store.get("session:tls") == b"x"
    with pytest.raises(redis.exceptions.NoPermissionError):
        store.set("elsewhere", "x")  # the ACL user is scoped to session keys
    wrong = settings_of(Redis(ca_file=str(ca)), url.replace("s3cret-pass", "wrong-pass"))
    with pytest.raises(EnvironmentUnavailable) as refused:
        open_store(wrong)
    assert "wrong-pass" not in str(refused.value) and "parity:***@127.0.0.1" in str(refused.value)
    untrusted = settings_of(Redis(), url)  # the system CAs do not know this one
    with pytest.raises(EnvironmentUnavailable, match="cannot be used"):
        open_store(untrusted)


@pytest.mark.servers
@pytest.mark.parametrize(
    ("policy", "finding"),
    [("allkeys-lru", "evicts any key"), ("volatile-ttl", "evicts keys with a TTL"),
     ("noeviction", None)],
)  # fmt: skip
def test_eviction_policies_are_read_and_judged(
    servers: Servers, policy: str, finding: str | None
) -> None:
    port = servers.plain("--maxmemory", "64mb", "--maxmemory-policy", policy)
    eviction = read_eviction(open_store(StoreSettings(url=f"redis://127.0.0.1:{port}/0")))
    assert eviction.policy == policy and eviction.source == "CONFIG GET"
    said = eviction.finding()
    assert (said is None) if finding is None else (finding in str(said))


@pytest.mark.servers
def test_noeviction_near_its_limit_is_a_warning(servers: Servers) -> None:
    port = servers.plain("--maxmemory-policy", "noeviction")
    client = redis.Redis(port=port)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(int(used * 1.02)))
    time.sleep(0.1)
    warning = read_eviction(client).warning()
    assert warning is not None and "noeviction: new sessions will be refused" in warning


@pytest.mark.servers
def test_a_disabled_config_falls_back_to_the_parameter_group(servers: Servers) -> None:
    port = servers.plain("--rename-command", "CONFIG", "")
    client = redis.Redis(port=port)
    assert read_eviction(client).policy is None
    group = {"name": "sessions-params", "maxmemory-policy": "allkeys-lru"}
    eviction = read_eviction(client, group)
    assert eviction.policy == "allkeys-lru" and "parameter group sessions-params" in eviction.source


def _elasticache() -> tuple[Any, Stubber]:
    client = boto3.client(
        "elasticache", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def test_elasticache_valkey_with_its_parameter_group() -> None:
    client, stub = _elasticache()
    stub.add_response(
        "describe_replication_groups",
        {"ReplicationGroups": [{
            "ReplicationGroupId": "sessions", "Engine": "valkey",
            "CacheNodeType": "cache.t4g.small",
            "ClusterEnabled": False, "TransitEncryptionEnabled": True, "AuthTokenEnabled": True,
            "MemberClusters": ["sessions-001", "sessions-002"], "AutomaticFailover": "enabled"}]},
        {"ReplicationGroupId": "sessions"},
    )  # fmt: skip
    stub.add_response(
        "describe_cache_clusters",
        {"CacheClusters": [{
            "CacheClusterId": "sessions-001", "Engine": "valkey", "EngineVersion": "8.0.1",
            "CacheParameterGroup": {"CacheParameterGroupName": "sessions-params"}}]},
        {"CacheClusterId": "sessions-001"},
    )  # fmt: skip
    stub.add_response(
        "describe_cache_parameters",
        {"Parameters": [{"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}]},
        {"CacheParameterGroupName": "sessions-params"},
    )
    with stub:
        facts = session_store(client, "sessions")
    assert facts["engine"] == "valkey" and facts["engine_version"] == "8.0.1"
    assert facts["maxmemory_policy"] == "allkeys-lru"
    assert facts["transit_encryption"] == "true" and facts["nodes"] == "2"


def test_elasticache_serverless_is_reported_as_such() -> None:
    client, stub = _elasticache()
    not_found = {"service_error_code": "ReplicationGroupNotFoundFault", "http_status_code": 404}
    stub.add_client_error("describe_replication_groups", **not_found)
    stub.add_client_error(
        "describe_cache_clusters", service_error_code="CacheClusterNotFound", http_status_code=404
    )
    stub.add_response(
        "describe_serverless_caches",
        {"ServerlessCaches": [{
            "ServerlessCacheName": "sessions", "Engine": "valkey", "FullEngineVersion": "8.0",
            "Status": "available",
            "CacheUsageLimits": {"DataStorage": {"Maximum": 10, "Unit": "GB"}}}]},
        {"ServerlessCacheName": "sessions"},
    )  # fmt: skip
    with stub:
        facts = session_store(client, "sessions")
    assert facts["serverless"] == "true" and facts["engine"] == "valkey"
    assert facts["data_storage_limit"] == "10 GB"


def test_elasticache_test_failover_names_the_node_group() -> None:
    client, stub = _elasticache()
    stub.add_response(
        "describe_replication_groups",
        {"ReplicationGroups": [{
            "ReplicationGroupId": "sessions",
            "NodeGroups": [{"NodeGroupId": "0001", "NodeGroupMembers": [
                {"CacheClusterId": "sessions-001", "CurrentRole": "primary"},
                {"CacheClusterId": "sessions-002", "CurrentRole": "replica"}]}]}]},
        {"ReplicationGroupId": "sessions"},
    )  # fmt: skip
    stub.add_response(
        "test_failover",
        {"ReplicationGroup": {"ReplicationGroupId": "sessions"}},
        {"ReplicationGroupId": "sessions", "NodeGroupId": "0001"},
    )
    with stub:
        done = fail_over(client, "sessions")
    assert done == {
        "replication_group": "sessions",
        "node_group": "0001",
        "old_primary": "sessions-001",
    }
