"""Deploys and rollbacks: mixed builds side by side, assets across builds, the shutdown-grace
rule, `parity replica rollout`, and `parity watch` attributing what a rollout did."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.replica.running import ReplicaHandle
from tests.helpers import parity
from tests.suite_runner import run_suites

SESSIONS = "test_compatibility::test_sessions_work_across_builds"
ASSETS = "test_compatibility::test_every_asset_is_served_by_every_target"
GRACE = "test_failover::test_app_outlives_the_deregistration_delay"
MIXED = ("--builds", "current,previous")


@contextlib.contextmanager
def replica(home: Path, *flags: str) -> Iterator[None]:
    done = parity(home, "up", *flags)
    assert done.returncode == 0, done.stderr
    try:
        yield
    finally:
        parity(home, "down")


@pytest.mark.servers
@pytest.mark.slow
def test_mixed_builds_pass_and_a_session_format_change_is_caught(tmp_path: Path) -> None:
    """`parity up --builds current,previous`: sessions carried both ways and assets from the
    shared store pass; with `session-format` the newer build's sessions are named unreadable."""
    healthy = run_suites(tmp_path / "ok", None, "suites/test_compatibility.py", up=MIXED)
    assert healthy[SESSIONS].status == "passed", healthy[SESSIONS].message[:400]
    assert healthy[ASSETS].status == "passed", healthy[ASSETS].message[:400]
    broken = run_suites(
        tmp_path / "bad", "session-format", "suites/test_compatibility.py", up=MIXED
    )
    caught = broken[SESSIONS]
    assert caught.status == "failed" and "[session-format]" in caught.message
    assert (
        "sessions written by current are unreadable on previous: HTTP 500 on GET /session"
        in caught.message
    ), caught.message[:600]
    assert "Traceback" not in caught.message
    assert broken[ASSETS].status == "passed"


@pytest.mark.servers
@pytest.mark.slow
def test_two_target_groups_on_two_builds(tmp_path: Path) -> None:
    """Blue on the current build, green on the previous one (a blue/green deploy): the same
    verdicts as two builds in one group, healthy and with `session-format`."""
    groups = ("--groups", "blue:50,green:50", "--instances", "1", *MIXED)
    healthy = run_suites(tmp_path / "ok", None, "suites/test_compatibility.py", up=groups)
    assert healthy[SESSIONS].status == "passed", healthy[SESSIONS].message[:400]
    broken = run_suites(
        tmp_path / "bad", "session-format", "suites/test_compatibility.py", up=groups
    )
    assert broken[SESSIONS].status == "failed"
    assert "sessions written by current are unreadable on previous" in broken[SESSIONS].message


@pytest.mark.servers
@pytest.mark.slow
def test_a_stray_build_shows_in_its_assets(tmp_path: Path) -> None:
    """version-skew: a second build whose assets were never published. Its sessions are
    compatible (no false alarm there); its pages reference assets no target serves."""
    outcomes = run_suites(tmp_path, "version-skew", "suites/test_compatibility.py")
    assert outcomes[SESSIONS].status == "passed", outcomes[SESSIONS].message[:400]
    caught = outcomes[ASSETS]
    assert caught.status == "failed" and "[version-skew]" in caught.message, caught.message[:400]
    assert "answers 404 on app-1 (build-1)" in caught.message, caught.message[:600]


@pytest.mark.servers
@pytest.mark.slow
def test_a_delay_longer_than_the_shutdown_grace_is_caught(tmp_path: Path) -> None:
    outcomes = run_suites(
        tmp_path,
        None,
        "suites/test_failover.py",
        "-k",
        "outlives",
        up=("--deregistration-delay", "40"),
    )
    caught = outcomes[GRACE]
    assert caught.status == "failed" and "[short-shutdown-grace]" in caught.message
    assert "deregistration delay 40 s, the app's shutdown grace" in caught.message


