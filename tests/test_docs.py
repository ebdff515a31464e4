"""The documentation says what the code does: its reference pages are the ones the code makes,
every environment variable the code reads is in the table, and the README stays an introduction
that names no path outside the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.check import suites_of
from harness.environment_variables import APP_PREFIX, INTERNAL, VARIABLES
from harness.profile.sections import Accept
from harness.report.acceptance import Acceptance
from harness.suite_names import SUITE_ALIASES, SUITES, check_named
from harness.suite_run import SuiteSelection, pytest_argv

ROOT = Path(__file__).resolve().parent.parent
NAMED = re.compile(r"PARITY_[A-Z][A-Z_]*[A-Z]")


def test_the_reference_pages_are_what_the_code_makes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/docs_reference.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    read = set()
    for folder in ("harness", "suites", "load"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(NAMED.findall(path.read_text()))
    read -= {"PARITY_FIXTURES"}  # a Python name in harness/fixtures.py, not a variable
    undocumented = {
        name for name in read if name not in VARIABLES and name not in INTERNAL
    } - {name for name in read if name.startswith(APP_PREFIX.rstrip("_"))}
    assert not undocumented, f"add to harness/environment_variables.py: {sorted(undocumented)}"
    assert not set(VARIABLES) - read, "documented but never read"


def test_the_readme_is_short_and_names_nothing_outside_the_repository() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 150
    assert "../" not in text
    for link in re.findall(r"\]\(([^)#]+)", text):
        assert (ROOT / link).exists(), link


def test_the_old_suite_name_runs_the_groups_suite_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    suites = suites_of(["canary", "groups"])
    assert "--suite canary is now --suite groups" in capsys.readouterr().err
    argv = pytest_argv(SuiteSelection(tuple(suites)))
    assert [a for a in argv if a.startswith("harness.suites.")] == ["harness.suites.test_groups"]
    library = pytest_argv(SuiteSelection(("canary",)))  # CheckOptions from Python: same suite
    assert [a for a in library if a.startswith("harness.suites.")] == ["harness.suites.test_groups"]
    assert set(SUITE_ALIASES.values()) <= set(SUITES)
    assert check_named("canary::test_fresh_clients_split_by_weight") == (
        "groups::test_fresh_clients_split_by_weight"
    )
    assert check_named("sticky::test_x") == "sticky::test_x"


def test_an_accepted_check_under_the_old_suite_name_matches_and_is_shown_as_written() -> None:
    old = "canary::test_fresh_clients_split_by_weight"
    entry = Accept(check=old, reason="r", until="2099-01-01")
    accepted = Acceptance.from_entry(0, entry)
    assert accepted.matches("groups::test_fresh_clients_split_by_weight", "[uneven] ...")
    assert not accepted.matches("sticky::test_fresh_clients_split_by_weight", "[uneven] ...")
    assert accepted.describe().startswith("canary::test_fresh_clients_split_by_weight: r")


def test_an_acceptance_naming_a_check_and_a_fault_matches_only_that_check_with_that_fault() -> None:
    check = "realtime::test_drain_keeps_streams_for_its_delay_and_they_come_back_with_their_session"
    accepted = Acceptance.from_entry(
        0, Accept(check=check, fault="abrupt-drain", reason="r", until="2099-01-01")
    )
    assert accepted.matches(check, "[abrupt-drain] the drain also closed the streams on app-2")
    assert not accepted.matches(check, "[session-not-shared] the client did not come back")
    assert not accepted.matches("failover::test_x", "[abrupt-drain] cut")
    alone = Acceptance.from_entry(0, Accept(fault="abrupt-drain", reason="r", until="2099-01-01"))
    assert alone.matches("failover::test_x", "[abrupt-drain] cut")
