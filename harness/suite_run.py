"""The suites run as a child pytest against an opened environment: which modules, with which
flags, each check's outcome printed as it ends, and the checks' records read back."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.handoff import HandOff, read_results, write_handoff
from harness.packaged import package_dir
from harness.printable import printable
from harness.profile.environment import Environment
from harness.report.model import CheckRecord
from harness.signals import die_with_parent, stop_child
from harness.suite_names import SUITE_ALIASES, SUITES, suite_named
from harness.topology import Provider

SUITES_PACKAGE = "harness.suites"
PYTEST_USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR (the CLI does not import pytest)


@dataclass(frozen=True)
class SuiteSelection:
    """Which checks run, and what they may do."""

    suites: tuple[str, ...] = ()  # none: every suite
    keyword: str | None = None
    allow_disruptive: bool = False
    allow_production: str | None = None
    previous_env: str | None = None  # the compatibility suite's environment of the build before


@dataclass(frozen=True)
class SuiteOutcome:
    """What the run found: each check's record, and what it did with the sessions it made."""

    checks: list[CheckRecord]
    sessions: dict[str, int]


def pytest_argv(selection: SuiteSelection) -> list[str]:
    """pytest over the chosen suites as modules of the installed package (`--pyargs`), so that
    it runs from site-packages and loads the conftest.py of the directory it is started in."""
    unknown = [s for s in selection.suites if s not in SUITES and s not in SUITE_ALIASES]
    if unknown:
        raise UsageError(f"--suite {unknown[0]!r}: known suites: {', '.join(SUITES)}")
    chosen = dict.fromkeys(suite_named(s) for s in selection.suites) or SUITES
    modules = [f"{SUITES_PACKAGE}.test_{s}" for s in chosen]
    argv = [sys.executable, "-m", "pytest", "--pyargs", *modules]
    argv += ["-v", "--no-header", "-p", "no:cacheprovider", "--tb=no", "-o", "addopts="]
    rootdir = package_dir(SUITES_PACKAGE).parent  # node ids read suites/test_x.py::check
    argv += ["--rootdir", str(rootdir)]
    argv += ["-k", selection.keyword] if selection.keyword else []
    if selection.allow_disruptive:
        argv.append("--allow-disruptive")
    if selection.allow_production:
        argv += ["--allow-production", selection.allow_production]
    if selection.previous_env:
        argv += ["--previous-env", selection.previous_env]
    return argv


def _show_check_line(line: str) -> bool:
    """Print a check's outcome line; False for any other line of pytest's."""
    if "::" in line and any(w in line for w in ("PASSED", "FAILED", "ERROR", "SKIPPED")):
        print("  " + printable(line.strip().split("/")[-1]), file=sys.stderr, flush=True)
        return True
    return False


def run_suites(env: Environment, provider: Provider, selection: SuiteSelection) -> SuiteOutcome:
    """pytest over the chosen suites against the opened environment, each check printed as it
    ends. On Ctrl-C or SIGTERM the checks are interrupted and waited for while they undo what
    they changed; if parity itself is killed, they are told by the kernel."""
    with tempfile.TemporaryDirectory(prefix="parity-check-") as tmp:
        results = Path(tmp) / "checks.json"
        handoff = HandOff(env, provider.hand_off(), results=str(results))
        child_env = write_handoff(handoff, Path(tmp) / "handoff.json")
        proc = subprocess.Popen(
            pytest_argv(selection),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**child_env, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        other: deque[str] = deque(maxlen=3)
        try:
            for line in proc.stdout or []:
                if not _show_check_line(line) and line.strip():
                    other.append(line.strip())
            code = proc.wait()
        except KeyboardInterrupt:
            stop_child(proc, _show_check_line)
            raise
        if code == PYTEST_USAGE_ERROR:  # a -k expression pytest cannot parse, say
            raise UsageError(f"pytest refused the run: {printable(' | '.join(other))}")
        said = f"exit {code}; run `pytest --pyargs harness.suites` to see why"
        body = read_results(results, "the suites' pytest run", said)
    return SuiteOutcome(body["checks"], body.get("sessions") or {})
