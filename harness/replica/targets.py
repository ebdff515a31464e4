"""The replica's targets as an ALB sees them: states and reasons, the health monitor, and the
operations on one target (deregister with its delay, register, fail health, kill, restart)."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.haproxy_admin import HaproxyAdmin, ServerStat
from harness.replica import alb_spec, faults
from harness.replica.app_settings import AppSettings
from harness.replica.fronts import Front
from harness.replica.processes import stop_pid
from harness.replica.spec import BUILD_NAME, ReplicaConfig, TargetState

MONITOR_INTERVAL = 0.2
CHECK_REASONS = {
    "L7STS": "Target.ResponseCodeMismatch",
    "L4TOUT": "Target.Timeout",
    "L7TOUT": "Target.Timeout",
}


@dataclass
class Instance:
    """One app instance: its port, cookie token, weight, process and registration."""

    id: str
    port: int
    token: str
    weight: int
    settings: AppSettings
    proc: subprocess.Popen[bytes] | None = None
    registered: bool = True
    seen_up: bool = True
    drain_deadline: float | None = None
    maint_at: float | None = None  # when a deregistration reaches the front end (its lag)
    backend: str = alb_spec.BACKEND  # its target group's backend in the front end
    previous_build: str = ""  # the build it served before its last rollout
    relay_port: int | None = None  # the late-FIN relay the front end reaches it through
    ignored: bool = False  # deregistered while the ignored-drain fault left it in rotation

    @property
    def balancer_port(self) -> int:
        """Where the front end sends its requests: the instance, or its late-FIN relay."""
        return self.relay_port or self.port


class TargetOperations:
    """What the replica does to and reports of its targets (the base of `Replica`)."""

    config: ReplicaConfig
    front: Front  # HAProxy's runtime API, or Caddy's or nginx's equivalent
    _lock: threading.RLock
    _stop: threading.Event
    _instances: list[Instance]
    _procs: dict[str, subprocess.Popen[bytes]]

    def _start_instance(self, inst: Instance) -> None:
        raise NotImplementedError

    def _servers_of(self, inst: Instance) -> list[str]:
        """The front's servers for a target: with the ALB front, its fail-open twin too."""
        twin = isinstance(self.front, HaproxyAdmin)
        return [inst.id, *([alb_spec.fail_open_twin(inst.id)] if twin else [])]

    def _wait_instance(self, inst: Instance) -> None:
        raise NotImplementedError

    def _adopt_build(self, build: str, inst: Instance) -> AppSettings:
        raise NotImplementedError

    def targets(self) -> list[TargetState]:
        """Every target with its state and reason, in the ALB's vocabulary."""
        with self._lock:
            stats = self._stats()
            return [
                self._state_of(inst, stats[inst.id].status, stats[inst.id].check_status)
                for inst in self._instances
            ]

    def _stats(self) -> dict[str, ServerStat]:
        """Every server's status, from each target group's backend."""
        stats: dict[str, ServerStat] = {}
        for backend in dict.fromkeys(inst.backend for inst in self._instances):
            stats.update(self.front.servers(backend))
        return stats

    def _state_of(self, inst: Instance, status: str, check: str) -> TargetState:
        if not inst.registered:
            draining = inst.drain_deadline is not None
            state, reason = (
                ("draining", "Target.DeregistrationInProgress")
                if draining
                else ("unused", "Target.NotRegistered")
            )
        elif status.startswith("UP"):
            state, reason = "healthy", ""
        elif not inst.seen_up:
            state, reason = "initial", "Elb.InitialHealthChecking"
        else:
            state, reason = "unhealthy", CHECK_REASONS.get(check, "Target.FailedHealthChecks")
        pid = inst.proc.pid if inst.proc is not None and inst.proc.poll() is None else None
        return TargetState(
            inst.id,
            f"http://127.0.0.1:{inst.port}",
            inst.port,
            state,
            reason,
            inst.weight,
            pid,
            build=inst.settings.build,
            previous_build=inst.previous_build,
        )

    def _instance(self, target_id: str) -> Instance:
        for inst in self._instances:
            if inst.id == target_id:
                return inst
        known = ", ".join(i.id for i in self._instances)
        raise UsageError(f"target {target_id!r} is not in the replica (targets: {known})")

    # ---- the monitor: health transitions and drain deadlines ----------------------------
    def _watch(self) -> None:
        while not self._stop.wait(MONITOR_INTERVAL):
            with contextlib.suppress(Exception), self._lock:
                stats = self._stats()
                now = time.monotonic()
                for inst in self._instances:
                    if inst.registered and stats[inst.id].status.startswith("UP"):
                        inst.seen_up = True
                    if inst.maint_at is not None and now >= inst.maint_at:
                        for server in self._servers_of(inst):
                            self.front.set_maint(inst.backend, server)
                        inst.maint_at = None
                    if inst.drain_deadline is not None and now >= inst.drain_deadline:
                        for server in self._servers_of(inst) if not inst.ignored else []:
                            self.front.shutdown_sessions(inst.backend, server)
                        inst.drain_deadline = None

    # ---- control ----------------------------------------------------------------------
    def deregister(self, target_id: str) -> None:
        """Drain like an ALB: no new requests (after `deregistration_lag`, the propagation a
        real ALB takes); cut what still runs after the delay."""
        with self._lock:
            inst = self._instance(target_id)
            if not inst.registered:
                return
            if "ignored-drain" in self.config.faults:  # registration changes, routing does not
                inst.registered = False
                inst.drain_deadline = time.monotonic() + self.config.deregistration_delay
                inst.ignored = True
                return
            if self.config.deregistration_lag > 0:
                inst.maint_at = time.monotonic() + self.config.deregistration_lag
            else:
                for server in self._servers_of(inst):
                    self.front.set_maint(inst.backend, server)
            inst.registered = False
            if "abrupt-drain" in self.config.faults:
                for server in self._servers_of(inst):
                    self.front.shutdown_sessions(inst.backend, server)
                inst.drain_deadline = None
            else:
                inst.drain_deadline = time.monotonic() + self.config.deregistration_delay

    def register(self, target_id: str) -> None:
        """Register again: the target is `initial` until it passes the healthy threshold."""
        with self._lock:
            inst = self._instance(target_id)
            if inst.registered:
                return
            inst.registered, inst.seen_up, inst.drain_deadline = True, False, None
            inst.maint_at, inst.ignored = None, False
            self.front.set_ready(inst.backend, inst.id, recheck=True)
            for twin in self._servers_of(inst)[1:]:
                self.front.set_ready(inst.backend, twin, recheck=False)

    def set_health(self, target_id: str, *, failing: bool) -> None:
        """Make the target fail (or pass again) its health check."""
        path = Path(self._instance(target_id).settings.health_file)
        if failing:
            path.touch()
        else:
            path.unlink(missing_ok=True)

    def kill(self, target_id: str) -> None:
        """Kill the target's processes at once (SIGKILL to its process group)."""
        with self._lock:
            inst = self._instance(target_id)
            if inst.proc is not None:
                stop_pid(inst.proc.pid, proc=inst.proc, graceful=False)
                self._procs.pop(inst.id, None)
                inst.proc = None

    def deploy(self, target_id: str, build: str) -> dict[str, Any]:
        """Stop the target as a deploy does (SIGTERM: it gets the app's shutdown grace for the
        requests it has in flight), start it on `build` and wait for /healthz. Registration is
        the caller's: a rollout deregisters first and registers after."""
        if not BUILD_NAME.fullmatch(build):
            raise UsageError(f"--build {build!r}: letters, digits, '.', '_', '-' (up to 40)")
        with self._lock:
            inst = self._instance(target_id)
            proc = inst.proc
        began = time.monotonic()
        if proc is not None:
            stop_pid(proc.pid, timeout=faults.shutdown_grace(self.config.faults) + 5, proc=proc)
        stopped_after = time.monotonic() - began
        with self._lock:
            self._procs.pop(inst.id, None)
            previous = inst.settings.build
            inst.settings = self._adopt_build(build, inst)
            inst.previous_build = previous
            self._start_instance(inst)
        self._wait_instance(inst)
        return {
            "target": target_id,
            "build": build,
            "previous_build": previous,
            "stopped_after_seconds": round(stopped_after, 3),
        }

    def restart(self, target_id: str) -> None:
        """Start a killed (or running) target again on its port and wait for /healthz."""
        with self._lock:
            inst = self._instance(target_id)
            if inst.proc is not None:
                stop_pid(inst.proc.pid, timeout=5, proc=inst.proc)
            self._start_instance(inst)
        self._wait_instance(inst)
