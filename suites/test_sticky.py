"""Stickiness: the sticky cookie and its lifetime, pinned clients, garbage cookies, lapse, TTLs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.disruption.guard import Guard
from harness.errors import NotApplicable
from harness.findings import fail
from harness.profile.environment import Environment
from harness.store.keys import Lookup, check_layout, find_key
from harness.topology.model import Target, Topology
from harness.traffic.balancers import BALANCERS_WITH_DURATION, CookieRule, cookie_rule
from harness.traffic.client import REMOVED, Route, VirtualUser
from harness.traffic.contract import SessionDriver
from harness.traffic.cookies import SetCookie, response_date, set_cookies
from harness.traffic.lifetimes import Seen, cookie_outlives_store, short_lives, ttl_of
from harness.traffic.site import ONE_TARGET_MISS, Site, read_value, served_by

PINNED_REQUESTS = 30
LAPSE_WAIT_LIMIT = 10  # seconds: longer durations are not waited for
EXPIRES_TOLERANCE = timedelta(seconds=60)
TTL_UNTOUCHED = 2.0  # seconds a TTL moves between two reads of it when no one resets it


@pytest.fixture(scope="module", autouse=True)
def _needs_stickiness(environment: Environment) -> None:
    if environment.expect.stickiness.enabled is False:
        pytest.skip("the profile expects stickiness to be disabled")


@pytest.fixture(scope="module")
def rule(environment: Environment) -> CookieRule:
    """The balancer's sticky cookie rule (`expect.balancer`, `expect.cookie`)."""
    return cookie_rule(environment.expect)


def _cookie_applies(rule: CookieRule) -> None:
    why = rule.not_applicable()
    if why:
        pytest.skip(f"not applicable: {why}")


def _cookie_or_fail(
    site: Site, rule: CookieRule, user: VirtualUser, response: Any
) -> dict[str, SetCookie]:
    cookies = set_cookies(response)
    if rule.name not in cookies:
        fail(
            "no-stickiness",
            f"no {rule.name} cookie on a response from {user.last_target} "
            f"({rule.balancer}: {rule.note}): the load balancer does not make clients sticky",
            site.trace_text(),
        )
    return cookies


def _lifetime_problems(rule: CookieRule, main: SetCookie, response: Any) -> list[str]:
    """How the cookie's lifetime differs from the rule (Expires, Max-Age or a session cookie;
    `any`: not assumed)."""
    if rule.lifetime == "any":
        return []
    if rule.lifetime == "session":
        has = [a for a in ("expires", "max-age") if main.attributes.get(a)]
        return [f"{main.name} has {', '.join(has)}, expected a session cookie"] if has else []
    if rule.lifetime == "max_age" and rule.max_age_seconds is not None:
        got = main.attributes.get("max-age")
        if got is None or abs(float(got) - rule.max_age_seconds) > 1:
            return [f"{main.name} Max-Age={got}, expected {rule.max_age_seconds:g}"]
        return []
    date = response_date(response)
    if rule.expires_days is None or not (date and main.expires):
        return []
    want = date + timedelta(days=rule.expires_days)
    if abs(main.expires - want) > EXPIRES_TOLERANCE:
        return [
            f"{main.name} Expires={main.attributes.get('expires')}, expected about "
            f"Date + {rule.expires_days:g} days"
        ]
    return []


def _twin_problems(rule: CookieRule, cookies: dict[str, SetCookie], main: SetCookie) -> list[str]:
    if not rule.cors_name:
        return []
    twin = cookies.get(rule.cors_name)
    if twin is None:
        return [f"no {rule.cors_name} twin"]
    problems = []
    if twin.value != main.value:
        problems.append(f"{twin.name} carries another value than {main.name}")
    if twin.attributes.get("samesite") != "None" or not twin.has("secure"):
        problems.append(f"{twin.redacted()} lacks SameSite=None; Secure")
    return problems


