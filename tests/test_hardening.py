"""Hostile input through the real CLI: every bad profile, flag, results file and server byte ends
in one line naming the file, field or flag (exit 2) or the evidence (exit 3), never a traceback."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.replica.processes import free_port
from tests.helpers import parity

BOMB = "name: bomb\ntopology: {provider: replica}\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
SECTIONS = ("environment", "run", "topology")
HOSTILE_BUILD = "build-\x1b]0;pwned\x07-\x1b[2J-\x00end"


def _one_line_error(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("parity: error: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (BOMB.encode(), ("bomb.yaml:3", "expands to more than 20000 values")),
        (b"name: x\n\xff\xfe\x00", ("not UTF-8 text",)),
        (b"name: x\ntopology: {provider: replica}\nx: " + b"a" * (1 << 20), ("larger than 1 MiB",)),
        (b"name: deep\nx: " + b"[" * 3000 + b"]" * 3000, ("nests",)),
        (
            b'name: "x/../../escape"\ntopology: {provider: replica}\n',
            ("name: got 'x/../../escape'", "letters, digits"),
        ),
        (
            b"name: s\nurl: ftp://h\ntopology: {provider: static, targets: [{id: a}]}\n",
            ("url: got 'ftp://h'", "http:// or https://"),
        ),
        (
            b"name: s\nurl: http://h\ntopology: {provider: static, targets: [{id: a, url: x}]}\n",
            ("topology.targets.0.url: got 'x'",),
        ),
        (
            b"name: r\ntopology: {provider: replica}\nredis: {url: 'http://127.0.0.1:1'}\n",
            ("redis.url", "redis:// or rediss:// or unix://"),
        ),
    ],
    ids=["alias-bomb", "binary", "huge", "deep", "name-escape", "ftp-url", "no-scheme", "redis"],
)
def test_bad_profiles_are_exit_2_naming_the_file_and_field(
    tmp_path: Path, content: bytes, needles: tuple[str, ...]
) -> None:
    profile = tmp_path / "bomb.yaml"
    profile.write_bytes(content)
    started = time.monotonic()
    done = parity(tmp_path / "home", "topology", "--env-file", str(profile), timeout=60)
    assert time.monotonic() - started < 30
    _one_line_error(done, 2, str(profile), *needles)
    assert not (tmp_path.parent / "escape").exists()


def test_env_and_env_file_together_are_refused(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("name: p\ntopology: {provider: replica}\n")
    done = parity(tmp_path, "topology", "--env", "staging", "--env-file", str(profile))
    _one_line_error(done, 2, "--env staging and --env-file", "not both")


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ({"checks": 5}, "checks must be a list"),
        ([1, 2], "the document must be an object"),
        (
            {"verdict": "passed", "checks": [{"id": 1}], **{s: {} for s in SECTIONS}},
            "checks[0].id must be a string",
        ),
        (None, "not a results.json"),
    ],
)
def test_report_on_a_wrong_results_file_names_the_field(
    tmp_path: Path, document: object, needle: str
) -> None:
    path = tmp_path / "results.json"
    if document is None:
        path.write_bytes(b"\xff\xfe{")
    else:
        path.write_text(json.dumps(document))
    _one_line_error(parity(tmp_path, "report", str(path)), 2, str(path), needle)


def test_bad_load_flags_are_refused_before_any_check_runs(tmp_path: Path) -> None:
    started = time.monotonic()
    done = parity(
        tmp_path / "home", "check", "--with-load", "sticky_users", "--load-users", "0",
        "--report-dir", str(tmp_path / "reports"),
    )  # fmt: skip
    _one_line_error(done, 2, "--load-users 0: must be 1 or more")
    assert time.monotonic() - started < 15
    assert not (tmp_path / "reports").exists()  # nothing ran, nothing was written


@pytest.fixture
def redis_port() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.servers
def test_topology_is_exit_3_when_the_entry_is_not_http_or_a_target_is_closed(
    tmp_path: Path, redis_port: int
) -> None:
    closed = free_port()
    profile = tmp_path / "s.yaml"
    profile.write_text(
        f"name: s\nurl: http://127.0.0.1:{redis_port}\ntopology:\n  provider: static\n"
        f"  targets: [{{id: web-1, url: 'http://127.0.0.1:{closed}'}}]\n"
    )
    done = parity(tmp_path, "topology", "--env-file", str(profile))
    _one_line_error(
        done,
        3,
        f"entry http://127.0.0.1:{redis_port}: it answers, but not as an HTTP server",
        f"target web-1 http://127.0.0.1:{closed}: connection refused",
    )
    assert "target group static" in done.stdout  # what was resolved is still shown
    resolved_only = parity(tmp_path, "topology", "--env-file", str(profile), "--no-probe")
    assert resolved_only.returncode == 0, resolved_only.stderr


class _Hostile(BaseHTTPRequestHandler):
    """A real app instance whose build string and instance id carry terminal escapes."""

    build = "build-1"

    def do_GET(self) -> None:
        body = json.dumps({"build": self.build}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Instance-Id", self.server.server_address[1].__str__())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def two_builds() -> Iterator[tuple[int, int]]:
    hostile = type("HostileBuild", (_Hostile,), {"build": HOSTILE_BUILD})
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), h) for h in (_Hostile, hostile)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield servers[0].server_address[1], servers[1].server_address[1]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.mark.servers
def test_server_text_reaches_neither_terminal_nor_junit_raw(
    tmp_path: Path, two_builds: tuple[int, int]
) -> None:
    a, b = two_builds
    profile = tmp_path / "hostile.yaml"
    profile.write_text(
        f"name: hostile\nurl: http://127.0.0.1:{a}\ntopology:\n  provider: static\n  targets:\n"
        f"    - {{id: '{a}', url: 'http://127.0.0.1:{a}'}}\n"
        f"    - {{id: '{b}', url: 'http://127.0.0.1:{b}'}}\n"
        "expect:\n  targets: 2\n  version: {path: /version, json: /build}\n"
    )
    reports = tmp_path / "reports"
    done = parity(
        tmp_path / "home", "check", "--env-file", str(profile), "--suite", "topology",
        "-k", "same_build", "--report-dir", str(reports),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[version-skew]" in done.stdout
    for text in (done.stdout, done.stderr):
        assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
    assert "\\x1b]0;pwned\\x07" in done.stdout  # shown as escapes: the evidence stays readable
    suite = ET.parse(reports / "latest" / "junit.xml").getroot()  # well-formed XML
    failure = suite.find(".//failure")
    assert failure is not None and "version-skew" in failure.get("message", "")


REPLICA_PROFILE = Path(__file__).resolve().parent.parent / "harness" / "profile" / "replica.yaml"


def _check(tmp_path: Path, profile: Path, *suites: str) -> subprocess.CompletedProcess[str]:
    args = [a for s in suites for a in ("--suite", s)]
    return parity(
        tmp_path / "home", "check", "--env-file", str(profile), *args,
        "--report-dir", str(tmp_path / "reports"),
    )  # fmt: skip


def _outcomes(tmp_path: Path) -> dict[str, tuple[str, str]]:
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    return {c["name"]: (c["outcome"], c["message"]) for c in results["checks"]}


@pytest.mark.servers
def test_checks_with_no_healthy_target_error_and_never_pass(tmp_path: Path) -> None:
    closed = free_port()
    profile = tmp_path / "closed.yaml"
    profile.write_text(
        f"name: closed\nurl: http://127.0.0.1:{closed}\ntopology:\n  provider: static\n"
        f"  targets: [{{id: a, url: 'http://127.0.0.1:{closed}'}}, "
        f"{{id: b, url: 'http://127.0.0.1:{closed}'}}]\n"
    )
    done = _check(tmp_path, profile, "sticky", "distribution")
    assert done.returncode == 3, done.stdout + done.stderr
    outcomes = _outcomes(tmp_path)
    assert "passed" not in {o for o, _ in outcomes.values()}, outcomes
    for name in ("test_pinned_clients_stay_on_their_target", "test_fresh_clients_spread_evenly"):
        outcome, message = outcomes[name]
        assert outcome == "error" and "no healthy target to send requests to" in message


@pytest.mark.servers
def test_a_contract_that_works_on_no_target_is_exit_2_naming_step_path_status(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "wrong.yaml"
    text = REPLICA_PROFILE.read_text().replace("path: /login", "path: /signin")
    profile.write_text(text.replace("name: replica", "name: wrong-login"))
    done = _check(tmp_path, profile, "sharing")
    assert done.returncode == 2, done.stdout + done.stderr
    outcome, message = _outcomes(tmp_path)["test_session_made_on_one_target_works_on_every_other"]
    assert outcome == "error"
    assert "works on no target: on app-1: login answered 404" in message
    assert "(POST /signin)" in message


@pytest.mark.servers
def test_an_unreachable_store_is_an_error_naming_its_url_without_the_password(
    tmp_path: Path,
) -> None:
    port = free_port()
    profile = tmp_path / "store.yaml"
    text = REPLICA_PROFILE.read_text().replace("name: replica", "name: store-down")
    profile.write_text(
        text.replace("redis:\n", f"redis:\n  url: 'redis://:hunter2secret@127.0.0.1:{port}/0'\n")
    )
    done = _check(tmp_path, profile, "sharing")
    assert done.returncode == 3, done.stdout + done.stderr
    outcome, message = _outcomes(tmp_path)["test_session_is_in_the_store_with_a_ttl"]
    assert outcome == "error" and f"127.0.0.1:{port}/0 cannot be used" in message
    everything = (
        done.stdout
        + done.stderr
        + "".join(p.read_text() for p in (tmp_path / "reports").rglob("*") if p.is_file())
    )
    assert "hunter2secret" not in everything
    unreachable = profile.read_text().replace("redis:\n", "redis:\n  reachable: false\n")
    profile.write_text(unreachable)
    skipped = _check(tmp_path, profile, "sharing")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    outcome, message = _outcomes(tmp_path)["test_session_is_in_the_store_with_a_ttl"]
    assert outcome == "skipped" and "redis.reachable" in message


def test_a_load_run_that_completes_no_request_never_passes(
    tmp_path: Path, hung_balancer: int
) -> None:
    profile = tmp_path / "hung.yaml"
    url = f"http://127.0.0.1:{hung_balancer}"
    profile.write_text(
        f"name: hung\nurl: {url}\ntopology:\n  provider: static\n"
        f"  targets: [{{id: a, url: '{url}'}}]\n"
    )
    done = parity(
        tmp_path / "home", "load", "--env-file", str(profile), "--profile", "fresh_visitors",
        "--users", "2", "--run-time", "2s", "--report-dir", str(tmp_path / "reports"),
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]  # after the progress lines
    assert last.startswith("parity: error: no request was made"), done.stderr
    assert f"completed no request to {url}" in last and "Traceback" not in done.stderr


DRIVER = '''
from harness.traffic.contract import RecipeDriver

STEPS = {
    "login": {"method": "POST", "path": "/login", "expect_status": 200,
              "json": {"username": "{username}", "password": "{password}"}},
    "write": {"method": "PUT", "path": "/session/{key}", "expect_status": 200,
              "json": {"value": "{value}"}},
    "read": {"method": "GET", "path": "/session", "expect_status": 200,
             "extract": {"value": {"json": "/data/{key}"}}},
}


class ShopDriver(RecipeDriver):
    """The app's own driver: its steps live here, not in the profile."""

    def __init__(self, recipe, secrets):
        super().__init__({**recipe, **STEPS}, secrets)
