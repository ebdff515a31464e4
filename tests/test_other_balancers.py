"""True verdicts on balancers the harness does not emulate: real Caddy 2 in front of the
replica's instances, run as a user would (static profile, command drain adapter, `parity check`).
The healthy stack passes every suite with no false alarm; ALB-only rules are not applicable; a
fault behind it is still caught by name."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.replica.running import running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from tests.helpers import parity
from tests.stacks import PASSWORD_VARIABLE, caddy_stack

pytestmark = pytest.mark.slow
NOT_APPLICABLE = {
    "test_sticky_cookie_is_reissued_on_every_response": "not on every response",
    "test_stickiness_lapses_after_the_idle_duration": "no idle duration to lapse",
}


def _caddy(tmp: Path, *faults: str) -> Iterator[tuple[Replica, Path]]:
    config = ReplicaConfig(deregistration_delay=2, faults=faults)
    with running_replica(config) as (replica, _), caddy_stack(replica, tmp) as profile:
        yield replica, profile


@pytest.fixture(scope="module")
def caddy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replica, Path]]:
    yield from _caddy(tmp_path_factory.mktemp("caddy"))


def _check(
    home: Path, replica: Replica, profile: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, str]]]:
    reports = home / "reports"
    done = parity(
        home, "check", "--env-file", str(profile), "--allow-disruptive",
        "--report-dir", str(reports), *args, env={PASSWORD_VARIABLE: replica.password},
    )  # fmt: skip
    results = json.loads((reports / "latest" / "results.json").read_text())
    return done, {c["name"]: c for c in results["checks"]}


def test_a_healthy_caddy_stack_passes_every_suite(
    caddy: tuple[Replica, Path], tmp_path: Path
) -> None:
    replica, profile = caddy
    done, checks = _check(tmp_path, replica, profile)
    assert done.returncode == 0, done.stdout + done.stderr
    failed = {
        n: c["message"] for n, c in checks.items() if c["outcome"] not in ("passed", "skipped")
    }
    assert not failed, failed
    for name, why in NOT_APPLICABLE.items():
        assert checks[name]["outcome"] == "skipped"
        assert checks[name]["message"].startswith("not applicable: caddy"), checks[name]
        assert why in checks[name]["message"]
    for name in (
        "test_sticky_cookie_has_the_documented_attributes",
        "test_pinned_clients_stay_on_their_target",
        "test_garbage_cookie_is_balanced_anew_and_reissued",
        "test_drain_moves_pinned_clients_with_their_sessions",
        "test_session_made_on_one_target_works_on_every_other",
        "test_fresh_clients_spread_evenly",
    ):
        assert checks[name]["outcome"] == "passed", (name, checks[name]["message"])


def test_a_fault_behind_caddy_is_caught_by_name(tmp_path: Path) -> None:
    for replica, profile in _caddy(tmp_path, "local-sessions"):
        done, checks = _check(tmp_path, replica, profile, "--suite", "sharing")
        assert done.returncode == 1, done.stdout + done.stderr
        check = checks["test_session_made_on_one_target_works_on_every_other"]
        assert check["outcome"] == "failed"
        assert check["message"].startswith("[local-sessions]"), check["message"]
