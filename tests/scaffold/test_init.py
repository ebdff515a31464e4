"""`parity init` as a user runs it: from the replica, a static HAProxy and an ALB (moto), each
followed by a check of the profile it wrote: `parity check` for the replica (it must pass as
written) and the HAProxy; `parity profile check` for moto's ALB, which serves no traffic and
whose targets' addresses are private (no request may leave 127.0.0.1)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from harness.replica.processes import free_port, stop_pid, wait_until
from harness.replica.running import running_replica
from harness.replica.spec import ReplicaConfig
from tests.aws_world import REGION, build
from tests.helpers import parity

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def _profile(cwd: Path, name: str) -> tuple[str, dict[str, object]]:
    text = (cwd / "environments" / f"{name}.yaml").read_text()
    return text, yaml.safe_load(text)


def test_init_from_the_replica_writes_a_profile_that_passes_as_written(tmp_path: Path) -> None:
    done = parity(tmp_path / "home", "init", "local", "--from-replica", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "next: parity profile check local && parity check --env local" in done.stdout
    text, profile = _profile(tmp_path, "local")
    assert text.startswith("# yaml-language-server: $schema=parity-profile.schema.json\n")
    assert (tmp_path / "environments" / "parity-profile.schema.json").exists()
    assert "targets: 2  # observed: 2 healthy targets" in text
    assert profile["production"] is False
    again = parity(tmp_path / "home", "init", "local", "--from-replica", cwd=tmp_path)
    assert again.returncode == 2 and "never overwrites" in again.stderr
    check = parity(tmp_path / "home", "check", "--env", "local", cwd=tmp_path)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr


HAPROXY = """\
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend web
  bind 127.0.0.1:{port}
  default_backend app
backend app
  balance roundrobin
  cookie SERVERID insert indirect nocache
  option httpchk GET /healthz
{servers}
"""


@pytest.fixture
def static_haproxy(tmp_path: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A plain HAProxy (`cookie SERVERID insert`) in front of a replica's two instances."""
    with running_replica(ReplicaConfig(deregistration_delay=2)) as (replica, _):
        targets = [(t.id, t.url) for t in replica.targets()]
        port = free_port()
        servers = "\n".join(
            f"  server {i} {u.split('//')[1]} cookie {i} check inter 1s" for i, u in targets
        )
        config = tmp_path / "haproxy.cfg"
        config.write_text(HAPROXY.format(port=port, servers=servers))
        proc = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config)], stdout=subprocess.DEVNULL, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _answers(url), 20, "HAProxy to route")
            yield url, targets
        finally:
            stop_pid(proc.pid, proc=proc)


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_init_from_a_static_haproxy_observes_its_cookie_and_checks(
    tmp_path: Path, static_haproxy: tuple[str, list[tuple[str, str]]]
) -> None:
    url, targets = static_haproxy
    args = [a for i, u in targets for a in ("--target", f"{i}={u}")]
    done = parity(tmp_path / "home", "init", "web-prod", "--static", url, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text, profile = _profile(tmp_path, "web-prod")
    expect = profile["expect"]
    assert isinstance(expect, dict)
    assert expect["balancer"] == "haproxy" and expect["cookie"] == {"name": "SERVERID"}
    assert "guess: the entry set a SERVERID cookie" in text
    assert profile["identity"] == {"header": "X-Instance-Id"}
    assert profile["production"] is True  # "prod" in the name, no terminal to ask
    assert profile["safety"] == {"allow_disruptive": False, "max_users": 50, "max_rps": 100}
    assert "# session:" in text and "${APP_TEST_PASSWORD}" in text  # a skeleton, commented
    assert "/login (" in text  # the probe found the login endpoint
    check = parity(
        tmp_path / "home", "check", "--env", "web-prod", "--suite", "topology", "--suite",
        "sticky", cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr


def test_init_from_an_alb_reads_its_settings(
    tmp_path: Path,
    moto_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    for key, value in aws.items():
        monkeypatch.setenv(key, value)
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    world = build(endpoint_url=moto_server, stickiness_seconds=600, deregistration_delay=45)
    done = parity(
        tmp_path / "home", "init", "staging", "--aws", world.lb_name, "--region", REGION,
        cwd=tmp_path, env=aws,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _text, profile = _profile(tmp_path, "staging")
    expect = profile["expect"]
    assert isinstance(expect, dict)
    assert expect["stickiness"]["duration_seconds"] == 600  # type: ignore[index]
    assert expect["deregistration_delay_seconds"] == 45
    assert expect["balancer"] == "alb" and expect["targets"] == 2
    assert profile["topology"] == {
        "provider": "aws",
        "load_balancer": world.lb_name,
        "region": REGION,
    }
    # moto serves no traffic and its targets have private addresses: the written profile is
    # checked without sending a request (a parity check would reach outside 127.0.0.1)
    check = parity(tmp_path / "home", "profile", "check", "staging", cwd=tmp_path, env=aws)
    assert check.returncode == 0, check.stderr
    assert "valid (staging, provider aws)" in check.stdout
