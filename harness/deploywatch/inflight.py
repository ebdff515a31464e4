"""One long request kept in flight on every healthy target while a deploy runs (the profile's
`failover.in_flight_path`), so a drain that cuts requests, or an app that exits before its
drain ends, is seen however light the load is."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from harness.deploywatch.poller import Poller
from harness.errors import ParityError
from harness.traffic.client import Route
from harness.traffic.site import Site

RETRY_PAUSE = 0.25  # seconds between two failed retries


@dataclass
class Flight:
    target: str
    started: float  # epoch seconds
    ended: float
    status: int  # 0: no response (the connection was cut)
    served_by: str | None
    error: str | None = None
    retry: bool = False  # sent on the same route right after a request that failed

    @property
    def completed(self) -> bool:
        return self.status == 200

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class InFlightProbe(threading.Thread):
    """Keeps one request of `seconds` in flight on `target` through the balancer while the
    target is healthy and answers; every request's outcome is a Flight. After one fails it
    sends another on the same route at once (a retry; then every RETRY_PAUSE s) while the poll
    still sees the target in service: whether the balancer still sends it users is evidence."""

    def __init__(self, site: Site, poller: Poller, target: str, path: str, seconds: float) -> None:
        super().__init__(daemon=True, name=f"parity-watch-inflight-{target}")
        self.site, self.poller, self.target = site, poller, target
        self.path = path.replace("{seconds}", f"{seconds:g}")
        self.seconds = seconds
        self.stop = threading.Event()
        self.flights: list[Flight] = []
        self.error: str | None = None  # why the probe stopped early, if it did
        self._route: Route | None = None
        self._failed = False  # the last request failed: the next is a retry

    def run(self) -> None:
        try:
            self._keep_flying()
        except Exception as exc:  # reported with the watch's result, never as a traceback
            self.error = f"in-flight probe of {self.target} stopped: {type(exc).__name__}: {exc}"

    def _keep_flying(self) -> None:
        while not self.stop.is_set():
            if not self.poller.serving(self.target):
                self._failed = False  # the poll saw it leave: no more evidence to gather
                self.stop.wait(0.2)
                continue
            try:
                route = self._route or self.site.pin(self.target)
            except (ParityError, requests.RequestException):  # it left while being pinned
                self.stop.wait(1.0)
                continue
            self._route = route
            retry = self._failed
            self._failed = False
            self._fly(route, retry)
            if self._failed and retry:  # the first retry at once, while the cut is fresh
                self.stop.wait(RETRY_PAUSE)

    def _fly(self, route: Route, retry: bool) -> None:
        user = self.site.user(f"in-flight-{self.target}", own_trace=True)
        started = time.time()
        try:
            response = user.request("GET", self.path, route=route, timeout=self.seconds + 60)
        except requests.RequestException as exc:
            error = type(exc).__name__
            self.flights.append(Flight(self.target, started, time.time(), 0, None, error, retry))
            self._failed = True
            return
        flight = Flight(self.target, started, time.time(), response.status_code, user.last_target)
        flight.retry = retry
        if flight.served_by not in (None, self.target):
            self._route = None  # moved (the target left service): pin again once it is back
            if flight.completed:
                return  # served elsewhere: not a request in flight on this target
        self._failed = not flight.completed
        self.flights.append(flight)


def start_probes(site: Site, poller: Poller, path: str, seconds: float) -> list[InFlightProbe]:
    probes = [InFlightProbe(site, poller, t.id, path, seconds) for t in site.topology.targets]
    for probe in probes:
        probe.start()
    return probes
