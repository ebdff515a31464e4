"""Killing `parity check` in the middle of a drain: the drain is undone, the child does not
outlive its parent, and parity says what it did (SIGTERM, Ctrl-C, and SIGKILL of parity)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.disruption.journal import Journal
from harness.pids import pid_alive
from tests.helpers import parity

pytestmark = [pytest.mark.servers, pytest.mark.slow, pytest.mark.disruptive]


def _wait_for_drain(home: Path, run: subprocess.Popen[str]) -> int:
    """The PID of the pytest child once it has journaled its drain."""
    journal = home / "journal.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and run.poll() is None:
        if journal.exists() and '"begin"' in journal.read_text():
            time.sleep(1.0)  # the target is draining, traffic running
            return int(json.loads(journal.read_text().splitlines()[0])["owner"]["pid"])
        time.sleep(0.1)
    raise AssertionError(f"no drain began; parity ended with {run.poll()}")


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -9)]
)
def test_a_killed_check_undoes_its_drain(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    assert parity(tmp_path, "up", "--deregistration-delay", "30").returncode == 0
    try:
        run = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "check",
                "--suite",
                "failover",
                "--report-dir",
                str(tmp_path / "reports"),
            ],
            env={**os.environ, "PARITY_HOME": str(tmp_path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        child = _wait_for_drain(tmp_path, run)
        sent = time.monotonic()
        run.send_signal(sig)
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == code, stderr
        if sig != signal.SIGKILL:
            assert "waiting up to 180 s while the checks undo" in stderr
            assert "the checks stopped and undid what they changed" in stderr
        while pid_alive(child) and time.monotonic() - sent < 60:
            time.sleep(0.2)
        assert not pid_alive(child), "the pytest child outlived parity"
        assert time.monotonic() - sent < 25  # undone at once, not after the 30 s delay
        assert Journal(tmp_path / "journal.jsonl").outstanding() == []
        status = json.loads(parity(tmp_path, "status", "--json").stdout)
        assert [t["state"] for t in status["targets"]] == ["healthy", "healthy"]
    finally:
        parity(tmp_path, "down")


def test_sigint_interrupts_parity_started_with_sigint_ignored(tmp_path: Path) -> None:
    """A regression: a process that ignores SIGINT (a CI runner, a background job, a test
    worker that ran Locust) passes SIG_IGN on to parity, which then ran its drain to the end on
    Ctrl-C. parity installs its handler itself: the run stops with 130 and the drain is undone."""
    assert parity(tmp_path, "up", "--deregistration-delay", "30").returncode == 0
    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "check", "--suite", "failover",
             "--report-dir", str(tmp_path / "reports")],
            env={**os.environ, "PARITY_HOME": str(tmp_path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )  # fmt: skip
        _wait_for_drain(tmp_path, run)
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 130, stderr
        assert Journal(tmp_path / "journal.jsonl").outstanding() == []
    finally:
        parity(tmp_path, "down")
