"""`parity topology`: readable table, JSON, and exit codes 2 (bad profile) and 3 (unreachable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.replica.processes import free_port


def _topology(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PARITY_HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
    }
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "topology", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.servers
def test_default_is_the_replica_as_a_table_and_as_json(tmp_path: Path) -> None:
    table = _topology(tmp_path)
    assert table.returncode == 0, table.stderr
    assert "load balancer parity-replica-alb (replica" in table.stdout
    assert "stickiness: lb_cookie 86400 s" in table.stdout
    rows = [line.split() for line in table.stdout.splitlines() if line.strip().startswith("app-")]
    assert [(row[0], row[4]) for row in rows] == [("app-1", "healthy"), ("app-2", "healthy")]
    data = json.loads(_topology(tmp_path, "--json").stdout)
    assert [t["state"] for g in data["target_groups"] for t in g["targets"]] == ["healthy"] * 2
    assert "secrets" not in data


def test_bad_profile_exits_2_with_one_line(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("name: bad\ntopology:\n  provider: aws\n  load_balancer: x\n  regoin: y\n")
    result = _topology(tmp_path, "--env-file", str(profile))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"parity: error: {profile}:5: topology.regoin: unknown key; allowed here: drain, "
        "endpoint_url, instance_url, load_balancer, profile, provider, region, replica, route, "
        "targets"
    )


def test_unreachable_environment_exits_3_with_one_line(tmp_path: Path) -> None:
    profile = tmp_path / "down.yaml"
    profile.write_text(
        "name: down\ntopology:\n  provider: aws\n  load_balancer: x\n"
        f"  region: us-east-1\n  endpoint_url: http://127.0.0.1:{free_port()}\n"
    )
    result = _topology(tmp_path, "--env-file", str(profile))
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("parity: error: cannot reach the AWS endpoint")
