"""The pytest plugin: options (each with a PARITY_* twin), fixtures, markers, serialisation.

Loaded by the root conftest.py and the `pytest11` entry point. With no option the suites run
against the embedded replica: the one `parity up` started, or one the plugin starts and stops.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from harness.disruption.guard import Guard, Permission
from harness.errors import DeploymentFinding, ParityError
from harness.profile.environment import Environment, load_environment
from harness.project_conftest import share_project_fixtures
from harness.replica.state import home
from harness.report.collector import EVIDENCE_PROPERTY, NothingRanGuard, ResultsCollector
from harness.topology import Provider
from harness.topology.model import Target, Topology
from harness.topology.opening import open_environment
from harness.traffic.client import VirtualUser
from harness.traffic.contract import SessionDriver, load_driver
from harness.traffic.site import Site

OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "--env",
        "PARITY_ENV",
        {"metavar": "NAME", "help": "environments/NAME.yaml (default: replica)"},
    ),
    ("--env-file", "PARITY_ENV_FILE", {"metavar": "PATH", "help": "an environment profile file"}),
    (
        "--allow-disruptive",
        "PARITY_ALLOW_DISRUPTIVE",
        {"action": "store_true", "help": "run drain/kill tests (always on for the replica)"},
    ),
    (
        "--allow-production",
        "PARITY_ALLOW_PRODUCTION",
        {"metavar": "NAME", "help": "allow disruptive tests on the production environment NAME"},
    ),
    (
        "--parity-results",
        "PARITY_RESULTS",
        {"metavar": "PATH", "help": "write every check's outcome, message and evidence as JSON"},
    ),
    (
        "--parity-samples",
        "PARITY_SAMPLES",
        {
            "type": int,
            "metavar": "M",
            "help": "fresh clients in the distribution test (default 400)",
        },
    ),
]
PARITY_FIXTURES = {
    "environment",
    "provider",
    "topology",
    "targets",
    "site",
    "redis",
    "session_store",
    "session_driver",
    "guard",
    "virtual_user",
    "pinned_client",
}
ENVIRONMENT = pytest.StashKey[Environment]()
LOADGROUP = "parity_loadgroup"
MARKERS = {
    "disruptive": "drains, kills or breaks a target; serialised; always undone",
    "slow": "takes more than a few seconds",
    "load": "generates load with Locust",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "Parity: multi-instance session checks")
    for flag, variable, kwargs in OPTIONS:
        default: Any = os.environ.get(variable)
        if kwargs.get("action") == "store_true":
            default = default not in (None, "", "0", "false")
        elif kwargs.get("type") is int and default is not None:
            default = int(default) if default.isdigit() else default
        group.addoption(
            flag,
            default=default,
            dest=flag.lstrip("-").replace("-", "_"),
            help=f"{kwargs.pop('help')} [{variable}]",
            **kwargs,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    samples = config.getoption("parity_samples", None)
    if samples is not None and (not isinstance(samples, int) or samples < 20):
        raise pytest.UsageError(
            f"--parity-samples / PARITY_SAMPLES {samples!r}: a whole number of at least 20"
        )
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "") in (
        "load",
        "no",
    ):
        config.option.dist = "loadgroup"  # keep every disruptive test on one worker
    if getattr(config, "workerinput", {}).get(LOADGROUP):
        config.option.loadgroup = True  # workers re-parse the command line: tell them here
    results = config.getoption("parity_results", None)
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(NothingRanGuard(), "parity-nothing-ran")
        if results:
            config.pluginmanager.register(ResultsCollector(Path(results)), "parity-results")
    if config.option.env or config.option.env_file:  # a bad profile stops the run at once
        try:
            config.stash[ENVIRONMENT] = load_environment(config.option.env, config.option.env_file)
        except ParityError as exc:
            raise pytest.UsageError(str(exc)) from exc


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    share_project_fixtures(session)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """(xdist) Carry the switch to `loadgroup` to each worker."""
    if node.config.option.dist == "loadgroup":
        node.workerinput[LOADGROUP] = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Load tests run only when asked for with `-m load` (they take minutes, not seconds)."""
    if "load" in (config.option.markexpr or ""):
        return
    keep = [i for i in items if i.get_closest_marker("load") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_itemcollected(item: pytest.Item) -> None:
    """Every disruptive test joins one xdist group (set before xdist reads groups)."""
    if item.get_closest_marker("disruptive"):
        item.add_marker(pytest.mark.xdist_group("parity-disruptive"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A finding raised by the harness fails the test with its message, not a traceback."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(DeploymentFinding):
        report.longrepr = str(call.excinfo.value)
        report.outcome = "failed"
    return report


# ---- fixtures ---------------------------------------------------------------------------------
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
def provider(environment: Environment) -> Iterator[Provider]:
    """The topology provider (for the replica: the running one or one started for this run)."""
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
def session_driver(environment: Environment, topology: Topology) -> SessionDriver:
    """The app's session contract; override this fixture for a Python SessionDriver."""
    try:
        return load_driver(environment.session, topology.secrets)
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.fixture(scope="module")
def session_store(topology: Topology) -> Any:
    """A Redis client on the session store, or None when there is none reachable from here."""
    import redis as redis_lib

    if not topology.redis_url:
        return None
    client = redis_lib.Redis.from_url(topology.redis_url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis_lib.RedisError:
        return None
    return client


@pytest.fixture(scope="module")
def redis(session_store: Any) -> Any:
    """A Redis client on the session store, or a skip when it is not reachable from here."""
    if session_store is None:
        pytest.skip("Redis is not configured (redis.url) or not reachable: store checks skipped")
    return session_store


@pytest.fixture
def guard(pytestconfig: pytest.Config, environment: Environment, provider: Provider) -> Guard:
    """The guard for disruptive actions; skips the test when the run does not allow them."""
    allowed = bool(pytestconfig.option.allow_disruptive) or environment.provider == "replica"
    if not allowed:
        pytest.skip("disruptive: pass --allow-disruptive (or PARITY_ALLOW_DISRUPTIVE=1)")
    return Guard(environment, provider, Permission(True, pytestconfig.option.allow_production))


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
