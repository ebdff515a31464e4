"""The drain scenario: clients pinned to a target, traffic running, the target drained.

Used by the failover suite and the `drain_during_load` profile. Everything seen is kept as
evidence; the suite decides what is a finding.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from harness.disruption.drain import Transition, observe, wait_drained
from harness.disruption.guard import Guard
from harness.errors import DeploymentFinding
from harness.findings import message
from harness.topology.shares import target_weights
from harness.traffic.client import VirtualUser
from harness.traffic.contract import SessionDriver
from harness.traffic.site import Site, primary_sticky, read_value, served_by

TRAFFIC_MAX_REQUESTS = 5000  # per client: every loop is bounded in count and in time
TRAFFIC_PAUSE = 0.05


@dataclass
class Outcome:
    """One request of the background traffic."""

    at: float  # seconds since the deregistration
    user: str
    target: str | None
    status: int | None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.status is not None and self.status >= 500)


@dataclass
class PinnedClient:
    user: VirtualUser
    value: str
    cookie_before: str | None
    moved_to: str | None = None
    new_cookie: bool = False
    kept_session: bool = False
    read_status: int | None = None
    read_error: str | None = None  # the read after the drain got no response at all
    moved_after: float | None = None  # seconds after the deregistration it first left


@dataclass
class DrainEvidence:
    target: str
    delay_seconds: float
    clients: list[PinnedClient] = field(default_factory=list)
    traffic: list[Outcome] = field(default_factory=list)
    in_flight: Outcome | None = None
    in_flight_seconds: float = 0.0
    transition: Transition | None = None
    keeps_pinned: bool = False  # the drain keeps pinned clients (topology.drain.pinned: keep)
    fresh: list[str | None] = field(default_factory=list)  # where new clients landed meanwhile

    def errors(self) -> list[Outcome]:
        return [o for o in self.traffic if o.failed]

    def quality(self) -> dict[str, Any]:
        """How well the drain went: the last request the target served after its
        deregistration, and the 5xx and requests without a response meanwhile."""
        seen = [*self.traffic, *([self.in_flight] if self.in_flight else [])]
        served = [o.at for o in seen if o.target == self.target and not o.failed and o.at >= 0]
        after = [o for o in seen if o.at >= 0]
        return {
            "last_request_after_seconds": round(max(served), 2) if served else None,
            "errors_5xx": sum(1 for o in after if o.status is not None and o.status >= 500),
            "no_response": sum(1 for o in after if o.error is not None),
        }


class BackgroundTraffic:
    """Background reads from each pinned client until stopped (bounded in count and time)."""

    def __init__(
        self, site: Site, clients: list[PinnedClient], started: float, time_limit: float
    ) -> None:
        self.site, self.clients, self.started = site, clients, started
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._deadline = time.monotonic() + time_limit
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(c,), daemon=True) for c in clients
        ]

    def _run(self, client: PinnedClient) -> None:
        user = self.site.user(f"{client.user.name}-traffic", own_trace=True)
        user.adopt({c.name: c.value for c in client.user.http.cookies if c.value})
        for _ in range(TRAFFIC_MAX_REQUESTS):
            if self._stop.is_set() or time.monotonic() > self._deadline:
                return
            outcome = Outcome(time.time() - self.started, user.name, None, None)
            try:
                outcome.status = user.request("GET", "/").status_code
                outcome.target = user.last_target
            except requests.RequestException as exc:
                outcome.error = type(exc).__name__
            with self._lock:
                self.outcomes.append(outcome)
            time.sleep(TRAFFIC_PAUSE)

    def __enter__(self) -> BackgroundTraffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """End the traffic and wait for it (again: nothing)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def _affine_client(site: Site, driver: SessionDriver, target: str, n: int) -> VirtualUser:
    """With no sticky cookie (open-source nginx hashing the session cookie, say), a client is
    pinned by its session: log in through the balancer until the session lands on `target`."""
    tries = 12 * max(len(site.topology.targets), 1)
    for _ in range(tries):
        user = site.user(f"pinned-{n}")
        driver.login(user, n)
        if all(served_by(user, None) == target for _ in range(3)):
            return user
    raise DeploymentFinding(
        message(
            "no-stickiness",
            f"no logged-in client stayed on {target} in {tries} tries: without a sticky cookie "
            "the balancer must keep a session on one target (affinity by the session cookie)",
            site.trace_text(),
        )
    )


def _pin_clients(site: Site, driver: SessionDriver, target: str, count: int) -> list[PinnedClient]:
    clients = []
    name = primary_sticky(site.env)
    for i in range(count):
        if name is None:
            user = _affine_client(site, driver, target, 100 + i)
        else:
            route = site.pin(target)
            user = site.user(f"pinned-{i + 1}")
            user.adopt(route.cookies)
            driver.login(user, 100 + i)
        value = f"cart-{i + 1}"
        driver.write(user, "failover", value)
        clients.append(PinnedClient(user, value, user.cookie(name) if name else None))
    return clients


def _in_flight(
    user: VirtualUser, path: str, seconds: float, started: list[float], result: list[Outcome]
) -> None:
    outcome = Outcome(0.0, user.name, None, None)
    try:
        response = user.request("GET", path.format(seconds=seconds), timeout=seconds + 30)
        outcome.status, outcome.target = response.status_code, user.last_target
    except requests.RequestException as exc:
        outcome.error = type(exc).__name__
    outcome.at = time.time() - started[0] if started else 0.0
    result.append(outcome)