@pytest.mark.parity(
    title="The sticky cookie is set as the balancer documents",
    why="Without the balancer's cookie, users are not kept on one target.",
)
def test_sticky_cookie_has_the_documented_attributes(site: Site, rule: CookieRule) -> None:
    _cookie_applies(rule)
    user = site.user("attributes")
    if rule.issued == "on_app_cookie":  # the ALB's cookie comes with the app's: log in first
        route = site.pin(site.topology.healthy_targets()[0].id)
        user.adopt(route.cookies)
    response = user.request("GET", "/")
    cookies = _cookie_or_fail(site, rule, user, response)
    if cookies[str(rule.name)].value == REMOVED:
        fail(
            "no-stickiness",
            f"{rule.name}={REMOVED} on a response to a client holding the app's cookie and "
            f"{rule.name}: the load balancer dropped its stickiness",
            site.trace_text(),
        )
    main = cookies[str(rule.name)]
    problems = []
    if rule.path and main.attributes.get("path") != rule.path:
        problems.append(f"{main.name} Path={main.attributes.get('path')}, expected {rule.path}")
    for flag in ("secure", "httponly"):
        wanted = getattr(rule, flag)
        if wanted is not None and main.has(flag) != wanted:
            problems.append(f"{main.name} {'lacks' if wanted else 'has'} {flag}")
    problems += _lifetime_problems(rule, main, response) + _twin_problems(rule, cookies, main)
    if problems:
        fail("no-stickiness", "; ".join(problems), site.trace_text())


@pytest.mark.parity(
    title="The sticky cookie is renewed on every response",
    why="On an ALB an active user's stickiness must not lapse mid-flow.",
)
def test_sticky_cookie_is_reissued_on_every_response(site: Site, rule: CookieRule) -> None:
    _cookie_applies(rule)
    if rule.issued != "every_response":
        pytest.skip(
            f"not applicable: {rule.balancer} does not re-issue {rule.name} on every response "
            f"({rule.note}); re-issue on every response is the ALB's duration-based rule"
        )
    user = site.user("reissue")
    for path in ("/", "/", "/"):
        _cookie_or_fail(site, rule, user, user.request("GET", path))


