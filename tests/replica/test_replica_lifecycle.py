"""Clean start and stop: no stray process after exit, exception, Ctrl-C or a crashed daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.pids import pid_alive
from harness.replica.running import running_replica
from tests.helpers import parity


def _all_gone(pids: list[int], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.servers
def test_context_manager_stops_every_child() -> None:
    with running_replica() as (replica, _):
        pids = list(replica.child_pids().values())
        assert len(pids) == 4 and all(pid_alive(p) for p in pids)  # redis, 2 apps, haproxy
    assert _all_gone(pids)


@pytest.mark.servers
def test_exception_inside_stops_every_child() -> None:
    pids: list[int] = []
    with pytest.raises(RuntimeError), running_replica() as (replica, _):
        pids = list(replica.child_pids().values())
        raise RuntimeError("a test failed")
    assert pids and _all_gone(pids)


@pytest.mark.servers
def test_ctrl_c_stops_every_child(tmp_path: Path) -> None:
    script = (
        "import json, sys, time\n"
        "from harness.replica.running import running_replica\n"
        "with running_replica() as (r, _):\n"
        "    print(json.dumps(list(r.child_pids().values())), flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(  # Ctrl-C as a terminal sends it, whatever this worker ignores
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    pids = json.loads(proc.stdout.readline())
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    assert _all_gone(pids)


@pytest.mark.servers
def test_up_status_down_from_the_command_line(tmp_path: Path) -> None:
    up = parity(tmp_path, "up", "--deregistration-delay", "1")
    assert up.returncode == 0, up.stderr
    try:
        status = parity(tmp_path, "status", "--json")
        described = json.loads(status.stdout)
        assert described["url"].startswith("http://127.0.0.1:")
        assert described["https_url"].startswith("https://127.0.0.1:")
        assert described["redis_url"].startswith("redis://127.0.0.1:")
        assert [(t["id"], t["state"]) for t in described["targets"]] == [
            ("app-1", "healthy"),
            ("app-2", "healthy"),
        ]
        assert all(t["url"].startswith("http://127.0.0.1:") for t in described["targets"])
        again = parity(tmp_path, "up")
        assert again.returncode == 2 and "already running" in again.stderr
        state = json.loads((tmp_path / "replica.json").read_text())
    finally:
        down = parity(tmp_path, "down")
    assert down.returncode == 0 and "replica stopped" in down.stdout
    assert _all_gone([state["daemon_pid"], *state["children"].values()])
    assert not (tmp_path / "replica.json").exists()


@pytest.mark.servers
def test_down_after_the_daemon_crashed_leaves_nothing(tmp_path: Path) -> None:
    assert parity(tmp_path, "up").returncode == 0
    state = json.loads((tmp_path / "replica.json").read_text())
    work = Path(state["work_dir"])
    for secret in ("alb.key", "alb.pem"):  # the TLS private key is never readable by others
        assert (work / secret).stat().st_mode & 0o077 == 0, secret
    os.kill(state["daemon_pid"], signal.SIGKILL)
    down = parity(tmp_path, "down")
    assert down.returncode == 0
    assert "no replica was running" not in down.stdout
    assert f"leftovers {work}" in down.stdout
    assert _all_gone([state["daemon_pid"], *state["children"].values()])
    assert not (tmp_path / "replica.json").exists()
    assert not work.exists()  # key, admin socket and logs removed with it


def test_status_without_a_replica_is_one_line(tmp_path: Path) -> None:
    result = parity(tmp_path, "status")
    assert result.returncode == 3
    assert (
        result.stderr.strip() == "parity: error: no replica is running: start one with `parity up`"
    )


@pytest.mark.servers
def test_missing_haproxy_is_one_line_naming_the_package(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("redis-server", "openssl"):  # everything but haproxy
        (bin_dir / name).symlink_to(subprocess.check_output(["which", name], text=True).strip())
    result = parity(tmp_path, "up", env={"PATH": str(bin_dir)})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "haproxy is not installed: apt-get install haproxy" in lines[0]


def test_bad_flag_value_is_one_line(tmp_path: Path) -> None:
    result = parity(tmp_path, "up", "--instances", "99")
    assert result.returncode == 2
    assert result.stderr.strip() == "parity: error: --instances 99: allowed 1 to 8"
