"""A drain with real-time streams open: one subscriber on every target, messages published
through another target all along, the drained target deregistered (guarded, journaled, undone).
Seen: when its stream closed against the deregistration delay, whether the drain closed streams
elsewhere, whether the client came back through the balancer with its session, and how many
messages it missed meanwhile."""

from __future__ import annotations

import secrets
import threading
import time

from harness.disruption.guard import Guard
from harness.profile.sections import Realtime
from harness.traffic.client import Route
from harness.traffic.realtime import Stream, StreamRefused, open_stream, publish
from harness.traffic.realtime_reach import Attempt, Reach
from harness.traffic.realtime_verdicts import DrainSeen

PUBLISH_EVERY_SECONDS = 0.2
CLOSE_MARGIN_SECONDS = 5.0  # after the delay: a stream still open then is left open
AFTER_RECONNECT_SECONDS = 1.0  # publishing goes on this long once the client is back
DELIVERY_WAIT_SECONDS = 1.0
LIFETIME_MARGIN_SECONDS = 60.0  # a stream lives the delay and this much more


class _Publisher:
    """Numbered messages through one target every PUBLISH_EVERY_SECONDS, until stopped (at
    most `limit` seconds)."""

    def __init__(self, via: Attempt, realtime: Realtime, limit: float) -> None:
        self.via, self.realtime, self.limit = via, realtime, limit
        self.sent: list[str] = []
        self.errors = 0
        self._stop = threading.Event()
        self._tag = secrets.token_hex(3)
        self._thread = threading.Thread(target=self._run, daemon=True, name="realtime-publish")

    def _run(self) -> None:
        ends = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < ends:
            text = f"drain-{self._tag}-{len(self.sent) + 1}"
            try:
                publish(self.via.user, self.via.route, self.realtime, text, on=self.via.stream)
                self.sent.append(text)
            except Exception:  # counted: a publish that failed is not a message lost
                self.errors += 1
            self._stop.wait(PUBLISH_EVERY_SECONDS)

    def __enter__(self) -> _Publisher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _reconnect(
    reach: Reach, gone: Attempt, target: str
) -> tuple[Stream | None, str | None, int | None]:
    """The drained client's stream again, through the balancer with the cookies it holds (its
    sticky cookie still names the drained target, as a browser's would): the stream, or why
    not and the status it was refused with."""
    route = Route(target, reach.site.topology.entry_url, gone.user.sticky_cookies())
    try:
        stream = open_stream(gone.user, route, reach.realtime, reach.site.identity, 30)
    except StreamRefused as refused:
        status = refused.status or "nothing"
        why = f"answered {status} by {refused.target or '?'} ({refused.detail})"
        return None, why, refused.status
    reach.opened.append(stream)
    if reach.realtime.user and not stream.user:
        return None, f"{stream.target or '?'} opened it, but its hello names no user", 401
    return stream, None, None


def drain_with_streams(
    reach: Reach, guard: Guard, target: str, delay: float, restore_after: float
) -> DrainSeen:
    reach.lifetime = delay + CLOSE_MARGIN_SECONDS + LIFETIME_MARGIN_SECONDS
    subscribers = reach.subscribers()
    drained = subscribers[target]
    others = {t: a for t, a in subscribers.items() if t != target}
    publisher_via = next(iter(others.values()))
    assert drained.stream is not None
    seen = DrainSeen(target, delay, None, [])
    limit = delay + CLOSE_MARGIN_SECONDS + AFTER_RECONNECT_SECONDS + 30
    streams: list[Stream] = [drained.stream]
    began = time.monotonic()  # the deregistration is sent as the block opens
    with guard.disrupt("deregister", target, restore_after=restore_after):
        with _Publisher(publisher_via, reach.realtime, limit) as publisher:
            ends = began + delay + CLOSE_MARGIN_SECONDS
            while drained.stream.closed_at is None and time.monotonic() < ends:
                time.sleep(0.05)
            if drained.stream.closed_at is not None:
                seen.closed_after = drained.stream.closed_at - began
                again, seen.reconnect_error, seen.reconnect_status = _reconnect(
                    reach, drained, target
                )
                if again is not None:
                    seen.reconnected = True
                    seen.reconnected_to = again.target
                    seen.gap_seconds = time.monotonic() - drained.stream.closed_at
                    streams.append(again)
                    time.sleep(AFTER_RECONNECT_SECONDS)
            sent = list(publisher.sent)
        time.sleep(DELIVERY_WAIT_SECONDS if sent else 0)
        seen.others_closed = sorted(
            t
            for t, a in others.items()
            if a.stream is not None and a.stream.closed_at is not None and not a.stream.expired
        )
    seen.published = len(sent)
    seen.received = sum(1 for text in sent if any(s.received(text) for s in streams))
    return seen
