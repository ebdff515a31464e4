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
            {"verdict": "passed", "checks": [{"id": 1}], "environment": {}, "run": {}, "topology": {}},
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
