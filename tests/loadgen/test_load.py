"""Load: evidence merges exactly, gates, and real Locust runs against the replica."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli.durations import parse_duration
from harness.errors import UsageError
from harness.loadgen.evidence import Evidence
from harness.loadgen.gates import Gate, check, metrics, unmeasured
from harness.stats import percentiles_ms
from tests.helpers import parity

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Path]:
    """A replica started with `parity up` (so workers and master share it)."""
    assert parity(tmp_path, "up", "--deregistration-delay", "2").returncode == 0
    yield tmp_path
    parity(tmp_path, "down")


def _evidence(report_dir: Path) -> dict:
    (path,) = report_dir.glob("load-*.json")
    return json.loads(path.read_text())


def test_worker_deltas_merge_exactly_into_the_master() -> None:
    workers, single, master = [Evidence(), Evidence()], Evidence(), Evidence()
    for i in range(2000):
        ms = 1 + (i * 7919 % 997) / 10
        target = "app-1" if i % 3 else "app-2"
        workers[i % 2].record(target, ms, failed=i % 500 == 0, now=1000 + i // 400)
        single.record(target, ms, failed=i % 500 == 0, now=1000 + i // 400)
    for worker in workers:
        master.merge(json.loads(json.dumps(worker.take_delta())))  # as sent over the wire
    merged, expected = master.to_json(), single.to_json()
    assert merged["targets"] == expected["targets"]
    assert merged["totals"] == {"requests": 2000, "errors": 4, "sessions": 0}
    assert merged["timeline"] == expected["timeline"]
    assert (
        sum(sum(t["requests"] for t in s["targets"].values()) for s in merged["timeline"]) == 2000
    )
    assert workers[0].to_json()["totals"]["requests"] == 0, "a delta starts the worker over"


def test_histograms_keep_three_significant_digits() -> None:
    evidence = Evidence()
    for _ in range(99):
        evidence.record("app-1", 12.345, failed=False)
    evidence.record("app-1", 987.6, failed=False)
    latency = percentiles_ms(evidence.histograms["app-1"])
    assert latency["p50"] == pytest.approx(12.345, rel=1e-3)
    assert latency["max"] == pytest.approx(987.6, rel=1e-3)


def test_gates_parse_and_check() -> None:
    gates = [Gate.parse("p95_ms < 300"), Gate.parse("sticky_violations == 0")]
    results = check(gates, {"p95_ms": 310.0, "sticky_violations": 0.0})
    assert [r.passed for r in results] == [False, True]
    assert results[0].line() == "FAIL  p95_ms < 300  (measured 310)"
    with pytest.raises(UsageError, match=r"--gate 'p95 < 3': write METRIC OP NUMBER"):
        Gate.parse("p95 < 3")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("30s", 30), ("5m", 300), ("1h30m", 5400)]
)
def test_run_time_parses(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.servers
def test_users_above_the_safety_cap_are_refused(tmp_path: Path) -> None:
    result = parity(tmp_path, "load", "--users", "500")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "parity: error: --users 500 is above safety.max_users 200 of <built-in replica.yaml>"
    )


@pytest.mark.servers
@pytest.mark.slow
def test_sticky_users_run_writes_evidence_and_passes_its_gates(up: Path) -> None:
    result = parity(up, "load", "--users", "8", "--run-time", "6s", "--report-dir", str(up / "r"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  sticky_violations == 0" in result.stdout
    body = _evidence(up / "r")
    ev = body["evidence"]
    assert set(ev["targets"]) == {"app-1", "app-2"}
    assert sum(t["sessions"] for t in ev["targets"].values()) == 8
    assert sum(t["requests"] for t in ev["targets"].values()) == ev["totals"]["requests"] > 100
    assert ev["targets"]["app-1"]["latency_ms"]["p95"] > 0
    assert ev["timeline"] and {"second", "targets"} <= set(ev["timeline"][0])
    # every user logged out when the run ended: no test session is left in the store
    assert ev["test_sessions"] == {"made": 8, "logged_out": 8, "left": 0}, ev["test_sessions"]
    assert "test sessions: 8 made by this run: 8 logged out, 0 left" in result.stdout


# Locust's master binds 127.0.0.1:5557: two distributed runs at once (two xdist workers) collide.
LOCUST_MASTER = "locust-master-port"


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.xdist_group(LOCUST_MASTER)
def test_processes_merge_worker_evidence_in_the_master(up: Path) -> None:
    result = parity(
        up,
        "load",
        "--users",
        "8",
        "--run-time",
        "10s",  # two worker processes start and connect first: 6 s was not enough under load
        "--processes",
        "2",
        "--report-dir",
        str(up / "r"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ev = _evidence(up / "r")["evidence"]
    assert sum(t["requests"] for t in ev["targets"].values()) == ev["totals"]["requests"] > 100
    assert sum(t["sessions"] for t in ev["targets"].values()) == 8
    assert sum(t["latency_ms"]["count"] for t in ev["targets"].values()) == ev["totals"]["requests"]
    sessions = ev["test_sessions"]
    assert sessions["made"] == 8 and sessions["logged_out"] == 8, sessions  # the workers' too


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.xdist_group(LOCUST_MASTER)
def test_master_and_two_workers(up: Path) -> None:
    env = {**os.environ, "PARITY_HOME": str(up)}
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "load",
            "--master",
            "--expect-workers",
            "2",
            "--users",
            "6",
            "--run-time",
            "6s",
            "--report-dir",
            str(up / "r"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "load", "--worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    out, err = master.communicate(timeout=120)
    for worker in workers:
        worker.wait(timeout=60)
    assert master.returncode == 0, out + err
    ev = _evidence(up / "r")["evidence"]
    assert sum(t["sessions"] for t in ev["targets"].values()) == 6
    assert sum(t["requests"] for t in ev["targets"].values()) == ev["totals"]["requests"] > 50


@pytest.mark.servers
@pytest.mark.slow
def test_drain_during_load_attributes_moves_to_the_drain(up: Path) -> None:
    result = parity(
        up,
        "load",
        "--profile",
        "drain_during_load",
        "--users",
        "8",
        "--run-time",
        "12s",
        "--report-dir",
        str(up / "r"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    body = _evidence(up / "r")
    phases = body["evidence"]["phases"]
    assert [e["event"] for e in body["drain_events"]] == ["drain", "restore", "healthy"]
    assert phases["during"]["moves"] > 0
    assert body["evidence"]["sticky_violations"] == 0 and body["evidence"]["session_losses"] == 0
    assert body["evidence"]["totals"]["errors"] == 0
    status = json.loads(parity(up, "status", "--json").stdout)
    assert [t["state"] for t in status["targets"]] == ["healthy", "healthy"]


@pytest.mark.servers
@pytest.mark.slow
def test_a_breached_gate_exits_1(tmp_path: Path) -> None:
    assert parity(tmp_path, "up", "--fault", "no-stickiness").returncode == 0
    try:
        result = parity(
            tmp_path,
            "load",
            "--users",
            "6",
            "--run-time",
            "5s",
            "--report-dir",
            str(tmp_path / "r"),
        )
    finally:
        parity(tmp_path, "down")
    assert result.returncode == 1
    assert "FAIL  sticky_violations == 0" in result.stdout


def test_a_profile_without_a_session_contract_cannot_run_sticky_users(tmp_path: Path) -> None:
    profile = tmp_path / "lab.yaml"
    profile.write_text(
        "name: lab\nurl: http://127.0.0.1:9\ntopology:\n  provider: static\n"
        "  targets: [{id: web1}]\n"
    )
    result = parity(tmp_path, "load", "--env-file", str(profile), "--profile", "sticky_users")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"parity: error: --profile sticky_users: {profile} has no "
        "session: section (login, write, read); fresh_visitors "
        "needs none"
    )


@pytest.mark.servers
@pytest.mark.slow
def test_load_over_https_verifies_the_certificate(up: Path, tmp_path: Path) -> None:
    from harness.replica.tls import make_certificate

    https = json.loads((up / "replica.json").read_text())["https_url"]
    base = (ROOT / "harness" / "profile" / "replica.yaml").read_text()
    other = tmp_path / "other"
    other.mkdir()
    make_certificate(other)  # a CA that did not sign the replica's certificate
    gate = ["--gate", "error_ratio < 0.001", "--users", "4", "--run-time", "4s"]
    right, wrong = tmp_path / "right.yaml", tmp_path / "wrong.yaml"
    right.write_text(base + f"url: {https}\n")  # tls_verify: the replica's own CA
    wrong.write_text(base + f"url: {https}\ntls_verify: {other / 'alb.crt'}\n")
    ok = parity(up, "load", "--env-file", str(right), *gate, "--report-dir", str(tmp_path / "a"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS  error_ratio < 0.001" in ok.stdout
    refused = parity(
        up, "load", "--env-file", str(wrong), *gate, "--report-dir", str(tmp_path / "b")
    )
    assert refused.returncode == 1
    assert "FAIL  error_ratio < 0.001  (measured 1)" in refused.stdout


def test_a_recipe_without_its_write_and_read_is_refused_before_any_user_starts(
    tmp_path: Path,
) -> None:
    """A regression (review): the Locust users each raised it, one traceback per user."""
    profile = tmp_path / "lab.yaml"
    profile.write_text(
        "name: lab\nurl: http://127.0.0.1:9\ntopology:\n  provider: static\n"
        "  targets: [{id: web1}]\nsession:\n  cookie: sid\n"
        "  login: {method: POST, path: /login}\n"
    )
    result = parity(tmp_path, "load", "--env-file", str(profile), "--profile", "sticky_users")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == (
        "parity: error: session.write: the recipe needs login, write and read steps"
    )


def test_real_time_deliveries_and_losses_merge_exactly_and_gate_only_when_measured() -> None:
    workers, single, master = [Evidence(), Evidence()], Evidence(), Evidence()
    for i in range(300):
        target = "app-1" if i % 2 else "app-2"
        for evidence in (workers[i % 2], single):
            if i % 50 == 0:
                evidence.record_lost(target)
            else:
                evidence.record_delivery(target, 2 + i % 17)
    for worker in workers:
        master.merge(json.loads(json.dumps(worker.take_delta())))
    merged, expected = master.to_json(), single.to_json()
    assert merged["realtime"] == expected["realtime"]
    assert merged["messages_lost"] == 6 and merged["messages_delivered"] == 294
    measured = metrics(merged, 10.0)
    assert measured["messages_lost"] == 6.0 and measured["delivery_p95_ms"] > 0
    assert merged["totals"]["requests"] == 0
    assert measured["error_ratio"] is None and measured["p95_ms"] is None  # no request was seen
    plain = Evidence().to_json()
    assert "realtime" not in plain
    nothing = metrics(plain, 10.0)
    assert nothing["messages_lost"] is None
    (result,) = check([Gate.parse("messages_lost == 0")], nothing, unmeasured(plain))
    assert result.passed is None and "no real-time message was delivered or lost" in result.line()
    refused = Evidence()
    refused.count("realtime_refused")
    body = refused.to_json()
    assert body["realtime"]["refused"] == 1 and metrics(body, 10.0)["messages_lost"] is None


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.parametrize("fault", [None, "local-broadcast"])
def test_realtime_users_count_deliveries_and_losses_per_target(
    tmp_path: Path, fault: str | None
) -> None:
    """Users hold the replica's WebSocket open and publish: every message reaches every
    stream (healthy), or only the streams on its own instance (`local-broadcast`)."""
    flags = ("--fault", fault) if fault else ()
    assert parity(tmp_path, "up", *flags).returncode == 0
    try:
        result = parity(
            tmp_path, "load", "--profile", "realtime_users", "--users", "6", "--run-time", "5s",
            "--gate", "messages_lost == 0", "--report-dir", str(tmp_path / "r"),
        )  # fmt: skip
    finally:
        parity(tmp_path, "down")
    ev = _evidence(tmp_path / "r")["evidence"]
    rows = ev["realtime"]["targets"]
    assert set(rows) == {"app-1", "app-2"}, rows
    assert all(r["delivered"] > 0 and r["latency_ms"]["p95"] > 0 for r in rows.values()), rows
    assert "streams on" in result.stdout and "delivered" in result.stdout
    assert ev["test_sessions"]["left"] == 0, ev["test_sessions"]
    assert ev["realtime"]["opened"] == 6 and ev["realtime"]["refused"] == 0, ev["realtime"]
    assert ev["realtime"]["published"] > 0 and ev["realtime"]["publish_failed"] == 0
    if fault is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "PASS  messages_lost == 0" in result.stdout
    else:  # half the streams are on the other instance: about half the deliveries are lost
        assert result.returncode == 1, result.stdout + result.stderr
        assert all(r["lost"] > 0 for r in rows.values()), rows
        assert "FAIL  messages_lost == 0" in result.stdout
