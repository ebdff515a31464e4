"""Topology: every expected target is healthy and answers, settings match the profile, one build."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from harness.errors import NotApplicable, ProfileError
from harness.findings import fail
from harness.profile.environment import Environment
from harness.profile.sections import Expect
from harness.profile.target_count import FIELD as TARGETS_FIELD
from harness.profile.target_count import TargetCount
from harness.topology import Provider
from harness.topology.model import HEALTHY, Target, TargetGroup, Topology
from harness.traffic.builds import serving_builds
from harness.traffic.site import Site

SETTLING = ("initial", "draining")  # joining or leaving: listed, not healthy, never a fault


def _listing(targets: list[Target]) -> str:
    return ", ".join(f"{t.id}={t.state}{f' ({t.reason})' if t.reason else ''}" for t in targets)


def _count_evidence(
    count: TargetCount | None, healthy: list[Target], settling: list[Target]
) -> dict[str, Any]:
    return {
        "expected": count.describe() if count else None,
        "healthy": [t.id for t in healthy],
        "settling": [{"id": t.id, "state": t.state, "reason": t.reason} for t in settling],
    }


@pytest.mark.parity(
    title="The expected number of targets is healthy",
    why="A missing or unhealthy target halves capacity and hides faults.",
)
def test_expected_number_of_healthy_targets(
    environment: Environment, topology: Topology, evidence: dict[str, Any]
) -> None:
    count, healthy = environment.target_count, topology.healthy_targets()
    settling = [t for t in topology.targets if t.state in SETTLING]
    failing = [t for t in topology.targets if t.state not in (HEALTHY, *SETTLING)]
    evidence["target_count"] = _count_evidence(count, healthy, settling)
    states = f"  {_listing(topology.targets)}"
    if settling:
        states += f"\n  initial or draining (not counted, not a fault): {_listing(settling)}"
    problems = [f"not every registered target is healthy: {_listing(failing)}"] if failing else []
    if count is not None and not count.allows(len(healthy), len(settling)):
        more = f" (and {len(settling)} initial or draining)" if settling else ""
        problems.insert(
            0,
            f"{len(healthy)} healthy targets{more}, the profile expects "
            f"{count.describe()} ({TARGETS_FIELD})",
        )
    if problems:
        fail("unhealthy-target", "; ".join(problems), states)


@pytest.mark.parity(
    title="No target group is serving in fail-open",
    why="With every target unhealthy an ALB routes to all of them: users reach broken instances.",
)
def test_no_group_serves_in_fail_open(topology: Topology, site: Site) -> None:
    registered = {
        g.name: [t for t in g.targets if t.http and t.state not in ("unused", "gone", "draining")]
        for g in topology.target_groups
        if g.weight != 0  # a group at weight 0 in the forward serves no one, healthy or not
    }
    looked_at = {name: targets for name, targets in registered.items() if targets}
    if not looked_at:
        pytest.skip("not applicable: no target group has a registered HTTP target")
    for name, targets in looked_at.items():
        if any(t.state == "healthy" for t in targets):
            continue
        states = ", ".join(f"{t.id}={t.state} ({t.reason or '-'})" for t in targets)
        user = site.user("fail-open")
        try:
            response = user.request("GET", "/")
            served = f"a request through the balancer got {response.status_code} from "
            served += user.last_target or "?"
        except requests.RequestException as exc:
            served = f"a request through the balancer got no answer ({type(exc).__name__})"
        fail(
            "fail-open",
            f"every registered target of {name} is unhealthy, so the balancer routes to all of "
            f"them: {served}",
            f"  {states}",
        )


@pytest.mark.parity(
    title="Every target answers directly",
    why="A target that does not answer cannot be checked or drained safely.",
)
def test_every_target_answers(site: Site) -> None:
    silent = []
    for target in site.topology.targets:
        user = site.user(f"probe-{target.id}")
        route = site.route(target.id)
        try:
            response = user.request("GET", "/", route=route)
        except requests.RequestException as exc:
            silent.append(f"{target.id}: {type(exc).__name__}")
            continue
        if response.status_code >= 500 or user.last_target != target.id:
            silent.append(f"{target.id}: {response.status_code} from {user.last_target}")
    if silent:
        fail(
            "unhealthy-target",
            f"targets that do not answer: {'; '.join(silent)}",
            site.trace_text(),
        )


def _drift(group: TargetGroup, expect: Expect) -> list[str]:
    found = []
    sticky = expect.stickiness
    if sticky:
        if sticky.enabled is not False and not group.stickiness.enabled:
            found.append("stickiness is disabled, the profile expects it enabled")
        if group.stickiness.enabled and sticky.type not in (None, group.stickiness.type):
            found.append(f"stickiness type {group.stickiness.type}, expected {sticky.type}")
        name = sticky.cookie_name
        if group.stickiness.type == "app_cookie" and name not in (
            None,
            group.stickiness.cookie_name,
        ):
            found.append(f"app cookie {group.stickiness.cookie_name}, expected {name}")
        want = sticky.duration_seconds
        if group.stickiness.enabled and want and group.stickiness.duration_seconds != want:
            found.append(
                f"stickiness duration {group.stickiness.duration_seconds} s, expected {want} s"
            )
    delay = expect.deregistration_delay_seconds
    if delay is not None and group.deregistration_delay_seconds != delay:
        found.append(
            f"deregistration delay {group.deregistration_delay_seconds:g} s, expected {delay:g} s"
        )
    if expect.algorithm and group.algorithm != expect.algorithm:
        found.append(f"algorithm {group.algorithm}, expected {expect.algorithm}")
    for key, want in expect.health_check.given().items():
        have = getattr(group.health_check, key)
        if have != want:
            found.append(f"health check {key} {have}, expected {want}")
    return found


@pytest.mark.parity(
    title="Balancer settings match what the team expects",
    why="Stickiness, drain delay and health checks drift between staging and production.",
)
def test_settings_match_the_profile(environment: Environment, topology: Topology) -> None:
    if not topology.target_groups:
        raise NotApplicable("the topology has no target group whose settings could be read")
    if not any(g.settings_observed for g in topology.target_groups):
        raise NotApplicable(
            f"the {environment.topology.provider} provider reads no balancer settings: "
            "its stickiness, deregistration delay, algorithm and health check are the "
            "profile's expect:, so there is nothing observed to compare them with"
        )
    problems = [
        f"{g.name}: {p}" for g in topology.target_groups for p in _drift(g, environment.expect)
    ]
    if not problems:
        return
    durations = [p for p in problems if "stickiness duration" in p]
    disabled = [p for p in problems if "stickiness is disabled" in p]
    fault = "no-stickiness" if disabled else "short-stickiness" if durations else "settings-drift"
    fail(fault, "; ".join(problems), f"  profile: {environment.source}")


@pytest.mark.parity(
    title="Every target serves the same build",
    why="A partial deploy leaves one instance on the old code.",
)
def test_every_target_serves_the_same_build(
    environment: Environment, site: Site, evidence: dict[str, Any]
) -> None:
    """One build everywhere; with `expect.version.builds`, only the declared builds (a rolling
    deploy standing still, a canary)."""
    version = environment.expect.version
    if not version:
        pytest.skip("no expect.version in the profile (path and json pointer or header)")
    routes = {t.id: site.route(t.id) for t in site.topology.targets}
    builds = serving_builds(site, version, routes)
    evidence["builds"] = builds
    listing = ", ".join(f"{t} serves {b}" for t, b in builds.items())
    declared = version.builds
    if declared:
        evidence["declared_builds"] = declared
        stray = [f"{t} serves {b}" for t, b in builds.items() if b not in declared]
        if stray:
            fail(
                "version-skew",
                f"a build outside the declared ones (expect.version.builds: "
                f"{', '.join(declared)}): {'; '.join(stray)} (all: {listing})",
                site.trace_text(),
            )
        return
    failing = {t: b for t, b in builds.items() if b.startswith("HTTP 5")}
    if failing:  # a target that fails the version path serves no build anyone can name
        fail(
            "server-error",
            f"{', '.join(f'{t} answers {b}' for t, b in failing.items())} at {version.path} "
            f"(all: {listing})",
            site.trace_text(),
        )
    named = {t: b for t, b in builds.items() if not b.startswith("HTTP ")}
    if not named:
        raise ProfileError(
            f"{environment.source}: expect.version: no target names a build at "
            f"{version.path} ({listing}): the same-build check needs a build it can read"
        )
    groups = {t: _group_name(site.topology, t) for t in builds}
    if len(set(groups.values())) > 1:  # a weighted forward: one build per target group
        evidence["groups"] = groups
        mixed = {
            g: sorted({builds[t] for t in builds if groups[t] == g}) for g in set(groups.values())
        }
        split = {g: b for g, b in mixed.items() if len(b) > 1}
        if split:
            fail(
                "version-skew",
                "targets of one target group serve different builds: "
                + "; ".join(f"{g}: {', '.join(b)}" for g, b in sorted(split.items()))
                + f" (all: {listing})",
                site.trace_text(),
            )
        return
    if len(set(builds.values())) > 1:
        fail("version-skew", f"targets serve different builds: {listing}", site.trace_text())


def _group_name(topology: Topology, target: str) -> str:
    group = topology.group_of(target)
    return group.name if group is not None else ""


@pytest.mark.parity(
    title="Targets admit only the balancer and span two zones",
    why="An open port or a single zone is an outage or a breach waiting to happen.",
)
def test_aws_security_groups_and_zones(provider: Provider, topology: Topology) -> None:
    hygiene = getattr(provider, "hygiene", None)
    if hygiene is None:
        pytest.skip(f"hygiene checks read AWS security groups; this is {provider.name}")
    problems = hygiene(topology)
    if problems:
        fail(
            "settings-drift",
            "; ".join(problems),
            "  from ec2 describe_security_groups and the targets' zones",
        )