'''


@pytest.mark.servers
def test_load_users_drive_sessions_with_the_profiles_python_driver(tmp_path: Path) -> None:
    (tmp_path / "shop_driver.py").write_text(DRIVER)
    text = REPLICA_PROFILE.read_text().replace("name: replica", "name: own-driver")
    session = text.index("session:")
    rest = text[session:].split("\nredis:", 1)[1]
    profile = tmp_path / "own-driver.yaml"
    profile.write_text(
        text[:session]
        + 'session:\n  driver: "shop_driver:ShopDriver"\n  cookie: session\n'
        + '  credentials: {username: "u-{n}", password: "{replica_password}"}\nredis:'
        + rest
    )
    done = parity(
        tmp_path / "home", "load", "--env-file", str(profile), "--profile", "sticky_users",
        "--users", "2", "--run-time", "6s", "--report-dir", str(tmp_path / "reports"),
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    evidence = json.loads(next((tmp_path / "reports").glob("load-*.json")).read_text())
    assert evidence["evidence"]["totals"]["requests"] > 6  # past the two logins: the loop ran
    assert sum(t["sessions"] for t in evidence["evidence"]["targets"].values()) == 2


@pytest.mark.servers
def test_a_k_expression_pytest_cannot_parse_is_exit_2(tmp_path: Path) -> None:
    done = parity(tmp_path / "home", "check", "--suite", "topology", "-k", "a and",
                  "--report-dir", str(tmp_path / "reports"))  # fmt: skip
    _one_line_error(done, 2, "pytest refused the run", "Wrong expression passed to '-k'")
