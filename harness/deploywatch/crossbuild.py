"""The mixed-build probe of a watched deploy: while targets on two builds are registered at once,
a session made on each build is read, written and logged out on the other, both ways (the
compatibility probe of `harness.traffic.compat`), whether or not a user of the load happens to
cross. Paced: at most PROBE_RPS steps a second, within what `safety.max_rps` leaves beside the
load, one round at a time, and each direction probed to a conclusion once per window."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from harness.deploywatch.poller import REFUSED, REGISTERED, Poller
from harness.errors import ParityError
from harness.profile.environment import Environment
from harness.traffic.client import Route
from harness.traffic.compat import Side, cross_build_problems, unanswered
from harness.traffic.contract import SessionDriver, Transport
from harness.traffic.site import Site

PROBE_RPS = 20.0  # session steps per second, at most
ROUND_GAP = 1.0  # seconds between two rounds while a window stays open
TRIES = 5  # rounds per direction and window before it is left inconclusive
TICK = 0.1
PIN_ATTEMPTS = 20  # fresh clients to reach a target that has no direct address
FIRST_USER = 9000  # the probe's session users (credentials' {n}), apart from the load's


@dataclass
class Probe:
    started: float  # epoch seconds
    ended: float
    writer: str  # `app-1 (build-2)`
    reader: str
    builds: tuple[str, str]  # written on, read on
    problems: list[str] = field(default_factory=list)
    conclusive: bool = True

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "builds": list(self.builds)}


class PacedDriver:
    """A session driver whose steps are at least 1/rps s apart (one request each, for a recipe)."""

    def __init__(self, driver: SessionDriver, rps: float) -> None:
        self.driver, self.gap, self.cookie_name = driver, 1.0 / rps, driver.cookie_name
        self._next = 0.0

    def _pace(self) -> None:
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self.gap

    def login(self, user: Transport, n: int, route: Route | None = None) -> None:
        self._pace()
        self.driver.login(user, n, route)

    def write(self, user: Transport, key: str, value: str, route: Route | None = None) -> None:
        self._pace()
        self.driver.write(user, key, value, route)

    def read(self, user: Transport, key: str, route: Route | None = None) -> str | None:
        self._pace()
        return self.driver.read(user, key, route)

    def logout(self, user: Transport, route: Route | None = None) -> None:
        self._pace()
        self.driver.logout(user, route)


def live_builds(rows: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Each build registered targets serve (answering on their own address, if they have
    one), with those targets, healthy ones first."""
    out: dict[str, list[str]] = {}
    ranked = sorted(rows.items(), key=lambda kv: (kv[1]["state"] != "healthy", kv[0]))
    for target, row in ranked:
        if row["state"] in REGISTERED and row.get("build") and not row.get(REFUSED):
            out.setdefault(str(row["build"]), []).append(target)
    return out


class CrossBuildProbe(threading.Thread):
    """Probes every pair of live builds, newest build first as the writer."""

    def __init__(
        self,
        env: Environment,
        poller: Poller,
        driver: SessionDriver,
        rps: float,
        say: Callable[[str], object],
    ) -> None:
        super().__init__(daemon=True, name="parity-watch-crossbuild")
        self.env, self.poller, self.say = env, poller, say
        self.driver = PacedDriver(driver, rps)
        self.stop = threading.Event()
        self.probes: list[Probe] = []
        self.error: str | None = None
        self._first_seen: dict[str, float] = {}
        self._numbers = itertools.count(FIRST_USER)

    def run(self) -> None:
        try:
            self._watch()
        except Exception as exc:  # reported with the watch's result, never as a traceback
            self.error = f"mixed-build probe stopped: {type(exc).__name__}: {exc}"

    def _watch(self) -> None:
        tries: dict[tuple[str, str], int] = {}  # this window's rounds per direction; -1: done
        next_round = 0.0
        while not self.stop.wait(TICK):
            live = live_builds(self.poller.latest())
            for build in live:
                self._first_seen.setdefault(build, time.monotonic())
            if len(live) < 2:
                tries.clear()  # the window closed: the next one is probed afresh
                continue
            if time.monotonic() < next_round:
                continue
            if not tries:
                self.say(f"watch: two builds live ({', '.join(live)}): probing sessions across")
            for pair in self._pairs(live):
                if 0 <= tries.get(pair, 0) < TRIES and not self.stop.is_set():
                    probe = self._probe(pair, live)
                    tries[pair] = -1 if probe.conclusive else tries.get(pair, 0) + 1
            next_round = time.monotonic() + ROUND_GAP

    def _pairs(self, live: dict[str, list[str]]) -> list[tuple[str, str]]:
        newest = sorted(live, key=lambda b: (-self._first_seen.get(b, 0.0), b))
        return list(itertools.permutations(newest, 2))

    def _probe(self, pair: tuple[str, str], live: dict[str, list[str]]) -> Probe:
        site = Site(self.env, self.poller.topology)
        started = time.time()
        try:
            a, b = (self._side(site, build, live[build][0]) for build in pair)
        except (ParityError, requests.RequestException) as exc:
            probe = Probe(started, time.time(), live[pair[0]][0], live[pair[1]][0], pair)
            probe.problems, probe.conclusive = [f"no route: {exc}"], False
        else:
            problems = cross_build_problems(self.driver, a, b, next(self._numbers))
            conclusive = not problems or any(not unanswered(p) for p in problems)
            probe = Probe(started, time.time(), a.label, b.label, pair, problems, conclusive)
        self.probes.append(probe)
        return probe

    def _side(self, site: Site, build: str, target: str) -> Side:
        route = site.direct(target) or site.pin(target, attempts=PIN_ATTEMPTS)
        return Side(site, target, build, route)
