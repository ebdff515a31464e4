"""Collecting each check's outcome, message and evidence during a pytest run, as JSON."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from harness.handoff import write_results
from harness.report.acceptance import ACCEPTED_PROPERTY
from harness.traffic.cleanup import LEDGER

EVIDENCE_PROPERTY = "parity_evidence"
ERROR_EXIT_PROPERTY = "parity_error_exit"  # a ParityError stopped the check: its exit code
DESCRIPTION_PROPERTY = "parity_description"  # a check's title and why, as JSON
FINDING_PROPERTY = "parity_finding"  # the deployment failed the check, also in its setup


def _suite_of(report: pytest.TestReport) -> str:
    return Path(report.location[0]).stem.removeprefix("test_")


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = str(report.longrepr) if report.longrepr else ""
    return text.removeprefix("Failed: ")


class ResultsCollector:
    """A pytest plugin object: one record per check, written at the end of the session."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.checks: dict[str, dict[str, Any]] = {}
        self.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.checks.setdefault(
            report.nodeid,
            {
                "id": report.nodeid,
                "suite": _suite_of(report),
                "name": report.nodeid.split("::", 1)[-1],
                "outcome": "passed",
                "duration": 0.0,
                "message": "",
                "evidence": {},
            },
        )
        record["duration"] = round(record["duration"] + report.duration, 3)
        for name, value in report.user_properties:
            if name == EVIDENCE_PROPERTY and isinstance(value, str):
                record["evidence"].update(json.loads(value))
            elif name == DESCRIPTION_PROPERTY and isinstance(value, str):
                described = json.loads(value)
                record["title"], record["why"] = described.get("title"), described.get("why")
        if report.failed:
            record["outcome"] = "failed" if report.when == "call" else "error"
            record["message"] = _message(report)
            for name, value in report.user_properties:
                if name == ERROR_EXIT_PROPERTY:
                    record["outcome"], record["error_exit"] = "error", value
                elif name == FINDING_PROPERTY:
                    record["outcome"] = "failed"
        elif report.skipped and record["outcome"] == "passed":
            record["outcome"] = "skipped"
            record["message"] = _message(report)
            for name, value in report.user_properties:
                if name == ACCEPTED_PROPERTY:
                    record["outcome"], record["accepted"] = "accepted", value

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        finished = {
            "started": self.started,
            "finished": time.time(),
            "exit_status": int(exitstatus),
            "checks": list(self.checks.values()),
            "sessions": LEDGER.as_dict(),
        }
        write_results(self.path, finished)


SUITE_FILE = re.compile(r"(^|[/\\])suites[/\\]test_\w+\.py$")


class NothingRanGuard:
    """A pytest plugin object: a run that selected Parity checks and executed none of them (every
    one skipped) ends with exit 5, never 0, so that a gate never passes with nothing looked at."""

    def __init__(self) -> None:
        self.selected: set[str] = set()
        self.executed = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not SUITE_FILE.search(report.location[0]):
            return
        self.selected.add(report.nodeid)
        if report.failed or (report.when == "call" and report.passed):
            self.executed += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.selected and not self.executed and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> None:
        if self.selected and not self.executed:
            terminalreporter.write_line(
                f"parity: no check ran: all {len(self.selected)} selected checks were skipped; "
                "a gate does not pass on nothing (exit 5)",
                red=True,
            )
