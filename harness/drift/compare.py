"""Two fact maps compared: each difference marked expected (with the profile's reason) or not."""

from __future__ import annotations

import fnmatch
from typing import Any

from harness.profile.environment import Environment
from harness.report.model import Difference


def compare(
    left: dict[str, Any], right: dict[str, Any], policy: list[dict[str, str]]
) -> list[Difference]:
    """The differences between two fact maps, each marked expected (with its reason) or not."""
    differences: list[Difference] = []
    for path in sorted(set(left) | set(right)):
        a, b = left.get(path), right.get(path)
        if a == b:
            continue
        rule = next((p for p in policy if fnmatch.fnmatchcase(path, p["path"])), None)
        differences.append(
            {
                "path": path,
                "left": a,
                "right": b,
                "expected": rule is not None,
                "reason": (rule or {}).get("reason", ""),
            }
        )
    return differences


def policy_of(env: Environment) -> list[dict[str, str]]:
    """The differences a profile expects (`parity.expected`: path globs and their reasons)."""
    return [{"path": e.path, "reason": e.reason} for e in env.parity.expected]
