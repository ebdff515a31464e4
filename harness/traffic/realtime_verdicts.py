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


@dataclass(frozen=True)
class Poll:
    """One poll after the handshake: who answered (None: the answer named no instance)."""

    target: str | None
    status: int
    body: str = ""

    def describe(self, i: int) -> str:
        said = f" ({self.body.strip()})" if self.body.strip() else ""
        return f"poll {i}: {self.target or 'an unnamed server'} answered {self.status}{said}"


def polls_finding(handshake: str | None, polls: list[Poll]) -> tuple[str | None, str] | None:
    """(fault, what was seen) when a poll left the handshake's target, or None. A refusal whose
    answer names no instance counts as another target's only when a later poll still reached
    the handshake's target (the handshake was alive there); otherwise it is shown, unnamed."""
    listed = [(i, p) for i, p in enumerate(polls, 1)]
    moved = [(i, p) for i, p in listed if p.target is not None and p.target != handshake]
    unnamed = [(i, p) for i, p in listed if p.target is None and p.status != 200]
    alive_after = [
        (i, p)
        for i, p in unnamed
        if any(q.target == handshake and q.status == 200 for q in polls[i:])
    ]
    elsewhere = sorted(moved + alive_after, key=lambda ip: ip[0])
    if elsewhere:
        shown = "; ".join(p.describe(i) for i, p in elsewhere)
        return (
            "polling-not-sticky",
            f"{len(elsewhere)} of {len(polls)} polls after a handshake on {handshake or '?'} "
            f"reached another target: {shown}",
        )
    refused = [(i, p) for i, p in listed if p.status != 200]
    if refused:
        shown = "; ".join(p.describe(i) for i, p in refused)
        return (
            None,
            f"{len(refused)} of {len(polls)} polls after a handshake on {handshake or '?'} were "
            f"refused, and no later poll reached the handshake's target: {shown}",
        )
    return None


def _line(publisher: str, seen: list[Delivery]) -> str:
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
    lines = [_line(p, seen) for p, seen in by_publisher.items()]
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


EARLY_TOLERANCE_SECONDS = 0.5  # a stream cut this much before the delay ends is cut early


@dataclass
class DrainSeen:
    """What a drain did to the streams: when the drained target's stream closed (seconds after
    the deregistration; None: still open), the other targets' streams it closed, the reconnect
    (target, user named, or why it failed), and the messages published and received."""

    target: str
    delay: float
    closed_after: float | None
    others_closed: list[str]
    reconnected: bool = False
    reconnected_to: str | None = None  # None when it came back and its hello named no target
    reconnect_error: str | None = None
    reconnect_status: int | None = None  # the status the reconnect was refused with
    published: int = 0
    received: int = 0
    gap_seconds: float | None = None

    @property
    def lost(self) -> int:
        return self.published - self.received

    def summary(self) -> str:
        closed = (
            f"its stream closed {self.closed_after:.2f} s after the deregistration"
            if self.closed_after is not None
            else f"its stream was still open {self.delay:g} s and more after the deregistration"
        )
        back = (
            f"; it came back on {self.reconnected_to or 'an unnamed target'} with its session"
            f"{f' {self.gap_seconds:.2f} s later' if self.gap_seconds is not None else ''}"
            if self.reconnected
            else ""
        )
        return (
            f"{self.target} drained with a {self.delay:g} s deregistration delay: {closed}{back}; "
            f"{self.received} of {self.published} messages published meanwhile reached it "
            f"({self.lost} lost)"
        )


def drain_finding(seen: DrainSeen, max_lost: int | None) -> tuple[str, str] | None:
    """(fault, what was seen) when the drain cut streams early or elsewhere, the client did not
    come back with its session, or more messages were lost than the profile allows."""
    early = (
        seen.closed_after is not None and seen.closed_after < seen.delay - EARLY_TOLERANCE_SECONDS
    )
    if early or seen.others_closed:
        said = ["closed before the delay ended"] if early else []
        if seen.others_closed:
            said.append(
                f"the drain of {seen.target} also closed the streams on "
                f"{', '.join(seen.others_closed)}"
            )
        return "abrupt-drain", f"{'; '.join(said)}: {seen.summary()}"
    if seen.closed_after is not None and not seen.reconnected:
        refused_session = seen.reconnect_status in (401, 403)
        fault = "session-not-shared" if refused_session else "upgrade-refused"
        return fault, f"the client did not come back ({seen.reconnect_error}): {seen.summary()}"
    if max_lost is not None and seen.lost > max_lost:
        return (
            "lost-message",
            f"{seen.lost} messages lost, more than realtime.max_lost_messages ({max_lost}): "
            f"{seen.summary()}",
        )
    return None
