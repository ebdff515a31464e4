"""Deregistration, health and balancing of the local ALB, like an ALB's target group."""

from __future__ import annotations

import time

import pytest
import requests

from harness.errors import UsageError
from harness.replica.alb_config import matcher_rule
from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from harness.traffic.cookies import set_cookies
from tests.helpers import TIMEOUT, Background, pinned, served_by, state_of, wait_for_state

Pair = tuple[Replica, ReplicaHandle]


def test_drain_moves_sticky_clients_and_lets_in_flight_requests_finish(fresh_replica: Pair) -> None:
    _, handle = fresh_replica
    client = pinned(handle.url, "app-1")
    old_cookie = client.cookies["AWSALB"]
    in_flight = Background(lambda: client.get(handle.url + "/slow?seconds=1", timeout=TIMEOUT))
    time.sleep(0.3)
    handle.control.act("app-1", "deregister")
    moved = client.get(handle.url + "/", timeout=TIMEOUT)
    assert moved.headers["X-Instance-Id"] == "app-2", "a sticky client moves at once"
    assert set_cookies(moved)["AWSALB"].value != old_cookie, "and gets a new cookie"
    assert state_of(handle, "app-1") == "draining"
    finished = in_flight.join().result
    assert finished.status_code == 200 and finished.headers["X-Instance-Id"] == "app-1"
    assert {served_by(client, handle.url) for _ in range(10)} == {"app-2"}
    waited = wait_for_state(handle, "app-1", "unused", timeout=10)
    assert waited >= 0.5, "draining lasts the deregistration delay"


def test_requests_still_running_after_the_delay_are_cut(fresh_replica: Pair) -> None:
    _, handle = fresh_replica  # deregistration delay: 2 s
    client = pinned(handle.url, "app-1")
    started = time.monotonic()
    in_flight = Background(lambda: client.get(handle.url + "/slow?seconds=6", timeout=TIMEOUT))
    time.sleep(0.3)
    handle.control.act("app-1", "deregister")
    in_flight.join()
    elapsed = time.monotonic() - started
    cut = in_flight.error is not None or in_flight.result.status_code == 502
    assert cut, "a request running past the delay must be cut"
    assert 1.8 <= elapsed < 5, (
        f"cut when the delay ended, not at once nor at the end ({elapsed:.1f} s)"
    )


def test_no_registered_target_gives_503(fresh_replica: Pair) -> None:
    _, handle = fresh_replica
    for target in ("app-1", "app-2"):
        handle.control.act(target, "deregister")
    resp = requests.get(handle.url + "/", timeout=TIMEOUT)
    assert resp.status_code == 503
    assert "AWSALB" not in set_cookies(resp), "no cookie on a response no target made"


def test_registered_target_waits_for_the_healthy_threshold(fresh_replica: Pair) -> None:
    _, handle = fresh_replica
    handle.control.act("app-1", "deregister")
    wait_for_state(handle, "app-1", "unused")
    handle.control.act("app-1", "register")
    assert state_of(handle, "app-1") == "initial"
    early = {
        requests.get(handle.url + "/", timeout=TIMEOUT).headers["X-Instance-Id"] for _ in range(6)
    }
    assert early == {"app-2"}, "no traffic before the healthy threshold"
    wait_for_state(handle, "app-1", "healthy", timeout=10)
    later = {
        requests.get(handle.url + "/", timeout=TIMEOUT).headers["X-Instance-Id"] for _ in range(6)
    }
    assert later == {"app-1", "app-2"}


def test_failing_health_check_takes_a_target_out_and_back(fresh_replica: Pair) -> None:
    _, handle = fresh_replica
    client = pinned(handle.url, "app-1")
    handle.control.act("app-1", "fail-health")
    wait_for_state(handle, "app-1", "unhealthy")
    target = next(t for t in handle.control.describe()["targets"] if t["id"] == "app-1")
    assert target["reason"] == "Target.ResponseCodeMismatch"
    assert served_by(client, handle.url) == "app-2", "sticky clients leave an unhealthy target"
    handle.control.act("app-1", "pass-health")
    wait_for_state(handle, "app-1", "healthy")


def test_killed_target_turns_unhealthy_and_restart_brings_it_back(fresh_replica: Pair) -> None:
    replica, handle = fresh_replica
    handle.control.act("app-2", "kill")
    wait_for_state(handle, "app-2", "unhealthy")
    assert {
        requests.get(handle.url + "/", timeout=TIMEOUT).headers["X-Instance-Id"] for _ in range(6)
    } == {"app-1"}
    handle.control.act("app-2", "restart")
    wait_for_state(handle, "app-2", "healthy")
    assert "app-2" in replica.child_pids()


@pytest.mark.servers
def test_least_outstanding_requests_avoids_a_busy_target() -> None:
    config = ReplicaConfig(algorithm="least_outstanding_requests")
    with running_replica(config) as (_, handle):
        busy = pinned(handle.url, "app-1")
        holds = [
            Background(lambda: busy.get(handle.url + "/slow?seconds=2", timeout=TIMEOUT))
            for _ in range(3)
        ]
        time.sleep(0.4)
        fresh = [
            requests.get(handle.url + "/", timeout=TIMEOUT).headers["X-Instance-Id"]
            for _ in range(6)
        ]
        for hold in holds:
            hold.join()
        assert fresh == ["app-2"] * 6


def test_unknown_target_is_a_clear_error(fresh_replica: Pair) -> None:
    replica, _ = fresh_replica
    with pytest.raises(UsageError, match=r"'app-9'.*app-1, app-2"):
        replica.deregister("app-9")


@pytest.mark.parametrize(
    ("matcher", "rule"),
    [
        ("200", "http-check expect status 200"),
        ("200,302", "http-check expect rstatus ^(200|302)$"),
        ("200-202", "http-check expect rstatus ^(200|201|202)$"),
    ],
)
def test_health_check_matcher_translates(matcher: str, rule: str) -> None:
    assert matcher_rule(matcher) == rule


def test_bad_matcher_is_one_line_error() -> None:
    with pytest.raises(UsageError, match="matcher '2xx'"):
        matcher_rule("2xx")


def test_every_target_unhealthy_fails_open_to_all_registered(fresh_replica: Pair) -> None:
    """As on an ALB: when every registered target fails its health check, requests go to all of
    them; once one recovers, only the healthy one; a deregistered target gets none either way."""
    _, handle = fresh_replica
    for target in ("app-1", "app-2"):
        handle.control.act(target, "fail-health")
    for target in ("app-1", "app-2"):
        wait_for_state(handle, target, "unhealthy", timeout=10)
    fresh = [requests.get(handle.url + "/", timeout=TIMEOUT) for _ in range(8)]
    assert {r.status_code for r in fresh} == {200}
    assert {r.headers["X-Instance-Id"] for r in fresh} == {"app-1", "app-2"}
    sticky = requests.Session()
    first = served_by(sticky, handle.url)
    assert {served_by(sticky, handle.url) for _ in range(5)} == {first}, "stickiness holds"
    handle.control.act("app-2", "deregister")
    only = {served_by(requests.Session(), handle.url) for _ in range(6)}
    assert only == {"app-1"}, "the deregistered target is out even in fail-open"
    handle.control.act("app-2", "register")
    handle.control.act("app-2", "pass-health")
    wait_for_state(handle, "app-2", "healthy", timeout=10)
    healthy_only = {served_by(requests.Session(), handle.url) for _ in range(6)}
    assert healthy_only == {"app-2"}, "with one healthy target, fail-open ends"
