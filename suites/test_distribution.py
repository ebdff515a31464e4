"""Distribution: fresh clients spread over the targets by their shares; no target is much slower.

Fresh clients are drawn until a sequential test decides (`harness.spread`): it fails a fair
balancer at most 0.05 % of runs (Ville's inequality with a union bound over the alternatives;
0.01-0.06 % measured by simulation in benchmarks/distribution_power.py at 2 to 16 targets and
weighted groups), catches a target with twice its weight's share in 99.9-99.99 % of runs and a
starved one in all, and stops early on clear evidence (a healthy two-target stack: 192 clients
on average, 480 at eight). The draw
is bounded by `--parity-samples` (default 3000 clients), 60 s and `safety.max_rps`. What a
balancer's algorithm promises sets the test: least-outstanding-requests only a 4:1 skew, source-IP
hashing and slow start nothing (not applicable, with the reason).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import pytest

from harness.findings import fail
from harness.spread import SpreadRun, SpreadVerdict
from harness.stats import histogram, percentiles_ms
from harness.topology.model import Target
from harness.topology.shares import spread_semantics, target_weights
from harness.traffic.fresh import DEFAULT_MAX_CLIENTS, FreshDraw, Landing, draw_fresh
from harness.traffic.site import Site

MIN_PER_TARGET = 40  # fresh clients per target at least, for its p95
SLOW_RATIO = 3.0  # one target's p95 above 3x the others' median p95 ...
SLOW_GAP_MS = 100.0  # ... and at least 100 ms above it


@dataclass
class Samples:
    draw: FreshDraw
    weights: dict[str, float]
    p95_ms: dict[str, float]
    not_applicable: str | None  # why no spread is promised, when none is


@pytest.fixture(scope="module")
def samples(site: Site, pytestconfig: pytest.Config, healthy_targets: list[Target]) -> Samples:
    weights = target_weights(site.topology, healthy_targets)
    promise = spread_semantics(site.topology, weights)
    run = SpreadRun(weights, promise.factors) if promise.factors and len(weights) > 1 else None
    bound = pytestconfig.getoption("parity_samples", None) or DEFAULT_MAX_CLIENTS
    draw = draw_fresh(
        site, run, max_clients=bound, min_clients=min(bound, MIN_PER_TARGET * len(healthy_targets))
    )
    p95 = _p95s(draw.landings, [t.id for t in healthy_targets])
    return Samples(draw, weights, p95, None if promise.factors else promise.note)


def _evidence(samples: Samples, verdict: SpreadVerdict) -> dict[str, Any]:
    return {
        "observed": verdict.counts,
        "expected": verdict.expected,
        "decision": verdict.decision,
        "clients": verdict.clients,
        "flagged": verdict.flagged,
        "unsettled": verdict.unsettled,
        "factor": verdict.factor,
        "alpha": verdict.alpha,
        "p_value": verdict.p_value,
        "stopped": samples.draw.stopped,
    }


@pytest.mark.parity(
    title="New visitors are spread evenly across targets",
    why="One target taking most new sessions runs hot and fails first under load.",
)
def test_fresh_clients_spread_evenly(samples: Samples, evidence: dict[str, Any]) -> None:
    draw = samples.draw
    if draw.failures:
        fail(
            "unhealthy-target",
            f"{draw.failures} of {len(draw.landings)} fresh requests failed (5xx or no response)",
        )
    if draw.stray:
        fail("uneven", f"fresh clients reached targets that should take none: {dict(draw.stray)}")
    if samples.not_applicable:
        pytest.skip(f"not applicable: {samples.not_applicable}")
    verdict = draw.verdict
    if verdict is None:
        pytest.skip(f"not applicable: fresh clients go to one target only ({samples.weights})")
    evidence["distribution"] = _evidence(samples, verdict)
    if verdict.decision == "uneven":
        unreached = sorted(
            t for t, d in verdict.flagged.items() if d != "more" and not verdict.counts.get(t)
        )
        if unreached:  # not a matter of shares: an accepted `uneven` must not hide it
            fail(
                "unreached-target",
                f"{', '.join(unreached)} took none of {verdict.clients} fresh clients "
                f"({verdict.shares_text()}) while listed healthy: the balancer does not route "
                f"to {'it' if len(unreached) == 1 else 'them'} (sequential test, false alarm "
                f"rate at most {verdict.alpha:g})",
            )
        flagged = "; ".join(
            f"{t} took {'more than' if d == 'more' else 'less than'} its share"
            for t, d in sorted(verdict.flagged.items())
        )
        fail(
            "uneven",
            f"{verdict.clients} fresh clients: {verdict.shares_text()}; {flagged} (sequential "
            f"test against {verdict.factor:g}x and starved shares, false alarm rate at most "
            f"{verdict.alpha:g})",
        )
    if verdict.decision == "undecided" and len(verdict.unsettled) == len(verdict.counts):
        pytest.skip(
            f"not enough evidence: {verdict.clients} fresh clients ({draw.stopped}) could not "
            f"tell any target's share from {verdict.factor:g}x or a starved one: "
            f"{verdict.shares_text()}"
        )


def _p95s(landings: list[Landing], ids: list[str]) -> dict[str, float]:
    hists = {t: histogram() for t in ids}
    for landing in landings:
        if landing.target in hists and not landing.failed:
            hists[landing.target].record_value(max(int(landing.seconds * 1_000_000), 1))
    return {t: percentiles_ms(h)["p95"] for t, h in hists.items()}


def _slow(p95_ms: dict[str, float]) -> dict[str, float]:
    """Targets whose p95 is above SLOW_RATIO x and SLOW_GAP_MS over the others' median."""
    slow = {}
    for target, p95 in p95_ms.items():
        others = statistics.median(v for t, v in p95_ms.items() if t != target)
        if p95 > SLOW_RATIO * others and p95 - others > SLOW_GAP_MS:
            slow[target] = others
    return slow


def _listing(p95_ms: dict[str, float]) -> str:
    return ", ".join(f"{t}: {v:.1f} ms" for t, v in sorted(p95_ms.items()))


@pytest.mark.parity(
    title="No target is much slower than the others",
    why="One slow instance sets the p95 every user feels.",
)
def test_no_target_is_much_slower(
    site: Site, samples: Samples, evidence: dict[str, Any], healthy_targets: list[Target]
) -> None:
    """A target slow in the draw is measured again on a second draw of fresh clients: only one
    slow in both is a finding (a burst of load on a shared host is not a slow instance)."""
    evidence["latency_p95_ms"] = samples.p95_ms
    if len(samples.p95_ms) < 2:
        pytest.skip("latency comparison needs two healthy targets")
    suspects = _slow(samples.p95_ms)
    if not suspects:
        return
    ids = [t.id for t in healthy_targets]
    again = draw_fresh(site, None, min_clients=MIN_PER_TARGET * len(ids))
    second = _p95s(again.landings, ids)
    evidence["latency_p95_ms_again"] = second
    for target in sorted(set(suspects) & set(_slow(second))):
        p95, others = second[target], _slow(second)[target]
        fail(
            "slow-target",
            f"p95 of {target} is {p95:.0f} ms, {p95 / others:.1f}x the others, on two draws of "
            f"fresh clients ({_listing(second)}; first: {_listing(samples.p95_ms)})",
        )
