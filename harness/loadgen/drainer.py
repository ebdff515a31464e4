"""drain_during_load: a thread that drains one target at a third of the run and restores it at
two thirds, through the guard, announcing the drain to the Locust processes first."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from harness.disruption.drain import restore_timeout
from harness.disruption.guard import Guard, permission
from harness.loadgen.options import LoadOptions
from harness.profile.environment import Environment
from harness.topology import Provider
from harness.topology.model import Topology

NOTICE_SECONDS = 1.5  # drain notices reach every Locust process within 1 s


class Drainer(threading.Thread):
    """drain_during_load: drain at a third of the run, restore at two thirds, through the guard."""

    def __init__(
        self,
        guard: Guard,
        target: str,
        opts: LoadOptions,
        events_path: Path,
        stop: threading.Event,
    ) -> None:
        super().__init__(daemon=True)
        self.guard, self.target, self.opts = guard, target, opts
        self.events_path, self.stop = events_path, stop
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self.stop.wait(self.opts.run_time / 3):
                return
            topology = self.guard.provider.resolve()
            hc = (topology.group_of(self.target) or topology.target_groups[0]).health_check
            self.guard.check("deregister", self.target)
            # Announce first: every Locust process must know before the first client moves.
            self.events_path.write_text(json.dumps({"drained": {self.target: time.time()}}))
            time.sleep(NOTICE_SECONDS)
            with self.guard.disrupt(
                "deregister",
                self.target,
                restore_after=restore_timeout(hc.interval_seconds, hc.healthy_threshold),
            ) as record:
                self.events.append(
                    {"event": "drain", "target": self.target, "at": record.started_at}
                )
                self.stop.wait(max(self.opts.run_time / 3 - NOTICE_SECONDS, 1))
                self.events.append({"event": "restore", "target": self.target, "at": time.time()})
            self.events.append({"event": "healthy", "target": self.target, "at": time.time()})
            self.events_path.write_text(json.dumps({"drained": {}}))
        except BaseException as exc:  # reported by the caller
            self.error = exc


def start_drainer(
    env: Environment,
    provider: Provider,
    topology: Topology,
    opts: LoadOptions,
    work: Path,
    stop: threading.Event,
) -> Drainer | None:
    """drain_during_load's drainer, checked by the guard before any load starts."""
    if opts.profile != "drain_during_load" or opts.worker:
        return None
    target = opts.drain_target or topology.healthy_targets()[0].id
    allowed = permission(provider, opts.allow_disruptive, opts.allow_production)
    guard = Guard(env, provider, allowed)
    guard.check("deregister", target)
    drainer = Drainer(guard, target, opts, work / "events.json", stop)
    drainer.start()
    return drainer
