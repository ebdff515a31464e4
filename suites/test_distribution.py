"""Distribution: fresh clients spread evenly over the targets, and no target is much slower.

With M = 400 fresh clients and two equal targets, a chi-square test at alpha = 0.001 fails a fair
random balancer 1 time in 1000 (round robin: never) and a 2:1 skew 99.98 % of the time
(the busier target's count is Binomial(400, 2/3), mean 267, sd 9.4; the test fails above 233).
"""

from __future__ import annotations

import statistics
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from harness.findings import fail
from harness.stats import fit, histogram, percentiles_ms
from harness.topology.model import Target, Topology
from harness.traffic.site import Site

DEFAULT_SAMPLES = 400
ALPHA = 0.001
MAX_RATIO = 1.5
WORKERS = 8
SLOW_RATIO = 3.0  # one target's p95 above 3x the others' median p95 ...
SLOW_GAP_MS = 100.0  # ... and at least 100 ms above it


@dataclass
class Samples:
    counts: Counter[str]
    p95_ms: dict[str, float]
    failures: int
    total: int


@pytest.fixture(scope="module")
def samples(site: Site, pytestconfig: pytest.Config, healthy_targets: list[Target]) -> Samples:
    total = pytestconfig.getoption("parity_samples", None) or DEFAULT_SAMPLES
    hists = {t.id: histogram() for t in healthy_targets}

    def one(_: int) -> tuple[str | None, float, bool]:
        user = site.user("fresh", own_trace=True)
        try:
            response = user.request("GET", "/")
        except requests.RequestException:
            return None, 0.0, True
        return user.last_target, response.elapsed.total_seconds(), response.status_code >= 500

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(one, range(total)))
    counts: Counter[str] = Counter()
    for target, seconds, _ in results:
        if target is not None:
            counts[target] += 1
            if target in hists:
                hists[target].record_value(max(int(seconds * 1_000_000), 1))
    return Samples(
        counts,
        {t: percentiles_ms(h)["p95"] for t, h in hists.items()},
        sum(1 for _, _, failed in results if failed),
        len(results),
    )


def target_weights(topology: Topology, healthy: list[Target]) -> dict[str, float]:
    """Each healthy target's expected share of fresh clients: equal, or in a weighted forward
    its group's weight shared by the group's healthy targets (a weight of 0: none)."""
    ids = {t.id for t in healthy}
    weights: dict[str, float] = {}
    for group in topology.target_groups:
        members = [t.id for t in group.targets if t.id in ids]
        share = 1.0 if group.weight is None else float(group.weight)
        for member in members:
            if share > 0:
                weights.setdefault(
                    member, share / (len(members) if group.weight is not None else 1)
                )
    return weights


@pytest.mark.parity(
    title="New visitors are spread evenly across targets",
    why="One target taking most new sessions runs hot and fails first under load.",
)
def test_fresh_clients_spread_evenly(
    site: Site, samples: Samples, evidence: dict[str, Any], healthy_targets: list[Target]
) -> None:
    if samples.failures:
        fail(
            "unhealthy-target",
            f"{samples.failures} of {samples.total} fresh requests failed (5xx or no response)",
        )
    weights = target_weights(site.topology, healthy_targets)
    unweighted = {t: n for t, n in samples.counts.items() if t not in weights}
    if unweighted:
        fail(
            "uneven",
            f"fresh clients reached targets whose group has weight 0: {unweighted}",
        )
    result = fit(dict(samples.counts), weights)
    evidence["distribution"] = {
        "observed": dict(samples.counts),
        "expected": result.expected,
        "p_value": result.p_value,
        "max_min_ratio": result.max_min_ratio,
        "alpha": ALPHA,
    }
    shares = ", ".join(
        f"{t}: {samples.counts.get(t, 0)} (expected {result.expected[t]:.0f})"
        for t in sorted(weights)
    )
    if result.p_value < ALPHA or result.max_min_ratio > MAX_RATIO:
        fail(
            "uneven",
            f"{sum(samples.counts.values())} fresh clients: {shares}; chi-square "
            f"p = {result.p_value:.2g} (alpha {ALPHA}), max/min ratio "
            f"{result.max_min_ratio:.2f} (limit {MAX_RATIO})",
        )


@pytest.mark.parity(
    title="No target is much slower than the others",
    why="One slow instance sets the p95 every user feels.",
)
def test_no_target_is_much_slower(samples: Samples, evidence: dict[str, Any]) -> None:
    evidence["latency_p95_ms"] = samples.p95_ms
    if len(samples.p95_ms) < 2:
        pytest.skip("latency comparison needs two healthy targets")
    for target, p95 in samples.p95_ms.items():
        others = statistics.median(v for t, v in samples.p95_ms.items() if t != target)
        if p95 > SLOW_RATIO * others and p95 - others > SLOW_GAP_MS:
            listing = ", ".join(f"{t}: {v:.1f} ms" for t, v in sorted(samples.p95_ms.items()))
            fail(
                "slow-target",
                f"p95 of {target} is {p95:.0f} ms, {p95 / others:.1f}x the others ({listing})",
            )
