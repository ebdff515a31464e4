"""`parity diff --behaviour`: the non-disruptive suites on both environments, compared."""

from __future__ import annotations

from harness.drift.behaviour import behaviour_differences
from harness.profile.environment import Environment
from harness.report.model import CheckRecord, Difference
from harness.suite_run import SuiteSelection, run_suites
from harness.topology import open_environment

SUITES = ("topology", "sticky", "sharing", "distribution")


def _measure(env: Environment) -> list[CheckRecord]:
    with open_environment(env, for_children=True) as opened:
        return run_suites(env, opened, SuiteSelection(SUITES)).checks


def compare_behaviour(left: Environment, right: Environment) -> list[Difference]:
    """Checks whose outcome differs, and measured values that differ materially."""
    a, b = _measure(left), _measure(right)
    return behaviour_differences(a, b)
