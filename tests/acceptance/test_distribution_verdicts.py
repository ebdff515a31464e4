"""The spread a balancer promises, through the CLI: a ratio for least-outstanding-requests,
nothing for source-IP hashing, and pinning that says "not applicable" where no client goes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from harness.spread_promises import RATIO_FACTORS
from tests.helpers import parity, static_profile

pytestmark = pytest.mark.slow
SPREAD = "test_fresh_clients_spread_evenly"


def _check(home: Path, *args: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    reports = home / "reports"
    done = parity(home, "check", *args, "--report-dir", str(reports))
    results = json.loads((reports / "latest" / "results.json").read_text())
    return done.returncode, {c["name"]: c for c in results["checks"]}, done.stdout + done.stderr


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    parity(tmp_path, "down")


@pytest.mark.servers
def test_least_outstanding_requests_is_judged_by_a_gross_ratio_only(home: Path) -> None:
    up = parity(home, "up", "--instances", "4", "--algorithm", "least_outstanding_requests")
    assert up.returncode == 0, up.stderr
    code, checks, out = _check(home, "--suite", "distribution")
    assert code == 0, out[-2000:]
    spread = checks[SPREAD]["evidence"]["distribution"]
    assert spread["decision"] == "even" and spread["factor"] == max(RATIO_FACTORS)


@pytest.fixture(scope="module")
def replica() -> Iterator[tuple[Replica, ReplicaHandle]]:
    with running_replica(ReplicaConfig(instances=2, deregistration_delay=2)) as pair:
        yield pair


def _static(path: Path, pair: tuple[Replica, ReplicaHandle], algorithm: str) -> Path:
    return static_profile(path, pair[0], pair[1].url, "iphash", f"  algorithm: {algorithm}\n")


def test_source_ip_hashing_promises_no_spread_to_one_test_client(
    home: Path, replica: tuple[Replica, ReplicaHandle]
) -> None:
    profile = _static(home / "iphash.yaml", replica, "source_ip_hash")
    code, checks, out = _check(home, "--env-file", str(profile), "--suite", "distribution")
    assert code == 0, out[-2000:]
    assert checks[SPREAD]["outcome"] == "skipped"
    assert checks[SPREAD]["message"].startswith(
        "not applicable: every test client comes from one address"
    )
    assert checks["test_no_target_is_much_slower"]["outcome"] == "passed"


def test_an_unknown_algorithm_is_one_line_naming_the_field(home: Path) -> None:
    (home / "bad.yaml").write_text(
        "name: bad\nurl: http://127.0.0.1:9\ntopology:\n  provider: static\n  targets:\n"
        "    - {id: a, url: 'http://127.0.0.1:9'}\nexpect:\n  algorithm: sticky_random\n"
    )
    done = parity(home, "profile", "check", str(home / "bad.yaml"))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "expect.algorithm" in line and "source_ip_hash" in line


@pytest.mark.servers
def test_a_group_at_weight_zero_is_not_applicable_for_pinning_never_a_fault(home: Path) -> None:
    up = parity(home, "up", "--groups", "blue:100,green:0")
    assert up.returncode == 0, up.stderr
    code, checks, out = _check(home, "--suite", "sticky", "--suite", "distribution")
    failed = {n: c["message"][:200] for n, c in checks.items() if c["outcome"] == "failed"}
    assert code == 0 and not failed, failed or out[-2000:]
    pinned = checks["test_pinned_clients_stay_on_their_target"]
    assert pinned["outcome"] == "passed", pinned  # blue's targets checked, green's named
    assert [n for n in pinned["evidence"]["not_reached"] if "weight 0" in n] == [
        "green-1's target group has weight 0 in the forward: no fresh client goes there",
        "green-2's target group has weight 0 in the forward: no fresh client goes there",
    ]
    assert checks[SPREAD]["outcome"] == "passed"


@pytest.mark.servers
def test_a_healthy_target_the_balancer_never_reaches_is_named_even_with_uneven_accepted(
    tmp_path: Path,
) -> None:
    """A regression: `accept: {fault: uneven}` also hid a target that took nothing. A static
    profile lists a third healthy target that is not behind its balancer (the target of
    another replica): it is `[unreached-target]`, which the acceptance does not cover."""
    with (
        running_replica(ReplicaConfig(instances=2)) as (front, handle),
        running_replica(ReplicaConfig(instances=1, groups=(("stray", 50), ("x", 50)))) as (
            other,
            _,
        ),
    ):
        listed = [*front.targets(), *(t for t in other.targets() if t.id == "stray-1")]
        profile = tmp_path / "stray.yaml"
        targets = "\n".join(f'    - {{id: {t.id}, url: "{t.url}"}}' for t in listed)
        profile.write_text(
            f"name: stray\nurl: {handle.url}\ntopology:\n  provider: static\n  targets:\n"
            f"{targets}\nidentity: {{header: X-Instance-Id}}\nexpect:\n"
            "  health_check: {path: /healthz}\n"
            'accept:\n  - {fault: uneven, reason: "a known hot node", until: 2099-01-01}\n'
        )
        code, checks, out = _check(tmp_path, "--env-file", str(profile), "--suite", "distribution")
    assert code == 1, out[-2000:]
    spread = checks[SPREAD]
    assert spread["outcome"] == "failed", spread
    assert spread["message"].startswith("[unreached-target]"), spread["message"][:300]
    assert "stray-1 took none of" in spread["message"]
