"""The guard refuses unsafe actions, journals before acting, and always undoes."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harness.disruption.drain import wait_drained
from harness.disruption.guard import Guard, Permission
from harness.disruption.journal import Journal
from harness.errors import SafetyRefusal
from harness.profile.environment import replica_profile
from harness.replica.provider import ReplicaProvider
from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from tests.helpers import parity, served_by, state_of, wait_for_state

pytestmark = pytest.mark.servers

Pair = tuple[Replica, ReplicaHandle]
ALLOW = Permission(disruptive=True)


def guard_for(
    handle: ReplicaHandle, tmp_path: Path, permission: Permission = ALLOW, **env_changes: object
) -> Guard:
    env = dataclasses.replace(replica_profile(), **env_changes)  # type: ignore[arg-type]
    return Guard(env, ReplicaProvider(env, handle), permission, Journal(tmp_path / "j.jsonl"))


def test_drain_is_journaled_first_and_undone_after(fresh_replica: Pair, tmp_path: Path) -> None:
    _, handle = fresh_replica
    guard = guard_for(handle, tmp_path)
    with guard.disrupt("deregister", "app-1", restore_after=15) as record:
        (entry,) = guard.journal.outstanding()
        assert (entry.action, entry.target, entry.environment) == ("deregister", "app-1", "replica")
        wait_drained(guard.provider, record, delay_seconds=2)
        assert record.states()[0] == "draining" and record.states()[-1] == "gone"
    assert state_of(handle, "app-1") == "healthy"
    assert guard.journal.outstanding() == []


def test_an_exception_inside_still_undoes(fresh_replica: Pair, tmp_path: Path) -> None:
    _, handle = fresh_replica
    guard = guard_for(handle, tmp_path)
    with pytest.raises(RuntimeError), guard.disrupt("fail-health", "app-2", restore_after=15):
        wait_for_state(handle, "app-2", "unhealthy")
        raise RuntimeError("the check failed")
    assert state_of(handle, "app-2") == "healthy"
    assert guard.journal.outstanding() == []


def test_refusals_say_why(fresh_replica: Pair, tmp_path: Path) -> None:
    _, handle = fresh_replica
    safety = dataclasses.replace(replica_profile().safety, allow_disruptive=False)
    cases = [
        (guard_for(handle, tmp_path, safety=safety), "sets safety.allow_disruptive: false"),
        (
            guard_for(handle, tmp_path, Permission(disruptive=False)),
            "disruptive actions need --allow-disruptive",
        ),
        (
            guard_for(handle, tmp_path, production=True),
            "replica is a production environment; allow it by name with --allow-production replica",
        ),
    ]
    for guard, reason in cases:
        with pytest.raises(SafetyRefusal, match=reason):
            guard.check("deregister", "app-1")
    allowed = guard_for(handle, tmp_path, Permission(True, "replica"), production=True)
    allowed.check("deregister", "app-1")  # named explicitly: allowed
    assert Journal(tmp_path / "j.jsonl").outstanding() == []


def test_refuses_to_leave_no_healthy_target(fresh_replica: Pair, tmp_path: Path) -> None:
    _, handle = fresh_replica
    guard = guard_for(handle, tmp_path)
    with (
        guard.disrupt("deregister", "app-1", restore_after=15),
        pytest.raises(SafetyRefusal, match="would leave no healthy target"),
    ):
        guard.check("kill", "app-2")
    assert state_of(handle, "app-1") == "healthy"


def _guarded_run(home: Path, action: str, target: str) -> subprocess.Popen[str]:
    """A run that performs `action` through the guard, prints `acting`, then waits; on SIGTERM
    it unwinds (printing `undone` once the action is undone)."""
    script = (
        "import time\n"
        "from harness.profile.environment import replica_profile\n"
        "from harness.disruption.guard import Guard, Permission\n"
        "from harness.replica.provider import ReplicaProvider\n"
        "env = replica_profile()\n"
        "guard = Guard(env, ReplicaProvider(env), Permission(disruptive=True))\n"
        "try:\n"
        f"    with guard.disrupt({action!r}, {target!r}):\n"
        "        print('acting', flush=True)\n"
        "        time.sleep(120)\n"
        "except KeyboardInterrupt:\n"
        "    print('undone', flush=True)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PARITY_HOME": str(home)},
    )


def _killed_drain(home: Path) -> None:
    """A run that drained app-1 through the guard, killed (SIGKILL) before it could undo."""
    run = _guarded_run(home, "deregister", "app-1")
    assert run.stdout is not None and run.stdout.readline().strip() == "acting"
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=10)


def test_parity_restore_undoes_a_drain_whose_run_was_killed(tmp_path: Path) -> None:
    assert parity(tmp_path, "up", "--deregistration-delay", "1").returncode == 0
    try:
        _killed_drain(tmp_path)
        time.sleep(1.5)
        status = json.loads(parity(tmp_path, "status", "--json").stdout)
        assert {t["id"]: t["state"] for t in status["targets"]}["app-1"] == "unused"
        restored = parity(tmp_path, "restore")
        assert restored.returncode == 0, restored.stderr
        assert restored.stdout.startswith("deregister app-1: undone (register), healthy after")
        status = json.loads(parity(tmp_path, "status", "--json").stdout)
        assert [t["state"] for t in status["targets"]] == ["healthy", "healthy"]
        assert parity(tmp_path, "restore").stdout.strip() == "nothing to restore for replica"
    finally:
        parity(tmp_path, "down")


def test_sigterm_unwinds_and_undoes(tmp_path: Path) -> None:
    assert parity(tmp_path, "up", "--deregistration-delay", "1").returncode == 0
    try:
        run = _guarded_run(tmp_path, "kill", "app-2")
        assert run.stdout is not None and run.stdout.readline().strip() == "acting"
        run.send_signal(signal.SIGTERM)
        assert run.stdout.readline().strip() == "undone"
        run.wait(timeout=30)
        status = json.loads(parity(tmp_path, "status", "--json").stdout)
        assert [t["state"] for t in status["targets"]] == ["healthy", "healthy"]
        assert Journal(tmp_path / "journal.jsonl").outstanding() == []
    finally:
        parity(tmp_path, "down")


def _journal_lines(home: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (home / "journal.jsonl").read_text().splitlines()]


def test_restore_skips_what_it_cannot_read_or_do_and_restores_the_rest(tmp_path: Path) -> None:
    assert parity(tmp_path, "up", "--deregistration-delay", "1").returncode == 0
    try:
        _killed_drain(tmp_path)
        begin = next(e for e in _journal_lines(tmp_path) if e["event"] == "begin")
        ghost = {**begin, "id": "ghost", "target": "app-9"}  # a target that no longer exists
        n = len(_journal_lines(tmp_path))
        with (tmp_path / "journal.jsonl").open("ab") as journal:
            journal.write(b'{"event": "begin", "id": "x1"}\n')  # missing keys
            journal.write(b"[1, 2, 3]\n")  # a JSON list
            journal.write(b"\xff\xfe not utf-8\n")
            journal.write(json.dumps({**begin, "id": "x2", "action": "explode"}).encode() + b"\n")
            journal.write(json.dumps(ghost).encode() + b"\n")
        restored = parity(tmp_path, "restore")
        assert restored.returncode == 1, restored.stdout + restored.stderr
        assert "deregister app-1: undone (register)" in restored.stdout
        for needle in (
            f"line {n + 1}: an action that cannot be undone (missing",
            f"line {n + 2}: not a journal event",
            f"line {n + 3}: not UTF-8 text",
            f"line {n + 4}: an action that cannot be undone (action 'explode')",
            "deregister app-9: could not undo",
            "parity: 5 journal entries stayed undone",
        ):
            assert needle in restored.stderr, restored.stderr
        assert "Traceback" not in restored.stderr
        status = json.loads(parity(tmp_path, "status", "--json").stdout)
        assert [t["state"] for t in status["targets"]] == ["healthy", "healthy"]
    finally:
        parity(tmp_path, "down")


def test_restore_leaves_a_live_run_alone_unless_forced(tmp_path: Path) -> None:
    assert parity(tmp_path, "up", "--deregistration-delay", "1").returncode == 0
    run = _guarded_run(tmp_path, "deregister", "app-1")
    try:
        assert run.stdout is not None and run.stdout.readline().strip() == "acting"
        left = parity(tmp_path, "restore")
        assert left.returncode == 0, left.stderr
        assert f"left alone, the run that did it (PID {run.pid} on" in left.stdout
        status = json.loads(parity(tmp_path, "status", "--json").stdout)
        assert {t["id"]: t["state"] for t in status["targets"]}["app-1"] in ("draining", "unused")
        forced = parity(tmp_path, "restore", "--force")
        assert forced.returncode == 0, forced.stderr
        assert "deregister app-1: undone (register)" in forced.stdout
        status = json.loads(parity(tmp_path, "status", "--json").stdout)
        assert [t["state"] for t in status["targets"]] == ["healthy", "healthy"]
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=30)
        parity(tmp_path, "down")


@pytest.fixture
def grouped() -> Iterator[Pair]:
    config = ReplicaConfig(groups=(("blue", 90), ("green", 10)), group_stickiness=60)
    with running_replica(config) as pair:
        yield pair


def test_a_weight_change_is_journaled_and_undone(grouped: Pair, tmp_path: Path) -> None:
    _, handle = grouped
    guard = guard_for(handle, tmp_path)
    provider = guard.provider
    with guard.reweigh({"parity-blue": 0, "parity-green": 100}) as before:
        assert before == {"parity-blue": 90, "parity-green": 10}
        (entry,) = guard.journal.outstanding()
        assert entry.action == "weights" and entry.details["before"] == before
        assert provider.weights() == {"parity-blue": 0, "parity-green": 100}  # type: ignore[attr-defined]
        fresh = {served_by(requests.Session(), handle.url) for _ in range(10)}
        assert {t.split("-")[0] for t in fresh} == {"green"}
    assert provider.weights() == {"parity-blue": 90, "parity-green": 10}  # type: ignore[attr-defined]
    assert guard.journal.outstanding() == []


def test_a_weight_change_left_by_a_killed_run_is_restored(tmp_path: Path) -> None:
    """As after a SIGKILL inside `guard.reweigh`: the journal holds the weights to go back to,
    and `parity restore` puts them back."""
    assert parity(tmp_path, "up", "--groups", "blue:90,green:10").returncode == 0
    try:
        control = json.loads((tmp_path / "replica.json").read_text())["control_url"]
        Journal(tmp_path / "journal.jsonl").begin(
            "replica-groups", "replica-groups.yaml", f"replica {control}", "weights",
            "weighted-forward",
            {"before": {"parity-blue": 90, "parity-green": 10}, "after": {"parity-blue": 50}},
        )  # fmt: skip
        assert parity(tmp_path, "replica", "weights", "blue=50", "green=50").returncode == 0
        done = parity(tmp_path, "restore", "--force")
        groups = json.loads(parity(tmp_path, "status", "--json").stdout)["target_groups"]
    finally:
        parity(tmp_path, "down")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "weights: put back to {'parity-blue': 90, 'parity-green': 10}" in done.stdout
    assert {g["name"]: g["weight"] for g in groups} == {"parity-blue": 90, "parity-green": 10}


def test_weights_are_refused_without_permission(grouped: Pair, tmp_path: Path) -> None:
    _, handle = grouped
    guard = guard_for(handle, tmp_path, Permission(disruptive=False))
    refused = pytest.raises(SafetyRefusal, match="weights weighted-forward refused")
    with refused, guard.reweigh({"parity-blue": 0, "parity-green": 100}):
        pass
    assert guard.journal.outstanding() == []
