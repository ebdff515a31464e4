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
from harness.errors import DeploymentFinding
from harness.traffic.client import Route
from harness.traffic.site import Site


@dataclass
class Flight:
    target: str
    started: float  # epoch seconds
    ended: float
    status: int  # 0: no response (the connection was cut)
    served_by: str | None
    error: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == 200

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class InFlightProbe(threading.Thread):
    """Keeps one request of `seconds` in flight on `target` through the balancer while the
    target is healthy; every request's outcome is a Flight."""

    def __init__(self, site: Site, poller: Poller, target: str, path: str, seconds: float) -> None:
        super().__init__(daemon=True, name=f"parity-watch-inflight-{target}")
        self.site, self.poller, self.target = site, poller, target
        self.path = path.replace("{seconds}", f"{seconds:g}")
        self.seconds = seconds
        self.stop = threading.Event()
        self.flights: list[Flight] = []
        self.error: str | None = None  # why the probe stopped early, if it did
        self._route: Route | None = None

    def run(self) -> None:
        try:
            self._keep_flying()
        except Exception as exc:  # reported with the watch's result, never as a traceback
            self.error = f"in-flight probe of {self.target} stopped: {type(exc).__name__}: {exc}"

    def _keep_flying(self) -> None:
        while not self.stop.is_set():
            if self.poller.state_of(self.target) != "healthy":
                self.stop.wait(0.2)
                continue
            try:
                route = self._route or self.site.pin(self.target)
            except (DeploymentFinding, requests.RequestException):
                self.stop.wait(1.0)
                continue
            self._route = route
            self._fly(route)

    def _fly(self, route: Route) -> None:
        user = self.site.user(f"in-flight-{self.target}", own_trace=True)
        started = time.time()
        try:
            response = user.request("GET", self.path, route=route, timeout=self.seconds + 60)
        except requests.RequestException as exc:
            self.flights.append(
                Flight(self.target, started, time.time(), 0, None, type(exc).__name__)
            )
            self._route = None
            return
        flight = Flight(self.target, started, time.time(), response.status_code, user.last_target)
        if flight.served_by != self.target:
            self._route = None  # moved (the target left service): pin again once it is back
            if flight.completed:
                return  # served elsewhere: not a request in flight on this target
        self.flights.append(flight)


def start_probes(site: Site, poller: Poller, path: str, seconds: float) -> list[InFlightProbe]:
    probes = [InFlightProbe(site, poller, t.id, path, seconds) for t in site.topology.targets]
    for probe in probes:
        probe.start()
    return probes
