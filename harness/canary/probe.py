"""One canary run: seconds of non-disruptive checks of session persistence, never a drain.

Log in through the load balancer; the client stays on its target; the session is read on every
target; a write on another target is seen at once on the first; a logout ends it everywhere;
every target serves the same build; a few requests per target for latency. Requests are paced
to the profile's `safety.max_rps`, one client at a time.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from harness.canary.result import CanaryResult, Step
from harness.errors import DeploymentFinding
from harness.profile.environment import Environment
from harness.profile.sections import Redis
from harness.topology.model import Topology
from harness.traffic.builds import serving_builds
from harness.traffic.cleanup import CleaningDriver, Ledger
from harness.traffic.client import Identity, Route, VirtualUser
from harness.traffic.contract import SessionDriver, StepFailed, load_driver
from harness.traffic.site import Site, read_value, served_by

STICKY_REQUESTS = 5
LATENCY_REQUESTS = 5
REQUEST_TIMEOUT = 10.0


class Pacer:
    """A response hook on every client of the run: at most `rate` requests per second, and each
    response's latency per target (`Response.elapsed`, so the pacing itself is not counted)."""

    def __init__(self, rate: float, identity: Identity) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.identity = identity
        self.latency_ms: dict[str, list[float]] = {}
        self.responses = 0
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        target = self.identity.of(response)
        with self._lock:
            self.responses += 1
            if target is not None:
                ms = response.elapsed.total_seconds() * 1000
                self.latency_ms.setdefault(target, []).append(ms)
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
        return response


class CanarySite(Site):
    """A Site whose every client goes through the run's Pacer."""

    pacer: Pacer

    def user(self, name: str | None = None, *, own_trace: bool = False) -> VirtualUser:
        user = super().user(name)
        user.http.hooks["response"].append(self.pacer)
        return user


class OutOfTargets(Exception):
    """Nothing healthy to probe."""


class OutOfTime(Exception):
    """The run's time budget is spent."""


def _deadline(seconds: float) -> Callable[[], None]:
    end = time.monotonic() + seconds

    def check() -> None:
        if time.monotonic() > end:
            raise OutOfTime(f"the canary's {seconds:g} s budget is spent")

    return check


def _login(site: Site, driver: SessionDriver, result: CanaryResult) -> VirtualUser | None:
    user = site.user("canary")
    try:
        driver.login(user, 0)
    except StepFailed as failed:
        result.steps.append(Step("login", False, f"login failed: {failed}"))
        return None
    result.steps.append(Step("login", True, f"logged in on {user.last_target or '?'}"))
    return user


def _stickiness(site: Site, user: VirtualUser, result: CanaryResult) -> str | None:
    stickiness = site.env.expect.stickiness
    home = served_by(user, None)
    if stickiness.enabled is False:
        result.steps.append(Step("stickiness", None, "not applicable: stickiness is disabled"))
        return home
    seen = [served_by(user, None) for _ in range(STICKY_REQUESTS)]
    moved = sum(1 for t in seen if t != home)
    result.sticky_violations = moved
    detail = f"{moved} of {STICKY_REQUESTS} requests left {home}" if moved else f"stayed on {home}"
    result.steps.append(Step("stickiness", moved == 0, detail))
    return home


def _read_everywhere(
    driver: SessionDriver, user: VirtualUser, routes: dict[str, Route], value: str
) -> list[str]:
    """The targets that do not give `value` back, with what they gave."""
    missing = []
    for target, route in routes.items():
        got, status = read_value(driver, user, "canary", route)
        if got != value:
            missing.append(f"{target}: {f'HTTP {status}' if status else repr(got)}")
    return missing


def _shared(
    driver: SessionDriver, user: VirtualUser, routes: dict[str, Route], result: CanaryResult
) -> str | None:
    """Write through the balancer, read on every target; the value written (None: not written)."""
    token = f"canary-{secrets.token_hex(4)}"
    try:
        driver.write(user, "canary", token)
    except StepFailed as failed:
        result.session_losses = 1
        result.steps.append(Step("session_on_every_target", False, f"{failed}"))
        return None
    missing = _read_everywhere(driver, user, routes, token)
    result.session_losses = len(missing)
    detail = f"unreadable on {', '.join(missing)}" if missing else f"read on {len(routes)} targets"
    result.steps.append(Step("session_on_every_target", not missing, detail))
    return token