@pytest.mark.parity(
    title="Application-based stickiness follows the app's cookie",
    why="With app_cookie stickiness a client is kept only once the app set its cookie.",
)
def test_app_cookie_stickiness_follows_the_apps_cookie(
    site: Site, rule: CookieRule, session_driver: SessionDriver
) -> None:
    if rule.issued != "on_app_cookie":
        pytest.skip("not applicable: the profile does not expect app_cookie stickiness")
    fresh = site.user("no-app-cookie")
    before = set_cookies(fresh.request("GET", "/"))
    shards = [f"AWSALBAPP-{i}" for i in range(4)]
    held = [n for n in shards if n in before and before[n].value != REMOVED]
    if held or not all(n in before for n in shards):
        fail(
            "no-stickiness",
            f"a response before the app set its cookie must set {', '.join(shards)} to "
            f"{REMOVED}; it set {', '.join(c.redacted() for c in before.values()) or 'none'}",
            site.trace_text(),
        )
    user = site.user("app-cookie")
    session_driver.login(user, 5)
    home = user.last_target
    value = user.cookie(str(rule.name))
    if value in (None, REMOVED):
        fail(
            "no-stickiness",
            f"after the app set its cookie (login on {home}), {rule.name} is {value!r}: the "
            "load balancer issued no stickiness",
            site.trace_text(),
        )
    seen = [served_by(user, None) for _ in range(PINNED_REQUESTS // 3)]
    moved = [t for t in seen if t != home]
    if moved:
        fail(
            "no-stickiness",
            f"a client with the app's cookie and {rule.name} left {home} in {len(moved)} of "
            f"{len(seen)} requests",
            site.trace_text(),
        )


@pytest.mark.disruptive
@pytest.mark.parity(
    title="A client moved off a failed target stays on its new one",
    why="After a failure the ALB keeps a client where it moved, even once the old target is back.",
)
def test_app_cookie_client_stays_on_its_new_target_after_a_failover(
    site: Site, rule: CookieRule, healthy_targets: list[Target], guard: Guard
) -> None:
    if rule.issued != "on_app_cookie":
        pytest.skip("not applicable: the profile does not expect app_cookie stickiness")
    if len(healthy_targets) < 2:
        pytest.skip("a failover needs two healthy targets")
    old = healthy_targets[0].id
    user = site.user("moved")
    user.adopt(site.pin(old).cookies)
    with guard.disrupt("deregister", old):
        new = served_by(user, None)
        issued = user.cookie(str(rule.name))
    if new in (None, old) or issued in (None, REMOVED):
        fail(
            "no-stickiness",
            f"when {old} was deregistered the client went to {new} with {rule.name}={issued!r}: "
            "it must move to a healthy target and be made sticky there",
            site.trace_text(),
        )
    back = [served_by(user, None) for _ in range(6)]
    if any(t != new for t in back):
        fail(
            "no-stickiness",
            f"after {old} was registered again, the client moved to {new} went to {back}: it "
            f"must stay on {new}",
            site.trace_text(),
        )


@pytest.mark.parity(
    title="A sticky client stays on its target",
    why="Clients that wander between targets hit every cache and consistency gap.",
)
def test_pinned_clients_stay_on_their_target(
    site: Site, rule: CookieRule, healthy_targets: list[Target], evidence: dict[str, Any]
) -> None:
    _cookie_applies(rule)
    unreached, transient = [], []
    for target in healthy_targets:
        user = site.user(f"pinned-{target.id}")
        try:
            route = site.pin(target.id)
        except NotApplicable as why:  # no fresh client goes there: say so, check the others
            unreached.append(str(why))
            continue
        moved = _moves(user, route, target.id)
        if moved:  # a second draw: one request of 30 once moved on a healthy stack under load
            again = _moves(site.user(f"pinned-{target.id}-again"), route, target.id)
            if not again:
                transient.append(f"{target.id}: {len(moved)} of {PINNED_REQUESTS} moved, then none")
            else:
                fail(
                    "no-stickiness",
                    f"a client pinned to {target.id} was served by another target in "
                    f"{len(moved)} of {PINNED_REQUESTS} requests (first: request {moved[0][0]} "
                    f"on {moved[0][1]}), and again in {len(again)} of {PINNED_REQUESTS}",
                    site.trace_text(),
                )
    evidence["not_reached"] = unreached
    evidence["moved_once"] = transient
    if len(unreached) == len(healthy_targets):
        raise NotApplicable("; ".join(unreached))


def _moves(user: VirtualUser, route: Route, target: str) -> list[tuple[int, str | None]]:
    """The requests of PINNED_REQUESTS on `route` that another target answered."""
    seen = [served_by(user, route) for _ in range(PINNED_REQUESTS)]
    return [(i, t) for i, t in enumerate(seen) if t != target]


@pytest.mark.parity(
    title="A broken sticky cookie is balanced anew and replaced",
    why="A stale or tampered cookie must not pin users to nowhere or cause errors.",
)
def test_garbage_cookie_is_balanced_anew_and_reissued(
    site: Site, rule: CookieRule, healthy_targets: list[Target]
) -> None:
    _cookie_applies(rule)
    if not rule.replaces_garbage:
        raise NotApplicable(
            f"{rule.balancer} hashes the cookie value a client sends to a target and never "
            f"replaces it ({rule.note}): a garbage value is as good as any"
        )
    name = str(rule.name)
    seen: set[str | None] = set()
    tries = site.spread_tries()
    for _ in range(max(tries, 1)):
        if len(seen) >= 2:
            break
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
    if tries and len(seen) < 2:
        fail(
            "no-stickiness",
            f"all {tries} clients with a garbage cookie went to {', '.join(map(str, seen))}: "
            f"it is not balanced anew (a healthy balancer would do that with probability at "
            f"most {ONE_TARGET_MISS:g})",
            site.trace_text(),
        )


@pytest.mark.parity(
    title="Stickiness lapses after the idle duration",
    why="A duration shorter than expected moves users mid-flow.",
)
def test_stickiness_lapses_after_the_idle_duration(
    site: Site, topology: Topology, rule: CookieRule, healthy_targets: list[Target]
) -> None:
    _cookie_applies(rule)
    if rule.balancer not in BALANCERS_WITH_DURATION:
        pytest.skip(
            f"not applicable: {rule.balancer}'s stickiness has no idle duration to lapse "
            "(a duration-based lapse is the ALB's rule)"
        )
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


def _lifetime(cookie: SetCookie, date: datetime | None) -> float | None:
    """Seconds the cookie lives: its Max-Age, or its Expires less the response's Date."""
    if cookie.attributes.get("max-age"):
        return float(cookie.attributes["max-age"])
    return (cookie.expires - date).total_seconds() if cookie.expires and date else None


def _set_last(user: VirtualUser, name: str) -> SetCookie | None:
    """`name`'s Set-Cookie on the user's latest response that carried one, read back from the
    trace (attributes kept, value redacted): right after a login, the login's response."""
    for record in reversed(user.trace):
        if record.user != user.name:
            continue
        for cookie in map(SetCookie.parse, record.set_cookies):
            if cookie.name == name:
                return cookie
    return None


@pytest.mark.parity(
    title="Sessions live as long on every target as promised",
    why="A target whose store TTL or session age is shorter logs out every user it serves.",
)
def test_session_lifetimes_are_consistent(
    site: Site, session_driver: SessionDriver, redis: Any, healthy_targets: list[Target]
) -> None:
    """A session made on each healthy target, then read on every other: the cookie lifetime
    each response sets and the store TTL it leaves, against each other, across targets and
    against `session.lifetime_seconds`."""
    made = {t.id: _session_on(site, session_driver, redis, t.id) for t in healthy_targets}
    check_layout(site.env.redis, [m.lookup for m in made.values()])
    seen = [m.seen for m in made.values()]
    missing = [f"{t} (TTL {int(m.seen.ttl)})" for t, m in made.items() if m.seen.ttl == -2]
    if missing:
        fail(
            "session-not-shared",
            f"the sessions made on {', '.join(missing)} are not in Redis under "
            f"{site.env.redis.key!r} nor under any key holding their id, while the others are",
            site.trace_text(),
        )
    for origin, m in made.items():
        for other in (t.id for t in healthy_targets if t.id != origin):
            read = _read_on(site, session_driver, redis, m, other)
            if read is not None:
                seen.append(read)
    short = cookie_outlives_store(seen)
    if short:
        fail(
            "short-redis-ttl",
            f"{'; '.join(short)}: users are logged out long before the cookie expires",
            site.trace_text(),
        )
    promised = site.env.session.lifetime_seconds if site.env.session else None
    unequal = short_lives(seen, int(promised) if promised is not None else None)
    if unequal:
        fail("short-session-life", unequal, site.trace_text())


@dataclass(frozen=True)
class _Made:
    user: VirtualUser
    lookup: Lookup
    seen: Seen


def _session_on(site: Site, driver: SessionDriver, redis: Any, target: str) -> _Made:
    """A session made on `target`: the cookie's lifetime from the response that set it (the
    login's; else a later response that re-sends it) and the store TTL of its key."""
    user = site.user(f"lifetime-{target}")
    route = site.route(target)
    driver.login(user, 1, route)
    at_login = _set_last(user, driver.cookie_name)
    later = user.request("GET", "/", route=route)  # its Date dates the login's Expires too
    value = user.cookie(driver.cookie_name)
    if value is None:
        pytest.skip(f"login on {target} set no {driver.cookie_name} cookie")
    date = response_date(later) or datetime.now(UTC)
    lifetimes = (
        _lifetime(c, date) for c in (at_login, set_cookies(later).get(driver.cookie_name)) if c
    )
    lookup = find_key(site.env.redis, redis, value, driver, user)
    cookie = next((s for s in lifetimes if s is not None), None)
    ttl = ttl_of(int(redis.ttl(lookup.key))) if lookup.present else -2.0
    return _Made(user, lookup, Seen(target, target, cookie, ttl))


def _read_on(site: Site, driver: SessionDriver, redis: Any, made: _Made, other: str) -> Seen | None:
    """The session `made` read on `other`: the cookie lifetime that response set and the store
    TTL after it; None when the read touched neither (the TTL is still the maker's)."""
    key = made.lookup.key
    route = site.route(other)  # pinning may take seconds: the TTL is read right before
    before = ttl_of(int(redis.ttl(key))) if made.lookup.present else -2.0
    read_value(driver, made.user, "lifetime-probe", route)
    last = next((r for r in reversed(made.user.trace) if r.user == made.user.name), None)
    cookie = None
    if last is not None:
        sent = {c.name: c for c in map(SetCookie.parse, last.set_cookies)}
        if driver.cookie_name in sent:
            cookie = _lifetime(sent[driver.cookie_name], datetime.now(UTC))
    after = ttl_of(int(redis.ttl(key))) if made.lookup.present else -2.0
    if cookie is None and (after == before or abs(after - before) <= TTL_UNTOUCHED):
        return None
    answered = last.target if last is not None and last.target else other
    return Seen(answered, made.seen.target, cookie, after)
