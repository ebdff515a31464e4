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

from harness.loadgen.users import CONTEXT, ENVIRONMENT, EVIDENCE, IDENTITY, REALTIME, ParityUser
from harness.traffic.client import VirtualUser
from harness.traffic.contract import load_driver
from harness.traffic.realtime import Stream, open_stream, publish

SETTLE_EVERY_SECONDS = 1.0
GRACE_SECONDS = 2.0  # after the profile's bound: a message not there by then is lost
STOP_WAIT_SECONDS = 10.0  # what the run's end waits, at most, for its last messages
STREAM_LIFETIME_SECONDS = 4 * 3600.0  # a run's stream lives as long as the run (bounded)
PREFIX = f"load-{uuid.uuid4().hex[:12]}-"  # this process's messages (others' are not kept)
_numbers = itertools.count(1)
_sequence = itertools.count(1)
_OPEN: set[Stream] = set()  # this process's open streams
_SENT: dict[str, tuple[float, list[Stream]]] = {}  # message -> (sent at, streams open then)
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


def _excused(stream: Stream, sent: float, bound: float) -> bool:
    """A missing message is not the stream's loss when the stream closed before it was due
    because its lifetime ended or the run was stopping."""
    closed = stream.closed_at
    if closed is None or closed >= sent + bound:
        return False
    return stream.expired or bool(_STOPPING and closed >= _STOPPING[0])


def settle(older_than: float) -> None:
    """Count each message published before `older_than` (time.monotonic()): delivered or lost
    on each stream that was open when it was published; then forget it."""
    with _LOCK:
        due = [(t, v) for t, v in _SENT.items() if v[0] < older_than]
        for text, _ in due:
            del _SENT[text]
    bound = _bound()
    for text, (sent, streams) in due:
        for stream in streams:
            got = stream.received(text)
            stream.forget(text)
            if got is not None:
                ms = (got.at - sent) * 1000
                EVIDENCE.record_delivery(stream.target, ms)
                _fire("delivery", ms)
            elif not _excused(stream, sent, bound):
                EVIDENCE.record_lost(stream.target)
                _fire("delivery", 0, f"a message never reached the stream on {stream.target}")


class RealtimeUser(ParityUser):
    """Logs in, opens its stream through the balancer, publishes a message per task; a stream
    the other end closed is opened again."""

    abstract = False

    def on_start(self) -> None:
        self.stream: Stream | None = None
        self.logged_in = False
        if ENVIRONMENT is None or ENVIRONMENT.realtime is None or ENVIRONMENT.session is None:
            return
        self.realtime = ENVIRONMENT.realtime
        self.vu = VirtualUser(
            str(CONTEXT.get("entry_url")), IDENTITY, verify=CONTEXT.get("verify", True),
            name=f"load-realtime-{next(_numbers)}", host=CONTEXT.get("host"),
        )  # fmt: skip
        self.driver = load_driver(ENVIRONMENT.session, CONTEXT.get("secrets", {}))
        try:
            self.driver.login(self.vu, next(_numbers))
        except Exception as exc:  # a refused login or no answer: counted, the user waits
            EVIDENCE.count("realtime_login_failed")
            _fire("login", 0, type(exc).__name__)
            return
        EVIDENCE.count("login")
        self.logged_in = True
        self._open()

    def _open(self) -> None:
        try:
            stream = open_stream(
                self.vu, None, self.realtime, IDENTITY, STREAM_LIFETIME_SECONDS, keep=_ours
            )
        except Exception as exc:  # StreamRefused, or the subscribe frame failing
            EVIDENCE.count("realtime_refused")
            _fire("open", 0, f"stream not opened: {type(exc).__name__}")
            self.stream = None
            return
        EVIDENCE.count("realtime_opened")
        EVIDENCE.record_session(stream.target)
        self.stream = stream
        with _LOCK:
            _OPEN.add(stream)

    @task
    def say(self) -> None:
        stream = self.stream
        if stream is not None and stream.closed_at is not None:
            with _LOCK:
                _OPEN.discard(stream)
            EVIDENCE.count("realtime_dropped")
            stream = None
        if stream is None:
            if self.logged_in and not _STOPPING:
                self._open()  # as a page does: the stream again, with the session
            return
        text = f"{PREFIX}{next(_sequence)}"
        with _LOCK:
            open_now = [s for s in _OPEN if s.closed_at is None]
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
            _SENT[text] = (sent, open_now)

    def on_stop(self) -> None:
        if self.stream is not None:
            with _LOCK:
                _OPEN.discard(self.stream)
            self.stream.close()
        if self.logged_in:
            self.logged_in = False
            try:
                self.driver.logout(self.vu)
            except Exception:
                return
            EVIDENCE.count("logout")


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
