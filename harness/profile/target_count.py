"""`expect.targets`, typed: how many healthy targets the team expects.

`targets: 2` is exactly two; `targets: {min: 2, max: 10}` a range (an autoscaling group), either
bound optional. Targets joining (`initial`) or leaving (`draining`) are never counted as healthy;
they may make up a shortfall against `min` while they settle, never an excess over `max`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FIELD = "expect.targets"


@dataclass(frozen=True)
class TargetCount:
    """From `min` to `max` healthy targets; `max` None: no upper bound."""

    min: int = 1
    max: int | None = None

    @classmethod
    def parse(cls, value: int | Mapping[str, Any] | None) -> TargetCount | None:
        """A validated `expect.targets` value; None when the profile states no count."""
        if value is None:
            return None
        if isinstance(value, Mapping):
            top = value.get("max")
            return cls(int(value.get("min") or 1), None if top is None else int(top))
        return cls(int(value), int(value))

    @classmethod
    def from_expect(cls, expect: Mapping[str, Any]) -> TargetCount | None:
        """The count a profile's `expect:` section states, or None."""
        return cls.parse(expect.get("targets"))

    def describe(self) -> str:
        """`exactly 2`, `at least 2`, `2 to 10`."""
        if self.min == self.max:
            return f"exactly {self.min}"
        if self.max is None:
            return f"at least {self.min}"
        return f"{self.min} to {self.max}"

    def allows(self, healthy: int, settling: int = 0) -> bool:
        """Whether `healthy` targets meet the count, `settling` more (initial or draining)
        making up a shortfall against `min`."""
        return healthy + settling >= self.min and (self.max is None or healthy <= self.max)