def _static_profile(path: Path, name: str, status: dict[str, Any], targets: list[str]) -> None:
    """A static profile of some of the replica's targets (one build's), as a team writes one."""
    base = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "harness/profile/replica.yaml").read_text()
    )
    session = dict(base["session"])
    session["credentials"] = {"username": "u-{n}", "password": "${REPLICA_PASSWORD}"}
    profile = {
        "name": name,
        "url": status["url"],
        "topology": {
            "provider": "static",
            "targets": [
                {"id": t["id"], "url": t["url"]} for t in status["targets"] if t["id"] in targets
            ],
        },
        "identity": base["identity"],
        "expect": {"version": base["expect"]["version"], "assets": base["expect"]["assets"]},
        "session": session,
    }
    path.write_text(yaml.safe_dump(profile))


@pytest.mark.servers
@pytest.mark.slow
def test_previous_env_brings_the_other_build(tmp_path: Path) -> None:
    """`parity check --env current --previous-env previous`: the two builds are two
    environments (static profiles); the compatibility suite carries sessions between them."""
    for fault in ((), ("--fault", "session-format")):
        home = tmp_path / ("bad" if fault else "ok")
        envs = home / "environments"
        envs.mkdir(parents=True)
        with replica(home, *MIXED, *fault):
            status = json.loads(parity(home, "status", "--json").stdout)
            _static_profile(envs / "current.yaml", "current", status, ["app-1"])
            _static_profile(envs / "previous.yaml", "previous", status, ["app-2"])
            state = json.loads((home / "replica.json").read_text())
            password = ReplicaHandle.from_state(state).control.password()
            done = parity(
                home,
                "check",
                "--env",
                "current",
                "--previous-env",
                "previous",
                "--suite",
                "compatibility",
                "--report-dir",
                str(home / "reports"),
                env={"REPLICA_PASSWORD": password},
                cwd=home,
            )
        if not fault:
            assert done.returncode == 0, done.stdout + done.stderr
            assert "Sessions made on each build work on the other" in done.stdout
            continue
        assert done.returncode == 1, done.stdout + done.stderr
        assert "[session-format]" in done.stdout
    bad = parity(tmp_path, "check", "--previous-env", "nowhere", "--suite", "compatibility")
    assert bad.returncode == 2 and "nowhere" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.servers
