"""What the balancer changes, proven through the CLI on every front end, and its helpers unit-tested
against real servers on 127.0.0.1.

- A healthy replica passes the balancer suite three times in a row on the ALB, Caddy and nginx
  (every other suite's healthy runs, in test_other_balancers, run it too).
- Each fault fails its check with the finding's name on every front end (each has an HTTPS
  listener, reuses idle connections and forwards the client address, so none is refused).
- The replica runs with a 3 s idle timeout (PARITY_REPLICA_IDLE_TIMEOUT) so the keep-alive check
  waits 5 s, not 62 s.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.helpers import parity

FRONTS = ("alb", "caddy", "nginx")
IDLE = {"PARITY_REPLICA_IDLE_TIMEOUT": "3"}
HEALTHY_RUNS = 3
KEEPALIVE = "test_targets_outlast_the_balancer_idle_timeout"
REDIRECTS = "test_redirects_stay_on_https_and_the_balancer"
COOKIE = "test_session_cookie_is_secure_over_https"
CLIENT_IP = "test_app_sees_the_callers_address"
LONGEST = "test_longest_request_within_idle_timeout"
TLS_CHECKS = (REDIRECTS, COOKIE)
# fault: (the check that catches it, the finding it names, the fronts it applies to)
MATRIX = {
    "short-keepalive": (KEEPALIVE, "keepalive-race", FRONTS),
    "ignores-forwarded-proto": (REDIRECTS, "redirect-loop", FRONTS),
    "internal-redirect": (REDIRECTS, "internal-redirect", FRONTS),
    "insecure-cookie": (COOKIE, "insecure-cookie", FRONTS),
    "trusts-balancer-ip": (CLIENT_IP, "trusts-balancer-ip", FRONTS),
}
CASES = [(f, b) for f, (_, _, fronts) in MATRIX.items() for b in fronts]


def _up(home: Path, balancer: str, *faults: str) -> None:
    args = [a for f in faults for a in ("--fault", f)]
    done = parity(home, "up", "--balancer", balancer, *args, env=IDLE)
    assert done.returncode == 0, done.stderr


def _check(home: Path, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    reports = home / "reports"
    done = parity(home, "check", "--suite", "balancer", "--report-dir", str(reports), *args)
    results = json.loads((reports / "latest" / "results.json").read_text())
    return done.returncode, {c["name"]: c for c in results["checks"]}


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.parametrize("balancer", FRONTS)
def test_a_healthy_front_end_passes_the_balancer_suite_three_times(
    tmp_path: Path, balancer: str
) -> None:
    _up(tmp_path, balancer)
    try:
        for run in range(1, HEALTHY_RUNS + 1):
            code, checks = _check(tmp_path)
            bad = {n: c["message"][:300] for n, c in checks.items() if c["outcome"] == "failed"}
            assert code == 0 and not bad, f"{balancer} run {run}: {bad}"
            for name in (*TLS_CHECKS, KEEPALIVE, CLIENT_IP, LONGEST):
                assert checks[name]["outcome"] == "passed", (name, checks[name]["message"])
    finally:
        parity(tmp_path, "down")


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.parametrize(("fault", "balancer"), CASES)
def test_each_fault_fails_its_check_with_its_name(
    tmp_path: Path, fault: str, balancer: str
) -> None:
    check, finding, _ = MATRIX[fault]
    _up(tmp_path, balancer, fault)
    try:
        code, checks = _check(tmp_path)
    finally:
        parity(tmp_path, "down")
    assert code != 0
    assert checks[check]["outcome"] == "failed", checks[check]
    assert checks[check]["message"].startswith(f"[{finding}]"), checks[check]["message"]
    if fault == "short-keepalive":
        paced = checks[check]["evidence"]["paced_run"]
        assert sum(paced["outcomes"].values()) == 30, paced
        assert "closes idle connections after 1." in checks[check]["message"]
        faulty = checks[check]["message"].split(": ", 1)[1].split()[0]  # "app-2 closes idle ..."
        answered = {key.split()[0] for key in paced["outcomes"]}
        if balancer != "nginx":  # pinned by the sticky cookie; nginx has none to pin with
            assert answered <= {faulty, "balancer", "cut"}, (faulty, paced)
        if balancer == "alb":  # the race met: real 502s from HAProxy, which retries not (an ALB)
            races = sum(n for key, n in paced["outcomes"].items() if key.endswith((" 502", "cut")))
            assert races > 0, paced


def test_every_front_end_can_have_these_faults() -> None:
    """Each front end terminates TLS, reuses idle connections and forwards the client address,
    so none of these faults is refused (`check_for_front`)."""
    from harness.replica.faults import FAULTS, check_for_front

    for balancer in FRONTS:
        check_for_front(tuple(MATRIX), balancer)
    assert set(MATRIX) <= set(FAULTS)


@pytest.mark.servers
@pytest.mark.slow
def test_a_request_longer_than_the_idle_timeout_is_caught(tmp_path: Path) -> None:
    """The replica's ALB answers 504 once a request outlives its idle timeout (3 s here)."""
    from importlib import resources

    profile = yaml.safe_load(
        resources.files("harness.profile").joinpath("replica.yaml").read_text()
    )
    profile["expect"]["longest_request"] = {"path": "/slow?seconds=5", "seconds": 5}
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(profile))
    _up(tmp_path, "alb")
    try:
        _, checks = _check(tmp_path, "--env-file", str(path))
    finally:
        parity(tmp_path, "down")
    message = checks[LONGEST]["message"]
    assert checks[LONGEST]["outcome"] == "failed" and message.startswith("[idle-timeout]")
    assert "HTTP 504" in message, message


