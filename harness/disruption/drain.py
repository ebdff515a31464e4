"""Drain and restore a target through any provider, observing its states on the way.

A drain is bounded by the target group's deregistration delay plus a margin (not the AWS waiters'
600 s); it ends when the target is `unused` or gone (moto removes it at once). A restore waits for
`healthy`, bounded by the health check's interval times its healthy threshold plus a margin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import DeploymentFinding
from harness.topology import Provider

POLL_SECONDS = 0.25
DRAIN_MARGIN_SECONDS = 30.0
DRAINED = ("unused", "gone")
RESTORE_MARGIN_SECONDS = 30.0

Progress = Callable[[str], None]


@dataclass
class Observation:
    """A state the target was seen in, `at` seconds after the action began."""

    at: float
    state: str
    reason: str


@dataclass
class Transition:
    """What happened to a target during a drain or a restore."""

    target: str
    action: str
    started_at: float  # epoch seconds
    observations: list[Observation] = field(default_factory=list)
    completed_after: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def states(self) -> list[str]:
        """The distinct states in the order they were seen."""
        seen: list[str] = []
        for obs in self.observations:
            if not seen or seen[-1] != obs.state:
                seen.append(obs.state)
        return seen


def observe(
    provider: Provider,
    record: Transition,
    progress: Progress | None = None,
    keep: Callable[[str], bool] = lambda state: True,
) -> str:
    """The target's state now, kept in `record` when it changed (and `keep` takes it)."""
    state, reason = provider.target_states().get(record.target, ("gone", ""))
    at = time.time() - record.started_at
    changed = not record.observations or record.observations[-1].state != state
    if changed and keep(state):
        record.observations.append(Observation(round(at, 3), state, reason))
        if progress:
            progress(f"{record.target}: {state} after {at:.1f} s")
    return state


def wait_for(
    provider: Provider,
    record: Transition,
    done: Callable[[str], bool],
    timeout: float,
    progress: Progress | None,
) -> None:
    began = time.monotonic()
    while True:
        state = observe(provider, record, progress)
        at = time.time() - record.started_at
        if done(state):
            record.completed_after = round(at, 3)
            return
        if time.monotonic() - began > timeout:
            raise DeploymentFinding(
                f"{record.target} did not finish {record.action} within {timeout:.0f} s; "
                f"states seen: {' -> '.join(record.states())}"
            )
        time.sleep(POLL_SECONDS)


def wait_drained(
    provider: Provider,
    record: Transition,
    delay_seconds: float,
    progress: Progress | None = None,
    margin: float = DRAIN_MARGIN_SECONDS,
) -> None:
    """Wait until a deregistered target is unused or gone, bounded by its delay plus a margin."""
    wait_for(provider, record, lambda s: s in DRAINED, delay_seconds + margin, progress)


def restore(
    provider: Provider,
    target_id: str,
    timeout: float,
    details: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Transition:
    """Register the target again and wait until it is healthy."""
    record = Transition(target_id, "restore", time.time())
    provider.register(target_id, details)
    wait_for(provider, record, lambda s: s == "healthy", timeout, progress)
    return record


def restore_timeout(interval: float, healthy_threshold: int) -> float:
    return interval * healthy_threshold + RESTORE_MARGIN_SECONDS
