"""What the real-time checks conclude from what they saw: which polls left their handshake's
target, and which subscribers a published message reached, how fast (pure functions)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    """A message published through `publisher`, as the subscriber on `target` saw it."""

    publisher: str
    target: str
    seconds: float | None  # from publishing to arrival; None: it never arrived


def upgrade_finding(
    attempts: list[tuple[str | None, str | None, str | None]],
) -> tuple[str, str] | None:
    """(fault, what was seen) from streams asked for as (session made on, served by, why it
    was refused or None): refused on the session's own target, the upgrade itself fails;
    opened there and refused on others, the session is not shared."""
    own = [f"on {m}: {why}" for m, s, why in attempts if why and s in (m, None)]
    across = [
        (s, f"made on {m}, on {s}: {why}") for m, s, why in attempts if why and s not in (m, None)
    ]
    if own:
        return (
            "upgrade-refused",
            f"{len(own)} streams were not opened on the target that made their session: "
            + "; ".join(own),
        )
    if across:
        refusing = sorted({str(s) for s, _ in across})
        opened_own = any(why is None and s == m for m, s, why in attempts)
        also = "; the same sessions open one on their own target" if opened_own else ""
        return (
            "session-not-shared",
            f"{', '.join(refusing)} refused a stream with a session made on another target"
            f"{also}: " + "; ".join(text for _, text in across),
        )
    return None


def polls_finding(handshake: str | None, polls: list[tuple[str | None, int]]) -> str | None:
    """The polls another target answered than the handshake's (with their statuses), or None."""
    moved = [(i, t, s) for i, (t, s) in enumerate(polls, 1) if t != handshake]
    if not moved:
        return None
    listed = "; ".join(f"poll {i}: {t or '?'} answered {s}" for i, t, s in moved)
    return (
        f"{len(moved)} of {len(polls)} polls after a handshake on {handshake or '?'} reached "
        f"another target: {listed}"
    )


def _line(publisher: str, seen: list[Delivery], bound: float) -> str:
    parts = [
        f"{d.target} {d.seconds * 1000:.0f} ms" if d.seconds is not None else f"{d.target} never"
        for d in sorted(seen, key=lambda d: d.target)
    ]
    return f"published through {publisher}: " + ", ".join(parts)


def broadcast_finding(deliveries: list[Delivery], bound: float) -> tuple[str, str] | None:
    """(fault, what was seen) when a message missed a subscriber or came later than `bound`
    seconds; None when every subscriber had every message in time."""
    by_publisher: dict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        by_publisher[d.publisher].append(d)
    lines = [_line(p, seen, bound) for p, seen in by_publisher.items()]
    missed = [d for d in deliveries if d.seconds is None]
    late = [d for d in deliveries if d.seconds is not None and d.seconds > bound]
    if not missed and not late:
        return None
    evidence = "; ".join(lines)
    local = all(
        any(d.target == p and d.seconds is not None for d in seen)
        and all(d.seconds is None for d in seen if d.target != p)
        for p, seen in by_publisher.items()
    )
    if local:
        return (
            "local-broadcast",
            "each message reached only the subscribers on the target it was published "
            f"through, none on the others within {bound:g} s: {evidence}",
        )
    if missed:
        return (
            "lost-message",
            f"{len(missed)} of {len(deliveries)} deliveries never came "
            f"(waited {bound:g} s and more): {evidence}",
        )
    return (
        "slow-broadcast",
        f"{len(late)} of {len(deliveries)} deliveries came later than the profile's "
        f"{bound:g} s (realtime.delivery_within_seconds): {evidence}",
    )