PROPAGATION_SECONDS = 10.0  # an ALB keeps routing to a deregistered target for a few seconds
PROPAGATION_POLL = 0.25


FRESH_MISS = 0.001  # new clients are sent until all avoiding a drain-ignoring target is this rare
FRESH_MAX = 60


def fresh_clients_needed(share: float) -> int:
    """New clients to send so that, were the drained target (its share of new clients `share`)
    still taking them, all would avoid it with probability under FRESH_MISS; at most FRESH_MAX."""
    if share <= 0:
        return 0
    if share >= 1:
        return 1
    return min(FRESH_MAX, math.ceil(math.log(FRESH_MISS) / math.log(1 - share)))


def _fresh_landings(site: Site, count: int, drained: str, since: float) -> list[str | None]:
    """Where `count` new clients (no cookie) land: the target each first request names (None
    for no answer). If one lands on the drained target within PROPAGATION_SECONDS of the drain
    (a real ALB keeps routing there for a few seconds), the window is waited out and all
    `count` are sent again: only that second sample counts."""
    landed = _sample(site, count)
    left = since + PROPAGATION_SECONDS - time.time()
    if drained in landed and left > 0:
        time.sleep(left)
        landed = _sample(site, count)
    return landed


def _sample(site: Site, count: int) -> list[str | None]:
    landed: list[str | None] = []
    for i in range(count):
        try:
            landed.append(served_by(site.user(f"fresh-{i + 1}"), None))
        except requests.RequestException:
            landed.append(None)
    return landed


def _read_after_drain(
    driver: SessionDriver, client: PinnedClient, drained: str, since: float, keeps: bool
) -> None:
    """A pinned client's first request after the drain has propagated: read again while the
    drained target still answers, up to PROPAGATION_SECONDS (a real ALB takes a few seconds to
    stop routing there); then where it went, whether its session and a new sticky cookie came
    with it. A drain that `keeps` pinned clients is read once: staying is its design. No
    response at all is evidence, not a crash."""
    deadline = since + (0.0 if keeps else PROPAGATION_SECONDS)
    while True:
        try:
            value, client.read_status = read_value(driver, client.user, "failover", None)
        except requests.RequestException as exc:
            client.read_error = type(exc).__name__
            return
        client.moved_to = client.user.last_target
        settled = client.moved_to not in (drained, None)  # None: an answer no target named
        if settled or time.time() >= deadline:
            break
        time.sleep(PROPAGATION_POLL)
    if client.moved_to not in (drained, None):
        client.moved_after = round(time.time() - since, 2)
    client.kept_session = value == client.value


def drain_scenario(
    site: Site,
    guard: Guard,
    driver: SessionDriver,
    target: str,
    delay: float,
    restore_timeout: float,
) -> DrainEvidence:
    """Pin clients to `target`, start traffic and a long request, drain it, restore it."""
    settings = site.env.failover
    evidence = DrainEvidence(target, delay, keeps_pinned=site.topology.drain_keeps_pinned)
    healthy = site.topology.healthy_targets()
    share = target_weights(site.topology, healthy).get(target, 0.0)
    share /= sum(target_weights(site.topology, healthy).values()) or 1.0
    evidence.clients = _pin_clients(site, driver, target, settings.clients)
    name = primary_sticky(site.env)
    started: list[float] = []
    flight: list[Outcome] = []
    flight_thread = None
    if settings.in_flight_path:
        evidence.in_flight_seconds = settings.in_flight_seconds or max(
            0.5, min(delay * 0.5, 2.0)
        )
        flyer = site.user("in-flight")
        flyer.adopt(site.pin(target).cookies)  # pinned before the clock starts
        flight_thread = threading.Thread(
            target=_in_flight,
            daemon=True,
            args=(flyer, settings.in_flight_path, evidence.in_flight_seconds, started, flight),
        )
        flight_thread.start()
        time.sleep(0.4)  # the long request is running on the target
    with guard.disrupt("deregister", target, restore_after=restore_timeout) as record:
        started.append(record.started_at)
        evidence.transition = record
        # draining from the start is seen now (reads may outlast the delay); an early "unused"
        # is not kept: HAProxy reports a drained server with no sessions so at once
        observe(guard.provider, record, guard.progress, keep=lambda state: state == "draining")
        with BackgroundTraffic(site, evidence.clients, record.started_at, delay + 60) as traffic:
            for client in evidence.clients:
                _read_after_drain(driver, client, target, record.started_at, evidence.keeps_pinned)
                client.new_cookie = name is not None and (
                    client.user.cookie(name) not in (None, client.cookie_before)
                )
            needed = fresh_clients_needed(share)
            evidence.fresh = _fresh_landings(site, needed, target, record.started_at)
            if flight_thread is not None:
                flight_thread.join(timeout=delay + 60)
            if evidence.keeps_pinned:  # pinned clients keep it busy until they stop
                traffic.stop()
            wait_drained(guard.provider, record, delay, guard.progress)
        evidence.traffic = traffic.outcomes
    evidence.in_flight = flight[0] if flight else None
    return evidence
