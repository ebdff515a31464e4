"""`parity diff --behaviour`: the non-disruptive suites on both environments, compared."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from harness.commands.check import CheckOptions, run_suites
from harness.profile.environment import Environment

SUITES = ["topology", "sticky", "sharing", "distribution"]
LATENCY_RATIO, LATENCY_GAP_MS, ALPHA = 2.0, 20.0, 0.001


def _measure(env: Environment) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checks.json"
        run_suites(env, CheckOptions(suites=SUITES), path)
        checks = json.loads(path.read_text())["checks"] if path.exists() else []
    return {c["id"].split("::", 1)[-1]: c for c in checks}


def compare_behaviour(left: Environment, right: Environment) -> list[dict[str, Any]]:
    """Checks whose outcome differs, and measured values that differ materially."""
    a, b = _measure(left), _measure(right)
    out = []
    for name in sorted(set(a) | set(b)):
        oa, ob = (a.get(name) or {}).get("outcome"), (b.get(name) or {}).get("outcome")
        if oa != ob:
            out.append(
                {
                    "path": f"behaviour.{name}",
                    "left": oa,
                    "right": ob,
                    "expected": False,
                    "reason": "",
                }
            )
    dist = [(x.get("test_fresh_clients_spread_evenly") or {}).get("evidence", {}) for x in (a, b)]
    pa, pb = (d.get("distribution", {}).get("p_value") for d in dist)
    if pa is not None and pb is not None and (pa < ALPHA) != (pb < ALPHA):
        out.append(
            {
                "path": "behaviour.distribution.p_value",
                "left": round(pa, 4),
                "right": round(pb, 4),
                "expected": False,
                "reason": "",
            }
        )
    lat = [
        (x.get("test_no_target_is_much_slower") or {}).get("evidence", {}).get("latency_p95_ms", {})
        for x in (a, b)
    ]
    la, lb = (max(v.values(), default=0.0) for v in lat)
    if (
        min(la, lb) > 0
        and max(la, lb) / min(la, lb) > LATENCY_RATIO
        and abs(la - lb) > LATENCY_GAP_MS
    ):
        out.append(
            {
                "path": "behaviour.latency.p95_ms_worst_target",
                "left": round(la, 1),
                "right": round(lb, 1),
                "expected": False,
                "reason": "",
            }
        )
    return out
