"""Small helpers for the harness's own tests against a real replica."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from harness.replica.running import ReplicaHandle

TIMEOUT = 15


def pinned(url: str, target: str, attempts: int = 40) -> requests.Session:
    """A fresh client whose sticky cookie points at `target`."""
    for _ in range(attempts):
        client = requests.Session()
        if client.get(url + "/", timeout=TIMEOUT).headers["X-Instance-Id"] == target:
            return client
    raise AssertionError(f"no fresh client landed on {target} in {attempts} tries")


def served_by(client: requests.Session, url: str, path: str = "/") -> str:
    return str(client.get(url + path, timeout=TIMEOUT).headers["X-Instance-Id"])


def state_of(handle: ReplicaHandle, target: str) -> str:
    for t in handle.control.describe()["targets"]:
        if t["id"] == target:
            return str(t["state"])
    raise AssertionError(f"no target {target}")


def wait_for_state(handle: ReplicaHandle, target: str, state: str, timeout: float = 15) -> float:
    """Seconds until `target` reaches `state`; fails the test after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if state_of(handle, target) == state:
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(
        f"{target} did not reach {state} in {timeout} s (it is {state_of(handle, target)})"
    )


class Background:
    """Runs one call in a thread and keeps its result or exception."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.result = call()
            except BaseException as exc:  # kept for the test to inspect
                self.error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self, timeout: float = 30) -> Background:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "background request did not finish"
        return self


def parity(
    home: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 400,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the `parity` command with its own PARITY_HOME, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PARITY_HOME": str(home), **(env or {})},
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


@contextlib.contextmanager
def serving(argv: list[str], ready_url: str, what: str, cwd: Path | None = None) -> Iterator[None]:
    """Run a server (moto_server, prometheus, a pushgateway, the exporter) until the block ends;
    ready when `ready_url` answers 200; stopped by its PID."""
    from harness.replica.processes import http_ok, stop_pid, wait_until

    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=cwd,
    )
    try:
        wait_until(lambda: proc.poll() is None and http_ok(ready_url), 30, what)
        yield
    finally:
        stop_pid(proc.pid, proc=proc)


def static_profile(path: Path, replica: Any, url: str, name: str, expect: str) -> Path:
    """A static profile over an in-process replica's targets; `expect` holds the YAML lines of
    its `expect:` section, each indented two spaces."""
    listed = "\n".join(f'    - {{id: {t.id}, url: "{t.url}"}}' for t in replica.targets())
    path.write_text(
        f"name: {name}\nurl: {url}\ntopology:\n  provider: static\n  targets:\n{listed}\n"
        f"expect:\n{expect}  health_check: {{path: /healthz}}\n"
    )
    return path
