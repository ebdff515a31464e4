"""Exit codes follow what failed (issue 23, item 5): a failed check is exit 1 also when other
checks cannot run because of it; 5xx from every target on a session step is the deployment
failing (exit 1, `[server-error]`), a 4xx stays a profile problem (exit 2, tests/test_hardening);
an exception inside a check is that check's failure, named in one line."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from harness.report import junit
from harness.report.model import CheckRecord, GateRecord, LoadSection
from harness.report.verdict import verdict_of
from tests.helpers import parity

REPLICA_PROFILE = Path(__file__).resolve().parents[2] / "harness" / "profile" / "replica.yaml"


def _outcomes(reports: Path) -> dict[str, tuple[str, str]]:
    results = json.loads((reports / "latest" / "results.json").read_text())
    return {c["name"]: (c["outcome"], c["message"]) for c in results["checks"]}


def _record(outcome: str, error_exit: int | None = None) -> CheckRecord:
    record = {"id": "x", "suite": "s", "name": "n", "outcome": outcome, "duration": 0.0,
              "message": "", "evidence": {}}  # fmt: skip
    if error_exit is not None:
        record["error_exit"] = error_exit
    return record  # type: ignore[return-value]


def test_a_failed_check_beside_checks_that_could_not_run_is_exit_1() -> None:
    assert verdict_of([_record("failed"), _record("error", 2)], None) == ("failed", 1)
    assert verdict_of([_record("failed"), _record("error", 3)], None) == ("failed", 1)
    assert verdict_of([_record("passed"), _record("error", 2)], None) == ("error", 2)
    assert verdict_of([_record("passed"), _record("error", 3)], None) == ("error", 3)


def test_a_load_gate_with_nothing_measured_neither_passes_nor_fails_the_run(tmp_path: Path) -> None:
    not_measured: GateRecord = {"gate": "distribution_p > 0.001", "value": None, "passed": None,
                                "reason": "not measured: the run started no session"}  # fmt: skip
    failed: GateRecord = {"gate": "p95_ms < 1", "value": 3.0, "passed": False}
    load: LoadSection = {"profile": "smoke", "users": 1, "run_time_seconds": 1.0, "measured": {},
                         "gates": [not_measured], "drain_events": [], "evidence": {}}  # fmt: skip
    assert verdict_of([_record("passed")], load) == ("passed", 0)
    assert verdict_of([_record("passed")], {**load, "gates": [not_measured, failed]})[1] == 1
    results = {"checks": [_record("passed")], "load": load, "environment": {"name": "e"},
               "run": {"duration_seconds": 1.0}}  # fmt: skip
    xml = junit.write(results, tmp_path / "junit.xml").read_text()  # type: ignore[arg-type]
    assert 'failures="0"' in xml and 'skipped="1"' in xml and "the run started no session" in xml


@pytest.mark.servers
def test_a_store_that_dies_under_the_app_fails_the_run_as_server_errors(tmp_path: Path) -> None:
    """Redis stopped (by its PID) under a running replica: every login answers 500. That is the
    deployment failing: exit 1, `[server-error]` with the step and status, no traceback."""
    home, reports = tmp_path / "home", tmp_path / "reports"
    assert parity(home, "up").returncode == 0
    try:
        children = json.loads((home / "replica.json").read_text())["children"]
        os.kill(children["redis"], signal.SIGKILL)
        done = parity(home, "check", "--suite", "sharing", "--report-dir", str(reports))
    finally:
        parity(home, "down")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    outcome, text = _outcomes(reports)["test_each_target_reads_its_own_writes"]
    assert outcome == "failed"
    assert text.startswith("[server-error]") and "login answered 500" in text, text[:400]
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.servers
def test_a_bug_in_the_users_driver_is_named_with_its_file_and_method(tmp_path: Path) -> None:
    """A SessionDriver whose logout raises KeyError is the user's bug (issue 24): the check that
    called it cannot run, and says so in one line naming the driver, its method, the exception
    and its line (exit 2, never "internal error"); the other checks still run."""
    (tmp_path / "buggy_driver.py").write_text(
        "from harness.traffic.contract import RecipeDriver\n\n\n"
        "class BuggyLogout(RecipeDriver):\n"
        "    def logout(self, user, route=None):\n"
        "        raise KeyError('vals')\n"
    )
    profile = tmp_path / "buggy.yaml"
    text = REPLICA_PROFILE.read_text().replace("name: replica", "name: buggy")
    profile.write_text(
        text.replace(
            "  cookie: session\n", "  cookie: session\n  driver: buggy_driver:BuggyLogout\n"
        )
    )
    reports = tmp_path / "reports"
    done = parity(
        tmp_path / "home", "check", "--env-file", str(profile), "--suite", "sharing",
        "--report-dir", str(reports), env={"PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr
    outcomes = _outcomes(reports)
    outcome, message = outcomes["test_logout_on_one_target_ends_the_session_on_every_other"]
    assert outcome == "error"
    assert message.endswith(
        "session driver buggy_driver:BuggyLogout.logout raised KeyError: 'vals' "
        "(at buggy_driver.py:6 in logout)"
    ), message
    assert "internal error" not in done.stdout + done.stderr
    assert outcomes["test_session_made_on_one_target_works_on_every_other"][0] == "passed"


def test_profile_check_imports_the_named_driver_from_the_project(tmp_path: Path) -> None:
    """`parity profile check` loads `session.driver` as every command does, from the project
    directory (the working directory) without PYTHONPATH; a class that is not there is one
    line, exit 2."""
    (tmp_path / "shop_driver.py").write_text(
        "from harness.traffic.contract import RecipeDriver\n\n\nclass Shop(RecipeDriver):\n"
        "    pass\n"
    )
    text = REPLICA_PROFILE.read_text().replace("name: replica", "name: shop")
    for cls, code in (("Shop", 0), ("Nope", 2)):
        profile = tmp_path / f"{cls}.yaml"
        driver = f"  cookie: session\n  driver: shop_driver:{cls}\n"
        profile.write_text(text.replace("  cookie: session\n", driver))
        done = parity(tmp_path / "home", "profile", "check", str(profile), cwd=tmp_path)
        assert done.returncode == code, done.stderr
    assert "session.driver 'shop_driver:Nope' cannot be loaded" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
