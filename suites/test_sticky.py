"""Stickiness: the sticky cookie and its lifetime, pinned clients, garbage cookies, lapse, TTLs."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest

from harness.findings import fail
from harness.profile.environment import Environment
from harness.topology.model import Target, Topology
from harness.traffic.client import VirtualUser
from harness.traffic.contract import SessionDriver
from harness.traffic.cookies import SetCookie, response_date, set_cookies
from harness.traffic.site import Site, served_by, sticky_names

PINNED_REQUESTS = 30
LAPSE_WAIT_LIMIT = 10  # seconds: longer durations are not waited for
EXPIRES_TOLERANCE = timedelta(seconds=60)


@pytest.fixture(scope="module", autouse=True)
def _needs_stickiness(environment: Environment) -> None:
    if (environment.expect.get("stickiness") or {}).get("enabled") is False:
        pytest.skip("the profile expects stickiness to be disabled")


def _cookie_or_fail(site: Site, user: VirtualUser, response: Any) -> dict[str, SetCookie]:
    cookies = set_cookies(response)
    name = sticky_names(site.env)[0]
    if name not in cookies:
        fail(
            "no-stickiness",
            f"no {name} cookie on a response from {user.last_target}: the "
            "load balancer does not make clients sticky",
            site.trace_text(),
        )
    return cookies


def test_sticky_cookie_has_the_documented_attributes(site: Site) -> None:
    user = site.user("attributes")
    response = user.request("GET", "/")
    cookies = _cookie_or_fail(site, user, response)
    expect = site.env.expect.get("cookie") or {
        "name": "AWSALB",
        "cors_name": "AWSALBCORS",
        "expires_days": 7,
        "path": "/",
    }
    main = cookies[expect["name"]]
    problems = []
    if expect.get("path") and main.attributes.get("path") != expect["path"]:
        problems.append(
            f"{main.name} Path={main.attributes.get('path')}, expected {expect['path']}"
        )
    date = response_date(response)
    if expect.get("expires_days") is not None and date and main.expires:
        want = date + timedelta(days=expect["expires_days"])
        if abs(main.expires - want) > EXPIRES_TOLERANCE:
            problems.append(
                f"{main.name} Expires={main.attributes.get('expires')}, expected about "
                f"Date + {expect['expires_days']:g} days"
            )
    if expect.get("cors_name"):
        twin = cookies.get(expect["cors_name"])
        if twin is None:
            problems.append(f"no {expect['cors_name']} twin")
        else:
            if twin.value != main.value:
                problems.append(f"{twin.name} carries another value than {main.name}")
            if twin.attributes.get("samesite") != "None" or not twin.has("secure"):
                problems.append(f"{twin.redacted()} lacks SameSite=None; Secure")
    if problems:
        fail("no-stickiness", "; ".join(problems), site.trace_text())


def test_sticky_cookie_is_reissued_on_every_response(site: Site) -> None:
    user = site.user("reissue")
    for path in ("/", "/", "/"):
        _cookie_or_fail(site, user, user.request("GET", path))


def test_pinned_clients_stay_on_their_target(site: Site, healthy_targets: list[Target]) -> None:
    for target in healthy_targets:
        user = site.user(f"pinned-{target.id}")
        route = site.pin(target.id)
        seen = [served_by(user, route) for _ in range(PINNED_REQUESTS)]
        moved = [(i, t) for i, t in enumerate(seen) if t != target.id]
        if moved:
            fail(
                "no-stickiness",
                f"a client pinned to {target.id} was served by another target "
                f"in {len(moved)} of {PINNED_REQUESTS} requests (first: request {moved[0][0]} "
                f"on {moved[0][1]})",
                site.trace_text(),
            )


def test_garbage_cookie_is_balanced_anew_and_reissued(
    site: Site, healthy_targets: list[Target]
) -> None:
    name = sticky_names(site.env)[0]
    seen = set()
    for _ in range(4 * len(healthy_targets)):
        user = site.user("garbage")
        response = user.request("GET", "/", cookies={name: "garbage-not-a-cookie"})
        if response.status_code >= 500:
            fail(
                "no-stickiness",
                f"a garbage {name} cookie got {response.status_code}",
                site.trace_text(),
            )
        reissued = set_cookies(response).get(name)
        if reissued is None or reissued.value == "garbage-not-a-cookie":
            fail("no-stickiness", f"a garbage {name} cookie was not replaced", site.trace_text())
        seen.add(user.last_target)
    if len(healthy_targets) > 1 and len(seen) < 2:
        fail(
            "no-stickiness",
            f"every client with a garbage cookie went to {seen}: it is not balanced anew",
            site.trace_text(),
        )


def test_stickiness_lapses_after_the_idle_duration(
    site: Site, topology: Topology, healthy_targets: list[Target]
) -> None:
    group = topology.target_groups[0]
    duration = group.stickiness.duration_seconds
    if duration > LAPSE_WAIT_LIMIT:
        pytest.skip(
            f"stickiness duration {duration} s is too long to wait for (limit "
            f"{LAPSE_WAIT_LIMIT} s): run against an environment with a short duration"
        )
    target = healthy_targets[0].id
    routes = [site.pin(target) for _ in range(6)]
    time.sleep(duration + 1.5)
    user = site.user("lapse")
    after = [served_by(user, route) for route in routes]
    if all(t == target for t in after):
        fail(
            "short-stickiness",
            f"6 clients idle for {duration + 1.5:g} s (duration "
            f"{duration} s) all stayed on {target}: stickiness did not lapse",
            site.trace_text(),
        )


def _lifetime(cookie: SetCookie, response: Any) -> float | None:
    if cookie.attributes.get("max-age"):
        return float(cookie.attributes["max-age"])
    date = response_date(response)
    return (cookie.expires - date).total_seconds() if cookie.expires and date else None


def test_session_lifetimes_are_consistent(
    site: Site, session_driver: SessionDriver, redis: Any, healthy_targets: list[Target]
) -> None:
    user = site.user("lifetime")
    route = site.route(healthy_targets[0].id)
    session_driver.login(user, 1, route)
    login = next(r for r in reversed(site.trace) if r.user == "lifetime")
    response = user.request("GET", "/", route=route)  # a response that refreshes the cookie
    cookie = set_cookies(response).get(session_driver.cookie_name)
    value = user.cookie(session_driver.cookie_name)
    if value is None:
        pytest.skip(f"login set no {session_driver.cookie_name} cookie (see {login.line()})")
    lifetime = _lifetime(cookie, response) if cookie else None
    match = re.search(site.env.redis["session_id"], value)
    key = site.env.redis["key"].format(session_id=match.group(1) if match else value)
    ttl = redis.ttl(key)
    if ttl < 0:
        fail(
            "session-not-shared",
            f"the session is not in Redis under {site.env.redis['key']!r} (TTL {ttl})",
            site.trace_text(),
        )
    if lifetime is not None and ttl < lifetime - 60:
        fail(
            "short-redis-ttl",
            f"the session cookie lives {lifetime:.0f} s but the store keeps "
            f"the session {ttl} s: users are logged out long before the cookie expires",
            site.trace_text(),
        )