# ---- the helpers, against a real tiny server -----------------------------------------------
ROUTES = {"/a": "/b", "/b": "/a", "/start": "/end", "/out": "http://x.invalid/"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 1.0  # closes an idle keep-alive connection after 1 s
    routes = ROUTES

    def do_GET(self) -> None:
        target = self.routes.get(self.path)
        self.send_response(302 if target else 200)
        if target:
            self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.servers
def test_idle_keepalive_measures_when_the_server_closes(server: str) -> None:
    from harness.traffic.keepalive import idle_keepalive

    measured = idle_keepalive(f"{server}/", bound=3.0)
    assert measured.seconds is not None and 0.9 <= measured.seconds <= 1.5, measured
    assert idle_keepalive(f"{server}/", bound=0.5).seconds is None  # still open at the bound


@pytest.mark.servers
def test_idle_keepalive_of_a_server_without_keepalive_is_zero() -> None:
    from harness.traffic.keepalive import idle_keepalive

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def answer_and_close() -> None:
            conn, _ = listener.accept()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            conn.close()

        thread = threading.Thread(target=answer_and_close)
        thread.start()
        assert idle_keepalive(f"http://127.0.0.1:{port}/", bound=2.0).seconds == 0.0
        thread.join(timeout=5)


@pytest.mark.servers
def test_paced_run_counts_answers_by_target(server: str) -> None:
    from harness.traffic.keepalive import paced_run

    run = paced_run(f"{server}/", 0.05, 4, "X-Instance-Id")
    assert run.outcomes == {"balancer 200": 4} and run.failures() == 0
    started = time.monotonic()
    closed = paced_run("http://127.0.0.1:9/", 0.0, 2, "X-Instance-Id")  # nothing listens
    assert closed.failures() == 2 and time.monotonic() - started < 5


@pytest.mark.servers
def test_follow_finds_a_loop_an_end_and_a_bad_hop(server: str) -> None:
    from harness.traffic.redirects import bad_locations, follow

    with requests.Session() as session:
        loop = follow(session, f"{server}/a")
        assert loop.loop and [h.status for h in loop.hops] == [302, 302]
        ends = follow(session, f"{server}/start")
        assert not ends.loop and ends.hops[-1].status == 200
        assert ends.locations == [f"{server}/end"]
        out = follow(session, f"{server}/out")
        assert out.hops[-1].error  # x.invalid never answers
        host = server.removeprefix("http://")
        assert bad_locations(ends, {host}) == [f"{server}/end"]  # http, and a target's own
        assert follow(session, f"{server}/a", max_hops=1).cut


@pytest.mark.servers
def test_follow_stops_after_ten_hops(server: str) -> None:
    from harness.traffic.redirects import MAX_HOPS, follow

    ROUTES.update({f"/c{i}": f"/c{i + 1}" for i in range(20)})
    with requests.Session() as session:
        chain = follow(session, f"{server}/c0")
    assert chain.cut and len(chain.hops) == MAX_HOPS
