"""What a watched deploy did: every error, move, session loss and sticky violation attributed to
the transition that caused it. A request is attributed by the target it was meant for (the
target its user was sticky on, the one an in-flight request was pinned to) as well as by the one
that answered, so a request that got no response still has a target and a cause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.deploywatch.inflight import Flight
from harness.deploywatch.poller import Transition, left_service

LOOKBACK_SECONDS = 60.0  # an event is attributed to a transition at most this long before it
RANK = {"build": 0, "state": 1, "answers": 2}  # same distance: the build change first
BALANCER_CLOSES = ("stream-closed",)  # events the balancer itself may cause on any target


@dataclass
class Event:
    at: float
    kind: str  # 5xx, no-response, move, session-loss, sticky-violation, cut-in-flight, and
    # for the load's streams: stream-closed, stream-refused, message-lost, message-cut
    target: str | None  # the target that answered (None: no answer named one)
    detail: str
    cause: str | None = None
    intended: str | None = None  # the target it was meant for (its user's sticky target)
    began: float | None = None  # when the request began, for a failed request of the load

    @property
    def whose(self) -> str | None:
        """The target this event is about: the one that answered, else the one meant."""
        return self.target or self.intended

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
        detail = f"HTTP {status} on {failed['request']}" if status else str(failed["request"])
        at, intended = float(failed["at"]), failed.get("intended")
        began = at - float(failed.get("ms") or 0) / 1000
        out.append(Event(at, kind, failed["target"], detail, intended=intended, began=began))
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
        out.append(Event(float(example["at"]), name, target, detail, intended=target))
    out += [_flight_event(f) for f in flights if not f.completed]
    out += stream_events(evidence)
    return sorted(out, key=lambda e: e.at)


def stream_events(evidence: dict[str, Any]) -> list[Event]:
    """The load's streams: each closed by the other end (`stream-closed`), refused (`stream-
    refused`, meant for its target, or for the target of the stream it replaced), and each message
    lost on a stream open when it was due (`message-lost`) or on one closed before then
    (`message-cut`), dated when the message was published."""
    out: list[Event] = []
    for e in (evidence.get("realtime") or {}).get("events", []):
        at, target = float(e["at"]), e.get("target")
        if e["kind"] == "stream_closed":
            out.append(Event(at, "stream-closed", target, f"a stream held on {target} closed"))
        elif e["kind"] == "stream_refused":
            status, why = e.get("status"), e.get("detail")
            said = f"HTTP {status}" if status else "no answer"
            detail = f"a stream was refused: {said}" + (f": {why}" if why else "")
            out.append(Event(at, "stream-refused", target, detail, intended=e.get("intended")))
        elif e["kind"] == "message_lost":
            cut = e.get("stream_was") == "closing"
            detail = (
                f"a message published never reached the stream on {target}"
                + (" (the stream closed before it was due)" if cut else " (open)")
            )
            out.append(Event(at, "message-cut" if cut else "message-lost", target, detail))
    return out


def _flight_event(flight: Flight) -> Event:
    """A request kept in flight that did not complete: cut, or (a retry sent right after one
    failed) a failed request of its own."""
    seen = f"HTTP {flight.status}" if flight.status else (flight.error or "no response")
    if flight.retry:
        kind = "5xx" if flight.status else "no-response"
        detail = f"a retry of a request in flight (GET, after one failed): {seen}"
    else:
        kind, lasted = "cut-in-flight", flight.ended - flight.started
        detail = f"a request in flight for {lasted:.1f} s ended: {seen}"
    answered = flight.served_by if flight.retry else flight.target
    return Event(flight.ended, kind, answered, detail, None, flight.target, flight.started)


def _causal(t: Transition) -> bool:
    """A change that can cause errors (a build, leaving service, failing health, refusing
    connections), not a recovery."""
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


def attribute(
    events: list[Event],
    transitions: list[Transition],
    slack: float,
    detection: dict[str, float] | None = None,
) -> None:
    """Set each event's cause: the transition nearest to it in time (up to `slack` s after it:
    a poll sees a change late; a failed health check up to `detection[target]` s more, the time
    its balancer takes to notice) among the changes of the target that answered, then of the
    target it was meant for, else their recoveries, else any target's changes; none in the
    lookback leaves it unattributed."""
    late = detection or {}
    together = _closed_together(events, slack)
    for event in events:
        near = [
            t
            for t in transitions
            if t.old
            and event.at - LOOKBACK_SECONDS
            <= t.at
            <= event.at + slack + (late.get(t.target, 0.0) if t.new == "unhealthy" else 0.0)
        ]
        chosen = _nearest(event, near)
        if id(event) in together:
            chosen = _coinciding(event, near, slack) or chosen
        event.cause = chosen.label() if chosen else None


def _closed_together(events: list[Event], slack: float) -> set[int]:
    """The stream closes (by id) that came with a close on another target within `slack` s: the
    balancer closing every stream at once, as Caddy 2.6 does at each admin-API change
    (caddyserver/caddy 3143), not each target's own departure."""
    closes = sorted((e for e in events if e.kind in BALANCER_CLOSES), key=lambda e: e.at)
    together: set[int] = set()
    start = 0
    for k, event in enumerate(closes):
        while closes[start].at < event.at - slack:
            start += 1
        for other in closes[start:k]:  # the earlier ones within slack
            if other.target != event.target:
                together |= {id(event), id(other)}
    return together


def _coinciding(event: Event, near: list[Transition], slack: float) -> Transition | None:
    """The change within `slack` s of a stream close that came with others: its own target's,
    else any target's (the one that made the balancer close them all); None without one."""
    now = [t for t in near if _causal(t) and abs(t.at - event.at) <= slack]
    pool = [t for t in now if t.target == event.whose] or now
    return min(pool, key=lambda t: (abs(t.at - event.at), RANK.get(t.kind, 3))) if pool else None


def _nearest(event: Event, near: list[Transition]) -> Transition | None:
    whose = [w for w in dict.fromkeys((event.target, event.intended)) if w]
    pools = [[t for t in near if t.target == w and _causal(t)] for w in whose]
    pools += [[t for t in near if t.target in whose], [t for t in near if _causal(t)]]
    for pool in pools:
        if pool:
            return min(pool, key=lambda t: (abs(t.at - event.at), RANK.get(t.kind, 3)))
    return None


def belongs_to(event: Event, target: str) -> bool:
    """Whether an event is about `target`: answered by it, meant for it without an answer from
    another, or (neither known) attributed to one of its transitions."""
    if event.target is not None:
        return event.target == target
    if event.intended is not None:
        return event.intended == target
    return bool(event.cause and event.cause.startswith(f"{target} "))
