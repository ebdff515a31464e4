"""The session store: its eviction policy cannot drop live sessions, and sessions survive memory
pressure (disruptive: bounded filler keys that expire on their own, deleted at the end)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import redis as redis_lib

from harness.disruption.guard import Guard
from harness.findings import fail
from harness.profile.environment import Environment
from harness.store.eviction import Eviction, read_eviction
from harness.topology.model import Topology
from harness.traffic.contract import SessionDriver
from harness.traffic.site import Site, read_value

FILLER_BYTES = 64 * 1024
FILLER_TTL_SECONDS = 120  # left behind by a killed run, the filler expires by itself
DEFAULT_PRESSURE_MB = 16
SESSIONS = 5


def _eviction(store: Any, topology: Topology) -> Eviction:
    facts = topology.session_store
    group = (
        {"name": facts["parameter_group"], "maxmemory-policy": facts["maxmemory_policy"]}
        if facts.get("maxmemory_policy")
        else None
    )
    return read_eviction(store, group)


def _store_evidence(
    eviction: Eviction, environment: Environment, topology: Topology
) -> dict[str, Any]:
    return {
        "mode": environment.redis.get("mode") or "standalone",
        "maxmemory_policy": eviction.policy,
        "policy_source": eviction.source,
        "used_bytes": eviction.used,
        "maxmemory_bytes": eviction.maxmemory,
        "warning": eviction.warning(),
        **{f"aws_{k}": v for k, v in topology.session_store.items()},
    }


@pytest.mark.parity(
    title="The session store cannot evict live sessions",
    why="An allkeys-* policy logs users out at random when the store fills up.",
)
def test_store_cannot_evict_live_sessions(
    redis: Any, topology: Topology, environment: Environment, evidence: dict[str, Any]
) -> None:
    eviction = _eviction(redis, topology)
    evidence["store"] = _store_evidence(eviction, environment, topology)
    if eviction.policy is None:
        pytest.skip(
            "not applicable: the store's maxmemory-policy cannot be read (CONFIG is disabled; "
            "name the ElastiCache id in redis.elasticache to read its parameter group)"
        )
    finding = eviction.finding()
    if finding:
        fail("store-evicts", finding)


def _fill(store: Any, budget_mb: int, prefix: str) -> tuple[list[str], str | None]:
    """Filler keys up to the budget; stops at the first refusal (noeviction at its limit)."""
    keys: list[str] = []
    blob = secrets.token_bytes(FILLER_BYTES)
    for i in range(budget_mb * 1024 * 1024 // FILLER_BYTES):
        key = f"{prefix}{i}"
        try:
            store.set(key, blob, ex=FILLER_TTL_SECONDS)
        except redis_lib.ResponseError as exc:  # OOM: the store refuses writes at its limit
            return keys, str(exc).split("\n")[0]
        keys.append(key)
    return keys, None


@pytest.mark.disruptive
@pytest.mark.parity(
    title="Sessions survive memory pressure on the store",
    why="Under load the store fills up; the sessions in it must not be what goes.",
)
def test_sessions_survive_memory_pressure(
    site: Site,
    redis: Any,
    session_driver: SessionDriver,
    guard: Guard,
    environment: Environment,
    evidence: dict[str, Any],
) -> None:
    budget = int(environment.redis.get("pressure_mb") or DEFAULT_PRESSURE_MB)
    guard.allow("memory-pressure", f"{budget} MiB on the session store")
    users = []
    for n in range(SESSIONS):
        user = site.user(f"pressured-{n}")
        session_driver.login(user, 300 + n)
        session_driver.write(user, "kept", f"v{n}")
        users.append((user, f"v{n}"))
    prefix = f"parity:pressure:{secrets.token_hex(4)}:"
    keys: list[str] = []
    try:
        keys, refused = _fill(redis, budget, prefix)
    finally:
        for key in keys:
            redis.delete(key)
    lost = []
    for user, value in users:
        got, status = read_value(session_driver, user, "kept", None)
        if got != value:
            lost.append(f"{user.name}: {f'HTTP {status}' if status else repr(got)}")
    evidence["pressure"] = {"budget_mb": budget, "filler_keys": len(keys), "refused": refused}
    if lost:
        eviction = read_eviction(redis)
        written = len(keys) * FILLER_BYTES // 1048576
        fail(
            "store-evicts",
            f"{len(lost)} of {SESSIONS} sessions were gone after {written} MiB of other keys "
            f"(maxmemory-policy {eviction.policy}): {'; '.join(lost)}",
            site.trace_text(),
        )
