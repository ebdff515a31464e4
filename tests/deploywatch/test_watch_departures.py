"""`parity watch` of careless deploys: a target killed or restarted while still registered is a
crash or an unannounced restart (`[unannounced-restart]`), never a drain, and every request it
cut is counted and attributed to it, by the target the request was meant for."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.test_deploys import measured, replica, watch

pytestmark = pytest.mark.servers

ERRORS = ("5xx", "no-response", "cut-in-flight")


def _script(folder: Path, *actions: str) -> str:
    """A deploy script that acts on app-1 through `parity replica act`, never deregistering it."""
    parity = f'"{sys.executable}" -m harness.cli'
    lines = ["#!/bin/sh", "set -e", "sleep 2"]
    lines += [f"{parity} replica act app-1 {a}" if a != "pause" else "sleep 1" for a in actions]
    path = folder / "careless-deploy.sh"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return str(path)


def _blames_app_1(doc: dict[str, Any]) -> dict[str, Any]:
    """The one departure of app-1, a restart while registered; every error is app-1's."""
    assert doc["verdict"] == "failed" and doc["command_exit_code"] == 0, doc["reasons"]
    (restart,) = doc["restarts"]
    assert restart["target"] == "app-1" and restart["fault"] == "unannounced-restart", restart
    assert " while registered" in restart["how"] or "still registered" in restart["how"], restart
    assert [d["target"] for d in doc["drains"]] == [], doc["drains"]  # not a drain
    said = [r for r in doc["reasons"] if r.startswith("[unannounced-restart]")]
    assert len(said) == 1 and "app-1 " in said[0] and "did not deregister it first" in said[0]
    assert not any(r.startswith(("[early-exit]", "[abrupt-drain]")) for r in doc["reasons"])
    for event in (e for e in doc["events"] if e["kind"] in ERRORS):
        assert (event["target"] or event["intended"]) == "app-1", event
        assert event["cause"] and event["cause"].startswith("app-1 "), event
    return dict(restart)


@pytest.mark.slow
def test_watch_names_a_kill_while_registered_and_counts_what_it_cut(tmp_path: Path) -> None:
    """`parity replica act app-1 kill`, then `restart`, without deregistering: app-1 stopped
    answering while registered; the request kept in flight on it is cut, counted and blamed on
    it (the local ALB holds the load's requests until its health check moves them)."""
    deploy = _script(tmp_path, "kill", "pause", "restart")
    with replica(tmp_path):
        done, doc, folder = watch(tmp_path, deploy)
    assert done.returncode == 1, done.stdout + done.stderr
    restart = _blames_app_1(doc)
    assert "stopped answering" in restart["how"], restart
    assert restart["cut_in_flight"] >= 1 and restart["cut"] >= 1, restart
    assert doc["unattributed"] == 0, doc["events"]
    assert "app-1 stopped answering while registered" in done.stdout
    assert "Stopped while registered" in (folder / "index.html").read_text()
    print(measured(doc))


@pytest.mark.slow
def test_watch_names_an_in_place_restart_not_the_apps_grace(tmp_path: Path) -> None:
    """`parity replica act app-1 restart` (SIGTERM, start again) without deregistering: the
    deploy's fault (`[unannounced-restart]`), not the app's shutdown grace (`[early-exit]`)."""
    deploy = _script(tmp_path, "restart")
    with replica(tmp_path):
        done, doc, _ = watch(tmp_path, deploy)
    assert done.returncode == 1, done.stdout + done.stderr
    _blames_app_1(doc)
    assert doc["end_state"]["builds"] == ["build-1"] and not doc["end_state"]["mixed"]
    print(measured(doc))


@pytest.mark.slow
def test_watch_behind_caddy_blames_a_kill_on_the_target_the_requests_were_meant_for(
    tmp_path: Path,
) -> None:
    """Behind Caddy (a static profile: registrations are not reported) a killed target's users
    get 502 from Caddy, a response that names no target: each is attributed to app-1, the target
    their sticky cookie named, and the requests still sent to it after it stopped show that it
    was never deregistered (`[unannounced-restart]`, not a drain that exited early)."""
    deploy = _script(tmp_path, "kill", "pause", "restart")
    with replica(tmp_path, "--balancer", "caddy"):
        done, doc, _ = watch(tmp_path, deploy, flags=("--rate", "20"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert doc["registrations_visible"] is False
    restart = _blames_app_1(doc)
    assert "still registered (its balancer kept sending it users)" in restart["how"], restart
    unnamed = [e for e in doc["events"] if e["kind"] in ("5xx", "no-response") and not e["target"]]
    assert unnamed and all(e["intended"] == "app-1" for e in unnamed), doc["events"]
    assert doc["unattributed"] == 0, doc["events"]
    assert "for app-1 (its target; no answer named one)" in done.stdout
    print(measured(doc))
