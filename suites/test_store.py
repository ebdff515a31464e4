"""The session store: its eviction policy cannot drop live sessions, and sessions survive memory
pressure (disruptive: bounded filler keys that expire on their own, deleted at the end)."""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis as redis_lib
import requests

from harness.disruption.guard import Guard
from harness.errors import NotApplicable
from harness.findings import fail
from harness.profile.environment import Environment
from harness.store.eviction import Eviction, read_eviction
from harness.topology import Provider
from harness.topology.model import Topology
from harness.traffic.client import VirtualUser
from harness.traffic.contract import SessionDriver, StepFailed
from harness.traffic.site import Site, read_value

FILLER_BYTES = 64 * 1024
FAILOVER_CLIENTS = 4
FAILOVER_BUDGET: dict[str, Any] = {"max_recovery_seconds": 30, "max_lost_sessions": 0}
FAILOVER_GRACE = 2.0  # watched this long beyond the recovery budget
WRITE_LIMIT = 2000  # per client: bounded in count, and in time by the window
WRITE_PAUSE = 0.05
SETTLE = 1.0  # writes must go on succeeding this long after the failover was made
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
        "mode": environment.redis.mode or "standalone",
        "maxmemory_policy": eviction.policy,
        "policy_source": eviction.source,
        "used_bytes": eviction.used,
        "maxmemory_bytes": eviction.maxmemory,
        "warning": eviction.warning(),
        **{k: v for k, v in topology.session_store.items() if k != "mode"},
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


def _reachable_limit(eviction: Eviction, budget_mb: int) -> int:
    """The budget, when it takes the store past its maxmemory; NotApplicable when there is no
    limit to reach, or the budget cannot reach it (a pressure that leaves the store half empty
    tests nothing)."""
    if not eviction.maxmemory:
        raise NotApplicable(
            "the store has no maxmemory: it grows until its host runs out of memory, with no "
            "eviction first (the eviction-policy check covers a store with a limit)"
        )
    free_mb = max(0.0, (eviction.maxmemory - eviction.used) / 1048576)
    needed = math.ceil(free_mb * 1.1) + 1
    if needed > budget_mb:
        raise NotApplicable(
            f"the store has {free_mb:.0f} MiB free below its maxmemory "
            f"({eviction.maxmemory / 1048576:.0f} MiB): {budget_mb} MiB of filler "
            f"(redis.pressure_mb) cannot reach it; set redis.pressure_mb to {needed} or more "
            "to test sessions under memory pressure"
        )
    return budget_mb


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
    budget = int(environment.redis.pressure_mb or DEFAULT_PRESSURE_MB)
    fill_mb = _reachable_limit(read_eviction(redis), budget)
    guard.allow("memory-pressure", f"{fill_mb} MiB on the session store")
    users = []
    for n in range(SESSIONS):
        user = site.user(f"pressured-{n}")
        session_driver.login(user, 300 + n)
        session_driver.write(user, "kept", f"v{n}")
        users.append((user, f"v{n}"))
    prefix = f"parity:pressure:{secrets.token_hex(4)}:"
    keys: list[str] = []
    try:
        keys, refused = _fill(redis, fill_mb, prefix)
    finally:
        for key in keys:
            redis.delete(key)
    lost = []
    for user, value in users:
        got, status = read_value(session_driver, user, "kept", None)
        if got != value:
            lost.append(f"{user.name}: {f'HTTP {status}' if status else repr(got)}")
    evidence["pressure"] = {
        "budget_mb": budget,
        "filled_mb": fill_mb,
        "filler_keys": len(keys),
        "refused": refused,
    }
    if lost:
        eviction = read_eviction(redis)
        written = len(keys) * FILLER_BYTES // 1048576
        fail(
            "store-evicts",
            f"{len(lost)} of {SESSIONS} sessions were gone after {written} MiB of other keys "
            f"(maxmemory-policy {eviction.policy}): {'; '.join(lost)}",
            site.trace_text(),
        )


@dataclass
class Writes:
    """Each client writing and reading back its session while the store fails over."""

    outcomes: list[tuple[float, str, str | None]] = field(default_factory=list)  # at, user, error
    last: dict[str, str] = field(default_factory=dict)  # the last value each client saw stored

    def errors(self) -> list[tuple[float, str, str | None]]:
        return [o for o in self.outcomes if o[2] is not None]

    def settled(self, users: list[str], after: float) -> bool:
        """Every client has written successfully since `after`, and not failed since."""
        for user in users:
            mine = [(at, error) for at, who, error in self.outcomes if who == user and at > after]
            last_error = max((at for at, error in mine if error), default=None)
            ok = [at for at, error in mine if error is None]
            if not ok or (last_error is not None and max(ok) < last_error):
                return False
        return True

    def recovered_after(self, started: float) -> float | None:
        """Seconds from the failover to the last failed write (0: none failed); None when
        writes were still failing at the end."""
        failed = [at for at, _, error in self.outcomes if error is not None and at >= started]
        if not failed:
            return 0.0
        after = [at for at, _, error in self.outcomes if error is None and at > max(failed)]
        return round(max(failed) - started, 3) if after else None


