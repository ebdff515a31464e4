"""`parity check`: exit codes, report folder, JUnit, redaction, escaping, a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.report.html import render
from harness.report.redact import redact_text
from tests.helpers import parity

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "reports" / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def healthy(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    home = tmp_path_factory.mktemp("healthy")
    result = parity(
        home,
        "check",
        "--suite",
        "topology",
        "--suite",
        "sticky",
        "--suite",
        "failover",
        "--suite",
        "distribution",
        "--with-load",
        "drain_during_load",
        "--load-run-time",
        "9s",
        "--load-users",
        "6",
        "--report-dir",
        str(home / "reports"),
        "--app-revision",
        "abc1234",
    )
    return result, home / "reports" / "latest"


@pytest.fixture(scope="module")
def skewed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path, str]:
    home = tmp_path_factory.mktemp("skewed")
    assert parity(home, "up", "--fault", "version-skew").returncode == 0
    try:
        state = json.loads((home / "replica.json").read_text())
        from harness.replica.control import ReplicaControl

        password = ReplicaControl(state["control_url"], state["token"]).password()
        result = parity(
            home,
            "check",
            "--suite",
            "topology",
            "--suite",
            "sharing",
            "--report-dir",
            str(home / "reports"),
        )
    finally:
        parity(home, "down")
    return result, home / "reports" / "latest", password


@pytest.mark.servers
@pytest.mark.slow
def test_a_passing_check_exits_0_and_writes_every_artifact(healthy: tuple) -> None:
    result, folder = healthy
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert folder.is_symlink()
    names = {p.name for p in folder.iterdir()}
    assert {"index.html", "junit.xml", "results.json", "load-drain_during_load.json"} <= names
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "passed" and results["run"]["app_revision"] == "abc1234"
    assert "PASSED: report" in result.stdout
    cases = list(ET.parse(folder / "junit.xml").getroot().iter("testcase"))
    assert len(cases) == len(results["checks"]) + len(results["load"]["gates"])
    assert "load:" in result.stderr and "test_failover.py" in result.stderr  # progress


@pytest.mark.servers
@pytest.mark.slow
def test_sign_off_names_the_build_under_test_and_what_was_not_covered(healthy: tuple) -> None:
    """The build(s) the targets named, in the console, the JSON and the report's header; every
    skipped check in a "not covered" list with its reason (issue 24)."""
    result, folder = healthy
    results = json.loads((folder / "results.json").read_text())
    assert results["builds"] == {"build-1": ["app-1", "app-2"]}
    assert "build under test: build-1 on app-1, app-2" in result.stdout
    skipped = [c for c in results["checks"] if c["outcome"] == "skipped"]
    assert skipped and len(results["not_covered"]) == len(skipped)
    lapse = next(u for u in results["not_covered"] if u["check"].startswith("Stickiness lapses"))
    assert lapse["suite"] == "sticky" and "too long to wait for" in lapse["reason"], lapse
    assert f"not covered ({len(skipped)} checks skipped; they prove nothing):" in result.stdout
    html = (folder / "index.html").read_text()
    assert 'id="builds">Build under test: build-1 on app-1, app-2' in html
    assert f'id="not-covered">Not covered ({len(skipped)} checks skipped' in html


@pytest.mark.servers
@pytest.mark.slow
def test_a_finding_exits_1_with_its_evidence_in_junit_and_html(skewed: tuple) -> None:
    result, folder, _ = skewed
    assert result.returncode == 1
    assert "FAILED: report" in result.stdout
    failures = {
        c.get("name"): c.find("failure")
        for c in ET.parse(folder / "junit.xml").getroot().iter("testcase")
    }
    build = failures["test_every_target_serves_the_same_build"]
    assert build is not None and "[version-skew]" in build.get("message", "")
    assert "app-2 serves build-1-previous" in (build.text or "")
    assert "evidence:" in (build.text or "") and "GET /version" in (build.text or "")
    page = (folder / "index.html").read_text()
    assert "FAILED: do not deploy" in page and "[version-skew] version skew" in page


@pytest.mark.servers
@pytest.mark.slow
def test_no_secret_reaches_any_report_file(healthy: tuple, skewed: tuple) -> None:
    _, folder, password = skewed
    for directory in (healthy[1], folder):
        for path in directory.iterdir():
            text = path.read_text()
            assert password not in text, f"password in {path.name}"
            assert not re.search(r"AWSALB(CORS)?=[0-9A-F]{32}", text), f"cookie in {path.name}"
            assert not re.search(r"session=(?!<redacted>)[\w-]{20,}", text), path.name


def test_server_text_is_escaped_so_it_cannot_inject_script() -> None:
    hostile = "<script>alert(1)</script>"
    results = {
        "verdict": "failed",
        "run": {"id": "x", "started": "now"},
        "load": None,
        "diff": None,
        "environment": {"name": hostile, "source": "s", "provider": "static", "production": False},
        "topology": {
            "entry_url": hostile,
            "redis_url": None,
            "load_balancer": {"name": hostile, "kind": "static", "dns_name": None, "listeners": []},
            "target_groups": [],
        },
        "checks": [
            {
                "id": "t",
                "suite": "topology",
                "name": "test_x",
                "outcome": "failed",
                "duration": 0.1,
                "message": f"[version-skew] {hostile}",
                "evidence": {
                    "distribution": {
                        "observed": {hostile: 3},
                        "p_value": 0.5,
                        "expected": {hostile: 3.0},
                    }
                },
            }
        ],
    }
    page = render(results)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_redaction_masks_cookies_passwords_tokens_and_keys() -> None:
    text = (
        'Set-Cookie: AWSALB=0A1B2C3D; Path=/  Cookie: a=b  {"password": "pw1"} '
        "Authorization: Bearer x.y AKIAABCDEFGHIJKLMNOP redis://:s3cret@h:6379/0 mine-secret"
    )
    out = redact_text(text, ("mine-secret",))
    for secret in (
        "0A1B2C3D",
        "a=b",
        "pw1",
        "Bearer",
        "AKIAABCDEFGHIJKLMNOP",
        "s3cret",
        "mine-secret",
    ):
        assert secret not in out
    assert "Set-Cookie: AWSALB=<redacted>; Path=/" in out


@pytest.mark.servers
@pytest.mark.slow
def test_report_rerenders_from_results_json(healthy: tuple, tmp_path: Path) -> None:
    _, folder = healthy
    out = tmp_path / "again.html"
    result = parity(tmp_path, "report", str(folder / "results.json"), "--out", str(out))
    assert result.returncode == 0
    assert out.read_text() == (folder / "index.html").read_text()
    bad = parity(tmp_path, "report", str(folder / "junit.xml"))
    assert bad.returncode == 2 and "not a results.json" in bad.stderr


def test_unreachable_environment_exits_3(tmp_path: Path) -> None:
    profile = tmp_path / "down.yaml"
    profile.write_text(
        "name: down\ntopology:\n  provider: aws\n  load_balancer: x\n"
        "  region: us-east-1\n  endpoint_url: http://127.0.0.1:9\n"
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "PARITY_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "check",
            "--env-file",
            str(profile),
            "--report-dir",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.strip().startswith("parity: error: cannot reach the AWS endpoint")


@pytest.mark.servers
@pytest.mark.slow
def test_report_opens_in_chromium_with_charts_and_no_console_errors(
    healthy: tuple, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is installed by `make test` (scripts/install-system-deps)"
    page = (healthy[1] / "index.html").resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, *profile, "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-500:]
    charts = re.findall(r'<svg class="chart".*?</svg>', dom.stdout, re.S)
    assert len(charts) >= 5
    assert all(("<rect" in c and 'class="bar"' in c) or "<polyline" in c for c in charts)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    run = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            *profile,
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,3600",
            f"--screenshot={shot}",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0 and shot.stat().st_size > 50_000
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console


def test_redaction_keeps_a_sentence_about_a_cookie_and_masks_the_header() -> None:
    """A regression: "cookie:" in Parity's own diagnosis swallowed the rest of the sentence."""
    said = "[no-stickiness] the session cookie: signed on app-1, rejected by app-2 (HTTP 401)"
    assert redact_text(said) == said
    assert redact_text("Cookie: sessionid=abc123; theme=dark") == "Cookie: <redacted>"
    assert "abc123" not in redact_text('{"cookie": "sessionid=abc123"}')
