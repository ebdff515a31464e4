"""A load run's requests, errors, moves and losses by phase: before, during, after a drain."""

from __future__ import annotations

from typing import Any


def _phase(at: float, drain: float | None, restored: float | None) -> str:
    if drain is None or at < drain:
        return "before"
    if restored is None or at < restored:
        return "during"
    return "after"


def phases(evidence: dict[str, Any], drain_events: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests and errors per phase from the timeline; examples of moves and losses by phase."""
    drain = next((e["at"] for e in drain_events if e["event"] == "drain"), None)
    restored = next((e["at"] for e in drain_events if e["event"] == "restore"), None)
    out: dict[str, dict[str, int]] = {
        p: {"requests": 0, "errors": 0, "moves": 0, "sticky_violations": 0, "session_losses": 0}
        for p in ("before", "during", "after")
    }
    for second in evidence.get("timeline", []):
        row = out[_phase(second["second"], drain, restored)]
        for stats in second["targets"].values():
            row["requests"] += int(stats["requests"])
            row["errors"] += int(stats["errors"])
    names = {
        "move": "moves",
        "sticky_violation": "sticky_violations",
        "session_loss": "session_losses",
    }
    for example in evidence.get("examples", []):
        if example["kind"] in names:
            out[_phase(example["at"], drain, restored)][names[example["kind"]]] += 1
    return out
