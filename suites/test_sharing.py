"""Sharing: a session made on one target works on every other, through the shared store."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from functools import partial
from itertools import permutations
from typing import Any

import pytest

from harness.errors import NotApplicable
from harness.findings import fail
from harness.store.keys import Lookup, check_layout, elsewhere, find_key
from harness.topology.model import Target
from harness.traffic.client import Route, VirtualUser
from harness.traffic.contract import SessionDriver, StepFailed
from harness.traffic.login_pool import LoginPool
from harness.traffic.session_location import locate
from harness.traffic.sharing_cause import Placement, cause, signed_id
from harness.traffic.site import Site, read_reached, read_value, rotation, run_together

CONCURRENT_TRIES = 5


@pytest.fixture(scope="module")
def routes(site: Site, healthy_targets: list[Target]) -> dict[str, Route]:
    healthy = [t.id for t in healthy_targets]
    if len(healthy) < 2:
        pytest.skip(f"sharing needs two healthy targets; healthy: {healthy}")
    return {t: site.route(t) for t in healthy}


@pytest.fixture(scope="module")
def pool(site: Site, routes: dict[str, Route], session_driver: SessionDriver) -> LoginPool:
    """One session made on each target, shared by the checks that only need "a session made
    there" (a check that ends its session logs in its own)."""
    return LoginPool(site, session_driver, routes, "sharing")