@pytest.mark.slow
def test_a_mixed_replica_declares_its_builds_and_passes_the_whole_gate(tmp_path: Path) -> None:
    """`parity up --builds current,previous` writes a profile declaring both builds
    (`expect.version.builds`): `parity check` passes on the healthy mixed replica; a build
    outside the declared ones (`version-skew`) is named."""
    with replica(tmp_path / "ok", *MIXED):
        profile = yaml.safe_load((tmp_path / "ok/replica-builds.yaml").read_text())
        assert profile["expect"]["version"]["builds"] == ["current", "previous"]
        done = parity(tmp_path / "ok", "check", "--report-dir", str(tmp_path / "ok/reports"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "[version-skew]" not in done.stdout
    with replica(tmp_path / "bad", *MIXED, "--fault", "version-skew"):
        done = parity(
            tmp_path / "bad",
            "check",
            "--suite",
            "topology",
            "--report-dir",
            str(tmp_path / "bad/reports"),
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[version-skew]" in done.stdout, done.stdout
    assert "a build outside the declared ones (expect.version.builds: current, previous)" in (
        done.stdout
    )


def test_declared_builds_are_validated(tmp_path: Path) -> None:
    base = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "harness/profile/replica.yaml").read_text()
    )
    for builds, says in (([], "1 to 20 distinct"), (["a", "a"], "1 to 20 distinct")):
        base["expect"]["version"]["builds"] = builds
        path = tmp_path / "declared.yaml"
        path.write_text(yaml.safe_dump(base))
        done = parity(tmp_path, "profile", "check", str(path))
        assert done.returncode == 2, done.stdout + done.stderr
        assert "expect.version.builds" in done.stderr and says in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


ROLLOUT = [sys.executable, "-m", "harness.cli", "replica", "rollout"]


def watch(
    home: Path, *deploy: str, flags: tuple[str, ...] = ()
) -> tuple[Any, dict[str, Any], Path]:
    """`parity watch [flags] -- deploy...` with its own report folder: the result, watch.json
    and the folder."""
    done = parity(
        home,
        "watch",
        "--settle",
        "1",
        "--report-dir",
        str(home / "reports"),
        *flags,
        "--",
        *deploy,
        timeout=300,
    )
    folders = sorted((home / "reports").glob("watch-*"))
    assert folders, done.stdout + done.stderr
    return done, json.loads((folders[-1] / "watch.json").read_text()), folders[-1]


@pytest.mark.servers
@pytest.mark.slow
def test_watch_attributes_a_healthy_rollout(tmp_path: Path) -> None:
    """A rolling deploy of the healthy replica, watched: each target's drain and build change
    seen and attributed, no error, no loss, drains that served to the end, the mixed-build
    window probed and compatible, one build at the end; exit 0."""
    with replica(tmp_path):
        done, doc, folder = watch(tmp_path, *ROLLOUT, "--build", "build-2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert doc["command_exit_code"] == 0 and doc["verdict"] == "passed"
    builds = {(t["target"], t["old"], t["new"]) for t in doc["transitions"] if t["kind"] == "build"}
    assert builds == {("app-1", "build-1", "build-2"), ("app-2", "build-1", "build-2")}
    assert all(t["what"] == "replaced" for t in doc["transitions"] if t["kind"] == "build")
    assert sorted(d["target"] for d in doc["drains"]) == ["app-1", "app-2"]
    assert doc["restarts"] == [], doc["restarts"]  # deregistered first: drains, not crashes
    for drain in doc["drains"]:
        assert drain["cut_in_flight"] == 0 and drain["fault"] is None, drain
        assert drain["last_request_after_seconds"] is not None, drain  # served in flight
        assert "holds" in drain["grace_rule"] and drain["seen_as"] == "deregistered"
        assert drain["replaced"] == "build-1 -> build-2", drain
    assert doc["load"]["requests"] > 20 and doc["load"]["session_losses"] == 0
    assert doc["load"]["errors"] == 0 and doc["load"]["sticky_violations"] == 0
    # the load's users logged out when the watch ended it (a regression: its evidence was once
    # written before they stopped, and every test session stayed in the store)
    made = doc["load"]["test_sessions"]
    assert made["made"] >= 4 and made["left"] == 0, made
    assert f"test sessions: {made['made']} made by the load: {made['made']} logged out, 0 left" in (
        done.stdout
    )
    windows = doc["mixed_windows"]
    assert windows and all(w["verdict"] != "incompatible" for w in windows), windows
    assert any(w["verdict"] == "compatible" for w in windows), windows
    end = doc["end_state"]
    assert end["builds"] == ["build-2"] and not end["mixed"], end
    html = (folder / "index.html").read_text()
    assert "Deploy timeline" in html and "build-2" in html and "<script" not in html
    assert "Two builds live" in html and "At the end" in html
    assert "drain of app-1" in done.stdout
    _streams_followed_their_drains(doc)
    print(measured(doc))


def _streams_followed_their_drains(doc: dict[str, Any]) -> None:
    """A stream per target held through the rollout (the default with the replica's
    `realtime:`): each on its target, each close by the other end blamed on its own target's
    departure, none refused when opened again, no message lost on an open stream."""
    rt = doc["realtime"]
    assert doc["load"]["profile"] == "watch_users" and rt["streams"] == 2, rt
    assert rt["opened"] >= 2 and rt["unplaced"] == 0 and rt["refused"] == 0, rt
    assert rt["published"] > 10 and rt["delivered"] > rt["published"], rt  # each to 2 streams
    assert rt["lost_while_open"] == 0, doc["events"]
    closes = [e for e in doc["events"] if e["kind"] == "stream-closed"]
    assert closes, doc["events"]  # a drain ends its streams: the watch saw them end
    for close in closes:
        assert close["cause"] and close["cause"].startswith(f"{close['target']} "), close
    assert sum(d["streams_closed"] for d in doc["drains"]) == len(closes), doc["drains"]


def measured(doc: dict[str, Any]) -> str:
    """The numbers a watch measured, for the test log (`pytest -rP`)."""
    windows = [
        f"+{w['start']}..+{w['end']} s {w['verdict']} ({len(w['probes'])} probes)"
        for w in doc["mixed_windows"]
    ]
    departures = [
        f"{d['target']} {d.get('how') or d.get('seen_as')}: {d['cut_in_flight']} cut in flight, "
        f"{d['no_response']} no response, {d['errors_5xx']} 5xx"
        for d in doc["restarts"] + doc["drains"]
    ]
    rt = doc.get("realtime") or {}
    streams = {k: rt.get(k) for k in ("opened", "closed", "refused", "delivered")}
    lost = (rt.get("lost_while_open"), rt.get("lost_on_close"))
    return (
        f"exit {doc['exit_code']}; {doc['load']['requests']} requests, {doc['load']['errors']} "
        f"errors, {doc['load']['session_losses']} losses; departures: {departures}; windows: "
        f"{windows}; end: {doc['end_state'].get('builds')}; streams {streams}, lost open/close "
        f"{lost}; reasons: {doc['reasons']}"
    )


@pytest.mark.servers
@pytest.mark.slow
def test_watch_catches_an_app_that_exits_before_its_drain_ends(tmp_path: Path) -> None:
    with replica(tmp_path, "--fault", "early-exit"):
        done, doc, _ = watch(tmp_path, *ROLLOUT, "--build", "build-2")
    assert done.returncode == 1, done.stdout + done.stderr
    faults = {d["target"]: d["fault"] for d in doc["drains"]}
    assert "early-exit" in faults.values(), doc["drains"]
    assert any(r.startswith("[early-exit]") for r in doc["reasons"])
    cut = [e for e in doc["events"] if e["kind"] == "cut-in-flight"]
    assert cut and all(e["cause"] for e in cut)


@pytest.mark.servers
@pytest.mark.slow
def test_watch_blames_a_rollback_for_the_sessions_it_loses(tmp_path: Path) -> None:
    """Deploy build-2 (a new session format), then roll back: sessions build-2 wrote are
    unreadable on build-1; each loss is attributed to a target's change back to build-1."""
    with replica(tmp_path, "--fault", "session-format"):
        done, doc, _ = watch(tmp_path, *ROLLOUT, "--build", "build-2", "--rollback")
    assert done.returncode == 1, done.stdout + done.stderr
    losses = [e for e in doc["events"] if e["kind"] == "session-loss"]
    assert losses and doc["load"]["session_losses"] >= len(losses)
    for loss in losses:
        assert loss["cause"] and loss["cause"].endswith("build build-2 -> build-1"), loss
    assert any("session losses, over expect.error_budget 0" in r for r in doc["reasons"])


@pytest.mark.servers
@pytest.mark.slow
def test_watch_and_rollout_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    cases = {
        ("watch",): "give the deploy command after --",
        ("watch", "--rate", "0", "--", "true"): "--rate 0",
        ("watch", "--max-time", "soon", "--", "true"): "--max-time 'soon'",
        ("watch", "--", "/no/such/deploy"): "'/no/such/deploy' cannot start",
        ("watch", "--streams", "65", "--", "true"): "--streams 65: allowed 0 to 64",
        ("watch", "--users", "150", "--streams", "64", "--", "true"): (
            "--users and --streams 214 is above safety.max_users 200"
        ),
        ("replica", "rollout"): "give --build B, --rollback, or both",
        ("replica", "rollout", "--build", "x", "--batch", "0"): "--batch 0",
        ("up", "--builds", "only-one"): "2 to 4 distinct builds",
        ("up", "--builds", "a,b/c"): "'b/c' is not a build name",
    }
    with replica(tmp_path):
        for args, says in cases.items():
            done = parity(tmp_path, *args, timeout=120)
            assert done.returncode == 2, (args, done.stdout, done.stderr)
            assert says in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
        again = parity(tmp_path, "replica", "rollout", "--rollback")
        assert again.returncode == 2 and "no target has a build to go back to" in again.stderr
        failed, doc, _ = watch(tmp_path, "false")
        assert failed.returncode == 1 and "the deploy command exited 1" in doc["reasons"]
        long, doc, _ = watch(tmp_path, "sleep", "6", flags=("--max-time", "2s"))
    assert long.returncode == 3 and doc["verdict"] == "incomplete", long.stdout + long.stderr
    assert doc["command_exit_code"] == 0  # waited for, never killed for --max-time
    assert "the deploy ran past --max-time: only its first 2 s were watched" in doc["reasons"]


@pytest.mark.servers
@pytest.mark.slow
def test_an_asset_no_target_serves_is_a_missing_asset(tmp_path: Path) -> None:
    """Every target's pages reference the same asset and none serves it (a deploy that forgot
    to publish): `[missing-asset]`, not version skew."""
    base = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "harness/profile/replica.yaml").read_text()
    )
    base["name"] = "forgetful"
    base["expect"]["assets"] = {"pages": ["/app"], "pattern": r'src="(/static/app\.\w+)\.js"'}
    profile = tmp_path / "forgetful.yaml"
    profile.write_text(yaml.safe_dump(base))
    with replica(tmp_path):
        done = parity(
            tmp_path,
            "check",
            "--env-file",
            str(profile),
            "--suite",
            "compatibility",
            "--report-dir",
            str(tmp_path / "reports"),
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[missing-asset]" in done.stdout and "[version-skew]" not in done.stdout


@pytest.mark.servers
@pytest.mark.slow
def test_watch_behind_caddy_counts_moves_not_sticky_violations(tmp_path: Path) -> None:
    """Behind Caddy (the static provider) a restarting target shows as unhealthy, not draining:
    clients moved off it are moves, and each restart is a drain (a false alarm found once)."""
    with replica(tmp_path, "--balancer", "caddy"):
        done, doc, _ = watch(tmp_path, *ROLLOUT, "--build", "build-2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert doc["load"]["sticky_violations"] == 0, doc["events"]
    assert sorted(d["target"] for d in doc["drains"]) == ["app-1", "app-2"]
    assert all(d["cut_in_flight"] == 0 for d in doc["drains"])
    # Caddy's profile shows health, not registration; the rollout deregistered each target
    # first, so no request meant for it failed after it stopped: drains, not restarts
    assert doc["registrations_visible"] is False and doc["restarts"] == [], doc["restarts"]
    # Caddy 2.6 closes every WebSocket on each admin-API change (caddyserver/caddy 3143): a
    # close on one target may come with another's change; every close is attributed, none is
    # refused when opened again and no message is lost on an open stream
    rt = doc["realtime"]
    assert rt["opened"] >= 2 and rt["refused"] == 0 and rt["lost_while_open"] == 0, rt
    closes = [e for e in doc["events"] if e["kind"] == "stream-closed"]
    for close in closes:  # each on a change seen around it, not one from long before
        seen = [t["at"] for t in doc["transitions"] if t["label"] == close["cause"]]
        assert seen and min(abs(at - close["at"]) for at in seen) < 3.0, close
    print(measured(doc))


@pytest.mark.servers
@pytest.mark.slow
def test_watch_fails_a_broadcast_that_stays_on_its_instance(tmp_path: Path) -> None:
    """`--fault local-broadcast`: a message published through one target never reaches the
    stream held on the other, while both are open; the watch fails on those losses (the
    rollout itself is clean), and counts them per departure."""
    with replica(tmp_path, "--fault", "local-broadcast"):
        done, doc, folder = watch(tmp_path, *ROLLOUT, "--build", "build-2")
    assert done.returncode == 1, done.stdout + done.stderr
    rt = doc["realtime"]
    assert rt["lost_while_open"] > 5 and rt["delivered"] > 0, rt
    (said,) = [r for r in doc["reasons"] if "never reached a stream open" in r]
    assert said.startswith(f"{rt['lost_while_open']} messages never reached"), said
    assert doc["load"]["errors"] == 0 and doc["load"]["session_losses"] == 0
    assert sum(d["messages_lost"] for d in doc["drains"]) > 0, doc["drains"]
    assert "lost on open streams" in done.stdout
    html = (folder / "index.html").read_text()
    assert "Real-time streams" in html and "messages lost" in html
    print(measured(doc))
