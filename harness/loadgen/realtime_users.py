"""A Locust user that holds a real-time stream open (the profile's `realtime:`) and publishes
now and then; every message is followed to each stream of this process that was open when it
was published: delivered (with its latency) or lost, counted per target the stream is on.

The stream and the login go through Parity's own client (requests and websocket-client, under
Locust's gevent): each publish and each delivery is also a Locust request event (`REALTIME`),
so Locust's statistics show them. Messages are settled once they are due (the profile's
`delivery_within_seconds` and GRACE_SECONDS more); when the run stops, what was published until
then is waited for (at most STOP_WAIT_SECONDS) and counted, and what users publish meanwhile
is not counted either way.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Any

import gevent
from locust import events, task

from harness.loadgen.evidence import DELIVERY_GRACE_SECONDS
from harness.loadgen.users import CONTEXT, ENVIRONMENT, EVIDENCE, IDENTITY, REALTIME, ParityUser
from harness.traffic.balancers import cookie_rule
from harness.traffic.client import Route, VirtualUser
from harness.traffic.contract import load_driver
from harness.traffic.realtime import Stream, StreamRefused, open_stream, publish

SETTLE_EVERY_SECONDS = 1.0
GRACE_SECONDS = DELIVERY_GRACE_SECONDS  # after the profile's bound: not there by then, lost
PLACE_TRIES = 32  # logins, at most, to land a stream on its target (in a 20 % group: 0.08 % miss)
PLACE_SECONDS = 30.0  # and for no longer than this
SUBSCRIBE_SECONDS = 0.5  # a stream follows messages published this long after it opened (a
# server may subscribe it after its hello: Redis SUBSCRIBE, a Socket.IO room, a channel)
STOP_WAIT_SECONDS = 10.0  # what the run's end waits, at most, for its last messages
STREAM_LIFETIME_SECONDS = 4 * 3600.0  # a run's stream lives as long as the run (bounded)
PREFIX = f"load-{uuid.uuid4().hex[:12]}-"  # this process's messages (others' are not kept)
_numbers = itertools.count(1)
_placed = itertools.count(1)  # the k-th stream user is meant for the k-th target
_sequence = itertools.count(1)
_OPEN: dict[Stream, float] = {}  # this process's open streams -> when they follow messages from
# message -> (sent at, the streams open then, the stream it was sent on as a frame)
_SENT: dict[str, tuple[float, list[Stream], Stream | None]] = {}
_LOCK = threading.Lock()
_STOPPING: list[float] = []  # when the run began to stop (time.monotonic())


def _bound() -> float:
    realtime = ENVIRONMENT.realtime if ENVIRONMENT else None
    return float(realtime.delivery_within_seconds or 2.0) if realtime else 2.0


def _fire(name: str, ms: float, failed: str | None = None) -> None:
    events.request.fire(
        request_type=REALTIME, name=name, response_time=ms, response_length=0, response=None,
        context={}, exception=AssertionError(failed) if failed else None,
    )  # fmt: skip


def _ours(text: str) -> bool:
    return text.startswith(PREFIX)


def _excused(stream: Stream, due: float) -> bool:
    """A missing message is not the stream's loss when the stream closed before it was due
    because its lifetime ended, this side closed it, or the run was stopping."""
    closed = stream.closed_at
    if closed is None or closed >= due:
        return False
    return stream.expired or bool(_STOPPING and closed >= _STOPPING[0])


def _lost(stream: Stream, sent: float, due: float) -> None:
    """Keep a lost message as an event: on a stream still open when it was due, or on one the
    other end closed before then (its loss is the close's)."""
    closed = stream.closed_at
    was = "open" if closed is None or closed >= due else "closing"
    EVIDENCE.count("realtime_lost_while_open" if was == "open" else "realtime_lost_on_close")
    EVIDENCE.record_stream_event("message_lost", _epoch(sent), stream.target, stream_was=was)


def settle(older_than: float) -> None:
    """Count each message published before `older_than` (time.monotonic()): delivered or lost
    on each stream that was open when it was published; then forget it. A message is due its
    bound and GRACE_SECONDS after it was published; one sent as a frame on a stream that
    closed before then may never have been taken: what did not arrive is not counted lost."""
    with _LOCK:
        settled = [(t, v) for t, v in _SENT.items() if v[0] < older_than]
        for text, _ in settled:
            del _SENT[text]
    bound = _bound()
    for text, (sent, streams, via) in settled:
        due = sent + bound + GRACE_SECONDS
        untaken = via is not None and via.closed_at is not None and via.closed_at < due
        for stream in streams:
            got = stream.received(text)
            stream.forget(text)
            if got is not None:
                ms = (got.at - sent) * 1000
                EVIDENCE.record_delivery(stream.target, ms)
                _fire("delivery", ms)
            elif not untaken and not _excused(stream, due):
                EVIDENCE.record_lost(stream.target)
                _fire("delivery", 0, f"a message never reached the stream on {stream.target}")
                _lost(stream, sent, due)


def _epoch(monotonic: float) -> float:
    """A time.monotonic() reading as epoch seconds (the watch's events are in epoch time)."""
    return time.time() - (time.monotonic() - monotonic)


def _stream_targets() -> list[str]:
    return [str(t) for t in CONTEXT.get("stream_targets") or []]


class RealtimeUser(ParityUser):
    """Logs in, opens its stream through the balancer, publishes a message per task; a stream
    the other end closed is opened again, as a page does, with the session. Under a watch
    (`stream_targets`) the k-th user's stream is meant for the k-th target: it logs in with that
    target's sticky cookies and, a stream that lands elsewhere, logs in again (PLACE_TRIES)."""

    abstract = False

    def on_start(self) -> None:
        self.stream: Stream | None = None
        self.logged_in = False
        self.meant: str | None = None
        if ENVIRONMENT is None or ENVIRONMENT.realtime is None or ENVIRONMENT.session is None:
            return
        self.realtime = ENVIRONMENT.realtime
        self.driver = load_driver(ENVIRONMENT.session, CONTEXT.get("secrets", {}))
        targets = _stream_targets()
        if targets:
            self.meant = targets[(next(_placed) - 1) % len(targets)]
        try:
            self._place((CONTEXT.get("stream_routes") or {}).get(self.meant) or {})
        finally:
            EVIDENCE.count("realtime_started")  # the watch starts the deploy once all are

    def _place(self, pinned: dict[str, str]) -> None:
        """Log in and open the stream; one meant for a target that lands elsewhere is opened
        again on a new login (PLACE_TRIES times within PLACE_SECONDS), then held where it
        landed (`unplaced`), as is one whose stream names no target."""
        ends = time.monotonic() + PLACE_SECONDS
        for attempt in range(1, PLACE_TRIES + 1):
            if not self._log_in(pinned):
                return
            self._open()
            if self.meant is None or self.stream is None or self.stream.target == self.meant:
                return
            if self.stream.target is None or attempt == PLACE_TRIES or time.monotonic() > ends:
                break
            self._end()  # on another target: a new login, a new draw
        EVIDENCE.count("realtime_unplaced")  # held where it landed, not where it was meant

    def _log_in(self, pinned: dict[str, str]) -> bool:
        """A new client (with `pinned`: a target's sticky cookies) logged in; False when the
        login failed (counted)."""
        names = cookie_rule(ENVIRONMENT.expect).names if ENVIRONMENT else ()
        self.vu = VirtualUser(
            str(CONTEXT.get("entry_url")), IDENTITY, verify=CONTEXT.get("verify", True),
            name=f"load-realtime-{next(_numbers)}", host=CONTEXT.get("host"),
            sticky_names=tuple(dict.fromkeys((*names, *pinned))),
        )  # fmt: skip
        self.vu.adopt(pinned)
        try:
            self.driver.login(self.vu, next(_numbers))
        except Exception as exc:  # a refused login or no answer: counted, the user waits
            EVIDENCE.count("realtime_login_failed")
            _fire("login", 0, type(exc).__name__)
            return False
        EVIDENCE.count("login")
        self.logged_in = True
        return True

    def _open(self, was: str | None = None) -> None:
        """The stream, with the client's session and the sticky cookies it holds now; a refusal
        is counted and kept as an event (`was`: the target of the stream it replaces)."""
        route = Route(self.meant or "", str(CONTEXT.get("entry_url")), self.vu.sticky_cookies())
        try:
            stream = open_stream(
                self.vu, route, self.realtime, IDENTITY, STREAM_LIFETIME_SECONDS, keep=_ours
            )
        except Exception as exc:  # StreamRefused, or the subscribe frame failing
            EVIDENCE.count("realtime_refused")
            refused = exc if isinstance(exc, StreamRefused) else None
            EVIDENCE.record_stream_event(  # the status only: a body may echo the cookies
                "stream_refused", time.time(), refused.target if refused else None,
                status=refused.status if refused else None,
                detail=None if refused else type(exc).__name__, intended=was or self.meant,
            )  # fmt: skip
            _fire("open", 0, f"stream not opened: {type(exc).__name__}")
            self.stream = None
            return
        EVIDENCE.count("realtime_opened")
        EVIDENCE.record_session(stream.target)
        self.stream = stream
        with _LOCK:
            _OPEN[stream] = time.monotonic() + SUBSCRIBE_SECONDS

    def _end(self) -> None:
        """Close the stream (this side's own close, as its lifetime's end: no event, and what
        it misses after is no loss) and log the session out."""
        if self.stream is not None:
            with _LOCK:
                _OPEN.pop(self.stream, None)
            self.stream.expire()
            self.stream.close()
            self.stream = None
        if self.logged_in:
            self.logged_in = False
            try:
                self.driver.logout(self.vu)
            except Exception:
                pass
            else:
                EVIDENCE.count("logout")
        if getattr(self, "vu", None) is not None:
            self.vu.http.close()

    @task
    def say(self) -> None:
        stream, was = self.stream, None
        if stream is not None and stream.closed_at is not None:
            with _LOCK:
                _OPEN.pop(stream, None)
            stream.close()  # its socket and lifetime timer
            EVIDENCE.count("realtime_dropped")
            if not stream.expired:
                closed = _epoch(stream.closed_at)
                EVIDENCE.record_stream_event("stream_closed", closed, stream.target)
            was, stream = stream.target, None
        if stream is None:
            if self.logged_in and not _STOPPING:
                self._open(was)  # as a page does: the stream again, with the session
            return
        text = f"{PREFIX}{next(_sequence)}"
        frame = bool(self.realtime.publish_frame)  # an app may not echo a frame to its sender
        now = time.monotonic()
        with _LOCK:
            open_now = [
                s
                for s, since in _OPEN.items()
                if s.closed_at is None and since <= now and not (frame and s is stream)
            ]
        started = time.perf_counter()
        try:
            sent = publish(self.vu, None, self.realtime, text, on=stream)
        except Exception as exc:  # a failed publish is an error, not a message lost
            EVIDENCE.count("realtime_publish_failed")
            _fire("publish", (time.perf_counter() - started) * 1000, type(exc).__name__)
            return
        EVIDENCE.count("realtime_published")
        _fire("publish", (time.perf_counter() - started) * 1000)
        with _LOCK:
            _SENT[text] = (sent, open_now, stream if frame else None)

    def on_stop(self) -> None:
        self._end()


def _settling() -> None:
    while True:
        gevent.sleep(SETTLE_EVERY_SECONDS)
        settle(time.monotonic() - _bound() - GRACE_SECONDS)


def _on_init(environment: Any, **_: Any) -> None:
    gevent.spawn(_settling)


def _on_test_stopping(environment: Any, **_: Any) -> None:
    """The run is stopping, its streams still open: what was published until now is given
    its bound and grace (at most STOP_WAIT_SECONDS), then counted."""
    stopping = time.monotonic()
    gevent.sleep(min(_bound() + GRACE_SECONDS, STOP_WAIT_SECONDS))
    _STOPPING.append(time.monotonic())
    settle(stopping)


def install_realtime() -> None:
    events.init.add_listener(_on_init)
    events.test_stopping.add_listener(_on_test_stopping)