def _keep_writing(
    driver: SessionDriver, user: VirtualUser, writes: Writes, stop: threading.Event, t0: float
) -> None:
    for n in range(WRITE_LIMIT):
        if stop.is_set():
            return
        value = f"{user.name}-{n}"
        error: str | None = None
        try:
            driver.write(user, "failover", value)
            got, status = read_value(driver, user, "failover", None)
            if got != value:
                error = f"HTTP {status}" if status else f"read {got!r}"
        except StepFailed as failed:
            error = f"HTTP {failed.status}"
        except requests.RequestException as exc:
            error = type(exc).__name__
        writes.outcomes.append((time.monotonic() - t0, user.name, error))
        if error is None:
            writes.last[user.name] = value
        time.sleep(WRITE_PAUSE)


def _timeline(writes: Writes, failover: dict[str, Any]) -> dict[str, Any]:
    bins: dict[float, dict[str, int]] = {}
    for at, _, error in writes.outcomes:
        row = bins.setdefault(round(at * 2) / 2, {"ok": 0, "errors": 0})
        row["errors" if error else "ok"] += 1
    return {"failover": failover, "writes": [{"at": at, **row} for at, row in sorted(bins.items())]}


@pytest.mark.disruptive
@pytest.mark.parity(
    title="Sessions survive a failover of the session store",
    why="A store failover (a patch, a node loss) must not log users out or fail writes for long.",
)
def test_store_failover(
    site: Site,
    provider: Provider,
    session_driver: SessionDriver,
    guard: Guard,
    environment: Environment,
    evidence: dict[str, Any],
) -> None:
    fail_over = getattr(provider, "store_failover", None)
    if fail_over is None:
        pytest.skip(f"not applicable: the {provider.name} provider cannot fail the store over")
    why_not = provider.store_failover_ready()  # type: ignore[attr-defined]
    if why_not:
        pytest.skip(f"not applicable: the store cannot be failed over here: {why_not}")
    budget = {**FAILOVER_BUDGET, **environment.expect.store_failover.given()}
    window = float(budget["max_recovery_seconds"]) + FAILOVER_GRACE
    guard.allow("store-failover", "the session store")
    users = [site.user(f"through-failover-{n}") for n in range(FAILOVER_CLIENTS)]
    for n, user in enumerate(users):
        session_driver.login(user, 400 + n)
    writes, stop, t0 = Writes(), threading.Event(), time.monotonic()
    threads = [
        threading.Thread(target=_keep_writing, args=(session_driver, u, writes, stop, t0))
        for u in users
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # writes succeed before
        started = time.monotonic() - t0
        failover = fail_over()
        done_at, deadline = time.monotonic() - t0, time.monotonic() + window
        names = [u.name for u in users]
        while time.monotonic() < deadline and not writes.settled(names, done_at + SETTLE):
            time.sleep(0.25)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    recovered = writes.recovered_after(started)
    lost = [
        u.name
        for u in users
        if read_value(session_driver, u, "failover", None)[0] != writes.last.get(u.name)
    ]
    evidence["store_failover"] = {
        **_timeline(writes, failover),
        "started_at": started,
        "recovered_after_seconds": recovered,
        "errors": len(writes.errors()),
        "first_errors": [
            f"{at - started:.2f} s {who}: {err}" for at, who, err in writes.errors()[:5]
        ],
        "lost_sessions": lost,
    }
    seen = "; ".join(f"{at - started:.1f} s {who}: {err}" for at, who, err in writes.errors()[:8])
    if recovered is None:
        fail(
            "store-stale-primary",
            f"writes still failed {window:g} s after the store failed over ({failover}): the app "
            f"does not follow the new primary",
            f"  {seen}",
        )
    problems = []
    if recovered > float(budget["max_recovery_seconds"]):
        problems.append(
            f"writes failed for {recovered:.1f} s (budget {budget['max_recovery_seconds']} s)"
        )
    if len(lost) > int(budget["max_lost_sessions"]):
        problems.append(f"{len(lost)} sessions lost: {', '.join(lost)}")
    if budget.get("max_errors") is not None and len(writes.errors()) > int(budget["max_errors"]):
        problems.append(f"{len(writes.errors())} failed writes (budget {budget['max_errors']})")
    if problems:
        fail(
            "store-failover",
            f"across the store failover ({failover}): {'; '.join(problems)}",
            f"  {seen}",
        )
