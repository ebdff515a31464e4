"""`expect.targets`: a count or a range, validated; targets joining or leaving are listed, not
failed; the replica's profile follows `--instances`. Against real replicas through the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ProfileError
from harness.profile.environment import parse_profile, replica_profile
from harness.profile.target_count import TargetCount
from harness.replica.provider import expecting_started
from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from harness.scaffold.render import _targets
from tests.helpers import parity, static_profile

ROOT = Path(__file__).resolve().parents[2]
REPLICA_TEXT = (ROOT / "harness/profile/replica.yaml").read_text()
COUNT_CHECK = "test_expected_number_of_healthy_targets"
ALLOWED = (
    "allowed: an integer of at least 1, or a mapping with keys min, max (min, max or both, "
    "each an integer of at least 1, min <= max)"
)


def _with_targets(value: str, topology: str = "  provider: replica\n") -> str:
    return REPLICA_TEXT.replace("  targets: 2\n", f"  targets: {value}\n").replace(
        "  provider: replica\n", topology
    )


# ---- the field -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "count", "described"),
    [
        ("2", TargetCount(2, 2), "exactly 2"),
        ("2.0", TargetCount(2, 2), "exactly 2"),
        ("{min: 2, max: 10}", TargetCount(2, 10), "2 to 10"),
        ("{min: 4}", TargetCount(4, None), "at least 4"),
        ("{max: 3}", TargetCount(1, 3), "1 to 3"),
        ("{min: 3, max: 3}", TargetCount(3, 3), "exactly 3"),
    ],
)
def test_a_count_or_a_range_is_read_by_one_helper(
    value: str, count: TargetCount, described: str
) -> None:
    env = parse_profile(_with_targets(value), "t.yaml")
    assert env.target_count == count and count.describe() == described


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", f"t.yaml:9: expect.targets: got 0; {ALLOWED}"),
        ("two", f"t.yaml:9: expect.targets: got 'two'; {ALLOWED}"),
        ("true", f"t.yaml:9: expect.targets: got True; {ALLOWED}"),
        ("[2, 10]", f"t.yaml:9: expect.targets: got [2, 10]; {ALLOWED}"),
        ("2.5", f"t.yaml:9: expect.targets: got 2.5; {ALLOWED}"),
        ("{min: 0}", "t.yaml:9: expect.targets.min: got 0; allowed: an integer of at least 1"),
        ("{max: x}", "t.yaml:9: expect.targets.max: got 'x'; allowed: an integer of at least 1"),
        ("{mn: 2}", "t.yaml:9: expect.targets.mn: unknown key; allowed here: max, min"),
        ("{}", f"t.yaml:9: expect.targets: give min, max or both; {ALLOWED}"),
        ("{min: 5, max: 2}", "t.yaml:9: expect.targets: min 5 is more than max 2; allowed: "
         "min <= max"),
    ],
)  # fmt: skip
def test_a_bad_count_is_one_line_naming_file_line_field_and_what_is_allowed(
    value: str, message: str
) -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile(_with_targets(value), "t.yaml")
    assert str(err.value) == message


def test_a_range_counts_joining_and_leaving_targets_only_against_its_minimum() -> None:
    exact, ranged = TargetCount(3, 3), TargetCount(2, 10)
    assert exact.allows(3) and not exact.allows(2) and not exact.allows(4)
    assert exact.allows(2, settling=1)  # one draining or initial: not a shortfall yet
    assert not exact.allows(4, settling=1)  # never an excess
    assert ranged.allows(2) and ranged.allows(10) and not ranged.allows(11)
    assert not ranged.allows(1) and ranged.allows(1, settling=1)
    assert TargetCount.parse(None) is None and TargetCount.from_expect({}) is None


def test_a_replica_the_profile_starts_is_expected_whole() -> None:
    starts = "  provider: replica\n  replica: {instances: 3}\n"
    unstated = REPLICA_TEXT.replace("  targets: 2\n", "").replace("  provider: replica\n", starts)
    assert parse_profile(unstated, "r.yaml").target_count == TargetCount(3, 3)
    assert parse_profile(_with_targets("{min: 2}", starts), "r.yaml").target_count == (
        TargetCount(2, None)
    )
    with pytest.raises(ProfileError) as err:
        parse_profile(_with_targets("2", starts), "r.yaml")
    assert str(err.value) == (
        "r.yaml:10: expect.targets: exactly 2, but topology.replica.instances starts 3: give 3, "
        "a range holding it, or leave expect.targets out"
    )


def test_the_built_in_profile_follows_the_running_replicas_instances() -> None:
    base = replica_profile()
    assert expecting_started(base, {"instances": 4}).target_count == TargetCount(4, 4)
    grouped = {"instances": 2, "groups": [["blue", 90], ["green", 10]]}
    assert expecting_started(base, grouped).target_count == TargetCount(4, 4)
    assert expecting_started(base, {}) == base


def test_init_writes_a_count_its_own_check_accepts() -> None:
    for healthy in (0, 1, 3):
        line = _targets(healthy, "lb").render()
        doc = yaml.safe_load(f"expect:\n{line}\n")
        text = _with_targets(json.dumps(doc["expect"]["targets"]))
        assert parse_profile(text, "init.yaml").target_count is not None, line
    assert _targets(0, "lb").render().startswith('  targets: {"min": 1}')


# ---- against real replicas, through the CLI ------------------------------------------------


def _check(home: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """`parity check --suite topology ARGS`: its exit code, the count check's record, output."""
    reports = home / "reports"
    done = parity(home, "check", "--suite", "topology", *args, "--report-dir", str(reports))
    results = json.loads((reports / "latest" / "results.json").read_text())
    (record,) = [c for c in results["checks"] if c["name"] == COUNT_CHECK]
    return done.returncode, record, done.stdout + done.stderr


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A PARITY_HOME whose replica (if a test starts one) is stopped at the end."""
    yield tmp_path
    parity(tmp_path, "down")


def _up(home: Path, *flags: str) -> None:
    done = parity(home, "up", *flags)
    assert done.returncode == 0, done.stderr


def _act(home: Path, target: str, action: str) -> None:
    done = parity(home, "replica", "act", target, action)
    assert done.returncode == 0, done.stderr


def _wait_for(home: Path, target: str, state: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = json.loads(parity(home, "status", "--json").stdout)
        if {t["id"]: t["state"] for t in described["targets"]}[target] == state:
            return
        time.sleep(0.3)
    raise AssertionError(f"{target} did not become {state} in {timeout} s")


@pytest.mark.servers
@pytest.mark.slow
def test_up_with_four_instances_then_check_passes(home: Path) -> None:
    _up(home, "--instances", "4")
    code, record, out = _check(home)
    assert code == 0, out[-3000:]
    assert record["outcome"] == "passed"
    assert record["evidence"]["target_count"]["expected"] == "exactly 4"
    assert record["evidence"]["target_count"]["healthy"] == ["app-1", "app-2", "app-3", "app-4"]


@pytest.fixture(scope="module")
def three() -> Iterator[tuple[Replica, ReplicaHandle]]:
    with running_replica(ReplicaConfig(instances=3, deregistration_delay=2)) as pair:
        yield pair


def _static(path: Path, pair: tuple[Replica, ReplicaHandle], targets: str) -> Path:
    return static_profile(path, pair[0], pair[1].url, "fleet", f"  targets: {targets}\n")


@pytest.mark.servers
@pytest.mark.slow
def test_a_static_range_holds_three_targets_and_a_minimum_of_four_does_not(
    home: Path, three: tuple[Replica, ReplicaHandle]
) -> None:
    ranged = _static(home / "ranged.yaml", three, "{min: 2, max: 10}")
    code, record, out = _check(home, "--env-file", str(ranged), "-k", COUNT_CHECK)
    assert code == 0 and record["outcome"] == "passed", out[-3000:]
    assert record["evidence"]["target_count"]["expected"] == "2 to 10"
    short = _static(home / "short.yaml", three, "{min: 4}")
    code, record, out = _check(home, "--env-file", str(short), "-k", COUNT_CHECK)
    assert code == 1 and record["outcome"] == "failed", out[-3000:]
    assert record["message"].startswith(
        "[unhealthy-target] a target is not healthy: 3 healthy targets, the profile expects "
        "at least 4 (expect.targets)"
    )


@pytest.mark.servers
@pytest.mark.slow
def test_a_draining_then_initial_target_is_listed_not_failed(home: Path) -> None:
    _up(home, "--instances", "3", "--deregistration-delay", "600")
    _act(home, "app-2", "deregister")
    code, record, out = _check(home, "-k", COUNT_CHECK)
    assert code == 0 and record["outcome"] == "passed", out[-3000:]
    assert record["evidence"]["target_count"] == {
        "expected": "exactly 3",
        "healthy": ["app-1", "app-3"],
        "settling": [
            {"id": "app-2", "state": "draining", "reason": "Target.DeregistrationInProgress"}
        ],
    }
    _act(home, "app-2", "fail-health")  # registered again, it stays initial: never passes once
    _act(home, "app-2", "register")
    code, record, out = _check(home, "-k", COUNT_CHECK)
    assert code == 0 and record["outcome"] == "passed", out[-3000:]
    assert record["evidence"]["target_count"]["settling"] == [
        {"id": "app-2", "state": "initial", "reason": "Elb.InitialHealthChecking"}
    ]


@pytest.mark.servers
@pytest.mark.slow
def test_a_target_failing_its_health_check_still_fails(home: Path) -> None:
    _up(home, "--instances", "3")
    _act(home, "app-3", "fail-health")
    _wait_for(home, "app-3", "unhealthy")
    code, record, out = _check(home, "-k", COUNT_CHECK)
    assert code == 1 and record["outcome"] == "failed", out[-3000:]
    message = record["message"]
    assert message.startswith("[unhealthy-target] a target is not healthy: 2 healthy targets, "
                              "the profile expects exactly 3 (expect.targets); not every "
                              "registered target is healthy: app-3=unhealthy"), message  # fmt: skip


@pytest.mark.servers
@pytest.mark.slow
def test_a_profile_that_starts_three_instances_expects_three(home: Path) -> None:
    starts = "  provider: replica\n  replica: {instances: 3, deregistration_delay: 1}\n"
    profile = home / "three.yaml"
    profile.write_text(REPLICA_TEXT.replace("  targets: 2\n", "").replace(
        "  provider: replica\n", starts))  # fmt: skip
    code, record, out = _check(home, "--env-file", str(profile), "-k", COUNT_CHECK)
    assert code == 0 and record["outcome"] == "passed", out[-3000:]
    assert record["evidence"]["target_count"]["expected"] == "exactly 3"
    assert len(record["evidence"]["target_count"]["healthy"]) == 3
