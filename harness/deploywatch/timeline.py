"""The watch's samples as spans per target (state and build over time), relative to its start."""

from __future__ import annotations

from typing import Any


def spans(
    samples: list[dict[str, Any]], start: float, end: float
) -> dict[str, list[dict[str, Any]]]:
    """Per target: consecutive samples with the same state and build merged into one span (a
    target refusing connections on its own address is `<state>, not answering`)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for i, sample in enumerate(samples):
        until = samples[i + 1]["at"] if i + 1 < len(samples) else end
        for target, row in sample["targets"].items():
            rows = out.setdefault(target, [])
            state, build = row["state"], row.get("build") or ""
            if row.get("refused"):
                state = f"{state}, not answering"  # registered, its process stopped
            if rows and rows[-1]["state"] == state and rows[-1]["build"] == build:
                rows[-1]["end"] = round(until - start, 2)
                continue
            rows.append(
                {
                    "start": round(sample["at"] - start, 2),
                    "end": round(until - start, 2),
                    "state": state,
                    "build": build,
                }
            )
    return out
