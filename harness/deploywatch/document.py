"""The watch's result document (`watch.json`) and its verdict: what the deploy did, named, with
every reason it failed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness import __version__
from harness.deploywatch.analysis import Event
from harness.deploywatch.mixed import end_finding, window_findings
from harness.deploywatch.poller import Poller
from harness.deploywatch.timeline import spans
from harness.findings import message
from harness.profile.environment import Environment

ERRORS = ("5xx", "no-response", "cut-in-flight")


@dataclass
class Outcome:
    """The watched run: the deploy command, the load's size, when things happened, how it ended."""

    command: list[str]
    users: int
    rate: float
    allow_mixed_end: bool = False
    code: int | None = None
    cut_short: float | None = None  # when --max-time stopped the watch, if it did
    interrupted: bool = False
    started: float = field(default_factory=time.time)
    command_started: float = field(default_factory=time.time)
    command_ended: float = field(default_factory=time.time)
    ended: float = field(default_factory=time.time)

    @property
    def command_finished(self) -> bool:
        """The deploy command ran to its end and the watch saw all of it."""
        return not self.interrupted and self.cut_short is None and self.code is not None


@dataclass
class Watched:
    """A watched run with everything concluded from it, for its document."""

    env: Environment
    out: Outcome
    entry_url: str
    evidence: dict[str, Any]
    poller: Poller
    events: list[Event]
    moved: int
    drains: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[dict[str, Any]] = field(default_factory=list)
    windows: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] = field(default_factory=dict)
    visible: bool = True  # the provider reports registrations

    def rel(self, at: float) -> float:
        return round(at - self.out.started, 2)


def _run_reasons(out: Outcome, errors: int, losses: int, budget: int) -> list[str]:
    """The load over budget, the deploy command failing, the watch cut short."""
    reasons = []
    if errors > budget:
        reasons.append(f"{errors} 5xx or cut requests, over expect.error_budget {budget}")
    if losses > budget:
        reasons.append(f"{losses} session losses, over expect.error_budget {budget}")
    if out.code not in (0, None) and not out.interrupted:
        reasons.append(f"the deploy command exited {out.code}")
    if out.cut_short is not None:
        reasons.append(
            f"the deploy ran past --max-time: only its first "
            f"{out.cut_short - out.command_started:.0f} s were watched"
        )
    return reasons


def _departure_reasons(w: Watched) -> list[str]:
    """Every target stopped while registered, every drain that cut requests."""
    reasons = [
        message(
            "unannounced-restart",
            f"{r['target']} {r['how']} (after +{w.rel(r['left_after']):.1f} s, "
            f"{'back' if r['back'] else 'not back'} at +{w.rel(r['ended_at']):.1f} s): "
            f"{r['cut_in_flight']} request(s) in flight cut, {r['no_response']} without "
            f"response, {r['errors_5xx']} 5xx",
        )
        for r in w.restarts
    ]
    return reasons + [
        f"[{d['fault']}] {d['target']}: {d['cut_in_flight']} request(s) in flight cut during "
        "its drain"
        for d in w.drains
        if d["fault"]
    ]


def _reasons(w: Watched, errors: int, losses: int, budget: int) -> list[str]:
    reasons = _run_reasons(w.out, errors, losses, budget) + _departure_reasons(w)
    reasons += window_findings(w.windows, w.rel)
    mixed_end = end_finding(w.end, w.out.command_finished, w.out.allow_mixed_end)
    return [*reasons, *([mixed_end] if mixed_end else [])]


def _verdict(out: Outcome, reasons: list[str]) -> str:
    if out.interrupted:
        return "interrupted"
    if out.cut_short is not None:
        return "incomplete"
    return "failed" if reasons else "passed"


def document(w: Watched) -> dict[str, Any]:
    out = w.out
    budget = int(w.env.expect.error_budget)
    ev = w.evidence
    errors = sum(1 for e in w.events if e.kind in ERRORS)
    losses = int(ev.get("session_losses", 0))
    reasons = _reasons(w, errors, losses, budget)
    verdict = _verdict(out, reasons)
    stamp = ("deregistered_at", "seen_leaving_at", "ended_at", "left_after", "seen_at")
    return {
        "parity_version": __version__,
        "kind": "watch",
        "verdict": verdict,
        "exit_code": {"interrupted": 130, "incomplete": 3, "failed": 1}.get(verdict, 0),
        "reasons": reasons,
        "environment": {"name": w.env.name, "source": w.env.source, "url": w.entry_url},
        "command": " ".join(out.command),
        "command_exit_code": out.code,
        "started": datetime.fromtimestamp(out.started, UTC).isoformat(),
        "duration_seconds": w.rel(out.ended),
        "command_started_at": w.rel(out.command_started),
        "command_ended_at": w.rel(out.command_ended),
        "error_budget": budget,
        "registrations_visible": w.visible,
        "load": {
            "profile": "sticky_users",
            "users": out.users,
            "rate": out.rate,
            "requests": ev["totals"]["requests"],
            "errors": errors,
            "session_losses": losses,
            "moves": ev.get("moves", 0) + w.moved,
            "sticky_violations": ev.get("sticky_violations", 0) - w.moved,
            "test_sessions": ev.get("test_sessions", {}),
        },
        "transitions": [{**t.to_json(), "at": w.rel(t.at)} for t in w.poller.transitions],
        "timeline": spans(w.poller.samples, out.started, out.ended),
        "events": [{**e.to_json(), "at": w.rel(e.at)} for e in w.events],
        "unattributed": sum(1 for e in w.events if e.cause is None),
        "drains": [_stamped(d, stamp, w.rel) for d in w.drains],
        "restarts": [_stamped(r, stamp, w.rel) for r in w.restarts],
        "mixed_windows": [_window(x, w.rel) for x in w.windows],
        "end_state": {**w.end, "allowed": out.allow_mixed_end},
        "poll_errors": w.poller.poll_errors[:20],
    }


def _stamped(row: dict[str, Any], keys: tuple[str, ...], rel: Any) -> dict[str, Any]:
    """`row` with its epoch times relative to the watch's start."""
    return {k: rel(v) if k in keys and v is not None else v for k, v in row.items()}


def _window(window: dict[str, Any], rel: Any) -> dict[str, Any]:
    probes = [_stamped(p, ("started", "ended"), rel) for p in window.get("probes", [])]
    return {**window, "start": rel(window["start"]), "end": rel(window["end"]), "probes": probes}
