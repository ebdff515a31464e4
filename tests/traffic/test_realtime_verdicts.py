"""What the real-time checks conclude from what they saw."""

from __future__ import annotations

from typing import Any

from harness.traffic.realtime_verdicts import (
    Delivery,
    DrainSeen,
    Poll,
    broadcast_finding,
    drain_finding,
    polls_finding,
    upgrade_finding,
)


def _everyone(targets: list[str], seconds: float | None) -> list[Delivery]:
    return [Delivery(p, t, seconds) for p in targets for t in targets]


def test_every_subscriber_in_time_is_no_finding() -> None:
    assert broadcast_finding(_everyone(["a", "b", "c"], 0.01), 2.0) is None


def test_messages_that_stay_on_their_instance_are_a_local_broadcast() -> None:
    seen = [Delivery(p, t, 0.005 if p == t else None) for p in "ab" for t in "ab"]
    fault, what = broadcast_finding(seen, 2.0) or ("", "")
    assert fault == "local-broadcast"
    assert "published through a: a 5 ms, b never" in what and "within 2 s" in what


def test_a_subscriber_that_missed_one_message_is_a_lost_message_not_a_local_broadcast() -> None:
    seen = _everyone(["a", "b", "c"], 0.01)
    seen[1] = Delivery("a", "b", None)
    assert (broadcast_finding(seen, 2.0) or ("",))[0] == "lost-message"


def test_nothing_delivered_anywhere_is_a_lost_message() -> None:
    assert (broadcast_finding(_everyone(["a", "b"], None), 2.0) or ("",))[0] == "lost-message"


def test_a_late_delivery_is_slow_and_names_the_bound() -> None:
    seen = _everyone(["a", "b"], 0.01)
    seen[1] = Delivery("a", "b", 2.5)
    fault, what = broadcast_finding(seen, 2.0) or ("", "")
    assert fault == "slow-broadcast" and "b 2500 ms" in what and "2 s" in what


def test_polls_on_the_handshakes_target_are_no_finding_and_others_are_listed() -> None:
    assert polls_finding("a", [Poll("a", 200)] * 10) is None
    fault, what = polls_finding("a", [Poll("a", 200), Poll("b", 400), Poll("a", 200)]) or ("", "")
    assert fault == "polling-not-sticky" and "1 of 3 polls" in what
    assert "poll 2: b answered 400" in what


def test_an_unnamed_refusal_is_another_target_only_while_the_handshake_lives_on() -> None:
    """Socket.IO's 400 `Session ID unknown` names no instance: it counts as another target's
    when a later poll still reached the handshake's own target."""
    unknown = Poll(None, 400, '{"code":1,"message":"Session ID unknown"}')
    fault, what = polls_finding("a", [unknown, Poll("a", 200)]) or ("", "")
    assert fault == "polling-not-sticky" and "an unnamed server answered 400" in what
    assert "Session ID unknown" in what
    fault, what = polls_finding("a", [Poll("a", 200), unknown, unknown]) or ("", "")
    assert fault is None and "2 of 3 polls" in what and "were refused" in what


def test_a_stream_refused_on_the_target_of_its_session_is_the_upgrade() -> None:
    fault, what = upgrade_finding([("a", "a", "answered 400"), ("a", "b", None)]) or ("", "")
    assert fault == "upgrade-refused" and "on a: answered 400" in what


def test_streams_refused_only_elsewhere_are_a_session_not_shared() -> None:
    seen = [("a", "a", None), ("a", "b", "answered 401"), ("b", "b", None), ("b", "a", None)]
    fault, what = upgrade_finding(seen) or ("", "")
    assert fault == "session-not-shared" and what.startswith("b refused")
    assert "own target" in what
    assert upgrade_finding([("a", "a", None), ("a", "b", None)]) is None


def _drain(**seen: Any) -> DrainSeen:
    base: dict[str, Any] = {"target": "a", "delay": 3.0, "closed_after": 3.05, "others_closed": []}
    more = {"reconnected": True, "reconnected_to": "b", "published": 20, "received": 19}
    return DrainSeen(**{**base, **more, **seen})


def test_a_stream_closed_at_the_delays_end_and_back_with_its_session_is_no_finding() -> None:
    assert drain_finding(_drain(), None) is None
    assert "19 of 20 messages" in _drain().summary() and "(1 lost)" in _drain().summary()


def test_a_stream_closed_before_the_delay_is_an_abrupt_drain() -> None:
    fault, what = drain_finding(_drain(closed_after=0.1), None) or ("", "")
    assert fault == "abrupt-drain" and "closed 0.10 s after" in what
    both = drain_finding(_drain(closed_after=0.1, others_closed=["b"]), None) or ("", "")
    assert "closed before the delay ended; the drain of a also closed the streams on b" in both[1]


def test_streams_closed_on_other_targets_are_an_abrupt_drain_naming_them() -> None:
    fault, what = drain_finding(_drain(others_closed=["b", "c"]), None) or ("", "")
    assert fault == "abrupt-drain" and "also closed the streams on b, c" in what


def test_a_client_that_does_not_come_back_names_why() -> None:
    seen = _drain(reconnected=False, reconnect_error="answered 401 by b", reconnect_status=401)
    assert (drain_finding(seen, None) or ("",))[0] == "session-not-shared"
    seen = _drain(reconnected=False, reconnect_error="answered 502 by i-0401", reconnect_status=502)
    assert (drain_finding(seen, None) or ("",))[0] == "upgrade-refused"


def test_losses_are_measured_and_gated_only_when_the_profile_states_a_bound() -> None:
    lossy = _drain(received=12)
    assert drain_finding(lossy, None) is None
    assert drain_finding(lossy, 8) is None
    assert (drain_finding(lossy, 7) or ("",))[0] == "lost-message"
    left_open = _drain(closed_after=None, reconnected=False, reconnected_to=None, received=20)
    assert drain_finding(left_open, 0) is None
