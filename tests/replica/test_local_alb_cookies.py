"""The local ALB's sticky cookies, checked with plain HTTP against a running replica."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import requests

from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from harness.traffic.cookies import response_date, set_cookies
from tests.helpers import TIMEOUT, pinned, served_by

pytestmark = pytest.mark.servers

SEVEN_DAYS = timedelta(days=7)


def test_awsalb_has_the_documented_attributes_exactly(
    replica: tuple[Replica, ReplicaHandle],
) -> None:
    _, handle = replica
    resp = requests.get(handle.url + "/", timeout=TIMEOUT)
    cookies = set_cookies(resp)
    alb, cors = cookies["AWSALB"], cookies["AWSALBCORS"]
    assert set(alb.attributes) == {"expires", "path"}  # no Secure, HttpOnly, Domain, SameSite
    assert alb.attributes["path"] == "/"
    assert set(cors.attributes) == {"expires", "path", "samesite", "secure"}
    assert cors.attributes["samesite"] == "None" and cors.attributes["path"] == "/"
    assert cors.value == alb.value and cors.expires == alb.expires
    date = response_date(resp)
    assert date is not None and alb.expires is not None
    assert abs(alb.expires - (date + SEVEN_DAYS)) <= timedelta(seconds=2)


def test_cookie_value_is_opaque(replica: tuple[Replica, ReplicaHandle]) -> None:
    _, handle = replica
    values = {
        set_cookies(requests.get(handle.url + "/", timeout=TIMEOUT))["AWSALB"].value
        for _ in range(4)
    }
    for value in values:
        assert re.fullmatch(r"[0-9A-F]{32}", value), "opaque hex, no server name"
        assert "app" not in value.lower()
    assert len(values) >= 2, "two targets must not share a cookie value"


def test_expires_is_seven_days_whatever_the_duration() -> None:
    with running_replica(ReplicaConfig(stickiness_seconds=30)) as (_, handle):
        resp = requests.get(handle.url + "/", timeout=TIMEOUT)
        alb = set_cookies(resp)["AWSALB"]
        date = response_date(resp)
        assert date is not None and alb.expires is not None
        assert abs(alb.expires - (date + SEVEN_DAYS)) <= timedelta(seconds=2)


def test_cookies_are_reissued_on_every_response(replica: tuple[Replica, ReplicaHandle]) -> None:
    _, handle = replica
    client = pinned(handle.url, "app-1")
    for path in ("/", "/version", "/healthz"):
        cookies = set_cookies(client.get(handle.url + path, timeout=TIMEOUT))
        assert {"AWSALB", "AWSALBCORS"} <= set(cookies), f"no re-issue on {path}"


def test_pinned_client_stays_on_its_target(replica: tuple[Replica, ReplicaHandle]) -> None:
    _, handle = replica
    for target in ("app-1", "app-2"):
        client = pinned(handle.url, target)
        assert {served_by(client, handle.url) for _ in range(30)} == {target}


def test_cors_twin_alone_keeps_the_client_sticky(replica: tuple[Replica, ReplicaHandle]) -> None:
    _, handle = replica
    client = pinned(handle.url, "app-2")
    cors_only = {"AWSALBCORS": client.cookies["AWSALB"]}
    seen = {
        requests.get(handle.url + "/", cookies=cors_only, timeout=TIMEOUT).headers["X-Instance-Id"]
        for _ in range(10)
    }
    assert seen == {"app-2"}


def test_garbage_cookie_is_balanced_anew_and_reissued(
    replica: tuple[Replica, ReplicaHandle],
) -> None:
    _, handle = replica
    seen = set()
    for _ in range(10):
        resp = requests.get(
            handle.url + "/", cookies={"AWSALB": "not-a-real-cookie"}, timeout=TIMEOUT
        )
        seen.add(resp.headers["X-Instance-Id"])
        assert set_cookies(resp)["AWSALB"].value != "not-a-real-cookie"
    assert seen == {"app-1", "app-2"}


def test_foreign_cookie_is_balanced_anew(replica: tuple[Replica, ReplicaHandle]) -> None:
    _, handle = replica
    with running_replica(ReplicaConfig()) as (_, other):
        foreign = pinned(other.url, "app-1").cookies["AWSALB"]
    seen = {
        requests.get(handle.url + "/", cookies={"AWSALB": foreign}, timeout=TIMEOUT).headers[
            "X-Instance-Id"
        ]
        for _ in range(10)
    }
    assert seen == {"app-1", "app-2"}


def test_https_listener_issues_secure_twin_and_stays_sticky(
    replica: tuple[Replica, ReplicaHandle],
) -> None:
    _, handle = replica
    client = requests.Session()
    client.trust_env = False  # else REQUESTS_CA_BUNDLE overrides session.verify
    client.verify = handle.ca_file  # the replica's self-signed certificate, verified
    first = client.get(handle.https_url + "/", timeout=TIMEOUT)
    assert {"AWSALB", "AWSALBCORS"} <= set(set_cookies(first))
    assert "AWSALBCORS" in client.cookies, "a Secure cookie is kept over https"
    target = first.headers["X-Instance-Id"]
    assert {served_by(client, handle.https_url) for _ in range(10)} == {target}


def test_stickiness_lapses_after_the_idle_duration() -> None:
    with running_replica(ReplicaConfig(stickiness_seconds=2)) as (_, handle):
        clients = [pinned(handle.url, "app-1") for _ in range(6)]
        time.sleep(3.2)
        after = [client.get(handle.url + "/", timeout=TIMEOUT) for client in clients]
        moved = [r for r in after if r.headers["X-Instance-Id"] == "app-2"]
        assert moved, "after the idle duration, requests must be balanced anew"
        assert all("AWSALB" in set_cookies(r) for r in after)


def test_every_response_restarts_the_idle_clock() -> None:
    with running_replica(ReplicaConfig(stickiness_seconds=2)) as (_, handle):
        client = pinned(handle.url, "app-1")
        seen = set()
        for _ in range(5):  # 5 x 1.2 s = 6 s, three times the duration, never 2 s idle
            time.sleep(1.2)
            seen.add(served_by(client, handle.url))
        assert seen == {"app-1"}


def test_no_cookie_without_stickiness() -> None:
    with running_replica(ReplicaConfig(stickiness_enabled=False)) as (_, handle):
        resp = requests.get(handle.url + "/", timeout=TIMEOUT)
        assert not {"AWSALB", "AWSALBCORS"} & set(set_cookies(resp))
