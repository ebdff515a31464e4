"""Weighted target groups (blue/green, canary releases): fresh clients split by weight, sticky
clients stay in their group across a weight change, and a session survives moving between
groups.

The split is judged by the sequential test of `harness.spread` over the groups: at most 0.05 %
false alarms, a group with twice its weight's share (or starved) caught 99.9 % of the time.
Measured by simulation (benchmarks/distribution_power.py): 90/10 decides after 541 fresh
clients on average; a 99/1 canary needs more than the 3000-client bound can give (96 % of runs
undecided), and is then "not enough evidence", never a pass on nothing.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from harness.disruption.guard import Guard
from harness.findings import fail
from harness.spread import SpreadRun
from harness.topology.model import Topology
from harness.traffic.client import VirtualUser
from harness.traffic.contract import SessionDriver
from harness.traffic.fresh import draw_fresh
from harness.traffic.site import Site, read_value, served_by

ONE_GROUP_CLIENTS = 100  # with one live group: fresh clients that must all land in it
STICKY_CLIENTS = 3  # per group, for the weight change
LAPSE_WAIT_LIMIT = 10.0  # seconds: longer group stickiness is not waited for
MAX_MOVERS = 200  # logged-in clients, at most, to see one move between groups
MISS_CHANCE = 0.001  # the chance, by the weights, that no client moves


@dataclass(frozen=True)
class Forward:
    """The weighted forward under test: group weights and target-group stickiness."""

    weights: dict[str, int]
    stickiness_seconds: int | None

    def group_of(self, topology: Topology, target: str | None) -> str | None:
        group = topology.group_of(target) if target else None
        return group.name if group else None


@pytest.fixture(scope="module")
def forward(topology: Topology) -> Forward:
    weighted = {g.name: g.weight for g in topology.target_groups if g.weight is not None}
    if len(weighted) < 2:
        pytest.skip("not applicable: no weighted forward to two or more target groups")
    stickiness = next(
        (
            r.group_stickiness_seconds
            for li in topology.load_balancer.listeners
            for r in li.rules
            if set(r.target_groups) >= set(weighted)
        ),
        None,
    )
    return Forward(weighted, stickiness)


@pytest.mark.parity(
    title="Fresh clients are split between target groups by weight",
    why="A canary that takes more (or less) than its weight is not the release that was planned.",
)
def test_fresh_clients_split_by_weight(site: Site, forward: Forward) -> None:
    live = {g: float(w) for g, w in forward.weights.items() if w > 0}
    run = SpreadRun(live) if len(live) > 1 else None
    draw = draw_fresh(
        site,
        run,
        min_clients=0 if run else ONE_GROUP_CLIENTS,
        key=lambda target: forward.group_of(site.topology, target),
    )
    shares = ", ".join(f"{g}: {w}" for g, w in forward.weights.items())
    if run is None:  # one live group: every fresh client must land in it
        groups = (forward.group_of(site.topology, x.target) for x in draw.landings if x.target)
        draw.stray.update(g or "no group" for g in groups if g not in live)
    if draw.stray:
        fail(
            "uneven",
            f"fresh clients went where the weights send none: {dict(draw.stray)} "
            f"(weights {shares})",
        )
    verdict = draw.verdict
    if verdict is None:
        return  # one live group, and every fresh client landed in it
    if verdict.decision == "uneven":
        fail(
            "uneven",
            f"{verdict.clients} fresh clients: {verdict.shares_text()} (weights {shares}): the "
            f"split does not follow the weights (sequential test against {verdict.factor:g}x "
            f"and starved shares, false alarm rate at most {verdict.alpha:g})",
        )
    if verdict.decision == "undecided" and len(verdict.unsettled) == len(verdict.counts):
        pytest.skip(
            f"not enough evidence: {verdict.clients} fresh clients ({draw.stopped}) could not "
            f"tell the split from the weights' ({verdict.shares_text()}; weights {shares})"
        )


def _clients_by_group(site: Site, forward: Forward) -> dict[str, list[VirtualUser]]:
    """A few sticky clients in each group with a weight (fresh clients until each has some)."""
    found: dict[str, list[VirtualUser]] = {g: [] for g, w in forward.weights.items() if w > 0}
    for _ in range(60 * len(found)):
        if all(len(c) >= STICKY_CLIENTS for c in found.values()):
            break
        user = site.user("group-sticky")
        group = forward.group_of(site.topology, served_by(user, None))
        if group in found and len(found[group]) < STICKY_CLIENTS:
            found[group].append(user)
    return found


@pytest.mark.disruptive
@pytest.mark.parity(
    title="Sticky clients stay in their group when the weights change",
    why="Shifting weights mid-release must not bounce users between old and new builds.",
)
def test_sticky_clients_stay_in_their_group_across_a_weight_change(
    site: Site, forward: Forward, guard: Guard
) -> None:
    if not forward.stickiness_seconds:
        pytest.skip("not applicable: target-group stickiness is off (clients follow the weights)")
    if not hasattr(guard.provider, "set_weights"):
        pytest.skip(f"not applicable: the {guard.provider.name} provider cannot change weights")
    clients = _clients_by_group(site, forward)
    leaving = max(clients, key=lambda g: forward.weights[g])
    if len(clients[leaving]) < STICKY_CLIENTS:
        pytest.skip(f"no {STICKY_CLIENTS} fresh clients landed in {leaving}")
    flipped = {g: (0 if g == leaving else 100) for g in forward.weights}
    with guard.reweigh(flipped):
        landed = draw_fresh(site, None, min_clients=20, max_clients=20).landings
        fresh = Counter(forward.group_of(site.topology, x.target) for x in landed if x.target)
        strays = {}
        for group, users in clients.items():
            for user in users:
                seen = [forward.group_of(site.topology, served_by(user, None)) for _ in range(4)]
                if any(g != group for g in seen):
                    strays[f"{user.name} of {group}"] = seen
    if strays:
        fail(
            "no-stickiness",
            f"with weights {flipped}, clients left their group: {strays} (target-group "
            f"stickiness {forward.stickiness_seconds} s)",
            site.trace_text(),
        )
    if fresh.get(leaving):
        fail(
            "uneven",
            f"with {leaving} at weight 0, {fresh[leaving]} of 20 fresh clients still went there",
        )


def _movers_needed(forward: Forward) -> int:
    total = sum(forward.weights.values())
    move = 1 - sum((w / total) ** 2 for w in forward.weights.values()) if total else 0.0
    if move <= 0:
        return 0
    return min(MAX_MOVERS, math.ceil(math.log(MISS_CHANCE) / math.log(1 - move)))


@pytest.mark.parity(
    title="A session survives moving between target groups",
    why="When group stickiness ends, users land on the other build: their session must follow.",
)
def test_a_session_survives_moving_between_groups(
    site: Site, forward: Forward, session_driver: SessionDriver
) -> None:
    lapse = forward.stickiness_seconds or 0
    if lapse > LAPSE_WAIT_LIMIT:
        pytest.skip(
            f"target-group stickiness {lapse} s is too long to wait for (limit "
            f"{LAPSE_WAIT_LIMIT:g} s): run against an environment with a short one"
        )
    needed = _movers_needed(forward)
    if not needed:
        pytest.skip(f"not applicable: the weights {forward.weights} send everyone to one group")
    users = []
    for n in range(needed):
        user = site.user(f"mover-{n}")
        session_driver.login(user, 200 + n)
        session_driver.write(user, "basket", f"kept-{n}")
        users.append((user, forward.group_of(site.topology, user.last_target), f"kept-{n}"))
    time.sleep(lapse + 1.5 if lapse else 0)
    lost, moved = [], 0
    for user, before, value in users:
        got, status = read_value(session_driver, user, "basket", None)
        after = forward.group_of(site.topology, user.last_target)
        if after == before:
            continue
        moved += 1
        if got != value:
            lost.append(f"{user.name} {before} -> {after}: {f'HTTP {status}' if status else got}")
    if lost:
        fail(
            "session-not-shared",
            f"{len(lost)} of {moved} clients that moved between groups lost their session: "
            f"{'; '.join(lost[:5])}",
            site.trace_text(),
        )
    if not moved:
        pytest.skip(f"not applicable: none of {needed} clients moved between groups")
