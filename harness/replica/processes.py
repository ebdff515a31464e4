"""Child processes of the replica: spawned, watched and stopped by PID, never by name.

Each child runs in its own session (its PID is its process group, so gunicorn's workers go with
their master) and gets SIGTERM from the kernel if the supervisor dies, even by SIGKILL. Linux
sends that signal when the *thread* that forked the child ends, so every child is forked by one
long-lived spawner thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from harness.errors import MissingDependency, ReplicaError
from harness.pids import pid_alive

PR_SET_PDEATHSIG = 1
INSTALL_HINT = {
    "redis-server": "apt-get install redis-server (macOS: brew install redis)",
    "haproxy": "apt-get install haproxy (macOS: brew install haproxy)",
    "openssl": "apt-get install openssl (macOS: brew install openssl)",
}


def require_binary(name: str) -> str:
    """The path of `name`, or one line saying how to install it."""
    path = shutil.which(name)
    if path is None:
        hint = INSTALL_HINT.get(name, f"install {name}")
        raise MissingDependency(f"{name} is not installed: {hint}")
    return path


LOCAL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10000
_HANDED_OUT: deque[int] = deque(maxlen=512)  # not bound yet, perhaps: never handed out twice


def _ephemeral_floor() -> int:
    """The lowest port the kernel gives outgoing connections (32768 unless set otherwise)."""
    try:
        return int(LOCAL_PORT_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now, below the kernel's ephemeral range: a
    port from that range can be taken by any outgoing connection (thousands of fresh clients)
    between this call and the server binding it."""
    floor = _ephemeral_floor()
    for _ in range(64):
        port = random.randrange(LOWEST_PORT, floor) if floor > LOWEST_PORT + 100 else 0
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            found: int = sock.getsockname()[1]
            _HANDED_OUT.append(found)
            return found
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        fallback: int = sock.getsockname()[1]
        return fallback


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_pid(
    pid: int,
    timeout: float = 5.0,
    proc: subprocess.Popen[bytes] | None = None,
    *,
    graceful: bool = True,
) -> None:
    """SIGTERM the process group led by `pid`, then SIGKILL it if it has not ended in time.

    With `graceful=False` it sends SIGKILL at once (an abrupt crash of the target).
    """
    steps = [(signal.SIGTERM, timeout)] if graceful else []
    for sig, wait in [*steps, (signal.SIGKILL, 2.0)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                return
            if proc is None and not pid_alive(pid):
                return
            time.sleep(0.05)


class Spawner:
    """Starts children from one long-lived thread so that they die with this process."""

    def __init__(self, log_dir: Path) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parity-spawner")
        self._log_dir = log_dir

    def spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = self._log_dir / f"{name}.log"
        full_env = {**os.environ, **(env or {})}

        def start() -> subprocess.Popen[bytes]:
            with log.open("ab") as out:
                return subprocess.Popen(
                    argv,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=full_env,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )

        return self._pool.submit(start).result()

    def log_tail(self, name: str, lines: int = 5) -> str:
        path = self._log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, *, interval: float = 0.05
) -> None:
    """Poll `check` until it is true, or raise ReplicaError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise ReplicaError(f"timed out after {timeout:.0f} s waiting for {what}")


def http_ok(url: str) -> bool:
    """Whether `url` answers 200 right now."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
