"""Each fault switch observably changes the replica's behaviour (and the healthy one does not)."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
import requests

from harness.replica.faults import (
    SHORT_REDIS_TTL_SECONDS,
    SHORT_STICKINESS_SECONDS,
    SLOW_TARGET_MS,
)
from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from harness.traffic.cookies import set_cookies
from tests.helpers import TIMEOUT, Background, pinned

pytestmark = pytest.mark.servers

Pair = tuple[Replica, ReplicaHandle]


@pytest.fixture
def faulty(request: pytest.FixtureRequest) -> Iterator[Pair]:
    with running_replica(ReplicaConfig(faults=(request.param,), deregistration_delay=10)) as pair:
        yield pair


def direct(handle: ReplicaHandle, target: str) -> str:
    return next(t["url"] for t in handle.control.describe()["targets"] if t["id"] == target)


def login_on(handle: ReplicaHandle, target: str) -> dict[str, str]:
    """Log in on `target` directly; return the session cookie."""
    resp = requests.post(
        direct(handle, target) + "/login",
        timeout=TIMEOUT,
        json={"username": "ann", "password": handle.control.password()},
    )
    assert resp.status_code == 200
    return {"session": set_cookies(resp)["session"].value}


def session_status_on(handle: ReplicaHandle, target: str, cookie: dict[str, str]) -> int:
    return requests.get(
        direct(handle, target) + "/session", cookies=cookie, timeout=TIMEOUT
    ).status_code


def _write_together(urls: dict[str, str], cookie: dict[str, str]) -> None:
    """PUT each key on its instance at the same moment, sharing one session cookie."""
    barrier = threading.Barrier(len(urls))

    def write(key: str, url: str) -> None:
        barrier.wait()
        requests.put(f"{url}/session/{key}", json={"value": key}, cookies=cookie, timeout=TIMEOUT)

    writers = [Background(lambda k=k, u=u: write(k, u)) for k, u in urls.items()]
    for writer in writers:
        writer.join()


def lost_a_key(handle: ReplicaHandle, tries: int = 5) -> bool:
    """Concurrent writes of two keys on two instances: was either lost in any try?"""
    urls = {"left": direct(handle, "app-1"), "right": direct(handle, "app-2")}
    for _ in range(tries):
        cookie = login_on(handle, "app-1")
        _write_together(urls, cookie)
        data = requests.get(urls["left"] + "/session", cookies=cookie, timeout=TIMEOUT).json()
        if set(data["data"]) != set(urls):
            return True
    return False


def test_healthy_replica_shares_sessions_and_loses_no_update(replica: Pair) -> None:
    _, handle = replica
    cookie = login_on(handle, "app-1")
    assert session_status_on(handle, "app-2", cookie) == 200
    assert not lost_a_key(handle)


@pytest.mark.parametrize("faulty", ["local-sessions", "secret-mismatch"], indirect=True)
def test_session_made_on_one_instance_is_unknown_on_the_other(faulty: Pair) -> None:
    _, handle = faulty
    cookie = login_on(handle, "app-1")
    assert session_status_on(handle, "app-1", cookie) == 200
    assert session_status_on(handle, "app-2", cookie) == 401


@pytest.mark.parametrize("faulty", ["secret-mismatch"], indirect=True)
def test_secret_mismatch_rejects_a_session_that_is_in_redis(faulty: Pair) -> None:
    _, handle = faulty
    cookie = login_on(handle, "app-1")
    sid = cookie["session"].split(".")[0]
    assert redis.Redis.from_url(handle.redis_url).exists(f"session:{sid}")
    assert session_status_on(handle, "app-2", cookie) == 401


@pytest.mark.parametrize("faulty", ["no-stickiness"], indirect=True)
def test_no_stickiness_issues_no_cookie_and_spreads_one_client(faulty: Pair) -> None:
    _, handle = faulty
    client = requests.Session()
    seen = [client.get(handle.url + "/", timeout=TIMEOUT) for _ in range(6)]
    assert not any("AWSALB" in set_cookies(r) for r in seen)
    assert {r.headers["X-Instance-Id"] for r in seen} == {"app-1", "app-2"}


@pytest.mark.parametrize("faulty", ["short-stickiness"], indirect=True)
def test_short_stickiness_shortens_the_target_group_duration(faulty: Pair) -> None:
    _, handle = faulty
    stickiness = handle.control.describe()["target_group"]["stickiness"]
    assert stickiness == {
        "enabled": True,
        "type": "lb_cookie",
        "duration_seconds": SHORT_STICKINESS_SECONDS,
    }


@pytest.mark.parametrize("faulty", ["version-skew"], indirect=True)
def test_version_skew_serves_two_builds(faulty: Pair) -> None:
    _, handle = faulty
    builds = {
        t: requests.get(direct(handle, t) + "/version", timeout=TIMEOUT).json()["build"]
        for t in ("app-1", "app-2")
    }
    assert builds["app-1"] != builds["app-2"]


@pytest.mark.parametrize("faulty", ["abrupt-drain"], indirect=True)
def test_abrupt_drain_cuts_in_flight_requests_at_once(faulty: Pair) -> None:
    _, handle = faulty  # deregistration delay 10 s, ignored by the fault
    client = pinned(handle.url, "app-1")
    started = time.monotonic()
    in_flight = Background(lambda: client.get(handle.url + "/slow?seconds=3", timeout=TIMEOUT))
    time.sleep(0.3)
    handle.control.act("app-1", "deregister")
    in_flight.join()
    assert in_flight.error is not None or in_flight.result.status_code == 502
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("faulty", ["slow-target"], indirect=True)
def test_slow_target_adds_latency_to_one_instance(faulty: Pair) -> None:
    _, handle = faulty

    def median(target: str) -> float:
        url = direct(handle, target) + "/version"
        times = [requests.get(url, timeout=TIMEOUT).elapsed.total_seconds() for _ in range(5)]
        return statistics.median(times)

    assert median("app-2") >= SLOW_TARGET_MS / 1000
    assert median("app-1") < SLOW_TARGET_MS / 2000


@pytest.mark.parametrize("faulty", ["short-redis-ttl"], indirect=True)
def test_short_redis_ttl_expires_sessions_long_before_the_cookie(faulty: Pair) -> None:
    _, handle = faulty
    resp = requests.post(
        handle.url + "/login",
        timeout=TIMEOUT,
        json={"username": "ann", "password": handle.control.password()},
    )
    cookie = set_cookies(resp)["session"]
    ttl = redis.Redis.from_url(handle.redis_url).ttl(f"session:{cookie.value.split('.')[0]}")
    assert 0 < ttl <= SHORT_REDIS_TTL_SECONDS
    assert cookie.expires is not None and cookie.expires.timestamp() - time.time() > 86000


@pytest.mark.parametrize("faulty", ["lost-update"], indirect=True)
def test_lost_update_loses_concurrent_writes(faulty: Pair) -> None:
    _, handle = faulty
    assert lost_a_key(handle)


@pytest.mark.parametrize("faulty", ["uneven"], indirect=True)
def test_uneven_sends_three_times_the_traffic_to_one_target(faulty: Pair) -> None:
    _, handle = faulty
    counts = Counter(
        requests.get(handle.url + "/", timeout=TIMEOUT).headers["X-Instance-Id"] for _ in range(40)
    )
    assert counts == {"app-1": 30, "app-2": 10}
