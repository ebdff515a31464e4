"""What the real-time checks conclude from what they saw."""

from __future__ import annotations

from harness.traffic.realtime_verdicts import (
    Delivery,
    broadcast_finding,
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
    assert polls_finding("a", [("a", 200)] * 10) is None
    found = polls_finding("a", [("a", 200), ("b", 400), ("a", 200)])
    assert found is not None and "1 of 3 polls" in found and "poll 2: b answered 400" in found


def test_a_stream_refused_on_the_target_of_its_session_is_the_upgrade() -> None:
    fault, what = upgrade_finding([("a", "a", "answered 400"), ("a", "b", None)]) or ("", "")
    assert fault == "upgrade-refused" and "on a: answered 400" in what


def test_streams_refused_only_elsewhere_are_a_session_not_shared() -> None:
    seen = [("a", "a", None), ("a", "b", "answered 401"), ("b", "b", None), ("b", "a", None)]
    fault, what = upgrade_finding(seen) or ("", "")
    assert fault == "session-not-shared" and what.startswith("b refused")
    assert "own target" in what
    assert upgrade_finding([("a", "a", None), ("a", "b", None)]) is None