def _written_elsewhere(
    driver: SessionDriver,
    user: VirtualUser,
    routes: dict[str, Route],
    home: str | None,
    result: CanaryResult,
) -> str | None:
    """Write on another target, read on the client's own at once; the value now stored."""
    others = [t for t in routes if t != home]
    if home not in routes or not others:
        why = "one healthy target" if not others else f"{home} is not a healthy target"
        result.steps.append(Step("write_seen_elsewhere", None, f"not applicable: {why}"))
        return None
    value, where = f"canary-{secrets.token_hex(4)}", others[0]
    try:
        driver.write(user, "canary", value, routes[where])
    except StepFailed as failed:
        seen = f"the write on {where} failed: {failed}"
    else:
        got, status = read_value(driver, user, "canary", routes[home])
        if got == value:
            result.steps.append(
                Step("write_seen_elsewhere", True, f"written on {where}, seen on {home} at once")
            )
            return value
        was = f"HTTP {status}" if status else repr(got)
        seen = f"written on {where}, read on {home}: {was}, not the new value"
    result.session_losses = (result.session_losses or 0) + 1
    result.steps.append(Step("write_seen_elsewhere", False, seen))
    return None


def _logout(
    driver: SessionDriver,
    user: VirtualUser,
    routes: dict[str, Route],
    value: str,
    result: CanaryResult,
) -> None:
    """Log out, replay the old session cookie (a second tab would), read on every target."""
    cookie = user.cookie(driver.cookie_name)
    try:
        driver.logout(user)
    except StepFailed as failed:
        result.steps.append(Step("logout_everywhere", False, f"{failed}"))
        return
    if cookie is not None:
        user.adopt({driver.cookie_name: cookie})
    leaks = [t for t in routes if read_value(driver, user, "canary", routes[t])[0] == value]
    detail = f"still served after logout by {', '.join(leaks)}" if leaks else "ended everywhere"
    result.steps.append(Step("logout_everywhere", not leaks, detail))


def _sessions(
    driver: SessionDriver,
    user: VirtualUser,
    routes: dict[str, Route],
    home: str | None,
    result: CanaryResult,
    in_time: Callable[[], None],
) -> None:
    token = _shared(driver, user, routes, result)
    in_time()
    token = _written_elsewhere(driver, user, routes, home, result) or token
    in_time()
    if token is not None:
        _logout(driver, user, routes, token, result)


def _builds(site: Site, routes: dict[str, Route], result: CanaryResult) -> None:
    version = site.env.expect.version
    if not version:
        result.steps.append(Step("same_build", None, "not applicable: no expect.version"))
        return
    result.builds = serving_builds(site, version, routes)
    distinct = sorted(set(result.builds.values()))
    listing = ", ".join(f"{t}: {b}" for t, b in result.builds.items())
    result.steps.append(Step("same_build", len(distinct) == 1, listing))


def _latency(site: CanarySite, routes: dict[str, Route]) -> None:
    """Latency per target from plain GETs of `/` alone (a login's password hash is not it)."""
    site.pacer.latency_ms.clear()
    for target, route in routes.items():
        user = site.user(f"latency-{target}")
        for _ in range(LATENCY_REQUESTS):
            user.request("GET", "/", route=route, timeout=REQUEST_TIMEOUT)


def run_canary(
    env: Environment, topology: Topology, *, budget_seconds: float = 20.0
) -> CanaryResult:
    """One canary run against an opened environment (bounded by `budget_seconds`)."""
    started = time.monotonic()
    result = CanaryResult(env.name, time.time())
    site = CanarySite(env, topology)
    site.pacer = Pacer(float(env.safety.max_rps or 0), site.identity)
    in_time = _deadline(budget_seconds)
    healthy = [t.id for t in topology.healthy_targets()]
    ledger, driver = Ledger(), None
    try:
        if not healthy:
            states = ", ".join(f"{t.id}: {t.state}" for t in topology.targets) or "no target"
            raise OutOfTargets(f"no healthy target ({states})")
        routes = {t: site.route(t) for t in healthy}
        made = load_driver(env.session, topology.secrets) if env.session else None
        driver = CleaningDriver(made, ledger) if made is not None else None
        user = _login(site, driver, result) if driver else None
        if driver is None:
            result.steps += [
                Step(s, None, "not applicable: the profile has no session: section")
                for s in ("login", "session_on_every_target")
            ]
        home = _stickiness(site, user or site.user("canary"), result)
        in_time()
        if driver is not None and user is not None:
            _sessions(driver, user, routes, home, result, in_time)
        in_time()
        _builds(site, routes, result)
        in_time()
        _latency(site, routes)
    except (OutOfTime, OutOfTargets) as exc:
        result.error = str(exc)
    except DeploymentFinding as finding:  # no client could be pinned to a target
        first = str(finding).splitlines()[0]
        result.steps.append(Step("stickiness", False, first))
        result.sticky_violations = result.sticky_violations or 1
    except requests.RequestException as exc:
        result.error = f"no response from {env.name}: {type(exc).__name__}"
    finally:
        if driver is not None:  # a session a failed step left open is logged out here
            driver.finish(None, Redis())
    result.test_sessions = ledger.as_dict()
    result.latency_ms = {t: v for t, v in site.pacer.latency_ms.items() if t in healthy}
    result.requests = site.pacer.responses
    result.duration_seconds = time.monotonic() - started
    return result
