"""A short load run as a CI gate: `pytest suites -m load` (deselected otherwise)."""

from __future__ import annotations

import os

import pytest

from harness.loadgen.options import LoadOptions
from harness.loadgen.runner import run_load
from harness.profile.environment import Environment
from harness.topology import Provider

RUN_SECONDS = float(os.environ.get("PARITY_LOAD_SECONDS", "10"))
USERS = int(os.environ.get("PARITY_LOAD_USERS", "10"))


@pytest.mark.load
@pytest.mark.slow
@pytest.mark.parity(
    title="Logged-in users under load meet the latency and error gates",
    why="Session faults that hide at one request show up under concurrent load.",
)
def test_sticky_users_meet_the_load_gates(environment: Environment, provider: Provider) -> None:
    gates = list(environment.load.gates) or [
        "error_ratio < 0.001",
        "sticky_violations == 0",
        "session_losses == 0",
    ]
    result = run_load(
        environment,
        provider,
        LoadOptions(
            "sticky_users", users=USERS, spawn_rate=USERS, run_time=RUN_SECONDS, gates=gates
        ),
        show=False,
    )
    assert result is not None
    failed = [g.line() for g in result.gates if not g.passed]
    assert not failed, "load gates failed:\n" + "\n".join(failed)
