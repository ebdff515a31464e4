"""The pytest plugin: options (each with a PARITY_* twin), fixtures, markers, serialisation.

Loaded by the root conftest.py and the `pytest11` entry point. With no option the suites run
against the embedded replica: the one `parity up` started, or one the plugin starts and stops.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import DeploymentFinding, NotApplicable, ParityError
from harness.findings import message
from harness.handoff import read_handoff
from harness.printable import printable
from harness.profile.environment import Environment
from harness.project_conftest import share_project_fixtures
from harness.report.acceptance import ACCEPTED_PROPERTY, acceptances, matching
from harness.report.collector import (
    DESCRIPTION_PROPERTY,
    ERROR_EXIT_PROPERTY,
    FINDING_PROPERTY,
    NothingRanGuard,
    ResultsCollector,
)
from harness.topology import Provider, load_environment, taken_over
from harness.traffic.contract import StepFailed
from harness.where import raised_where

OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "--env",
        "PARITY_ENV",
        {"metavar": "NAME", "help": "environments/NAME.yaml (default: replica)"},
    ),
    ("--env-file", "PARITY_ENV_FILE", {"metavar": "PATH", "help": "an environment profile file"}),
    (
        "--previous-env",
        "PARITY_PREVIOUS_ENV",
        {
            "metavar": "NAME",
            "help": "the environment serving the previous build, for the compatibility suite",
        },
    ),
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
            "help": "the most fresh clients the distribution test draws (default 3000)",
        },
    ),
]
pytest_plugins = ["harness.fixtures"]  # the fixtures live beside the hooks
ENVIRONMENT = pytest.StashKey[Environment]()
OPENED = pytest.StashKey[tuple[Environment, Provider]]()
LOADGROUP = "parity_loadgroup"
MARKERS = {
    "parity": "parity(title=..., why=...): a check's one-line title and why it matters",
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
    handoff = read_handoff()  # started by a parity command: opened once, there
    results = (handoff and handoff.results) or config.getoption("parity_results", None)
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(NothingRanGuard(), "parity-nothing-ran")
        if results:
            config.pluginmanager.register(ResultsCollector(Path(results)), "parity-results")
    if handoff is not None:
        config.stash[OPENED] = (handoff.environment, taken_over(handoff))
        config.stash[ENVIRONMENT] = handoff.environment
    elif config.option.env or config.option.env_file:  # a bad profile stops the run at once
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
    """A finding fails the test with its message, not a traceback; a check that does not apply
    is skipped with its reason; any other Parity error (no healthy target, a wrong contract, a
    refusal) makes it an error with one line."""
    report = yield
    described = item.get_closest_marker("parity")
    if described is not None and call.when == "setup":
        report.user_properties.append((DESCRIPTION_PROPERTY, json.dumps(described.kwargs)))
    exc = call.excinfo.value if call.excinfo is not None else None
    if isinstance(exc, DeploymentFinding):
        report.longrepr = str(exc)
        report.outcome = "failed"
        report.user_properties.append((FINDING_PROPERTY, True))
    elif isinstance(exc, NotApplicable):
        path, line, _ = report.location
        report.outcome = "skipped"
        report.longrepr = (path, (line or 0) + 1, f"not applicable: {printable(str(exc))}")
    elif isinstance(exc, ParityError):
        report.longrepr = f"cannot check: {printable(str(exc))}"
        report.user_properties.append((ERROR_EXIT_PROPERTY, exc.exit_code))
    elif isinstance(exc, Exception) and described is not None:
        report.longrepr = raised_in_check(item.name, exc)
    if report.failed and report.when == "call" and ENVIRONMENT in item.config.stash:
        _apply_acceptance(item, report)
    return report


def raised_in_check(name: str, exc: BaseException) -> str:
    """An exception inside a check, as that check's one-line failure: a step answered 5xx is
    `[server-error]`; anything else names the exception and where it was raised."""
    if isinstance(exc, StepFailed) and exc.status >= 500:
        return message("server-error", f"{exc} on {exc.request or 'its request'}, in {name}")
    if isinstance(exc, AssertionError):  # the check's own assertion: its whole message
        return printable(str(exc)) or f"{name} failed: {raised_where(exc)}"
    return f"{name} stopped: {raised_where(exc)}"


def _apply_acceptance(item: pytest.Item, report: pytest.TestReport) -> None:
    """A failure the profile accepts is skipped as ACCEPTED; past its expiry it fails, saying so."""
    path, line, name = report.location
    check_id = f"{Path(path).stem.removeprefix('test_')}::{name}"
    text = str(report.longrepr)
    found = matching(acceptances(item.config.stash[ENVIRONMENT].accept), check_id, text)
    if found is None:
        return
    if found.expired():
        report.longrepr = (
            f"acceptance expired on {found.until.isoformat()} ({found.reason}): {text}"
        )
        return
    first = text.splitlines()[0] if text else ""
    report.outcome = "skipped"
    report.longrepr = (
        path,
        (line or 0) + 1,
        f"ACCEPTED until {found.until}: {found.reason}; {first}",
    )
    report.user_properties.append((ACCEPTED_PROPERTY, found.index))
