"""How each departure of a target went: a drain's quality (the time to its last request, what it
cut, the shutdown-grace rule), and for a target that stopped while still registered the requests
its users lost."""

from __future__ import annotations

from typing import Any

from harness.deploywatch.analysis import Event, belongs_to
from harness.deploywatch.episodes import LEFT, RESTART, Episode
from harness.deploywatch.grace import grace_verdict
from harness.deploywatch.inflight import Flight

UNSEEN_REGISTRATION = (
    "failed health (the provider does not report registrations: a drain and a crash look alike)"
)


def _counts(events: list[Event], episode: Episode) -> dict[str, Any]:
    """The failed requests of an episode's target while it was out (a second either side), and
    what its streams met: closed, refused, messages lost."""
    mine = [
        e
        for e in events
        if episode.since - 1 <= e.at <= episode.ended + 1 and belongs_to(e, episode.target)
    ]
    return {
        "errors_5xx": sum(1 for e in mine if e.kind == "5xx"),
        "no_response": sum(1 for e in mine if e.kind == "no-response"),
        "cut_in_flight": sum(1 for e in mine if e.kind == "cut-in-flight"),
        "streams_closed": sum(1 for e in mine if e.kind == "stream-closed"),
        "streams_refused": sum(1 for e in mine if e.kind == "stream-refused"),
        "messages_lost": sum(1 for e in mine if e.kind in ("message-lost", "message-cut")),
    }


def restarts(episodes: list[Episode], events: list[Event]) -> list[dict[str, Any]]:
    """Every target that stopped, restarted or failed health while still registered: the
    deploy did not deregister it first (`[unannounced-restart]`), with what its users lost."""
    out = []
    for ep in (e for e in episodes if e.kind == RESTART):
        counts = _counts(events, ep)
        out.append(
            {
                "target": ep.target,
                "how": ep.how,
                "left_after": ep.since,  # the last poll in service: it stopped after this
                "seen_at": ep.seen_at,
                "ended_at": ep.ended,
                "back": ep.back,
                "replaced": ep.replaced,
                **counts,
                "cut": counts["cut_in_flight"] + counts["no_response"],
                "fault": "unannounced-restart",
            }
        )
    return out


def drains(
    episodes: list[Episode],
    events: list[Event],
    flights: list[Flight],
    samples: list[dict[str, Any]],
    delays: dict[str, float],
    grace: float | None,
    platform: str | None = None,
) -> list[dict[str, Any]]:
    """The quality of every drain (and of every departure the provider cannot tell from one)."""
    return [
        _quality(ep, events, flights, samples, delays.get(ep.target), grace, platform)
        for ep in episodes
        if ep.kind != RESTART
    ]


def _quality(
    ep: Episode,
    events: list[Event],
    flights: list[Flight],
    samples: list[dict[str, Any]],
    delay: float | None,
    grace: float | None,
    platform: str | None,
) -> dict[str, Any]:
    target, t0, end = ep.target, ep.since, ep.ended  # it left after the poll before
    served = [
        f.ended - t0
        for f in flights
        if f.target == target and f.completed and f.served_by == target and t0 <= f.ended <= end
    ]
    counts = _counts(events, ep)
    silent = next(
        (
            s["at"] - t0
            for s in samples
            if t0 <= s["at"] <= end and (s["targets"].get(target) or {}).get("answers") is False
        ),
        None,
    )
    cut = counts["cut_in_flight"]
    early = bool(cut) and (
        ep.replaced is not None or (silent is not None and (delay is None or silent < delay))
    )
    return {
        "target": target,
        "seen_as": UNSEEN_REGISTRATION if ep.kind == LEFT else ep.how,
        "deregistered_at": t0,  # the last poll that saw it in service: it left after this
        "seen_leaving_at": ep.seen_at,
        "ended_at": end,
        "replaced": ep.replaced,
        "delay_seconds": delay,
        "last_request_after_seconds": round(max(served), 2) if served else None,
        **counts,
        "stopped_answering_after_seconds": None if silent is None else round(silent, 2),
        "grace_rule": (
            grace_verdict(delay, grace, platform) if delay is not None else "no delay known"
        ),
        "fault": ("early-exit" if early else "abrupt-drain") if cut else None,
    }
