"""`parity replica rollout`: a rolling deploy of the running replica, as CodeDeploy or ECS runs
one: per batch, deregister, stop with SIGTERM, start on the new build, register, wait healthy.

A deploy to watch (`parity watch -- parity replica rollout --build B`). A target it took out is
registered again however the rollout ends (an error, Ctrl-C): it never leaves one drained.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.errors import ReplicaError, UsageError
from harness.replica.control import ReplicaControl

HEALTHY_TIMEOUT = 60.0
Plan = list[tuple[str, str]]  # (target, build) in rollout order


def forward_plan(targets: list[dict[str, Any]], build: str) -> Plan:
    """Every target not on `build` yet, in order."""
    return [(t["id"], build) for t in targets if t.get("build") != build]


def rollback_plan(targets: list[dict[str, Any]]) -> Plan:
    """Every target back on the build it served before its last rollout."""
    return [
        (t["id"], t["previous_build"])
        for t in targets
        if t.get("previous_build") and t["previous_build"] != t.get("build")
    ]


class Rollout:
    """Runs plans against the replica's control API, saying each step with its time."""

    def __init__(self, control: ReplicaControl, say: Callable[[str], object]) -> None:
        self.control, self._say = control, say
        self.started = time.monotonic()
        self.steps: list[dict[str, Any]] = []

    def say(self, text: str) -> None:
        self._say(f"  +{time.monotonic() - self.started:5.1f} s  {text}")

    def run(self, plan: Plan, batch: int) -> None:
        for i in range(0, len(plan), batch):
            self._batch(plan[i : i + batch])

    def _batch(self, chunk: Plan) -> None:
        taken: list[str] = []
        try:
            for target, _ in chunk:
                self.control.act(target, "deregister")
                taken.append(target)
                self.say(f"{target}: deregistered (draining)")
            for target, build in chunk:
                done = self.control.deploy(target, build)
                self.steps.append(done)
                self.say(
                    f"{target}: SIGTERM, stopped after {done['stopped_after_seconds']:.1f} s; "
                    f"started on {build} (was {done['previous_build']})"
                )
        finally:  # registered again however this ends
            for target in taken:
                self.control.act(target, "register")
                self.say(f"{target}: registered")
        self._wait_healthy([t for t, _ in chunk])

    def _wait_healthy(self, targets: list[str]) -> None:
        deadline = time.monotonic() + HEALTHY_TIMEOUT
        while True:
            states = {t["id"]: t["state"] for t in self.control.describe()["targets"]}
            waiting = [t for t in targets if states.get(t) != "healthy"]
            if not waiting:
                self.say(f"{', '.join(targets)}: healthy")
                return
            if time.monotonic() > deadline:
                listing = ", ".join(f"{t} {states.get(t)}" for t in waiting)
                raise ReplicaError(
                    f"rollout stopped: not healthy {HEALTHY_TIMEOUT:.0f} s after registration: "
                    f"{listing}"
                )
            time.sleep(0.2)


def roll(
    control: ReplicaControl,
    build: str | None,
    batch: int,
    rollback: bool,
    say: Callable[[str], object],
) -> Rollout:
    """Roll out `build` (when given), then back (with `rollback`)."""
    if batch < 1:
        raise UsageError(f"--batch {batch}: at least 1 target per batch")
    if build is None and not rollback:
        raise UsageError("parity replica rollout: give --build B, --rollback, or both")
    rollout = Rollout(control, say)
    if build is not None:
        plan = forward_plan(control.describe()["targets"], build)
        if not plan:
            raise UsageError(f"--build {build}: every target already serves {build}")
        rollout.say(f"rolling out {build} to {', '.join(t for t, _ in plan)}, {batch} at a time")
        rollout.run(plan, batch)
    if rollback:
        plan = rollback_plan(control.describe()["targets"])
        if not plan:
            raise UsageError(
                "--rollback: no target has a build to go back to (roll one out first: "
                "parity replica rollout --build B)"
            )
        shown = ", ".join(f"{t} to {b}" for t, b in plan)
        rollout.say(f"rolling back {shown}, {batch} at a time")
        rollout.run(plan, batch)
    return rollout
