"""parity diff: moto environments built to differ in chosen ways, and replica against replica."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from harness.commands.diff import compare_environments
from harness.profile.environment import Environment, parse_profile
from harness.topology import open_provider
from harness.topology.aws.provider import AwsProvider
from tests.aws_world import World, build, profile

REPLICA = Path(__file__).resolve().parents[2] / "harness" / "profile" / "replica.yaml"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def _env(world: World, policy: str = "") -> Environment:
    text = profile(world, extra=f"redis: {{elasticache: {world.lb_name}-sessions}}\n" + policy)
    return parse_profile(text, f"{world.lb_name}.yaml")


@pytest.mark.servers
@pytest.mark.usefixtures("aws")
def test_every_difference_is_found_and_none_invented() -> None:
    staging = build(
        "staging",
        instance_type="t3.small",
        stickiness_seconds=3600,
        zones=("a",),
        idle_timeout=60,
        redis_version="7.0",
        redis_node="cache.t3.micro",
    )
    prod = build(
        "prod",
        instance_type="m5.large",
        stickiness_seconds=86400,
        zones=("a", "b"),
        idle_timeout=120,
        redis_version="7.0",
        redis_node="cache.r6g.large",
    )
    policy = (
        "parity:\n  expected:\n    - {path: targets.instance_types, reason: smaller "
        "instances in staging}\n    - {path: session_store.node_type, reason: smaller "
        "cache}\n"
    )
    result = compare_environments(_env(staging, policy), _env(prod))
    found = {d["path"]: (d["left"], d["right"], d["expected"]) for d in result["differences"]}
    assert found == {
        "targets.instance_types": (["t3.small", "t3.small"], ["m5.large", "m5.large"], True),
        "session_store.node_type": ("cache.t3.micro", "cache.r6g.large", True),
        "targets.zones": (1, 2, False),
        "target_group[0].stickiness.duration_seconds": (3600, 86400, False),
        "load_balancer.idle_timeout.timeout_seconds": ("60", "120", False),
    }
    assert {d["path"] for d in result["unexpected"]} == {
        "targets.zones",
        "target_group[0].stickiness.duration_seconds",
        "load_balancer.idle_timeout.timeout_seconds",
    }


@pytest.mark.servers
@pytest.mark.usefixtures("aws")
def test_identical_environments_have_no_difference() -> None:
    one, two = build("one", redis_version="7.0"), build("two", redis_version="7.0")
    assert compare_environments(_env(one), _env(two))["differences"] == []


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"open_to_world": True}, "port 8080 is open to 0.0.0.0/0"),
        ({"admit_lb": False}, "do not admit the load balancer's"),
        ({"zones": ("a",)}, "targets run in 1 zone(s)"),
    ],
)
def test_hygiene_finds_security_group_and_zone_problems(kwargs: dict, problem: str) -> None:
    world = build("hyg", **kwargs)
    provider = open_provider(parse_profile(profile(world), "hyg.yaml"))
    assert isinstance(provider, AwsProvider)
    problems = provider.hygiene(provider.resolve())
    assert any(problem in p for p in problems), problems


@pytest.mark.usefixtures("aws")
def test_hygiene_passes_a_sound_setup() -> None:
    provider = open_provider(parse_profile(profile(build("sound")), "sound.yaml"))
    assert isinstance(provider, AwsProvider)
    assert provider.hygiene(provider.resolve()) == []


def _replica_profile(tmp_path: Path, name: str, replica: str) -> Path:
    text = (
        REPLICA.read_text()
        .replace("name: replica", f"name: {name}")
        .replace("  provider: replica", f"  provider: replica\n  replica: {replica}")
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def _diff(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "diff", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PARITY_HOME": str(tmp_path / "home")},
    )


@pytest.mark.servers
def test_replica_against_replica_with_different_settings(tmp_path: Path) -> None:
    a = _replica_profile(tmp_path, "blue", "{deregistration_delay: 3}")
    b = _replica_profile(tmp_path, "green", "{deregistration_delay: 3, stickiness_seconds: 600}")
    same = _diff(tmp_path, str(a), str(a))
    assert same.returncode == 0 and "no differences" in same.stdout
    result = _diff(tmp_path, str(a), str(b))
    assert result.returncode == 1
    rows = [line.split() for line in result.stdout.splitlines() if "DRIFT" in line]
    assert rows == [["target_group[0].stickiness.duration_seconds", "86400", "600", "DRIFT"]]


@pytest.mark.servers
@pytest.mark.slow
def test_behaviour_shows_outcomes_that_differ(tmp_path: Path) -> None:
    a = _replica_profile(tmp_path, "blue", "{deregistration_delay: 3}")
    b = _replica_profile(tmp_path, "skewed", "{deregistration_delay: 3, faults: [version-skew]}")
    result = _diff(tmp_path, str(a), str(b), "--behaviour", "--json")
    assert result.returncode == 1
    import json

    paths = {d["path"] for d in json.loads(result.stdout)["unexpected"]}
    assert "behaviour.test_every_target_serves_the_same_build" in paths
    assert "builds" in paths


@pytest.mark.servers
def test_check_with_a_reference_puts_the_differences_in_the_report(tmp_path: Path) -> None:
    a = _replica_profile(tmp_path, "blue", "{deregistration_delay: 3}")
    b = _replica_profile(tmp_path, "green", "{deregistration_delay: 3, stickiness_seconds: 600}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "check",
            "--env-file",
            str(a),
            "--suite",
            "topology",
            "--reference",
            str(b),
            "--report-dir",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PARITY_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    page = (tmp_path / "r" / "latest" / "index.html").read_text()
    assert "Parity with green: 1 unexpected difference(s)" in page
    assert "target_group[0].stickiness.duration_seconds" in page
