"""Durations given as flags: `90`, `90s`, `5m`, `1h30m`."""

from __future__ import annotations

from harness.errors import UsageError


def parse_duration(text: str) -> float:
    """`90`, `90s`, `5m`, `1h30m` -> seconds; anything else is a usage error."""
    total, number = 0.0, ""
    for char in text.strip():
        if char.isdigit() or char == ".":
            number += char
        elif char in "hms" and number:
            total += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
        else:
            raise UsageError(f"--run-time {text!r}: use seconds or 30s, 5m, 1h30m")
    total += float(number) if number else 0
    if total <= 0:
        raise UsageError(f"--run-time {text!r}: must be more than 0")
    return total
