"""Fresh clients through the balancer, drawn until the spread test decides.

Clients go in batches of `WORKERS` at once; each landing feeds the sequential test of
`harness.spread`, so a clear spread stops early and a weak one draws more. Every draw is
bounded: at most `max_clients` clients, `MAX_SECONDS` of wall time, and `safety.max_rps`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from harness.spread import SpreadRun, SpreadVerdict
from harness.traffic.site import Site

WORKERS = 8
DEFAULT_MAX_CLIENTS = 3000
MAX_SECONDS = 60.0
MAX_FAILURES = 20  # enough to fail the check: drawing more only adds load to a broken stack


@dataclass(frozen=True)
class Landing:
    """One fresh client's first request: the target that answered, its latency, a failure."""

    target: str | None
    seconds: float
    failed: bool


@dataclass
class FreshDraw:
    """What a draw saw: every landing, the spread verdict, clients where no share was due."""

    landings: list[Landing] = field(default_factory=list)
    verdict: SpreadVerdict | None = None
    stray: Counter[str] = field(default_factory=Counter)
    stopped: str = "decided"

    @property
    def failures(self) -> int:
        return sum(1 for landing in self.landings if landing.failed)


def _one(site: Site) -> Landing:
    user = site.user("fresh", own_trace=True)
    try:
        response = user.request("GET", "/")
    except requests.RequestException:
        return Landing(None, 0.0, True)
    return Landing(user.last_target, response.elapsed.total_seconds(), response.status_code >= 500)


def _bound(draw: FreshDraw, run: SpreadRun | None, limits: tuple[int, int, float]) -> str | None:
    """Why the draw stops now, or None to draw on."""
    min_clients, max_clients, deadline = limits
    drawn = len(draw.landings)
    if draw.failures >= MAX_FAILURES:
        return f"{draw.failures} failed requests"
    if drawn >= max_clients:
        return f"the bound of {max_clients} fresh clients"
    if time.monotonic() > deadline:
        return f"the bound of {MAX_SECONDS:g} s"
    if drawn >= min_clients and (run is None or run.decided):
        return "decided" if run is not None else f"{drawn} clients"
    return None


def draw_fresh(
    site: Site,
    run: SpreadRun | None,
    *,
    max_clients: int = DEFAULT_MAX_CLIENTS,
    min_clients: int = 0,
    key: Callable[[str], str | None] = lambda target: target,
) -> FreshDraw:
    """Fresh clients until `run` decides (and `min_clients` are drawn), within the bounds.
    `key` maps the answering target to what the run counts (a target, or its group)."""
    max_rps = float(site.env.safety.max_rps or 0)
    batch_seconds = WORKERS / max_rps if max_rps > 0 else 0.0
    draw, limits = FreshDraw(), (min_clients, max_clients, time.monotonic() + MAX_SECONDS)
    weighted = set(run.ids) if run is not None else None
    with ThreadPoolExecutor(WORKERS) as pool:
        while (reason := _bound(draw, run, limits)) is None:
            started = time.monotonic()
            size = min(WORKERS, max_clients - len(draw.landings))
            for landing in pool.map(lambda _: _one(site), range(size)):
                draw.landings.append(landing)
                counted = key(landing.target) if landing.target else None
                if counted is None or run is None or landing.failed:
                    continue
                if weighted is not None and counted not in weighted:
                    draw.stray[counted] += 1
                else:
                    run.add(counted)
            time.sleep(max(0.0, started + batch_seconds - time.monotonic()))
    draw.stopped = reason
    draw.verdict = run.verdict() if run is not None else None
    return draw
