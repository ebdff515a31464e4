"""Whether the store can evict live sessions: its `maxmemory-policy` and how full it is.

`allkeys-*` policies evict any key under memory pressure, sessions with a long TTL included: a
finding. `volatile-*` policies evict keys with a TTL, which sessions have: a finding too when a
limit is set. `noeviction` refuses writes at the limit instead: a warning when the store is over
NEAR_LIMIT of it. A store whose CONFIG command is disabled (ElastiCache renames it) is read from
its parameter group when the profile names the ElastiCache id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

NEAR_LIMIT = 0.9


@dataclass(frozen=True)
class Eviction:
    policy: str | None  # None: it could not be read
    maxmemory: int  # bytes; 0: no limit
    used: int  # bytes
    source: str  # where the policy was read: CONFIG GET, a parameter group, ...

    def finding(self) -> str | None:
        """Why live sessions can be evicted, or None."""
        if self.policy is None:
            return None
        if self.policy.startswith("allkeys-"):
            return (
                f"maxmemory-policy {self.policy} ({self.source}) evicts any key under memory "
                f"pressure, live sessions included (used {_mb(self.used)} of {_limit(self)})"
            )
        if self.policy.startswith("volatile-") and self.maxmemory:
            return (
                f"maxmemory-policy {self.policy} ({self.source}) evicts keys with a TTL, which "
                f"every session has (used {_mb(self.used)} of {_limit(self)})"
            )
        return None

    def warning(self) -> str | None:
        if (
            self.policy == "noeviction"
            and self.maxmemory
            and self.used > NEAR_LIMIT * self.maxmemory
        ):
            return (
                f"the store is at {self.used / self.maxmemory:.0%} of its maxmemory "
                f"({_mb(self.used)} of {_mb(self.maxmemory)}) with noeviction: new sessions "
                "will be refused (OOM) when it is full"
            )
        return None


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


def _limit(e: Eviction) -> str:
    return _mb(e.maxmemory) if e.maxmemory else "no maxmemory (the machine's memory)"


def _memory(client: Any) -> tuple[int, int]:
    info = client.info("memory")
    if isinstance(info, dict) and "used_memory" not in info:  # a cluster: one dict per node
        nodes = [v for v in info.values() if isinstance(v, dict)]
        info = max(nodes, key=lambda n: int(n.get("used_memory", 0)), default={})
    return int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))


def read_eviction(client: Any, parameter_group: dict[str, str] | None = None) -> Eviction:
    """The policy from CONFIG GET, else from `parameter_group` (ElastiCache's)."""
    used, maxmemory = _memory(client)
    try:
        answer = client.config_get("maxmemory-policy")
    except redis.ResponseError:  # CONFIG disabled or renamed (ElastiCache)
        answer = {}
    if isinstance(answer, dict) and "maxmemory-policy" not in answer:  # a cluster: per node
        policies = {v.get("maxmemory-policy") for v in answer.values() if isinstance(v, dict)}
        answer = {"maxmemory-policy": sorted(p for p in policies if p)[0]} if policies else {}
    policy = answer.get("maxmemory-policy") if isinstance(answer, dict) else None
    if policy:
        return Eviction(str(policy), maxmemory, used, "CONFIG GET")
    if parameter_group and parameter_group.get("maxmemory-policy"):
        group = parameter_group.get("name", "its parameter group")
        return Eviction(
            parameter_group["maxmemory-policy"], maxmemory, used, f"parameter group {group}"
        )
    return Eviction(None, maxmemory, used, "unreadable: CONFIG is disabled")
