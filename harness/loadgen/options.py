"""What a load run is asked to do (`LoadOptions`) and what it gives back (`LoadResult`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.loadgen.gates import GateResult

PROFILES = (  # the files in load/
    "sticky_users",
    "fresh_visitors",
    "drain_during_load",
    "realtime_users",
)
WATCH_PROFILE = "watch_users"  # parity watch's own: sticky users and streams held on targets


@dataclass
class LoadOptions:
    profile: str
    users: int = 10
    spawn_rate: float = 10
    run_time: float = 30
    gates: list[str] = field(default_factory=list)
    processes: int | None = None
    master: bool = False
    expect_workers: int = 1
    master_bind: str = "127.0.0.1"
    worker: bool = False
    master_host: str = "127.0.0.1"
    drain_target: str | None = None
    allow_disruptive: bool = False
    allow_production: str | None = None
    no_wait: bool = False
    rate: float | None = None  # requests per second for all users together (default: max_rps)
    notices: Path | None = None  # drain notices written by someone else (parity watch)
    stop: threading.Event | None = field(default=None, repr=False)  # end the run early
    running: threading.Event | None = field(default=None, repr=False)  # set at the first request
    streams: int = 0  # watch_users: stream users beside the sticky ones
    stream_targets: list[str] = field(default_factory=list)  # the k-th stream's target
    stream_routes: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)  # cookies


@dataclass
class LoadResult:
    evidence: dict[str, Any]
    gates: list[GateResult]
    measured: dict[str, float | None]
    drain_events: list[dict[str, Any]]

    @property
    def passed(self) -> bool:
        """No gate failed (a gate with nothing measured is shown as not measured)."""
        return all(g.passed is not False for g in self.gates)
