"""Real-time streams under `parity watch`, without servers: the load's stream events become the
watch's events, attributed like requests; each departure counts what its streams met; and the
verdict fails on streams refused or messages lost on open streams, not on closes a drain makes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from harness.deploywatch.analysis import Event, attribute, stream_events
from harness.deploywatch.deploy import WatchOptions, plan_streams
from harness.deploywatch.document import _stream_reasons
from harness.deploywatch.episodes import Episode
from harness.deploywatch.poller import Transition
from harness.deploywatch.quality import _counts
from harness.errors import UsageError
from harness.loadgen.evidence import Evidence
from harness.profile.environment import replica_profile

T0 = 1_800_000_000.0


def _evidence(*events: dict[str, Any]) -> dict[str, Any]:
    """A load's evidence holding `events`, recorded in one process and merged in another (the
    way a worker's reach the master)."""
    worker, master = Evidence(), Evidence()
    for e in events:
        worker.record_stream_event(e["kind"], e["at"], e.get("target"), **e.get("details", {}))
    master.merge(worker.take_delta())
    return master.to_json()


def test_stream_events_become_watch_events_in_time_order() -> None:
    evidence = _evidence(
        {"kind": "message_lost", "at": T0 + 9, "target": "app-1",
         "details": {"stream_was": "closing"}},
        {"kind": "stream_closed", "at": T0 + 5, "target": "app-1"},
        {"kind": "stream_refused", "at": T0 + 6, "target": None,
         "details": {"status": 503, "detail": "no healthy upstream", "intended": "app-1"}},
        {"kind": "message_lost", "at": T0 + 7, "target": "app-2",
         "details": {"stream_was": "open"}},
    )  # fmt: skip
    assert [e["at"] for e in evidence["realtime"]["events"]] == [T0 + 5, T0 + 6, T0 + 7, T0 + 9]
    kinds = [(e.kind, e.target, e.intended) for e in stream_events(evidence)]
    assert kinds == [
        ("stream-closed", "app-1", None),
        ("stream-refused", None, "app-1"),
        ("message-lost", "app-2", None),
        ("message-cut", "app-1", None),
    ]
    refused = stream_events(evidence)[1]
    assert "HTTP 503: no healthy upstream" in refused.detail and refused.whose == "app-1"
    assert stream_events({"totals": {}}) == []  # a load without streams has none


def _t(at: float, target: str, kind: str, old: str, new: str) -> Transition:
    return Transition(T0 + at, target, kind, old, new, since=T0 + at - 0.5)


def test_a_close_at_its_targets_drain_is_blamed_on_that_drain() -> None:
    drain = _t(10.0, "app-1", "state", "draining", "unused")
    other = _t(10.2, "app-2", "state", "healthy", "draining")
    close = Event(T0 + 10.1, "stream-closed", "app-1", "a stream held on app-1 closed")
    attribute([close], [drain, other], slack=1.0)
    assert close.cause == drain.label()


def _closed(at: float, target: str) -> Event:
    return Event(T0 + at, "stream-closed", target, f"a stream held on {target} closed")


def test_closes_on_every_target_at_once_are_blamed_on_the_change_then() -> None:
    """Caddy 2.6 closes every WebSocket when one upstream is removed: the stream on app-2
    closes with app-1's, at app-1's change, seconds before app-2's own failed health (which
    the detection allowance would otherwise reach forward to) is seen."""
    app_1 = _t(4.7, "app-1", "state", "healthy", "unhealthy")
    app_2 = _t(7.2, "app-2", "state", "healthy", "unhealthy")
    closes = [_closed(4.8, "app-1"), _closed(4.8, "app-2")]
    refused = Event(T0 + 4.8, "no-response", None, "GET /", intended="app-2")
    attribute([*closes, refused], [app_1, app_2], slack=1.0, detection={"app-2": 3.0})
    assert [c.cause for c in closes] == [app_1.label(), app_1.label()]
    assert refused.cause == app_2.label()  # a request keeps the detection allowance


def test_a_mass_close_is_not_blamed_on_an_older_change_of_its_target() -> None:
    """app-1 was replaced 20 s before; app-2's removal closes the streams on both at once."""
    replaced = _t(20.0, "app-1", "build", "build-1", "build-2")
    removed = _t(40.0, "app-2", "state", "healthy", "unhealthy")
    closes = [_closed(40.1, "app-1"), _closed(40.1, "app-2")]
    attribute(closes, [replaced, removed], slack=1.0)
    assert [c.cause for c in closes] == [removed.label(), removed.label()]


def test_a_lone_close_keeps_its_own_targets_failed_health() -> None:
    """A restart-style deploy: app-2 is back at +30, then app-1 is stopped; its stream closes
    at +30.5 and app-1's failed health is seen at +33. One target's close is its own."""
    back = _t(30.0, "app-2", "build", "build-1", "build-2")
    failed = _t(33.0, "app-1", "state", "healthy", "unhealthy")
    close = _closed(30.5, "app-1")
    attribute([close], [back, failed], slack=1.0, detection={"app-1": 3.0})
    assert close.cause == failed.label()


