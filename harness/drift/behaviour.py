"""Two environments' behaviour compared: checks whose outcome differs, a spread test passed on
one side only, and the worst target's p95 latency materially apart."""

from __future__ import annotations

from typing import Any

from harness.report.model import CheckRecord, Difference, evidence_of
from harness.spread import ALPHA

LATENCY_RATIO, LATENCY_GAP_MS = 2.0, 20.0


def _difference(path: str, left: Any, right: Any) -> Difference:
    return {"path": path, "left": left, "right": right, "expected": False, "reason": ""}


def _outcomes(left: list[CheckRecord], right: list[CheckRecord]) -> list[Difference]:
    a = {c["name"]: c["outcome"] for c in left}
    b = {c["name"]: c["outcome"] for c in right}
    return [
        _difference(f"behaviour.{name}", a.get(name), b.get(name))
        for name in sorted(set(a) | set(b))
        if a.get(name) != b.get(name)
    ]


def _distribution(left: list[CheckRecord], right: list[CheckRecord]) -> list[Difference]:
    """p-values on either side of the spread test's alpha: one side spreads evenly, the other
    does not."""
    pa, pb = ((evidence_of(x, "distribution") or {}).get("p_value") for x in (left, right))
    if pa is None or pb is None or (pa < ALPHA) == (pb < ALPHA):
        return []
    return [_difference("behaviour.distribution.p_value", round(pa, 4), round(pb, 4))]


def _latency(left: list[CheckRecord], right: list[CheckRecord]) -> list[Difference]:
    """The worst target's p95, more than LATENCY_RATIO times and LATENCY_GAP_MS apart."""
    la, lb = (
        max((evidence_of(x, "latency_p95_ms") or {}).values(), default=0.0) for x in (left, right)
    )
    low, high = min(la, lb), max(la, lb)
    if low <= 0 or high / low <= LATENCY_RATIO or high - low <= LATENCY_GAP_MS:
        return []
    return [_difference("behaviour.latency.p95_ms_worst_target", round(la, 1), round(lb, 1))]


def behaviour_differences(left: list[CheckRecord], right: list[CheckRecord]) -> list[Difference]:
    """Checks whose outcome differs, and measured values that differ materially."""
    return _outcomes(left, right) + _distribution(left, right) + _latency(left, right)
