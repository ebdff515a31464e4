"""The provider polled while a deploy runs: every target's state, build and whether it answers.

Each poll is a sample; a change between two samples is a transition (a registration, a health or
drain state, a build, the target refusing connections on its own address, gone), named by what
it means. A target's own address is asked before the provider's states are read, so a target
that was deregistered before it stopped answering is never seen stopping while registered.
Targets that leave service are announced to the Locust processes (the drain notices file), so a
user moved off them counts as a move, not a sticky violation.
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
from harness.profile.sections import Version
from harness.topology import Provider
from harness.topology.model import Topology
from harness.traffic.builds import build_named
from harness.traffic.site import Site

OUT_OF_SERVICE = ("draining", "unused", "gone")
IN_SERVICE = ("healthy", "initial")
REGISTERED = ("healthy", "initial", "unhealthy")  # the balancer may still send users there
DIRECT_TIMEOUT = 2.0
REFUSED, ANSWERS = "refused", "answers"  # an "answers" transition's two values


@dataclass
class Transition:
    at: float  # epoch seconds
    target: str
    kind: str  # "state", "build" or "answers" (on its own address)
    old: str
    new: str
    since: float = 0.0  # the poll before: the change happened after it (epoch seconds)

    @property
    def what(self) -> str:
        """What happened: deregistered, failed health, replaced, stopped answering, ..."""
        return named(self)

    def label(self) -> str:
        kind = "own address" if self.kind == ANSWERS else self.kind
        return f"{self.target} {self.what}: {kind} {self.old or 'none'} -> {self.new}"

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "what": self.what, "label": self.label()}


def named(t: Transition) -> str:
    """A transition by what it means for the target's users."""
    if t.kind == "build":
        return "replaced"
    if t.kind == ANSWERS:
        return "stopped answering" if t.new == REFUSED else "answers again"
    if not t.old:
        return "first seen"
    if t.old in IN_SERVICE and t.new in ("draining", "unused"):
        return "deregistered"
    if t.old == "healthy" and t.new == "initial":
        return "deregistered and registered again"
    if t.new == "unhealthy":
        return "failed health"
    names = {"gone": "gone", "initial": "registered", "healthy": "healthy", "unused": "drained"}
    return names.get(t.new, t.new)


def left_service(t: Transition) -> bool:
    """A target in service leaving it: drained, gone, failing its health check (a balancer
    that shows a restart only as a failed check: Caddy, nginx), refusing connections on its own
    address (its process stopped), or seen registered again (it left and came back between two
    polls: a fast restart)."""
    if t.kind == ANSWERS:
        return t.new == REFUSED
    if t.kind != "state" or t.old not in IN_SERVICE:
        return False
    return t.new in (*OUT_OF_SERVICE, "unhealthy") or (t.new == "initial" and t.old == "healthy")


class Poller(threading.Thread):
    """Polls until stopped; samples and transitions are read once it has ended."""

    def __init__(
        self,
        provider: Provider,
        site: Site,
        version: Version | None,
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
        self.topology: Topology = site.topology  # the latest the provider described
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

    def serving(self, target: str) -> bool:
        """Healthy and answering on its own address, at the last poll."""
        with self._lock:
            row = self._last.get(target) or {}
        return row.get("state") == "healthy" and not row.get(REFUSED)

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last poll's row of every target (state, build, answers, refused)."""
        with self._lock:
            return {t: dict(row) for t, row in self._last.items()}

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
        asked = {t.id: self._direct(t.direct_url) for t in self.topology.targets}  # first
        try:
            topology = self.provider.resolve()
        except ParityError as exc:
            self.poll_errors.append(f"{time.strftime('%H:%M:%S')} {exc}")
            return
        self.topology = topology
        now: dict[str, dict[str, Any]] = {}
        for target in topology.targets:
            build, up, refused = asked.get(target.id) or self._direct(target.direct_url)
            now[target.id] = {
                "state": target.state,
                "build": build,
                "answers": up,
                REFUSED: refused,
            }
        for gone in set(self._last) - set(now):
            last = self._last[gone]
            now[gone] = {"state": "gone", "build": last["build"], "answers": None}
            now[gone][REFUSED] = bool(last.get(REFUSED))  # no "answers again" for a gone one
        self._compare(at, now, self.samples[-1]["at"] if self.samples else at)
        with self._lock:
            self._last = now
        self.samples.append({"at": at, "targets": now})

    def _compare(self, at: float, now: dict[str, dict[str, Any]], since: float) -> None:
        for target, row in now.items():
            before = self._last.get(target, {"state": "", "build": None, REFUSED: False})
            changes = []
            if row["state"] != before["state"]:
                changes.append(
                    Transition(at, target, "state", before["state"], row["state"], since)
                )
            if row[REFUSED] != bool(before.get(REFUSED)) and before["state"]:
                old, new = (ANSWERS, REFUSED) if row[REFUSED] else (REFUSED, ANSWERS)
                changes.append(Transition(at, target, ANSWERS, old, new, since))
            changes += self._build_change(at, target, row, since)
            for change in changes:
                self.transitions.append(change)
                if left_service(change):  # announced as drained from the poll before
                    self._drained.setdefault(target, since)
            if row["state"] == "healthy" and not row[REFUSED]:
                self._drained.pop(target, None)
        notice = json.dumps({"drained": self._drained})
        if notice != self._notice:  # the Locust processes reread it when it changes
            self.notices.write_text(notice)
            self._notice = notice

    def _build_change(
        self, at: float, target: str, row: dict[str, Any], since: float
    ) -> list[Transition]:
        known = self._builds.get(target)
        if not row["build"]:
            row["build"] = known  # a restarting target keeps its last build
            return []
        self._builds[target] = row["build"]
        if known and row["build"] != known:
            return [Transition(at, target, "build", known, row["build"], since)]
        return []

    def _direct(self, url: str | None) -> tuple[str | None, bool | None, bool]:
        """The build a target names on its own address, whether it answered at all (None: no
        direct address to ask), and whether it refused the connection twice in a row (nothing
        listens: its process stopped; a timeout is a busy target, not a stopped one)."""
        if not url:
            return None, None, False
        try:
            response = self._get(url)
        except requests.Timeout:
            return None, False, False
        except requests.ConnectionError:
            self._user.http.close()  # a kept connection may have expired: ask on a new one
            try:
                response = self._get(url)
            except requests.RequestException as again:
                return None, False, _refused(again)
        except requests.RequestException:
            return None, False, False
        return (build_named(response, self.version) if self.version else None), True, False

    def _get(self, url: str) -> requests.Response:
        path = self.version.path if self.version else "/"
        user = self._user  # one client for every poll: its connections are kept
        return user.http.get(url.rstrip("/") + path, timeout=DIRECT_TIMEOUT, verify=user.verify)


def _refused(exc: requests.RequestException) -> bool:
    return isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout)