def test_losses_never_push_the_closes_out_of_the_evidence() -> None:
    worker = Evidence()
    worker.record_stream_event("stream_closed", T0, "app-1")
    for k in range(6000):  # more than are kept
        worker.record_stream_event("message_lost", T0 + 1 + k / 1000, "app-2", stream_was="open")
    kept = worker.to_json()["realtime"]["events"]
    assert kept[0]["kind"] == "stream_closed" and len(kept) == 5001


def test_each_departure_counts_what_its_streams_met() -> None:
    episode = Episode("app-1", "drain", since=T0 + 10, seen_at=T0 + 10.5, ended=T0 + 20, back=True)
    events = [
        Event(T0 + 19.9, "stream-closed", "app-1", "closed"),
        Event(T0 + 20.0, "stream-refused", None, "refused", intended="app-1"),
        Event(T0 + 15.0, "message-lost", "app-1", "lost"),
        Event(T0 + 19.5, "message-cut", "app-1", "cut"),
        Event(T0 + 19.9, "stream-closed", "app-2", "closed elsewhere"),
        Event(T0 + 40.0, "stream-closed", "app-1", "after it came back"),
    ]
    counts = _counts(events, episode)
    assert (counts["streams_closed"], counts["streams_refused"], counts["messages_lost"]) == (
        1,
        1,
        2,
    )


def _streams(**given: Any) -> dict[str, Any]:
    seen = {
        "streams": 2, "opened": 4, "refused": 0, "unplaced": 0, "login_failed": 0, "published": 90,
        "publish_failed": 0, "closed": 2, "delivered": 170, "lost_while_open": 0,
        "lost_on_close": 3, "delivery_within_seconds": 2.0, "max_lost_messages": None,
        "targets": {},
    }  # fmt: skip
    return {**seen, **given}


def test_closes_and_losses_with_them_pass_unless_the_profile_bounds_them() -> None:
    assert _stream_reasons(None, 0) == []  # no streams held
    assert _stream_reasons(_streams(), 0) == []  # a drain's close is how streams end
    bounded = _stream_reasons(_streams(max_lost_messages=2), 0)
    assert bounded == [
        "3 messages lost with streams that closed, over realtime.max_lost_messages 2"
    ]
    assert _stream_reasons(_streams(max_lost_messages=3), 0) == []


def test_streams_refused_or_losing_messages_while_open_fail_over_the_budget() -> None:
    (lost,) = _stream_reasons(_streams(lost_while_open=69), 0)
    assert lost.startswith("69 messages never reached a stream open for 2 s + 2 s after")
    assert _stream_reasons(_streams(lost_while_open=1), 1) == []
    (refused,) = _stream_reasons(_streams(refused=3), 2)
    assert refused.startswith("3 streams refused (opened through the balancer with their")
    assert refused.endswith("over expect.error_budget 2")
    (none,) = _stream_reasons(_streams(opened=0, refused=1, login_failed=1), 0)
    assert none.startswith("no real-time stream opened (2 asked, 1 refused, 1 logins failed)")


def _watch(streams: int | None = None, users: int = 4) -> WatchOptions:
    return WatchOptions(["true"], users=users, streams=streams)


def test_the_default_is_a_stream_per_healthy_target_at_most_eight() -> None:
    env = replica_profile()
    assert env.realtime is not None and env.session is not None
    for count, wanted in ((2, 2), (4, 4), (8, 8), (10, 8)):
        opts = _watch()
        targets = [f"app-{k}" for k in range(1, count + 1)]
        assert plan_streams(env, opts, targets) == wanted
        load = opts.load_options
        assert load.profile == "watch_users" and load.users == 4 + wanted
        assert load.stream_targets == targets[:wanted]
    opts = _watch(streams=3)
    assert plan_streams(env, opts, ["app-1", "app-2"]) == 3
    assert opts.load_options.stream_targets == ["app-1", "app-2", "app-1"]
    opts = _watch(streams=2)  # asked for, with no healthy target: held where they land
    assert plan_streams(env, opts, []) == 2 and opts.load_options.stream_targets == []
    assert plan_streams(env, _watch(), []) == 0  # the default: one per healthy target


def test_no_streams_leaves_the_sticky_load_alone() -> None:
    env = replica_profile()
    opts = _watch(streams=0)
    assert plan_streams(env, opts, ["app-1", "app-2"]) == 0
    assert opts.load_options.profile == "sticky_users" and opts.load_options.users == 4
    without = dataclasses.replace(env, realtime=None)
    assert plan_streams(without, _watch(), ["app-1"]) == 0  # nothing to hold open
    with pytest.raises(UsageError, match=r"--streams 2: .* has no realtime: section"):
        plan_streams(without, _watch(streams=2), ["app-1"])


@pytest.mark.parametrize("streams", [-1, 65])
def test_streams_out_of_range_are_refused_naming_the_flag(streams: int) -> None:
    with pytest.raises(UsageError, match=rf"^--streams {streams}: allowed 0 to 64$"):
        _watch(streams=streams)
