"""Session flows shared by the suites and the load profiles: pin, sticky run, share round trip."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import DeploymentFinding
from harness.findings import message
from harness.profile.environment import Environment
from harness.topology.model import Topology
from harness.traffic.balancers import cookie_rule
from harness.traffic.client import (
    Identity,
    RequestRecord,
    Route,
    VirtualUser,
    identity_from,
    trace_text,
)
from harness.traffic.contract import SessionDriver, StepFailed


def sticky_names(env: Environment) -> tuple[str, ...]:
    """The balancer's sticky cookie names (`expect.balancer` and `expect.cookie`)."""
    return cookie_rule(env.expect).names


def primary_sticky(env: Environment) -> str | None:
    """The balancer's main sticky cookie, or None when it sets none (or none is named)."""
    return next(iter(sticky_names(env)), None)


def verify_of(env: Environment, topology: Topology) -> bool | str:
    """TLS verification: the profile's setting, or the replica's own certificate."""
    if env.tls_verify is True and topology.ca_file:
        return topology.ca_file
    return env.tls_verify


@dataclass
class Site:
    """Everything a flow needs to talk to one environment."""

    env: Environment
    topology: Topology
    identity: Identity = field(init=False)
    trace: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=60))
    _users: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.identity = identity_from(self.env.identity)

    def user(self, name: str | None = None, *, own_trace: bool = False) -> VirtualUser:
        with self._lock:
            self._users += 1
            n = self._users
        return VirtualUser(
            self.topology.entry_url,
            self.identity,
            verify=verify_of(self.env, self.topology),
            name=name or f"user-{n}",
            sticky_names=sticky_names(self.env),
            trace=None if own_trace else self.trace,
            host=self.topology.host,
        )

    def trace_text(self, last: int = 16) -> str:
        return trace_text(self.trace, last)

    def pin(self, target: str, attempts: int | None = None) -> Route:
        """A route through the balancer to `target`: fresh clients until one lands there (with
        its sticky cookie; a balancer that sets none gives a route that only landed there)."""
        tries = attempts or 12 * max(len(self.topology.targets), 1)
        cookie_needed = bool(sticky_names(self.env))
        for _ in range(tries):
            user = self.user("pinning")
            user.request("GET", "/")
            if user.last_target == target and (user.sticky_cookies() or not cookie_needed):
                return Route(target, self.topology.entry_url, user.sticky_cookies())
        raise DeploymentFinding(
            message(
                "no-stickiness",
                f"no fresh client landed on {target} with a sticky cookie in "
                f"{tries} tries, so no client can be pinned to it",
                self.trace_text(),
            )
        )

    def direct(self, target: str) -> Route | None:
        for t in self.topology.targets:
            if t.id == target and t.direct_url:
                return Route(target, t.direct_url, direct=True)
        return None

    def route(self, target: str, *, prefer_direct: bool = True) -> Route:
        """Direct access when the topology has it (and it is preferred), else a pinned route."""
        direct = self.direct(target) if prefer_direct else None
        return direct or self.pin(target)


def served_by(user: VirtualUser, route: Route | None, path: str = "/") -> str | None:
    user.request("GET", path, route=route)
    return user.last_target


def read_value(
    driver: SessionDriver, user: VirtualUser, key: str, route: Route | None
) -> tuple[str | None, int | None]:
    """The value read (None when absent) and the status when the read step failed."""
    try:
        return driver.read(user, key, route), None
    except StepFailed as failed:
        return None, failed.status


def run_together(calls: list[Callable[[], Any]]) -> list[BaseException | None]:
    """Start the calls at the same instant in threads; the exception of each, or None."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException | None] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            call()
        except Exception as exc:  # kept for the caller: a failed write is evidence
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors
