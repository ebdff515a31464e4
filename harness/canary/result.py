"""What one canary run found, and the same as metric samples for every output."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

DEFAULT_BUDGET = 20.0  # seconds: a canary run's time budget (`--timeout`)

STEPS = (
    "login",
    "stickiness",
    "session_on_every_target",
    "write_seen_elsewhere",
    "logout_everywhere",
    "same_build",
)
SESSION_STEPS = ("login", "session_on_every_target", "write_seen_elsewhere", "logout_everywhere")


@dataclass
class Step:
    """One check of the run: ok True or False, or None when it does not apply (with why)."""

    name: str
    ok: bool | None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Sample:
    """One metric sample; `unit` is CloudWatch's."""

    name: str
    value: float
    unit: str = "None"
    target: str | None = None


@dataclass
class CanaryResult:
    environment: str
    started_at: float
    duration_seconds: float = 0.0
    steps: list[Step] = field(default_factory=list)
    sticky_violations: int | None = None
    session_losses: int | None = None
    builds: dict[str, str] = field(default_factory=dict)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    requests: int = 0  # responses received, every client of the run together
    error: str | None = None  # the run could not look at the environment at all
    test_sessions: dict[str, int] = field(default_factory=dict)  # made, logged_out, left

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    @property
    def checked(self) -> bool:
        """At least one step looked at something (a run of nothing never succeeds)."""
        return any(s.ok is not None for s in self.steps)

    @property
    def success(self) -> bool:
        return self.error is None and self.checked and all(s.ok is not False for s in self.steps)

    @property
    def session_persistence(self) -> int | None:
        """1 when every session step that ran held, 0 when one broke, None without a session."""
        ran = [s for s in self.steps if s.name in SESSION_STEPS and s.ok is not None]
        if self.error is not None:
            return 0
        return None if not ran else int(all(s.ok for s in ran))

    @property
    def build_skew(self) -> int | None:
        return None if not self.builds else int(len(set(self.builds.values())) > 1)

    def latency_p95_ms(self) -> dict[str, float]:
        return {t: percentile(v, 95) for t, v in sorted(self.latency_ms.items()) if v}

    def samples(self) -> list[Sample]:
        """The run as metric samples; a measure with nothing behind it is left out, not 0."""
        out = [
            Sample("ProbeSuccess", float(self.success)),
            Sample("ProbeDuration", round(self.duration_seconds, 3), "Seconds"),
        ]
        measures = {
            "SessionPersistence": self.session_persistence,
            "StickyViolations": self.sticky_violations,
            "SessionLosses": self.session_losses,
            "BuildSkew": self.build_skew,
        }
        units = {"StickyViolations": "Count", "SessionLosses": "Count"}
        out += [
            Sample(name, float(value), units.get(name, "None"))
            for name, value in measures.items()
            if value is not None
        ]
        out += [
            Sample("LatencyP95", round(ms, 2), "Milliseconds", target)
            for target, ms in self.latency_p95_ms().items()
        ]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration_seconds, 3),
            "requests": self.requests,
            "success": self.success,
            "error": self.error,
            "steps": [s.as_dict() for s in self.steps],
            "builds": self.builds,
            "test_sessions": self.test_sessions,
            "metrics": [
                {"name": s.name, "value": s.value, "unit": s.unit, "target": s.target}
                for s in self.samples()
            ],
        }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the canary has a handful of samples per target)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
