"""`parity up`, `parity status` and `parity down`: the replica from the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.errors import EnvironmentUnavailable, ReplicaError, UsageError
from harness.home import home
from harness.pids import pid_alive
from harness.replica.processes import stop_pid
from harness.replica.running import ReplicaHandle
from harness.replica.spec import ReplicaConfig
from harness.replica.state import read_state, remove_state
from harness.signals import die_with_parent

UP_TIMEOUT = 30.0
DOWN_TIMEOUT = 15.0
EXPECTED_COMMAND = {"redis": "redis-server", "haproxy": "haproxy"}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ours(name: str, pid: int) -> bool:
    """Whether `pid` still runs the program we started as `name` (guards against PID reuse)."""
    expected = EXPECTED_COMMAND.get(name, "gunicorn" if name.startswith("app-") else name)
    return pid_alive(pid) and expected in _cmdline(pid)


def running_state() -> dict[str, Any] | None:
    """The state of a replica whose daemon is alive, or None."""
    state = read_state()
    if state and _ours("harness.replica.daemon", int(state["daemon_pid"])):
        return state
    return None


def up(config: ReplicaConfig, *, tied: bool = False) -> ReplicaHandle:
    """Start the replica daemon and wait until it serves; the replica keeps running (`tied`: it
    stops when this process dies, for a replica started for one command)."""
    if running_state():
        raise UsageError(
            "a replica is already running: see `parity status`, stop it with `parity down`"
        )
    down()  # a crashed replica's leftovers
    log_dir = home()
    log_dir.mkdir(parents=True, exist_ok=True)
    ready = Path(tempfile.mkdtemp(prefix="parity-up-")) / "ready.json"
    with (log_dir / "replica-daemon.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.replica.daemon",
                json.dumps(config.to_json()),
                str(ready),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent if tied else None,
        )
    deadline = time.monotonic() + UP_TIMEOUT
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_pid(proc.pid, proc=proc)
            raise ReplicaError(f"the replica did not start; see {log_dir / 'replica-daemon.log'}")
        time.sleep(0.05)
    answer = json.loads(ready.read_text())
    ready.unlink()
    ready.parent.rmdir()
    if not answer.get("ok"):
        raise ReplicaError(str(answer.get("error")))
    state = read_state()
    if state is None:
        raise ReplicaError("the replica started but wrote no state file")
    return ReplicaHandle.from_state(state)


def down() -> list[str]:
    """Stop the replica of the state file, by PID, even when its daemon crashed."""
    state = read_state()
    if state is None:
        return []
    stopped: list[str] = []
    daemon = int(state["daemon_pid"])
    if _ours("harness.replica.daemon", daemon):
        os.kill(daemon, signal.SIGTERM)
        deadline = time.monotonic() + DOWN_TIMEOUT
        while pid_alive(daemon) and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped.append(f"daemon {daemon}")
    for name, pid in state.get("children", {}).items():
        if _ours(name, int(pid)):
            stop_pid(int(pid))
            stopped.append(f"{name} {pid}")
    if state.get("profile"):
        Path(state["profile"]).unlink(missing_ok=True)
    leftover = _own_work_dir(state.get("work_dir"))
    if leftover is not None and leftover.exists():  # the daemon crashed before cleaning up
        shutil.rmtree(leftover, ignore_errors=True)
        stopped.append(f"leftovers {leftover}")
    remove_state()
    return stopped or ["its state file (nothing was running)"]


def _own_work_dir(recorded: object) -> Path | None:
    """The replica's work folder named by the state file, only if it is one Parity made."""
    if not isinstance(recorded, str):
        return None
    path = Path(recorded)
    temp = Path(tempfile.gettempdir()).resolve()
    if path.parent.resolve() != temp or not path.name.startswith("parity-replica-"):
        return None
    return path


def running_handle() -> ReplicaHandle:
    """How to reach the running replica; exit 3 when none runs."""
    state = running_state()
    if state is None:
        raise EnvironmentUnavailable("no replica is running: start one with `parity up`")
    return ReplicaHandle.from_state(state)


def status() -> dict[str, Any]:
    """The running replica's description, for `parity status`."""
    state = running_state()
    if state is None:
        raise EnvironmentUnavailable("no replica is running: start one with `parity up`")
    described = ReplicaHandle.from_state(state).control.describe()
    described["control_url"] = state["control_url"]
    return described
