"""Session flows shared by the suites and the load profiles: pin, sticky run, share round trip."""

from __future__ import annotations

import contextlib
import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from harness.errors import DeploymentFinding, NotApplicable, ProfileError, UsageError
from harness.findings import message
from harness.profile.environment import Environment
from harness.topology.model import Topology
from harness.topology.shares import target_weights
from harness.traffic.balancers import cookie_rule
from harness.traffic.client import (
    Identity,
    RequestRecord,
    Route,
    VirtualUser,
    identity_from,
    trace_text,
)
from harness.traffic.contract import SessionDriver, StepFailed, load_driver

PIN_MISS = 0.001  # the chance of missing a target that takes a quarter of its share
STARVED_SHARE = 0.25  # the spread test's starved target (harness.spread.EVEN_FACTORS)
PIN_MAX_CLIENTS = 3000  # fresh clients, at most, to reach one target
ONE_TARGET_MISS = 0.0005  # the chance that a healthy balancer sends every client to one target


def _unreached(target: str, tries: int, share: float | None) -> str:
    if share == 0.0:
        return f"{target}'s target group has weight 0 in the forward: no fresh client goes there"
    expected = f"its expected share is {share:.1%}" if share is not None else "its share is unknown"
    bound = ""
    if share is not None:
        reach = 1 - (1 - share * STARVED_SHARE) ** tries
        bound = f": had it taken a quarter of that, one would have landed with {reach:.1%}"
    return f"no fresh client of {tries} landed on {target} ({expected}{bound})"


def tries_to_see_two(shares: Sequence[float]) -> int:
    """The fewest fresh clients that a balancer splitting them by `shares` sends all to one
    target with probability at most ONE_TARGET_MISS (at most PIN_MAX_CLIENTS)."""
    for tries in range(1, PIN_MAX_CLIENTS + 1):
        if sum(p**tries for p in shares) <= ONE_TARGET_MISS:
            return tries
    return PIN_MAX_CLIENTS


def sticky_names(env: Environment) -> tuple[str, ...]:
    """The balancer's sticky cookie names (`expect.balancer` and `expect.cookie`)."""
    return cookie_rule(env.expect).names


GROUP_COOKIES = ("AWSALBTG", "AWSALBTGCORS")  # an ALB's target-group stickiness


