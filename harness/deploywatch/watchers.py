"""What watches a deploy beside the load: the poll of the provider, a request kept in flight on
every healthy target, and the probe of sessions across builds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.deploywatch.crossbuild import PROBE_RPS, CrossBuildProbe
from harness.deploywatch.inflight import InFlightProbe, start_probes
from harness.deploywatch.poller import Poller
from harness.profile.environment import Environment
from harness.topology import Provider
from harness.traffic.contract import load_driver
from harness.traffic.site import Site

IN_FLIGHT_SECONDS = 2.0


@dataclass
class Watchers:
    poller: Poller
    probes: list[InFlightProbe]
    crossbuild: CrossBuildProbe | None

    def stop(self) -> None:
        self.poller.stop.set()
        for probe in self.probes:
            probe.stop.set()
        if self.crossbuild is not None:
            self.crossbuild.stop.set()

    def join(self) -> None:
        self.poller.join(timeout=10)
        for probe in self.probes:
            probe.join(timeout=5)
        if self.crossbuild is not None:
            self.crossbuild.join(timeout=30)

    def errors(self) -> list[str]:
        """Why a probe stopped early, for each that did."""
        found = [p.error for p in self.probes if p.error]
        cross = self.crossbuild
        return found + ([cross.error] if cross is not None and cross.error else [])


def _crossbuild(
    env: Environment, site: Site, poller: Poller, rate: float, say: Callable[[str], object]
) -> CrossBuildProbe | None:
    """The probe of sessions across builds, paced within what safety.max_rps leaves beside the
    load; None without expect.version (no build is known) or without that room."""
    if not env.expect.version:
        return None
    cap = float(env.safety.max_rps)
    rps = min(PROBE_RPS, cap - rate)
    if rps < 1:
        poller.poll_errors.append(
            f"the mixed-build probe did not run: --rate {rate:g} leaves under 1 request per "
            f"second of safety.max_rps {cap:g}"
        )
        return None
    driver = load_driver(env.session, site.topology.secrets)
    probe = CrossBuildProbe(env, poller, driver, rps, say)
    probe.start()
    return probe


def start_watchers(
    env: Environment,
    provider: Provider,
    site: Site,
    notices: Path,
    poll: float,
    rate: float,
    say: Callable[[str], object],
) -> Watchers:
    """Poll once, then start every watcher."""
    poller = Poller(provider, site, env.expect.version, notices, poll)
    poller.poll()
    poller.start()
    probes: list[InFlightProbe] = []
    path = env.failover.in_flight_path
    if path:
        seconds = float(env.failover.in_flight_seconds or IN_FLIGHT_SECONDS)
        probes = start_probes(site, poller, str(path), seconds)
    return Watchers(poller, probes, _crossbuild(env, site, poller, rate, say))
