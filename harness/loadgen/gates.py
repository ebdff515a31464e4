"""Load gates: `metric op number` thresholds checked against the evidence of a run.

Metrics: p50_ms p90_ms p95_ms p99_ms max_ms (worst target), error_ratio, sticky_violations,
session_losses, messages_lost and delivery_p95_ms (worst target; a realtime_users run),
distribution_p (the spread test's p of new sessions per target against the
weights, targets that got none counted), requests, rps. A metric with nothing to look at (no
spread promised, one target, no session) is None, and its gate is "not measured", never passed.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.report.model import GateRecord
from harness.spread import SpreadRun
from harness.spread_promises import EVEN_FACTORS

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
    "messages_lost",
    "delivery_p95_ms",
    "distribution_p",
    "requests",
    "rps",
)
REQUEST_METRICS = (  # what only requests through Locust's client show
    "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "error_ratio", "sticky_violations",
    "session_losses",
)  # fmt: skip
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
    """A gate against its metric: passed, failed, or None when the metric measured nothing."""

    gate: Gate
    value: float | None
    passed: bool | None
    reason: str = ""  # why the metric measured nothing

    def status(self) -> str:
        return {True: "passed", False: "failed", None: "not measured"}[self.passed]

    def line(self) -> str:
        label = {True: "PASS", False: "FAIL", None: "N/A "}[self.passed]
        seen = f"measured {self.value:.4g}" if self.value is not None else self.reason
        return f"{label}  {self.gate}  ({seen})"

    def record(self) -> GateRecord:
        out: GateRecord = {"gate": str(self.gate), "value": self.value, "passed": self.passed}
        if self.reason:
            out["reason"] = self.reason
        return out


def unmeasured_spread(
    sessions: dict[str, int], weights: dict[str, float], factors: tuple[float, ...] | None
) -> str:
    """Why the sessions per target say nothing about the spread, or "" when they do."""
    if any(n and t not in weights for t, n in sessions.items()):
        return ""  # sessions where none should go: that is evidence
    if factors is None:
        return "not measured: the balancer promises no even spread of new sessions"
    if len(weights) < 2:
        return "not measured: one target takes every session, there is no spread to test"
    if not sum(sessions.values()):
        return "not measured: the run started no session"
    return ""


def distribution_p(
    sessions: dict[str, int], weights: dict[str, float], factors: tuple[float, ...] | None
) -> float | None:
    """The spread test's p-value of the sessions started per target against their shares
    (`harness.spread`): a target that got none counts as 0; sessions on a target that should
    get none give 0.0; None when there is nothing to test (`unmeasured_spread` says why)."""
    if any(n and t not in weights for t, n in sessions.items()):
        return 0.0
    if factors is None or unmeasured_spread(sessions, weights, factors):
        return None
    return SpreadRun.of_counts(sessions, weights, factors).verdict().p_value


def metrics(
    evidence: dict[str, Any],
    seconds: float,
    weights: dict[str, float] | None = None,
    factors: tuple[float, ...] | None = EVEN_FACTORS,
) -> dict[str, float | None]:
    """The gate metrics of a run's evidence; `weights`, each target's expected share of new
    sessions (default: equal among the targets that answered), `factors` the spread its
    balancer promises (`harness.spread.semantics`)."""
    targets = _targets(evidence)
    totals = evidence["totals"]
    worst = {
        p: max((v["latency_ms"].get(p, 0.0) for v in targets.values()), default=0.0)
        for p in ("p50", "p90", "p95", "p99", "max")
    }
    sessions, shares = _sessions_and_shares(evidence, weights)
    asked = bool(totals["requests"])  # else (a realtime_users run) nothing of these was seen
    return {
        **{f"{p}_ms": v if asked else None for p, v in worst.items()},
        "error_ratio": totals["errors"] / totals["requests"] if asked else None,
        "sticky_violations": float(evidence["sticky_violations"]) if asked else None,
        "session_losses": float(evidence["session_losses"]) if asked else None,
        "messages_lost": float(evidence["messages_lost"]) if _settled(evidence) else None,
        "delivery_p95_ms": max(
            (r["latency_ms"].get("p95", 0.0) for r in _realtime_rows(evidence) if r["delivered"]),
            default=None,
        ),
        "distribution_p": distribution_p(sessions, shares, factors),
        "requests": float(totals["requests"]),
        "rps": totals["requests"] / seconds if seconds > 0 else 0.0,
    }


def _realtime_rows(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    return list((evidence.get("realtime") or {}).get("targets", {}).values())


def _settled(evidence: dict[str, Any]) -> bool:
    """Some published message was counted delivered or lost (else losses say nothing)."""
    return any(r["delivered"] or r["lost"] for r in _realtime_rows(evidence))


def unmeasured(
    evidence: dict[str, Any],
    weights: dict[str, float] | None = None,
    factors: tuple[float, ...] | None = EVEN_FACTORS,
) -> dict[str, str]:
    """Why each metric `metrics` gave as None measured nothing."""
    why = unmeasured_spread(*_sessions_and_shares(evidence, weights), factors)
    reasons = {"distribution_p": why} if why else {}
    if not evidence["totals"]["requests"]:
        none = "not measured: no HTTP request went through Locust (realtime_users counts messages)"
        reasons |= dict.fromkeys(REQUEST_METRICS, none)
    if not _settled(evidence):
        held = (
            "not measured: no real-time message was delivered or lost (--profile "
            "realtime_users; streams opened and publishes are in the evidence)"
        )
        reasons |= {"messages_lost": held, "delivery_p95_ms": held}
    elif not any(r["delivered"] for r in _realtime_rows(evidence)):
        reasons["delivery_p95_ms"] = "not measured: no real-time message was delivered"
    return reasons


def _targets(evidence: dict[str, Any]) -> dict[str, Any]:
    return {t: v for t, v in evidence["targets"].items() if t != "unknown"}


def _sessions_and_shares(
    evidence: dict[str, Any], weights: dict[str, float] | None
) -> tuple[dict[str, int], dict[str, float]]:
    sessions = {t: v["sessions"] for t, v in _targets(evidence).items()}
    return sessions, weights if weights is not None else dict.fromkeys(sessions, 1.0)


def check(
    gates: list[Gate], measured: dict[str, float | None], reasons: dict[str, str] | None = None
) -> list[GateResult]:
    """Each gate against its metric; one with nothing measured is not measured, with the reason."""
    out = []
    for g in gates:
        value = measured[g.metric]
        if value is None:
            why = (reasons or {}).get(g.metric) or "not measured"
            out.append(GateResult(g, None, None, why))
        else:
            out.append(GateResult(g, value, OPERATORS[g.op](value, g.threshold)))
    return out