def group_cookies(topology: Topology) -> tuple[str, ...]:
    """The target-group stickiness cookies, when a weighted forward has it on: a client is
    pinned to a target only with its group's cookie too."""
    sticky = any(
        r.group_stickiness_seconds for li in topology.load_balancer.listeners for r in li.rules
    )
    return GROUP_COOKIES if sticky else ()


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
            sticky_names=sticky_names(self.env) + group_cookies(self.topology),
            trace=None if own_trace else self.trace,
            host=self.topology.host,
        )

    def trace_text(self, last: int = 16) -> str:
        return trace_text(self.trace, last)

    def _app_cookie(self) -> str:
        """The app's own cookie that application-based stickiness follows."""
        group = self.topology.target_groups[0] if self.topology.target_groups else None
        named = group.stickiness.cookie_name if group else None
        expected = self.env.expect.stickiness.cookie_name
        own = self.env.session.cookie if self.env.session else "session"
        return str(named or expected or own)

    def _start_app_session(self, user: VirtualUser) -> SessionDriver:
        """Log in, so that the app sets the cookie an ALB's app_cookie stickiness follows."""
        if self.env.session is None:
            raise UsageError(
                f"{self.env.source}: app_cookie stickiness starts when the app sets its cookie "
                "(at login): the profile needs a session: section to pin a client"
            )
        driver = load_driver(self.env.session, self.topology.secrets)
        driver.login(user, 0)
        return driver

    @staticmethod
    def _end_app_session(driver: SessionDriver | None, user: VirtualUser) -> None:
        """Log out a pinning client that landed elsewhere (best effort: its session would
        otherwise live on in the store for the app's whole session life)."""
        if driver is not None:
            with contextlib.suppress(StepFailed, requests.RequestException):
                driver.logout(user)

    def pin_tries(self, target: str) -> tuple[int, float | None]:
        """How many fresh clients to draw for `target`, and its expected share: enough that a
        target taking even a quarter of its share is reached with probability 1 - PIN_MISS,
        within PIN_MAX_CLIENTS (a share unknown, or ramped by slow start: the bound)."""
        weights = target_weights(self.topology, self.topology.healthy_targets())
        group = self.topology.group_of(target)
        if group is not None and group.weight == 0:
            return 0, 0.0
        if target not in weights or (group is not None and group.slow_start_seconds > 0):
            return PIN_MAX_CLIENTS, None
        share = weights[target] / sum(weights.values())
        if share >= 1.0:
            return 1, share
        floor = share * STARVED_SHARE
        needed = math.ceil(math.log(PIN_MISS) / math.log1p(-floor))
        return min(needed, PIN_MAX_CLIENTS), share

    def spread_tries(self) -> int:
        """How many fresh clients to draw, at most, before saying they all go to one target:
        enough that a healthy balancer sends all of them to one target with probability at most
        ONE_TARGET_MISS given the targets' shares, within PIN_MAX_CLIENTS (shares ramped by slow
        start or unknown: the bound); 0 when fewer than two targets take fresh clients. A caller
        stops as soon as a second target answers."""
        healthy = self.topology.healthy_targets()
        weights = target_weights(self.topology, healthy)
        total = sum(weights.values())
        if len(weights) < 2 or total <= 0:
            return 0
        if any(g.slow_start_seconds > 0 for g in self.topology.target_groups):
            return PIN_MAX_CLIENTS
        return tries_to_see_two([w / total for w in weights.values()])

    def pin(self, target: str, attempts: int | None = None) -> Route:
        """A route through the balancer to `target`: fresh clients until one lands there (with
        its sticky cookie; a balancer that sets none gives a route that only landed there).
        With app_cookie stickiness a fresh client logs in, and the route carries the app's
        cookie next to the balancer's, as the ALB wants both. A target no client reaches in
        `pin_tries` is not applicable (NotApplicable, with the numbers)."""
        tries, share = (attempts, None) if attempts else self.pin_tries(target)
        cookie_needed = bool(sticky_names(self.env))
        by_app = cookie_rule(self.env.expect).issued == "on_app_cookie"
        landed = 0
        for _ in range(tries):
            user = self.user("pinning")
            driver = self._start_app_session(user) if by_app else None
            if driver is None:
                user.request("GET", "/")
            if user.last_target != target:
                self._end_app_session(driver, user)
                continue
            landed += 1
            if user.sticky_cookies() or not cookie_needed:
                cookies = user.sticky_cookies()
                app = self._app_cookie()
                if by_app and user.cookie(app) is not None:
                    cookies[app] = str(user.cookie(app))
                return Route(target, self.topology.entry_url, cookies)
            self._end_app_session(driver, user)  # landed, but with no sticky cookie to keep
        if landed:
            raise DeploymentFinding(
                message(
                    "no-stickiness",
                    f"{landed} of {tries} fresh clients landed on {target}, none with a sticky "
                    "cookie, so no client can be pinned to it",
                    self.trace_text(),
                )
            )
        raise NotApplicable(_unreached(target, tries, share))

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


def read_reached(
    driver: SessionDriver, user: VirtualUser, key: str, route: Route, site: Site
) -> tuple[str | None, int | None]:
    """`read_value` on `route`, verified to have reached its target: a cross-target read that
    another target answered proves nothing. A route pinned by a sticky cookie and served
    elsewhere is a stickiness finding; a direct URL answered by another instance, a profile
    error; a route nothing pins, not applicable."""
    value, status = read_value(driver, user, key, route)
    answered = user.last_target
    if answered is not None and answered != route.target:
        if route.direct:
            raise ProfileError(
                f"{site.env.source}: topology: the URL of {route.target} ({route.base_url}) is "
                f"answered by {answered} (identity: {site.env.identity.given()})"
            )
        if not route.cookies:  # nothing pins it: the balancer sets no cookie to follow
            raise NotApplicable(
                f"no route reaches {route.target} reliably (a read meant for it was served by "
                f"{answered}): the balancer sets no sticky cookie Parity knows and the profile "
                "gives no direct URL (topology targets' url)"
            )
        raise DeploymentFinding(
            message(
                "no-stickiness",
                f"a read pinned to {route.target} was served by {answered}: the cross-target "
                "read did not reach the target it was meant for",
                site.trace_text(),
            )
        )
    return value, status


def rotation(targets: Sequence[str]) -> list[tuple[str, str]]:
    """Ordered pairs t0->t1, t1->t2, ..., t(n-1)->t0: each target is first once and second once
    (two targets: both orders); n pairs where every ordered pair would be n(n-1)."""
    ts = list(targets)
    return [(t, ts[(i + 1) % len(ts)]) for i, t in enumerate(ts)] if len(ts) > 1 else []


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
