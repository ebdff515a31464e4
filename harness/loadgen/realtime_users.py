"""A Locust user that holds a real-time stream open (the profile's `realtime:`) and publishes
now and then; every message is followed to each stream of this process that was open when it
was published: delivered (with its latency) or lost, counted per target the stream is on.

The stream and the login go through Parity's own client (requests and websocket-client, under
Locust's gevent): each publish and each delivery is also a Locust request event (`REALTIME`),
so Locust's statistics show them.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Any

import gevent
from locust import events, task

from harness.loadgen.users import CONTEXT, ENVIRONMENT, EVIDENCE, IDENTITY, REALTIME, ParityUser
from harness.traffic.client import VirtualUser
from harness.traffic.contract import StepFailed, load_driver
from harness.traffic.realtime import Stream, StreamRefused, open_stream, publish

SETTLE_EVERY_SECONDS = 1.0
GRACE_SECONDS = 2.0  # after the profile's bound: a message not there by then is lost
STREAM_LIFETIME_SECONDS = 4 * 3600.0  # a run's stream lives as long as the run (bounded)
_numbers = itertools.count(1)
_sequence = itertools.count(1)
_OPEN: set[Stream] = set()  # this process's open streams
_SENT: dict[str, tuple[float, list[Stream]]] = {}  # message -> (sent at, streams open then)
_LOCK = threading.Lock()


def _bound() -> float:
    realtime = ENVIRONMENT.realtime if ENVIRONMENT else None
    return float(realtime.delivery_within_seconds or 2.0) if realtime else 2.0


def _fire(name: str, ms: float, failed: str | None = None) -> None:
    events.request.fire(
        request_type=REALTIME, name=name, response_time=ms, response_length=0, response=None,
        context={}, exception=AssertionError(failed) if failed else None,
    )  # fmt: skip


def settle(older_than: float) -> None:
    """Count each message published before `older_than` (time.monotonic()): delivered or lost
    on each stream that was open when it was published."""
    with _LOCK:
        due = [(t, v) for t, v in _SENT.items() if v[0] < older_than]
        for text, _ in due:
            del _SENT[text]
    bound = _bound()
    for text, (sent, streams) in due:
        for stream in streams:
            got = stream.received(text)
            closed = stream.closed_at
            if got is None and closed is not None and closed < sent + bound:
                continue  # closed (the run ended, say) before the message was due: not counted
            if got is not None:
                ms = (got.at - sent) * 1000
                EVIDENCE.record_delivery(stream.target, ms)
                _fire("delivery", ms)
            else:
                EVIDENCE.record_lost(stream.target)
                _fire("delivery", 0, f"{text} never reached the stream on {stream.target}")


class RealtimeUser(ParityUser):
    """Logs in, opens its stream through the balancer, publishes a message per task."""

    abstract = False

    def on_start(self) -> None:
        self.stream: Stream | None = None
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
        except StepFailed:
            return
        EVIDENCE.count("login")
        self.logged_in = True
        try:
            stream = open_stream(self.vu, None, self.realtime, IDENTITY, STREAM_LIFETIME_SECONDS)
        except StreamRefused as refused:
            _fire("open", 0, f"stream refused: {refused}")
            return
        EVIDENCE.record_session(stream.target)
        self.stream = stream
        with _LOCK:
            _OPEN.add(stream)

    @task
    def say(self) -> None:
        stream = self.stream
        if stream is None or stream.closed_at is not None:
            return
        text = f"load-{os.getpid()}-{next(_sequence)}"
        with _LOCK:
            open_now = [s for s in _OPEN if s.closed_at is None]
        started = time.perf_counter()
        try:
            sent = publish(self.vu, None, self.realtime, text, on=stream)
        except Exception as exc:  # a failed publish is an error, not a message lost
            _fire("publish", (time.perf_counter() - started) * 1000, type(exc).__name__)
            return
        _fire("publish", (time.perf_counter() - started) * 1000)
        with _LOCK:
            _SENT[text] = (sent, open_now)

    def on_stop(self) -> None:
        if self.stream is not None:
            with _LOCK:
                _OPEN.discard(self.stream)
            self.stream.close()
        if getattr(self, "logged_in", False):
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


def _on_test_stop(environment: Any, **_: Any) -> None:
    """The run is over: what is still in flight is given its grace, then counted."""
    gevent.sleep(min(_bound() + GRACE_SECONDS, 5.0))
    settle(float("inf"))


def install_realtime() -> None:
    events.init.add_listener(_on_init)
    events.test_stop.add_listener(_on_test_stop)
