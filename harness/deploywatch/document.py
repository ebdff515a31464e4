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
from harness.loadgen.evidence import DELIVERY_GRACE_SECONDS
from harness.profile.environment import Environment

ERRORS = ("5xx", "no-response", "cut-in-flight")


@dataclass
class Outcome:
    """The watched run: the deploy command, the load's size, when things happened, how it ended."""

    command: list[str]
    users: int
    rate: float
    allow_mixed_end: bool = False
    streams: int = 0  # real-time streams the load held open beside its users
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


def realtime_of(w: Watched) -> dict[str, Any] | None:
    """What the load's streams met through the deploy (None: the watch held none)."""
    if not w.out.streams:
        return None
    seen = w.evidence.get("realtime") or {}
    spec = w.env.realtime
    return {
        "streams": w.out.streams,
        **{
            k: int(seen.get(k, 0))
            for k in (
                "opened",
                "refused",
                "unplaced",
                "login_failed",
                "published",
                "publish_failed",
            )
        },
        "closed": sum(1 for e in w.events if e.kind == "stream-closed"),
        "delivered": int(w.evidence.get("messages_delivered", 0)),
        "lost_while_open": int(seen.get("lost_while_open", 0)),
        "lost_on_close": int(seen.get("lost_on_close", 0)),
        "delivery_within_seconds": spec.delivery_within_seconds if spec else None,
        "max_lost_messages": spec.max_lost_messages if spec else None,
        "targets": seen.get("targets", {}),
    }


def streams_said(rt: dict[str, Any]) -> str:
    """The streams' totals in one sentence (the console's line, the report's table)."""
    return (
        f"{rt['streams']} asked ({rt['opened']} opened, {rt['unplaced']} not on the target "
        f"meant, {rt.get('login_failed', 0)} logins failed, {rt['refused']} refused, "
        f"{rt['closed']} closed by the other end); {rt['published']} messages published "
        f"({rt['publish_failed']} failed): {rt['delivered']} deliveries, "
        f"{rt['lost_while_open']} lost on open streams, {rt['lost_on_close']} with a stream "
        "that closed before they were due"
    )


def _stream_reasons(streams: dict[str, Any] | None, budget: int) -> list[str]:
    """Streams that never opened, were refused when opened again, or lost messages while open
    (over the error budget); messages lost with a closing stream, over
    `realtime.max_lost_messages` when the profile sets it (else measured, not gated)."""
    if streams is None:
        return []
    if not streams["opened"]:
        return [
            f"no real-time stream opened ({streams['streams']} asked, {streams['refused']} "
            f"refused, {streams['login_failed']} logins failed): the deploy's effect on streams "
            "was not observed"
        ]
    reasons = []
    if streams["refused"] > budget:
        reasons.append(
            f"{streams['refused']} streams refused (opened through the balancer with their "
            f"session), over expect.error_budget {budget}"
        )
    if streams["lost_while_open"] > budget:
        bound = streams["delivery_within_seconds"]
        reasons.append(
            f"{streams['lost_while_open']} messages never reached a stream open for "
            f"{bound:g} s + {DELIVERY_GRACE_SECONDS:g} s after they were published, over "
            f"expect.error_budget {budget}"
        )
    most = streams["max_lost_messages"]
    if most is not None and streams["lost_on_close"] > most:
        reasons.append(
            f"{streams['lost_on_close']} messages lost with streams that closed, over "
            f"realtime.max_lost_messages {most}"
        )
    return reasons


def _reasons(
    w: Watched, errors: int, losses: int, budget: int, streams: dict[str, Any] | None
) -> list[str]:
    reasons = _run_reasons(w.out, errors, losses, budget) + _departure_reasons(w)
    reasons += _stream_reasons(streams, budget)
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
    streams = realtime_of(w)
    reasons = _reasons(w, errors, losses, budget, streams)
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
            "profile": "watch_users" if out.streams else "sticky_users",
            "users": out.users,
            "streams": out.streams,
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
        "realtime": streams,
    }


def _stamped(row: dict[str, Any], keys: tuple[str, ...], rel: Any) -> dict[str, Any]:
    """`row` with its epoch times relative to the watch's start."""
    return {k: rel(v) if k in keys and v is not None else v for k, v in row.items()}


def _window(window: dict[str, Any], rel: Any) -> dict[str, Any]:
    probes = [_stamped(p, ("started", "ended"), rel) for p in window.get("probes", [])]
    return {**window, "start": rel(window["start"]), "end": rel(window["end"]), "probes": probes}
