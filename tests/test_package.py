"""Parity as a user installs it: a wheel in a fresh virtualenv, run from a directory with no
checkout, against the replica; and the example app repository with its own conftest.

The wheel is built from this checkout and pip-installed (no dependencies) into a new venv; its
dependencies come from the test venv through a .pth line, so nothing is downloaded and no code
of the checkout is importable there (the editable install's finder is not processed).
"""

from __future__ import annotations

import json
import shutil
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from tests.installed import ROOT, run

pytestmark = pytest.mark.slow


@pytest.fixture
def venv(wheel_bin: Path) -> Path:
    """A fresh venv with the wheel installed (one per test process); its bin/ folder."""
    return wheel_bin


def _results(folder: Path) -> dict[str, object]:
    results = json.loads((folder / "latest" / "results.json").read_text())
    assert isinstance(results, dict)
    return results


def test_the_wheel_carries_suites_and_load_profiles_and_imports_nothing_from_the_checkout(
    venv: Path, tmp_path: Path
) -> None:
    code = (
        "import harness, harness.suites, harness.load, harness.profile;"
        "print(harness.__file__, harness.suites.__file__, harness.load.__file__)"
    )
    done = run(venv, tmp_path, "python", "-c", code)
    assert done.returncode == 0, done.stderr
    for path in done.stdout.split():
        assert Path(path).is_relative_to(venv.parent), path
        assert not Path(path).is_relative_to(ROOT), path


def test_parity_check_from_the_wheel_runs_every_check_and_passes(
    venv: Path, tmp_path: Path
) -> None:
    collected = run(
        venv, tmp_path, "python", "-m", "pytest", "--pyargs", "harness.suites", "--co", "-q"
    )
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    assert len(ids) >= 20, collected.stdout + collected.stderr

    done = run(venv, tmp_path, "parity", "check", "--report-dir", "reports")
    assert done.returncode == 0, done.stdout + done.stderr
    results = _results(tmp_path / "reports")
    checks = results["checks"]
    assert isinstance(checks, list)
    outcomes = Counter(c["outcome"] for c in checks)
    assert results["verdict"] == "passed"
    assert len(checks) == len(ids)  # every collected check ran (load ones need -m load)
    assert outcomes["passed"] >= 18, outcomes
    assert {c["suite"] for c in checks} >= {"topology", "sticky", "sharing", "failover"}


def test_a_selection_that_matches_nothing_never_passes(venv: Path, tmp_path: Path) -> None:
    done = run(venv, tmp_path, "parity", "check", "--suite", "topology", "-k", "no_such_check")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "no check ran: the selection (topology, -k 'no_such_check') matched no check" in (
        done.stderr
    )
    skipped_only = run(venv, tmp_path, "parity", "check", "--suite", "topology", "-k", "aws")
    assert skipped_only.returncode == 3
    assert "no check ran: all 1 selected checks (topology, -k 'aws') were skipped" in (
        skipped_only.stderr
    )
    pytest_form = run(
        venv, tmp_path, "python", "-m", "pytest", "--pyargs", "harness.suites.test_topology"
    )
    pytest_form_skipped = run(
        venv, tmp_path, "python", "-m", "pytest", "--pyargs", "harness.suites", "-k", "aws"
    )
    assert pytest_form.returncode == 0, pytest_form.stdout
    assert pytest_form_skipped.returncode == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "parity: no check ran" in pytest_form_skipped.stdout


def test_the_example_app_repo_uses_its_own_conftest_driver(venv: Path, tmp_path: Path) -> None:
    repo = tmp_path / "app-repo"
    shutil.copytree(ROOT / "examples" / "app-repo", repo)
    argv = ("parity", "check", "--env", "local", "--suite", "sharing", "--suite", "topology")
    done = run(venv, repo, *argv)
    assert done.returncode == 0, done.stdout + done.stderr
    results = _results(repo / "reports")
    sharing = [c for c in results["checks"] if c["suite"] == "sharing"]  # type: ignore[union-attr]
    assert len(sharing) >= 5 and all(c["outcome"] == "passed" for c in sharing), sharing

    pytest_form = run(
        venv, repo, "python", "-m", "pytest", "--pyargs", "harness.suites.test_sharing",
        "--env", "local", "-p", "no:cacheprovider",
    )  # fmt: skip
    assert pytest_form.returncode == 0, pytest_form.stdout[-2000:]

    # Without its conftest the profile has no login steps: the sharing checks cannot run.
    (repo / "conftest.py").unlink()
    broken = run(venv, repo, *argv)
    assert broken.returncode == 2, broken.stdout + broken.stderr  # the contract is misconfigured
    assert "session.login: the recipe needs login, write and read steps" in broken.stdout


def test_parity_load_from_the_wheel_finds_its_profiles(venv: Path, tmp_path: Path) -> None:
    done = run(
        venv, tmp_path, "parity", "load", "--profile", "sticky_users", "--users", "2",
        "--spawn-rate", "2", "--run-time", "3s", "--report-dir", "reports",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    evidence = json.loads(next((tmp_path / "reports").glob("load-sticky_users-*.json")).read_text())
    assert evidence["evidence"]["totals"]["requests"] > 0


def test_parity_canary_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    """With no replica running, the canary starts one for its run (as every command does)."""
    done = run(venv, tmp_path, "parity", "canary", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["success"] and summary["environment"] == "replica"


def test_every_harness_package_is_in_the_wheel_list() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "harness").rglob("__init__.py")
    }
    mapped = set(config["package-dir"])
    assert set(config["packages"]) == on_disk | mapped
    assert config["package-dir"] == {"harness.suites": "suites", "harness.load": "load"}