@pytest.fixture(autouse=True)
def _fresh_pool_after_a_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A check that failed leaves its sessions in a state of its own: the next check logs in
    anew, so one fault is not read again by every later check."""
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed != failed and "pool" in request.fixturenames:
        request.getfixturevalue("pool").reset()


@pytest.fixture(scope="module")
def stored(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    session_store: Any,
    pool: LoginPool,
) -> Placement:
    """Per target: where a session made there lives: the shared store (under the others' key
    or another), the cookie itself, or neither (None: cannot tell, as when no session made in
    the run is found in the store: its key layout is then unknown, not evidence)."""
    probes: dict[str, tuple[Lookup | None, str | None, str]] = {}
    for target, route in routes.items():
        marker = f"where-{target}-{secrets.token_hex(4)}"
        try:
            user = pool.take(target)
            session_driver.write(user, "where", marker, route)
        except StepFailed:
            continue
        cookie = user.cookie(session_driver.cookie_name)
        lookup = None
        if session_store is not None and cookie is not None:
            lookup = find_key(site.env.redis, session_store, cookie, session_driver, user)
        probes[target] = (lookup, cookie, marker)
    lookups = {t: x for t, (x, _, _) in probes.items() if x is not None}
    known = any(x.present for x in lookups.values())
    placed = Placement(where=dict.fromkeys(routes))
    placed.other_keys = {t: x.printable for t, x in elsewhere(lookups).items()}
    for target, (lookup, cookie, marker) in probes.items():
        in_store = lookup.present if lookup is not None and known else None
        placed.where[target] = locate(in_store, cookie, marker)
        placed.signed[target] = signed_id(cookie)
    return placed


def _diagnose(
    site: Site, failures: list[str], stored: Placement, statuses: list[int | None] | None = None
) -> None:
    """Name the cause the evidence shows (harness.traffic.sharing_cause), or say what was seen."""
    __tracebackhide__ = True
    fail(*cause(stored, "; ".join(failures), statuses or []), site.trace_text())


def _across(
    pool: LoginPool,
    routes: dict[str, Route],
    then: Callable[[VirtualUser, str, Route], None] | None = None,
) -> Iterator[tuple[str, VirtualUser, str, Route]]:
    """A session made on each target (and `then` done there), with every other target:
    (made_on, user, read_on, route to read_on)."""
    for made_on, route in routes.items():
        user = pool.take(made_on)
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
    stored: Placement,
    pool: LoginPool,
) -> None:
    run = secrets.token_hex(3)  # the session may be the pool's: a value no earlier check wrote

    def write(user: VirtualUser, made_on: str, route: Route) -> None:
        session_driver.write(user, "colour", f"from-{made_on}-{run}", route)

    failures, statuses = [], []
    for made_on, user, read_on, other in _across(pool, routes, write):
        value, status = read_reached(session_driver, user, "colour", other, site)
        if value != f"from-{made_on}-{run}":
            seen = f"HTTP {status}" if status else f"value {value!r}"
            failures.append(f"made on {made_on}, read on {read_on}: {seen}")
            statuses.append(status)
    if failures:
        _diagnose(site, failures, stored, statuses)


@pytest.mark.parity(
    title="A session cookie signed on one target is accepted by all",
    why="A secret key per instance breaks logins on every instance but one.",
)
def test_cookie_signed_on_one_target_is_accepted_by_every_other(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    stored: Placement,
    pool: LoginPool,
) -> None:
    failures, statuses = [], []
    for made_on, user, read_on, other in _across(pool, routes):
        _, status = read_reached(session_driver, user, "anything", other, site)
        if status is not None:
            failures.append(f"signed on {made_on}, rejected by {read_on} with HTTP {status}")
            statuses.append(status)
    if failures:
        _diagnose(site, failures, stored, statuses)


@pytest.mark.parity(
    title="A write on one target is seen on another at once",
    why="Per-instance caches show stale carts and undo settings for seconds.",
)
def test_write_on_one_target_is_seen_on_the_other_at_once(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    stored: Placement,
    pool: LoginPool,
) -> None:
    """For every ordered pair: read on A, write on B, read on A at once. A value A returned
    before, seen again after the write, is a per-instance cache in front of the store."""
    for a, b in permutations(routes, 2):
        user = pool.take(a)
        session_driver.write(user, "step", f"before-{b}", routes[a])
        before, _ = read_value(session_driver, user, "step", routes[a])  # A may memoise this
        status: int | None = None
        try:
            session_driver.write(user, "step", f"written-on-{b}", routes[b])
        except StepFailed as failed:
            status = failed.status
        value, read_status = read_reached(session_driver, user, "step", routes[a], site)
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
        _diagnose(site, [f"written on {b}, read on {a} at once: {seen}"], stored, [status])


@pytest.mark.parity(
    title="Each target reads its own writes back at once",
    why="A target that buffers writes answers old data to the user who just saved.",
)
def test_each_target_reads_its_own_writes(
    site: Site, routes: dict[str, Route], session_driver: SessionDriver, pool: LoginPool
) -> None:
    """On one instance: read, write, read. A target that answers its old value keeps writes
    somewhere it does not read from (buffered writes)."""
    run = secrets.token_hex(3)
    for target, route in routes.items():
        user = pool.take(target)
        for value in (f"first-{run}", f"second-{run}"):
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
    site: Site, routes: dict[str, Route], session_driver: SessionDriver, stored: Placement
) -> None:
    carried: list[str] = []
    for a in routes:  # one session per target, logged out there, its cookie replayed on others
        user = site.user(f"logout-{a}")
        session_driver.login(user, 4, routes[a])
        session_driver.write(user, "secret", "kept", routes[a])
        cookie = user.cookie(session_driver.cookie_name)
        session_driver.logout(user, routes[a])
        for b in [t for t in routes if t != a]:
            carried += _after_logout(site, session_driver, stored, user, cookie, routes, (a, b))
    if carried and len(carried) == len(list(permutations(routes, 2))):
        raise NotApplicable(
            "after a logout, the target that logged out still accepts the old session cookie, "
            "and the session is carried by the cookie itself (a signed cookie or a token): a "
            "logout cannot end it on any target; revoking such sessions is not a matter of "
            "sharing them"
        )


def _after_logout(
    site: Site,
    session_driver: SessionDriver,
    stored: Placement,
    user: VirtualUser,
    cookie: str | None,
    routes: dict[str, Route],
    pair: tuple[str, str],
) -> list[str]:
    """The old cookie of a session logged out on `a` replayed on `b` (as a second tab would):
    ended there (nothing), carried by the cookie (["a->b"]), or a finding."""
    __tracebackhide__ = True
    a, b = pair
    if cookie is not None:
        user.adopt({session_driver.cookie_name: cookie})
    value, status = read_reached(session_driver, user, "secret", routes[b], site)
    if status is not None or value != "kept":
        return []
    again, _ = read_reached(session_driver, user, "secret", routes[a], site)
    if again == "kept" and stored.where.get(a) == "cookie":
        return [f"{a}->{b}"]  # the cookie carries it: no target can end it
    if again == "kept":
        fail(
            "logout-kept",
            f"after logout on {a}, {a} itself and {b} still serve the session with the old "
            "cookie, while sessions live in the shared store: the logout does not end them",
            site.trace_text(),
        )
    fail(
        "session-not-shared",
        f"after logout on {a}, {b} still serves the session ({a} no longer does)",
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
    stored: Placement,
    pool: LoginPool,
) -> None:
    """Two keys written at once on the pairs of the rotation in turn (every target on both
    sides): CONCURRENT_TRIES tries in all, and at least one per pair; both keys must survive.
    Each try writes keys of its own (left1, right1, ...) in the session made on its first
    target, so a lost write reads as nothing."""
    pairs = rotation(list(routes))
    for attempt in range(max(CONCURRENT_TRIES, len(pairs))):
        pair = pairs[attempt % len(pairs)]
        _write_two_at_once(site, routes, session_driver, stored, pool, pair, attempt)


def _write_two_at_once(
    site: Site,
    routes: dict[str, Route],
    driver: SessionDriver,
    stored: Placement,
    pool: LoginPool,
    pair: tuple[str, str],
    attempt: int,
) -> None:
    __tracebackhide__ = True
    a, b = pair
    user = pool.take(a)
    keys = (f"left{attempt + 1}", f"right{attempt + 1}")
    errors = run_together(
        [
            partial(driver.write, user, keys[0], f"l{attempt}", routes[a]),
            partial(driver.write, user, keys[1], f"r{attempt}", routes[b]),
        ]
    )
    if any(errors):
        failed = "; ".join(str(e) for e in errors if e)
        _diagnose(site, [f"concurrent writes on {a} and {b} failed: {failed}"], stored)
    want = (f"l{attempt}", f"r{attempt}")
    seen = {t: _both(driver, user, keys, routes[t]) for t in pair}
    if all(got == want for got in seen.values()):
        return
    if want in seen.values():  # in the store: the other target answers from a view of its own
        stale = next(t for t, got in seen.items() if got != want)
        fail(
            "stale-cache",
            f"two keys written at once on {a} and {b}: {stale} read {keys}="
            f"{seen[stale]!r} while the other read both (try {attempt + 1}): {stale} serves "
            "session reads from a cache of its own, not from the shared store",
            site.trace_text(),
        )
    lost = [k for k, v in zip(keys, seen[a], strict=True) if v is None]
    fail(
        "lost-update",
        f"two keys written at once on {a} and {b}: {', '.join(lost)} "
        f"lost (try {attempt + 1}): each instance writes the whole session back",
        site.trace_text(),
    )


def _both(
    driver: SessionDriver, user: VirtualUser, keys: tuple[str, str], route: Route
) -> tuple[str | None, str | None]:
    return read_value(driver, user, keys[0], route)[0], read_value(driver, user, keys[1], route)[0]


@pytest.mark.parity(
    title="Sessions are in the shared store with an expiry",
    why="A session without a TTL never ends; one outside the store is not shared.",
)
def test_session_is_in_the_store_with_a_ttl(
    site: Site,
    routes: dict[str, Route],
    session_driver: SessionDriver,
    redis: Any,
    pool: LoginPool,
) -> None:
    lookups: dict[str, Lookup] = {}
    for target in routes:
        user = pool.take(target)
        cookie = user.cookie(session_driver.cookie_name)
        if cookie is None:
            pytest.skip(f"login set no {session_driver.cookie_name} cookie")
        lookups[target] = find_key(site.env.redis, redis, cookie, session_driver, user)
    check_layout(site.env.redis, list(lookups.values()))
    for target, lookup in lookups.items():
        if lookup.present and redis.ttl(lookup.key) == -1:
            fail(
                "short-redis-ttl",
                f"the session made on {target} has no TTL in the store: it never expires",
                site.trace_text(),
            )
    missing = [t for t, x in lookups.items() if not x.present]
    if missing:
        where = next(x for x in lookups.values() if x.present)
        fail(
            "local-sessions",
            f"sessions made on {', '.join(missing)} are not in the shared store (looked for "
            f"{lookups[missing[0]].printable!r}; {max(lookups[t].examined for t in missing)} "
            f"keys scanned for their id) while the others are (under keys like "
            f"{where.printable!r}): {', '.join(missing)} keeps them outside it",
            site.trace_text(),
        )
    apart = elsewhere(lookups)
    if apart:
        keys = ", ".join(f"{t} under {x.printable!r}" for t, x in sorted(apart.items()))
        usual = next(x.printable for x in lookups.values() if x.how in ("profile", "driver"))
        fail(
            "session-not-shared",
            f"sessions made on {', '.join(sorted(apart))} are in the store under another key "
            f"than the others' ({keys}; the others under keys like {usual!r}): the instances "
            "use another key prefix or layout",
            site.trace_text(),
        )
