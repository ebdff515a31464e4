"""Sharing: a session made on one target works on every other, through the shared store."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from functools import partial
from itertools import permutations
from typing import Any

import pytest

from harness.findings import fail
from harness.topology.model import Target
from harness.traffic.client import Route, VirtualUser
from harness.traffic.contract import SessionDriver, StepFailed
from harness.traffic.session_location import Location, locate
from harness.traffic.site import Site, read_value, rotation, run_together

CONCURRENT_TRIES = 5


@pytest.fixture(scope="module")
def routes(site: Site, healthy_targets: list[Target]) -> dict[str, Route]:
    healthy = [t.id for t in healthy_targets]
    if len(healthy) < 2:
        pytest.skip(f"sharing needs two healthy targets; healthy: {healthy}")
    return {t: site.route(t) for t in healthy}


@pytest.fixture(scope="module")
def stored(
    site: Site, routes: dict[str, Route], session_driver: SessionDriver, session_store: Any
) -> dict[str, Location | None]:
    """Per target: where a session made there lives: the shared store, the cookie itself, or
    neither (None: cannot tell)."""
    found: dict[str, Location | None] = {}
    for target, route in routes.items():
        user = site.user(f"store-probe-{target}")
        marker = f"where-{target}-{secrets.token_hex(4)}"
        try:
            session_driver.login(user, 9, route)
            session_driver.write(user, "where", marker, route)
        except StepFailed:
            found[target] = None
            continue
        cookie = user.cookie(session_driver.cookie_name)
        found[target] = locate(_in_store(site, session_store, cookie), cookie, marker)
    return found


def _store_key(site: Site, cookie: str | None) -> str | None:
    if cookie is None:
        return None
    match = re.search(site.env.redis["session_id"], cookie)
    return str(site.env.redis["key"]).format(session_id=match.group(1) if match else cookie)


def _in_store(site: Site, store: Any, cookie: str | None) -> bool | None:
    key = _store_key(site, cookie)
    return None if store is None or key is None else bool(store.exists(key))


def _diagnose(site: Site, failures: list[str], stored: dict[str, Location | None]) -> None:
    """Name the cause from where the sessions live: neither the store nor the cookie (process
    memory), all in signed cookies, or all in the shared store (a secret mismatch)."""
    __tracebackhide__ = True
    seen = "; ".join(failures)
    neither = [t for t, where in stored.items() if where == "neither"]
    if neither:
        fail(
            "local-sessions",
            f"sessions made on {', '.join(neither)} are neither in the shared store nor "
            f"carried in the cookie: {', '.join(neither)} keeps sessions in process memory. {seen}",
            site.trace_text(),
        )
    if stored and all(where == "cookie" for where in stored.values()):
        fail(
            "cookie-secret-mismatch",
            "sessions live in signed cookies (the cookie carries the data; nothing is in the "
            "shared store) and another target rejects them: the instances sign session cookies "
            f"with different secret keys. {seen}",
            site.trace_text(),
        )
    if stored and all(where == "store" for where in stored.values()):
        fail(
            "secret-mismatch",
            "sessions that are in the shared store are rejected by another target: the "
            f"instances sign session cookies with different secret keys. {seen}",
            site.trace_text(),
        )
    fail("session-not-shared", seen, site.trace_text())


def _across(
    site: Site,
    routes: dict[str, Route],
    driver: SessionDriver,
    label: str,
    n: int,
    then: Callable[[VirtualUser, str, Route], None] | None = None,
) -> Iterator[tuple[str, VirtualUser, str, Route]]:
    """A user logged in on each target (and `then` done there), with every other target:
    (made_on, user, read_on, route to read_on)."""
    for made_on, route in routes.items():
        user = site.user(f"{label}-{made_on}")
        driver.login(user, n, route)
        if then is not None:
            then(user, made_on, route)
        for read_on, other in routes.items():
            if read_on != made_on:
                yield made_on, user, read_on, other


@pytest.mark.parity(
    title="A session made on one target works on every other",
    why="When the balancer moves a user, a session that does not follow is a logout.",
)
def test_session_made_on_one_target_works_on_every_other(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    stored: dict[str, Location | None],
) -> None:
    def write(user: VirtualUser, made_on: str, route: Route) -> None:
        session_driver.write(user, "colour", f"from-{made_on}", route)

    failures = []
    for made_on, user, read_on, other in _across(site, routes, session_driver, "made-on", 1, write):
        value, status = read_value(session_driver, user, "colour", other)
        if value != f"from-{made_on}":
            seen = f"HTTP {status}" if status else f"value {value!r}"
            failures.append(f"made on {made_on}, read on {read_on}: {seen}")
    if failures:
        _diagnose(site, failures, stored)


@pytest.mark.parity(
    title="A session cookie signed on one target is accepted by all",
    why="A secret key per instance breaks logins on every instance but one.",
)
def test_cookie_signed_on_one_target_is_accepted_by_every_other(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    stored: dict[str, Location | None],
) -> None:
    failures = []
    for made_on, user, read_on, other in _across(site, routes, session_driver, "signed-on", 2):
        _, status = read_value(session_driver, user, "anything", other)
        if status is not None:
            failures.append(f"signed on {made_on}, rejected by {read_on} with HTTP {status}")
    if failures:
        _diagnose(site, failures, stored)


@pytest.mark.parity(
    title="A write on one target is seen on another at once",
    why="Per-instance caches show stale carts and undo settings for seconds.",
)
def test_write_on_one_target_is_seen_on_the_other_at_once(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    stored: dict[str, Location | None],
) -> None:
    """For every ordered pair: read on A, write on B, read on A at once. A value A returned
    before, seen again after the write, is a per-instance cache in front of the store."""
    for a, b in permutations(routes, 2):
        user = site.user(f"write-{b}-read-{a}")
        session_driver.login(user, 3, routes[a])
        session_driver.write(user, "step", "before", routes[a])
        before, _ = read_value(session_driver, user, "step", routes[a])  # A may memoise this
        status: int | None = None
        try:
            session_driver.write(user, "step", f"written-on-{b}", routes[b])
        except StepFailed as failed:
            status = failed.status
        value, read_status = read_value(session_driver, user, "step", routes[a])
        status = status or read_status
        if value == f"written-on-{b}":
            continue
        seen = f"HTTP {status}" if status else repr(value)
        if status is None and value is not None and value == before:
            fail(
                "stale-cache",
                f"{a} read step={before!r}, {b} wrote {f'written-on-{b}'!r}, and {a} still "
                f"answered {value!r} at once: {a} serves session reads from a cache of its own, "
                "not from the shared store",
                site.trace_text(),
            )
        _diagnose(site, [f"written on {b}, read on {a} at once: {seen}"], stored)


@pytest.mark.parity(
    title="Each target reads its own writes back at once",
    why="A target that buffers writes answers old data to the user who just saved.",
)
def test_each_target_reads_its_own_writes(
    site: Site, routes: dict[str, Route], session_driver: SessionDriver
) -> None:
    """On one instance: read, write, read. A target that answers its old value keeps writes
    somewhere it does not read from (buffered writes)."""
    for target, route in routes.items():
        user = site.user(f"own-writes-{target}")
        session_driver.login(user, 6, route)
        for value in ("first", "second"):
            session_driver.write(user, "own", value, route)
            got, status = read_value(session_driver, user, "own", route)
            if got != value:
                fail(
                    "stale-cache",
                    f"{target} was written own={value!r} and read back "
                    f"{f'HTTP {status}' if status else repr(got)} at once",
                    site.trace_text(),
                )


@pytest.mark.parity(
    title="Logging out on one target ends the session everywhere",
    why="A logout that another instance still honours leaves sessions open.",
)
def test_logout_on_one_target_ends_the_session_on_every_other(
    site: Site, routes: dict[str, Route], session_driver: SessionDriver
) -> None:
    for a, b in permutations(routes, 2):
        user = site.user(f"logout-{a}")
        session_driver.login(user, 4, routes[a])
        session_driver.write(user, "secret", "kept", routes[a])
        cookie = user.cookie(session_driver.cookie_name)
        session_driver.logout(user, routes[a])
        if cookie is not None:  # replay the old cookie, as a second tab would
            user.adopt({session_driver.cookie_name: cookie})
        value, status = read_value(session_driver, user, "secret", routes[b])
        if status is None and value == "kept":
            fail(
                "session-not-shared",
                f"after logout on {a}, {b} still serves the session",
                site.trace_text(),
            )


@pytest.mark.parity(
    title="Concurrent writes on two targets both survive",
    why="Whole-session write-back loses one of two simultaneous changes.",
)
def test_concurrent_writes_on_two_targets_both_survive(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    stored: dict[str, Location | None],
) -> None:
    """Two keys written at once on the pairs of the rotation in turn (every target on both
    sides): CONCURRENT_TRIES tries in all, and at least one per pair; both keys must survive."""
    pairs = rotation(list(routes))
    for attempt in range(max(CONCURRENT_TRIES, len(pairs))):
        pair = pairs[attempt % len(pairs)]
        _write_two_at_once(site, routes, session_driver, stored, pair, attempt)


def _write_two_at_once(
    site: Site,
    routes: dict[str, Route],
    driver: SessionDriver,
    stored: dict[str, Location | None],
    pair: tuple[str, str],
    attempt: int,
) -> None:
    __tracebackhide__ = True
    a, b = pair
    user = site.user(f"concurrent-{a}-{b}-{attempt}")
    driver.login(user, 5, routes[a])
    errors = run_together(
        [
            partial(driver.write, user, "left", f"l{attempt}", routes[a]),
            partial(driver.write, user, "right", f"r{attempt}", routes[b]),
        ]
    )
    if any(errors):
        failed = "; ".join(str(e) for e in errors if e)
        _diagnose(site, [f"concurrent writes on {a} and {b} failed: {failed}"], stored)
    want = (f"l{attempt}", f"r{attempt}")
    seen = {t: _left_and_right(driver, user, routes[t]) for t in pair}
    if all(got == want for got in seen.values()):
        return
    if want in seen.values():  # in the store: the other target answers from a view of its own
        stale = next(t for t, got in seen.items() if got != want)
        fail(
            "stale-cache",
            f"two keys written at once on {a} and {b}: {stale} read (left, right)="
            f"{seen[stale]!r} while the other read both (try {attempt + 1}): {stale} serves "
            "session reads from a cache of its own, not from the shared store",
            site.trace_text(),
        )
    lost = [k for k, v in zip(("left", "right"), seen[a], strict=True) if v is None]
    fail(
        "lost-update",
        f"two keys written at once on {a} and {b}: {', '.join(lost)} "
        f"lost (try {attempt + 1}): each instance writes the whole session back",
        site.trace_text(),
    )


def _left_and_right(
    driver: SessionDriver, user: VirtualUser, route: Route
) -> tuple[str | None, str | None]:
    return read_value(driver, user, "left", route)[0], read_value(driver, user, "right", route)[0]


@pytest.mark.parity(
    title="Sessions are in the shared store with an expiry",
    why="A session without a TTL never ends; one outside the store is not shared.",
)
def test_session_is_in_the_store_with_a_ttl(
    site: Site, routes: dict[str, Route], session_driver: SessionDriver, redis: Any
) -> None:
    missing = []
    for target, route in routes.items():
        user = site.user(f"store-{target}")
        session_driver.login(user, 6, route)
        key = _store_key(site, user.cookie(session_driver.cookie_name))
        if key is None:
            pytest.skip(f"login set no {session_driver.cookie_name} cookie")
        ttl = redis.ttl(key)
        if ttl == -2:
            missing.append(target)
        elif ttl == -1:
            fail(
                "short-redis-ttl",
                f"the session made on {target} has no TTL in the store: it never expires",
                site.trace_text(),
            )
    if missing:
        fail(
            "local-sessions",
            f"sessions made on {', '.join(missing)} are not in the shared "
            f"store ({site.env.redis['key']}): kept in process memory",
            site.trace_text(),
        )
