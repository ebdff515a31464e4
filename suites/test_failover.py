"""Failover: drain a target with pinned clients and traffic running; sessions must survive."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from harness.deploywatch.grace import grace_problem, not_the_rule
from harness.disruption.drain import restore_timeout
from harness.disruption.drain_scenario import PROPAGATION_SECONDS, DrainEvidence, drain_scenario
from harness.disruption.guard import Guard
from harness.errors import NotApplicable
from harness.findings import fail
from harness.profile.environment import Environment
from harness.topology.model import Target, Topology
from harness.traffic.contract import SessionDriver
from harness.traffic.site import Site, primary_sticky

DRAINING_SHARE = 0.8  # the target must show `draining` for at least this share of the delay


def _chart_data(evidence: DrainEvidence) -> dict[str, Any]:
    """The drain as data for the report: states, traffic per half second, the in-flight request."""
    bins: dict[float, dict[str, int]] = {}
    for o in evidence.traffic:
        row = bins.setdefault(round(o.at * 2) / 2, {"ok": 0, "errors": 0})
        row["errors" if o.failed else "ok"] += 1
    flight = evidence.in_flight
    return {
        "target": evidence.target,
        "delay_seconds": evidence.delay_seconds,
        "states": [
            {"at": o.at, "state": o.state}
            for o in (evidence.transition.observations if evidence.transition else [])
        ],
        "traffic": [{"at": at, **row} for at, row in sorted(bins.items())],
        "in_flight": None
        if flight is None
        else {
            "seconds": evidence.in_flight_seconds,
            "ended_at": flight.at,
            "outcome": flight.status or flight.error,
            "target": flight.target,
        },
        "quality": evidence.quality(),
        "clients": [
            {
                "user": c.user.name,
                "moved_to": c.moved_to,
                "moved_after_seconds": c.moved_after,
                "new_cookie": c.new_cookie,
                "kept_session": c.kept_session,
                "error": c.read_error,
            }
            for c in evidence.clients
        ],
        "pinned_clients": "kept" if evidence.keeps_pinned else "moved",
        "fresh_clients": dict(Counter(t or "unnamed" for t in evidence.fresh)),
    }


def _timeline(evidence: DrainEvidence) -> str:
    lines = []
    if evidence.transition:
        lines += [
            f"  {o.at:7.2f} s  {evidence.target} {o.state} {o.reason}".rstrip()
            for o in evidence.transition.observations
        ]
    if evidence.in_flight:
        f = evidence.in_flight
        lines.append(
            f"  {f.at:7.2f} s  in-flight request ({evidence.in_flight_seconds:g} s) "
            f"ended: {f.status or f.error} from {f.target or '?'}"
        )
    for o in evidence.errors()[:10]:
        lines.append(f"  {o.at:7.2f} s  {o.user}: {o.status or o.error} from {o.target or '?'}")
    for c in evidence.clients:
        if c.read_error:
            lines.append(f"  client {c.user.name}: no response after the drain ({c.read_error})")
            continue
        lines.append(
            f"  client {c.user.name}: moved to {c.moved_to}, new sticky cookie "
            f"{'yes' if c.new_cookie else 'no'}, session "
            f"{'kept' if c.kept_session else f'LOST (HTTP {c.read_status})'}"
        )
    return "\n".join(sorted(lines))


@pytest.mark.disruptive
@pytest.mark.parity(
    title="Draining a target moves its users without losing sessions",
    why="Every deploy drains targets: cut requests and lost sessions there are 502s and logouts.",
)
def test_drain_moves_pinned_clients_with_their_sessions(
    site: Site,
    topology: Topology,
    healthy_targets: list[Target],
    guard: Guard,
    session_driver: SessionDriver,
    evidence: dict[str, Any],
) -> None:
    healthy = healthy_targets
    if len(healthy) < 2:
        pytest.skip("failover needs two healthy targets")
    target = healthy[0].id
    group = topology.group_of(target) or topology.target_groups[0]
    delay = group.deregistration_delay_seconds
    hc = group.health_check
    drained = drain_scenario(
        site,
        guard,
        session_driver,
        target,
        delay,
        restore_timeout(hc.interval_seconds, hc.healthy_threshold),
    )
    evidence["failover"] = _chart_data(drained)
    timeline = _timeline(drained)

    flight = drained.in_flight
    if flight is not None and (flight.error or flight.status != 200):
        fail(
            "abrupt-drain",
            f"a request in flight on {target} when it was deregistered was cut "
            f"({flight.status or flight.error}) {flight.at:.1f} s after deregistration, before "
            f"the {delay:g} s deregistration delay ended",
            timeline,
        )
    transition = drained.transition
    states = transition.states() if transition else []
    if transition is not None and delay >= 1 and states[:1] != ["gone"]:  # moto: gone at once
        left = next((o.at for o in transition.observations if o.state in ("unused", "gone")), None)
        if "draining" not in states or (left is not None and left < delay * DRAINING_SHARE):
            fail(
                "abrupt-drain",
                f"{target} went {' -> '.join(states)} and left draining after "
                f"{left or 0:.1f} s of a {delay:g} s deregistration delay",
                timeline,
            )
    budget = int(site.env.expect.error_budget)
    errors = drained.errors()
    if len(errors) > budget:
        fail(
            "abrupt-drain",
            f"{len(errors)} failed requests of {len(drained.traffic)} while "
            f"{target} drained (budget {budget})",
            timeline,
        )
    cut = [f"{c.user.name} ({c.read_error})" for c in drained.clients if c.read_error]
    if cut:
        fail(
            "abrupt-drain",
            f"clients pinned to {target} got no response to their first request after the "
            f"drain: {', '.join(cut)}",
            timeline,
        )
    keeps = drained.keeps_pinned  # staying pinned is that drain's design (HAProxy's drain)
    stuck = [c.user.name for c in drained.clients if c.moved_to == target and not keeps]
    unnamed = [c.user.name for c in drained.clients if c.moved_to is None]
    lost = [c.user.name for c in drained.clients if not c.kept_session]
    moved = [c for c in drained.clients if c.moved_to not in (target, None)]
    same_cookie = [c.user.name for c in moved if not c.new_cookie]
    newcomers = sum(1 for t in drained.fresh if t == target)
    if newcomers:
        fail(
            "ignored-drain",
            f"{newcomers} of {len(drained.fresh)} new clients were sent to {target} after it "
            "was drained: the drain must stop new clients reaching it",
            timeline,
        )
    if unnamed:
        fail(
            "abrupt-drain",
            f"clients pinned to {target} got answers that no target named (identity) for "
            f"{PROPAGATION_SECONDS:g} s after its deregistration (the balancer's own error "
            f"pages, say): {unnamed}",
            timeline,
        )
    if stuck:
        fail(
            "abrupt-drain",
            f"clients still served by the drained {target} {PROPAGATION_SECONDS:g} s after "
            f"its deregistration: {stuck}",
            timeline,
        )
    if lost:
        fail(
            "session-not-shared",
            f"clients {'pinned to' if keeps else 'moved off'} {target} lost their session: {lost}",
            timeline,
        )
    if same_cookie and primary_sticky(site.env):
        fail(
            "no-stickiness",
            f"clients moved off {target} got no new sticky cookie: {same_cookie}",
            timeline,
        )
    back = site.pin(target)  # after the restore, new clients reach the target again
    assert back.target == target


@pytest.mark.parity(
    title="The app outlives the deregistration delay",
    why="An app that exits before the drain ends cuts its requests in flight during a deploy.",
)
def test_app_outlives_the_deregistration_delay(
    environment: Environment, topology: Topology
) -> None:
    grace = environment.deploy.shutdown_grace_seconds
    if grace is None:
        pytest.skip("not applicable: no deploy.shutdown_grace_seconds in the profile")
    if not topology.target_groups:
        pytest.skip("not applicable: the topology has no target group")
    platform = environment.deploy.platform
    why = not_the_rule(platform)
    if why:
        raise NotApplicable(why)
    problems = [
        p
        for g in topology.target_groups
        if (p := grace_problem(g.name, g.deregistration_delay_seconds, float(grace), platform))
    ]
    if problems:
        fail("short-shutdown-grace", "; ".join(problems), f"  profile: {environment.source}")
