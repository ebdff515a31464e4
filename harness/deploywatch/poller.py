"""The provider polled while a deploy runs: every target's state, build and whether it answers.

Each poll is a sample; a change between two samples is a transition (registered, a health or
drain state, a build, gone). Targets that leave service are announced to the Locust processes
(the drain notices file), so a user moved off them counts as a move, not a sticky violation.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from harness.errors import ParityError
from harness.topology import Provider
from harness.traffic.builds import build_named
from harness.traffic.site import Site

OUT_OF_SERVICE = ("draining", "unused", "gone")
DIRECT_TIMEOUT = 2.0


@dataclass
class Transition:
    at: float  # epoch seconds
    target: str
    kind: str  # "state" or "build"
    old: str
    new: str
    since: float = 0.0  # the poll before: the change happened after it (epoch seconds)

    def label(self) -> str:
        return f"{self.target} {self.kind} {self.old or 'none'} -> {self.new}"

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "label": self.label()}


IN_SERVICE = ("healthy", "initial")


def left_service(t: Transition) -> bool:
    """A target in service leaving it: drained, gone, failing its health check (a balancer
    that shows a restart only as a failed check: Caddy, nginx), or seen registered again (it
    left and came back between two polls: a fast restart)."""
    if t.kind != "state" or t.old not in IN_SERVICE:
        return False
    return t.new in (*OUT_OF_SERVICE, "unhealthy") or (t.new == "initial" and t.old == "healthy")


class Poller(threading.Thread):
    """Polls until stopped; samples and transitions are read once it has ended."""

    def __init__(
        self,
        provider: Provider,
        site: Site,
        version: dict[str, Any] | None,
        notices: Path,
        interval: float = 0.5,
    ) -> None:
        super().__init__(daemon=True, name="parity-watch-poller")
        self.provider, self.site, self.version = provider, site, version
        self.notices, self.interval = notices, interval
        self.samples: list[dict[str, Any]] = []
        self.transitions: list[Transition] = []
        self.poll_errors: list[str] = []
        self.stop = threading.Event()
        self._last: dict[str, dict[str, Any]] = {}
        self._builds: dict[str, str] = {}  # the last build each target named
        self._drained: dict[str, float] = {}
        self._notice = ""
        self._lock = threading.Lock()
        self._user = site.user("watch-poll", own_trace=True)

    def state_of(self, target: str) -> str | None:
        with self._lock:
            row = self._last.get(target)
            return None if row is None else str(row["state"])

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                self.poll()
            except Exception as exc:  # kept as evidence; the watch goes on with the next poll
                self.poll_errors.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}")
            self.stop.wait(max(self.interval - (time.monotonic() - began), 0.05))

    def poll(self) -> None:
        at = time.time()
        try:
            topology = self.provider.resolve()
        except ParityError as exc:
            self.poll_errors.append(f"{time.strftime('%H:%M:%S')} {exc}")
            return
        now: dict[str, dict[str, Any]] = {}
        for target in topology.targets:
            build, up = self._direct(target.direct_url)
            now[target.id] = {"state": target.state, "build": build, "answers": up}
        for gone in set(self._last) - set(now):
            now[gone] = {"state": "gone", "build": self._last[gone]["build"], "answers": None}
        self._compare(at, now, self.samples[-1]["at"] if self.samples else at)
        with self._lock:
            self._last = now
        self.samples.append({"at": at, "targets": now})

    def _compare(self, at: float, now: dict[str, dict[str, Any]], since: float) -> None:
        for target, row in now.items():
            before = self._last.get(target, {"state": "", "build": None})
            if row["state"] != before["state"]:
                change = Transition(at, target, "state", before["state"], row["state"], since)
                self.transitions.append(change)
                if left_service(change):  # announced as drained from the poll before
                    self._drained.setdefault(target, since)
            known = self._builds.get(target)
            if row["build"]:
                if known and row["build"] != known:
                    change = Transition(at, target, "build", known, row["build"], since)
                    self.transitions.append(change)
                self._builds[target] = row["build"]
            row["build"] = row["build"] or known  # a restarting target keeps its last build
            if row["state"] == "healthy":
                self._drained.pop(target, None)
        notice = json.dumps({"drained": self._drained})
        if notice != self._notice:  # the Locust processes reread it when it changes
            self.notices.write_text(notice)
            self._notice = notice

    def _direct(self, url: str | None) -> tuple[str | None, bool | None]:
        """The build a target names on its own address, and whether it answered at all (None:
        no direct address to ask)."""
        if not url:
            return None, None
        path = (self.version or {}).get("path") or "/"
        user = self._user  # one client for every poll: its connections are kept
        try:
            response = user.http.get(
                url.rstrip("/") + path, timeout=DIRECT_TIMEOUT, verify=user.verify
            )
        except requests.RequestException:
            return None, False
        return (build_named(response, self.version) if self.version else None), True
