"""Parity's pytest fixtures, named after what they yield; registered by harness.plugin.

Session scoped for what a whole run shares (the environment and its provider), module scoped
for read-only views (topology, site, store), function scoped for disruptive ones (guard).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from harness.disruption.guard import Guard, permission
from harness.errors import ContractError, DeploymentFinding, NothingToCheck, ParityError
from harness.home import home
from harness.plugin import ENVIRONMENT, OPENED
from harness.profile.environment import Environment
from harness.report.collector import EVIDENCE_PROPERTY
from harness.store.connection import open_store, settings_of
from harness.topology import Provider, load_environment, open_environment
from harness.topology.model import Target, Topology
from harness.traffic.cleanup import CleaningDriver
from harness.traffic.client import VirtualUser
from harness.traffic.contract import SessionDriver, load_driver
from harness.traffic.site import Site
from harness.traffic.verify_contract import verify_contract

CONTRACT_VERIFIED = pytest.StashKey[dict[str, ContractError | DeploymentFinding | None]]()

PARITY_FIXTURES = {
    "environment",
    "provider",
    "topology",
    "targets",
    "healthy_targets",
    "site",
    "redis",
    "session_store",
    "session_driver",
    "guard",
    "virtual_user",
    "pinned_client",
}


@pytest.fixture(scope="session")
def environment(pytestconfig: pytest.Config) -> Environment:
    """The environment profile the run targets."""
    if ENVIRONMENT in pytestconfig.stash:
        return pytestconfig.stash[ENVIRONMENT]
    try:
        return load_environment(pytestconfig.option.env, pytestconfig.option.env_file)
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.fixture(scope="session")
def provider(pytestconfig: pytest.Config, environment: Environment) -> Iterator[Provider]:
    """The topology provider (for the replica: the running one or one started for this run)."""
    if OPENED in pytestconfig.stash:
        yield pytestconfig.stash[OPENED][1]
        return
    with ExitStack() as stack:
        try:
            provider = stack.enter_context(open_environment(environment))
        except ParityError as exc:
            pytest.exit(f"parity: cannot reach {environment.name}: {exc}", returncode=3)
        yield provider


@pytest.fixture(scope="module")
def topology(provider: Provider) -> Topology:
    """The resolved topology, once per module."""
    return provider.resolve()


@pytest.fixture(scope="module")
def targets(topology: Topology) -> list[Target]:
    return topology.targets


@pytest.fixture(scope="module")
def healthy_targets(topology: Topology) -> list[Target]:
    """The healthy targets; none is an error (a check with nothing to look at never passes)."""
    healthy = topology.healthy_targets()
    if not healthy:
        states = ", ".join(f"{t.id}: {t.state} {t.reason}".strip() for t in topology.targets)
        raise NothingToCheck(f"no healthy target to send requests to ({states or 'no target'})")
    return healthy


@pytest.fixture(autouse=True)
def _contract_verified(request: pytest.FixtureRequest, _parity_serialise: None) -> None:
    """Once per run, before the first check that drives sessions: the contract must work on at
    least one target, or the run stops with a contract error naming step, request and status
    (or, every target failing it with a 5xx, a `[server-error]` finding: each such check fails)."""
    if "session_driver" not in request.fixturenames:
        return
    driver: SessionDriver = request.getfixturevalue("session_driver")
    env: Environment = request.getfixturevalue("environment")
    verified = request.config.stash.setdefault(CONTRACT_VERIFIED, {})
    inner = getattr(driver, "_driver", driver)  # the profile's driver, or a conftest's own
    key = f"{env.source} {type(inner).__qualname__}"  # once per run, not once per module
    here = f"{key} {request.node.module.__name__ if request.node.module else ''}"
    if key not in verified and here not in verified:
        site: Site = request.getfixturevalue("site")
        healthy: list[Target] = request.getfixturevalue("healthy_targets")
        try:
            verify_contract(site, driver, [t.id for t in healthy], env.source)
        except ContractError as exc:
            verified[key] = exc
        except DeploymentFinding as exc:  # every target's 5xx: every such check fails with it
            if not str(exc).startswith("[server-error]"):
                raise  # a finding of one target (pinning it, say): this check's, tried again
            verified[here] = exc  # this module's checks; the next module tries again
        else:
            verified[key] = None
    refused = verified.get(key, verified.get(here))
    if refused is not None:
        raise refused


@pytest.fixture(scope="module")
def site(environment: Environment, topology: Topology) -> Site:
    """Virtual users, pinned and direct routes for this environment."""
    return Site(environment, topology)


@pytest.fixture
def virtual_user(site: Site) -> Callable[..., VirtualUser]:
    """A factory of virtual users: `virtual_user()` is a fresh client with no cookies."""
    return site.user


@pytest.fixture
def pinned_client(site: Site) -> Callable[[str], VirtualUser]:
    """A factory of clients pinned to a target through the balancer: `pinned_client("app-1")`."""

    def make(target: str) -> VirtualUser:
        user = site.user(f"pinned-{target}")
        user.adopt(site.pin(target).cookies)
        return user

    return make


@pytest.fixture(scope="module")
def session_driver(environment: Environment, topology: Topology) -> Iterator[SessionDriver]:
    """The app's session contract; override this fixture for a Python SessionDriver. Every
    session it logs in that is still open when the module ends is logged out, and its store
    key deleted (`harness.traffic.cleanup`)."""
    if environment.session is None:
        pytest.skip(
            f"not applicable: {environment.source} has no session: section (login, write, read)"
        )
    driver = CleaningDriver(load_driver(environment.session, topology.secrets))
    yield driver
    store = None
    with contextlib.suppress(Exception):  # no store, or one that does not answer: logouts only
        if topology.redis_url and environment.redis.reachable is not False:
            store = open_store(settings_of(environment.redis, topology.redis_url))
    driver.finish(store, environment.redis)


@pytest.fixture(scope="module")
def session_store(environment: Environment, topology: Topology) -> Any:
    """A client on the session store (standalone, Sentinel or Cluster: `redis.mode`); None when
    there is none to check from here (no store configured, or `redis.reachable: false`). A
    configured store that does not answer is an error naming it (without the password)."""
    section = environment.redis
    if section.reachable is False:
        return None
    if not topology.redis_url and section.mode != "sentinel":
        return None
    return open_store(settings_of(section, topology.redis_url))


@pytest.fixture(scope="module")
def redis(environment: Environment, session_store: Any) -> Any:
    """The session store's client, or a skip saying why there is none."""
    if session_store is None:
        if environment.redis.reachable is False:
            pytest.skip("the profile says the store is not reachable from here (redis.reachable)")
        pytest.skip("no session store is configured (redis.url): store checks do not apply")
    return session_store


@pytest.fixture
def guard(pytestconfig: pytest.Config, environment: Environment, provider: Provider) -> Guard:
    """The guard for disruptive actions; skips the test when the run does not allow them."""
    option = pytestconfig.option
    allowed = permission(provider, bool(option.allow_disruptive), option.allow_production)
    if not allowed.disruptive:
        pytest.skip("disruptive: pass --allow-disruptive (or PARITY_ALLOW_DISRUPTIVE=1)")
    return Guard(environment, provider, allowed)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A dict a check fills with evidence for the report (charts, timelines); JSON-serialisable."""
    data: dict[str, Any] = {}
    yield data
    if data:
        request.node.user_properties.append((EVIDENCE_PROPERTY, json.dumps(data, default=str)))


@pytest.fixture(autouse=True)
def _parity_serialise(request: pytest.FixtureRequest) -> Iterator[None]:
    """Disruptive tests hold an exclusive lock on the environment, the others a shared one,
    so a drain never overlaps another test, also across xdist workers."""
    if not PARITY_FIXTURES & set(request.fixturenames):
        yield
        return
    env: Environment = request.getfixturevalue("environment")
    path = Path(home()) / f"lock-{env.name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    exclusive = request.node.get_closest_marker("disruptive") is not None
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
