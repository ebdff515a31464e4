"""The virtual user's cookies, as a browser that only ever talks to the balancer would hold them
(issue 23, item 7): one cookie per name when targets are reached directly on other hosts, the
latest one sent; adopted cookies reach an IPv6 literal entry URL. Real servers: the in-process
replica, and a real HTTP server on ::1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.replica.running import ReplicaHandle, running_replica
from harness.replica.spec import ReplicaConfig
from harness.replica.supervisor import Replica
from harness.traffic.client import Identity, Route, VirtualUser

pytestmark = pytest.mark.servers

IDENTITY = Identity(header="X-Instance-Id")


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Replica, ReplicaHandle]]:
    with running_replica(ReplicaConfig(instances=2)) as running:
        yield running


def test_a_direct_route_on_another_host_sends_the_latest_session_cookie_only(
    pair: tuple[Replica, ReplicaHandle],
) -> None:
    """The balancer named `localhost`, the targets by address: two cookie hosts. A session made
    directly on a target, then a new one through the balancer: the direct route must send the
    new one, once (it sent the old one: a stale cookie first, as frameworks read it)."""
    replica, handle = pair
    target = replica.targets()[0]
    entry = handle.url.replace("127.0.0.1", "localhost")
    user = VirtualUser(entry, IDENTITY, name="two-hosts")
    direct = Route(target.id, str(target.url), direct=True)
    first = user.request("POST", "/login", route=direct, json=_credentials(replica, 1))
    old = first.cookies.get("session")
    assert old, "the direct login set a session cookie"
    second = user.request("POST", "/login", json=_credentials(replica, 2))
    new = second.cookies.get("session")
    assert new
    assert user.cookie("session") == new
    echoed = user.request("GET", "/session", route=direct)
    assert (
        echoed.status_code == 200 and echoed.json()["user"] == _credentials(replica, 2)["username"]
    )
    assert [c.name for c in user.http.cookies].count("session") == 1
    ended = user.request("POST", "/logout", route=direct)  # deletes the cookie from that host
    assert ended.status_code == 200
    assert user.cookie("session") is None, "a cookie deleted on a direct route is gone"


def _credentials(replica: Replica, n: int) -> dict[str, str]:
    return {"username": f"parity-user-{n}", "password": replica.password}


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (self.headers.get("Cookie") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def test_adopted_cookies_reach_an_ipv6_literal_entry_url() -> None:
    try:
        server = _Server6(("::1", 0), _Echo)
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        user = VirtualUser(f"http://[::1]:{server.server_address[1]}", IDENTITY)
        user.adopt({"AWSALB": "pinned"})
        assert user.request("GET", "/").text == "AWSALB=pinned"
    finally:
        server.shutdown()
        server.server_close()
