"""Load gates: `metric op number` thresholds checked against the evidence of a run.

Metrics: p50_ms p90_ms p95_ms p99_ms max_ms (worst target), error_ratio, sticky_violations,
session_losses, distribution_p (the spread test's p of new sessions per target against the
weights, targets that got none counted), requests, rps.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.spread import EVEN_FACTORS, SpreadRun

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
METRICS = (
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "error_ratio",
    "sticky_violations",
    "session_losses",
    "distribution_p",
    "requests",
    "rps",
)
_GATE = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|==|!=|<|>)\s*([0-9.eE+-]+)\s*$")


@dataclass(frozen=True)
class Gate:
    metric: str
    op: str
    threshold: float

    @classmethod
    def parse(cls, text: str, where: str = "--gate") -> Gate:
        match = _GATE.match(text)
        if not match or match.group(1) not in METRICS:
            raise UsageError(
                f"{where} {text!r}: write METRIC OP NUMBER, e.g. 'p95_ms < 300'; "
                f"metrics: {', '.join(METRICS)}"
            )
        try:
            threshold = float(match.group(3))
        except ValueError as exc:
            raise UsageError(f"{where} {text!r}: {match.group(3)!r} is not a number") from exc
        return cls(match.group(1), match.group(2), threshold)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    value: float
    passed: bool

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.gate}  (measured {self.value:.4g})"


def distribution_p(
    sessions: dict[str, int], weights: dict[str, float], factors: tuple[float, ...] | None
) -> float:
    """The spread test's p-value of the sessions started per target against their shares
    (`harness.spread`): a target that got none counts as 0; sessions on a target that should
    get none give 0.0; a balancer that promises no spread (`factors` None) gives 1.0."""
    if any(n and t not in weights for t, n in sessions.items()):
        return 0.0
    if factors is None or len(weights) < 2 or not sum(sessions.values()):
        return 1.0
    return SpreadRun.of_counts(sessions, weights, factors).verdict().p_value


def metrics(
    evidence: dict[str, Any],
    seconds: float,
    weights: dict[str, float] | None = None,
    factors: tuple[float, ...] | None = EVEN_FACTORS,
) -> dict[str, float]:
    """The gate metrics of a run's evidence; `weights`, each target's expected share of new
    sessions (default: equal among the targets that answered), `factors` the spread its
    balancer promises (`harness.spread.semantics`)."""
    targets = {t: v for t, v in evidence["targets"].items() if t != "unknown"}
    totals = evidence["totals"]
    worst = {
        p: max((v["latency_ms"].get(p, 0.0) for v in targets.values()), default=0.0)
        for p in ("p50", "p90", "p95", "p99", "max")
    }
    sessions = {t: v["sessions"] for t, v in targets.items()}
    shares = weights if weights is not None else dict.fromkeys(sessions, 1.0)
    return {
        **{f"{p}_ms": v for p, v in worst.items()},
        "error_ratio": totals["errors"] / totals["requests"] if totals["requests"] else 0.0,
        "sticky_violations": float(evidence["sticky_violations"]),
        "session_losses": float(evidence["session_losses"]),
        "distribution_p": distribution_p(sessions, shares, factors),
        "requests": float(totals["requests"]),
        "rps": totals["requests"] / seconds if seconds > 0 else 0.0,
    }


def check(gates: list[Gate], measured: dict[str, float]) -> list[GateResult]:
    return [
        GateResult(g, measured[g.metric], OPERATORS[g.op](measured[g.metric], g.threshold))
        for g in gates
    ]
