"""What a watched deploy did: every error, move, session loss and sticky violation attributed to
the transition that caused it, and the quality of every drain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.deploywatch.grace import grace_verdict
from harness.deploywatch.inflight import Flight
from harness.deploywatch.poller import IN_SERVICE, Transition, left_service

LOOKBACK_SECONDS = 60.0  # an event is attributed to a transition at most this long before it


@dataclass
class Event:
    at: float
    kind: str  # 5xx, no-response, move, session-loss, sticky-violation, cut-in-flight
    target: str | None
    detail: str
    cause: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def events_of(evidence: dict[str, Any], flights: list[Flight]) -> list[Event]:
    """The load's failed requests (5xx and no response), moves, losses and violations, and the
    in-flight requests that did not complete."""
    out: list[Event] = []
    for failed in evidence.get("failed", []):
        status = int(failed["status"])
        if status and status < 500:
            continue  # a 401 after a lost session is counted as the loss
        kind = "5xx" if status else "no-response"
        out.append(Event(float(failed["at"]), kind, failed["target"], str(failed["request"])))
    names = {"move": "move", "session_loss": "session-loss", "sticky_violation": "sticky-violation"}
    for example in evidence.get("examples", []):
        name = names.get(example["kind"])
        if name is None:
            continue
        target = example.get("source") or example.get("target")
        detail = (
            f"user {example.get('user')} {example.get('source')} -> {example.get('destination')}"
            if name != "session-loss"
            else f"user {example.get('user')} saw {example.get('seen')}"
        )
        out.append(Event(float(example["at"]), name, target, detail))
    for flight in flights:
        if not flight.completed:
            seen = f"HTTP {flight.status}" if flight.status else (flight.error or "no response")
            lasted = flight.ended - flight.started
            detail = f"a request in flight for {lasted:.1f} s ended: {seen}"
            out.append(Event(flight.ended, "cut-in-flight", flight.target, detail))
    return sorted(out, key=lambda e: e.at)


def _causal(t: Transition) -> bool:
    """A change that can cause errors (a build, leaving service, failing health), not a
    recovery."""
    return t.kind == "build" or left_service(t)


def reclassify_moves(events: list[Event], transitions: list[Transition], slack: float) -> int:
    """A sticky violation off a target that left service up to `slack` s after it is a move:
    the client went before the drain notice reached the load. The number reclassified."""
    moved = 0
    for event in events:
        if event.kind != "sticky-violation":
            continue
        if any(
            left_service(t)
            and t.target == event.target
            and event.at - LOOKBACK_SECONDS <= t.at <= event.at + slack
            for t in transitions
        ):
            event.kind = "move"
            moved += 1
    return moved


def attribute(events: list[Event], transitions: list[Transition], slack: float) -> None:
    """Set each event's cause: the transition nearest to it in time (up to `slack` s after it:
    a poll sees a change late) among its target's changes (a build, leaving service, failing
    health), else its target's recoveries, else any target's changes; none in the lookback
    leaves it unattributed."""
    for event in events:
        near = [
            t
            for t in transitions
            if t.old and event.at - LOOKBACK_SECONDS <= t.at <= event.at + slack
        ]
        own = [t for t in near if t.target == event.target]
        pool = [t for t in own if _causal(t)] or own or [t for t in near if _causal(t)]
        chosen = min(pool, key=lambda t: abs(t.at - event.at), default=None)
        event.cause = chosen.label() if chosen else None


def drains(
    transitions: list[Transition],
    events: list[Event],
    flights: list[Flight],
    samples: list[dict[str, Any]],
    delays: dict[str, float],
    grace: float | None,
    ended: float,
) -> list[dict[str, Any]]:
    """Every drain seen: from a target leaving service to it being back (or the end)."""
    out = []
    states = [t for t in transitions if t.kind == "state"]
    for i, start in enumerate(states):
        if not left_service(start):
            continue
        later = (t for t in states[i + 1 :] if t.target == start.target)
        back = next((t for t in later if t.new in IN_SERVICE), None)
        end = back.at if back else ended
        out.append(
            _quality(
                start, end, events, flights, samples, delays.get(start.target), grace, transitions
            )
        )
    return out


def _quality(
    start: Transition,
    end: float,
    events: list[Event],
    flights: list[Flight],
    samples: list[dict[str, Any]],
    delay: float | None,
    grace: float | None,
    transitions: list[Transition],
) -> dict[str, Any]:
    target, t0 = start.target, start.since or start.at  # it left after the poll before
    mine = [e for e in events if t0 - 1 <= e.at <= end + 1 and _is_of(e, target, start)]
    served = [
        f.ended - t0
        for f in flights
        if f.target == target and f.completed and f.served_by == target and t0 <= f.ended <= end
    ]
    cut = [e for e in mine if e.kind == "cut-in-flight"]
    silent = next(
        (
            s["at"] - t0
            for s in samples
            if t0 <= s["at"] <= end and (s["targets"].get(target) or {}).get("answers") is False
        ),
        None,
    )
    replaced = any(
        t.kind == "build" and t.target == target and t0 - 1 <= t.at <= end for t in transitions
    )
    early = bool(cut) and (replaced or (silent is not None and (delay is None or silent < delay)))
    return {
        "target": target,
        "deregistered_at": t0,  # the last poll that saw it in service: it left after this
        "seen_leaving_at": start.at,
        "ended_at": end,
        "delay_seconds": delay,
        "last_request_after_seconds": round(max(served), 2) if served else None,
        "errors_5xx": sum(1 for e in mine if e.kind == "5xx"),
        "no_response": sum(1 for e in mine if e.kind == "no-response"),
        "cut_in_flight": len(cut),
        "stopped_answering_after_seconds": None if silent is None else round(silent, 2),
        "grace_rule": grace_verdict(delay, grace) if delay is not None else "no delay known",
        "fault": ("early-exit" if early else "abrupt-drain") if cut else None,
    }


def _is_of(event: Event, target: str, start: Transition) -> bool:
    """Whether an event belongs to this drain: on the target, or attributed to it."""
    return event.target == target or (event.target is None and event.cause == start.label())
