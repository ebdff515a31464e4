"""Drain semantics per balancer (issue 23): HAProxy's `state drain` keeps the clients pinned to a
server by its cookie until the server leaves, by design; an ALB's deregistration (and HAProxy's
maint) moves them at once. `topology.drain.pinned: keep` says which one a drain is, so the
failover check does not call a documented drain `[abrupt-drain]`; either way a drained target
that still takes new clients is `[ignored-drain]`. Run through `parity check`, as a user does,
on the replica's real HAProxy through its runtime API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.disruption.drain_scenario import FRESH_MAX, fresh_clients_needed
from harness.replica.running import ReplicaHandle
from harness.replica.supervisor import Replica
from tests.helpers import parity

Pair = tuple[Replica, ReplicaHandle]
BASE = Path(__file__).resolve().parents[2] / "harness" / "profile" / "replica.yaml"
CHECK = "test_drain_moves_pinned_clients_with_their_sessions"


def _haproxy_command(sock: Path, state: str) -> str:
    """A command adapter line a user would write: one runtime API command, with Python."""
    code = (
        "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
        "s.sendall(sys.argv[2].encode()+b'\\n'); print(s.recv(4096).decode())"
    )
    return f'python3 -c "{code}" {sock} "set server tg/{{target}} state {state}"'


def _profile(tmp: Path, pair: Pair, drain: dict[str, Any]) -> Path:
    replica, handle = pair
    base = yaml.safe_load(BASE.read_text())
    session = {**base["session"], "credentials": {"username": "parity-user-{n}",
                                                  "password": replica.password}}  # fmt: skip
    profile = {
        "name": "static-haproxy-drain",
        "production": False,
        "url": handle.url,
        "topology": {
            "provider": "static",
            "targets": [{"id": t.id, "url": t.url} for t in replica.targets()],
            "drain": drain,
        },
        "identity": base["identity"],
        "expect": {
            "targets": 2,
            "stickiness": {"duration_seconds": 86400},
            "deregistration_delay_seconds": 2,
            "health_check": {"path": "/healthz"},
            "error_budget": 0,
        },
        "session": session,
        "redis": {**base["redis"], "url": replica.redis_url},
        "failover": {"clients": 4},
        "safety": base["safety"],
    }
    path = tmp / "static.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def _failover(tmp: Path, profile: Path) -> tuple[int, dict[str, Any]]:
    reports = tmp / "reports"
    done = parity(tmp, "check", "--env-file", str(profile), "--report-dir", str(reports),
                  "--suite", "failover", "-k", CHECK, "--allow-disruptive")  # fmt: skip
    results = json.loads((reports / "latest" / "results.json").read_text())
    (check,) = [c for c in results["checks"] if c["name"] == CHECK]
    return done.returncode, check


def test_fresh_clients_are_enough_to_see_a_drain_ignored() -> None:
    assert fresh_clients_needed(0.5) == 10  # 0.5 ** 10 < 0.001
    assert fresh_clients_needed(1 / 8) == 52
    assert fresh_clients_needed(0.01) == FRESH_MAX and fresh_clients_needed(0.0) == 0


def test_haproxy_state_drain_keeps_pinned_clients_and_passes(
    tmp_path: Path, fresh_replica: Pair
) -> None:
    sock = fresh_replica[0].work_dir / "haproxy.sock"
    drain = {"adapter": "haproxy", "socket": f"unix:{sock}", "backend": "tg", "pinned": "keep"}
    code, check = _failover(tmp_path, _profile(tmp_path, fresh_replica, drain))
    assert (code, check["outcome"]) == (0, "passed"), check["message"][:600]
    seen = check["evidence"]["failover"]
    assert seen["pinned_clients"] == "kept"
    assert {c["moved_to"] for c in seen["clients"]} == {seen["target"]}  # they stayed, by design
    assert seen["target"] not in seen["fresh_clients"] and sum(seen["fresh_clients"].values()) == 10


@pytest.mark.parametrize("pinned", ["move", "keep"])
def test_a_command_drain_is_judged_by_what_it_says_it_does(
    tmp_path: Path, fresh_replica: Pair, pinned: str
) -> None:
    """The same `state drain` command: declared `keep` it passes; left at the default (`move`)
    the pinned clients that stay are `[abrupt-drain]`, so the profile must say which it is."""
    sock = fresh_replica[0].work_dir / "haproxy.sock"
    drain = {
        "adapter": "command",
        "drain": _haproxy_command(sock, "drain"),
        "restore": _haproxy_command(sock, "ready"),
        "pinned": pinned,
    }
    code, check = _failover(tmp_path, _profile(tmp_path, fresh_replica, drain))
    if pinned == "keep":
        assert (code, check["outcome"]) == (0, "passed"), check["message"][:600]
    else:
        assert code == 1 and check["message"].startswith("[abrupt-drain]"), check["message"][:600]
        target = check["evidence"]["failover"]["target"]
        assert f"moved to {target}, new sticky cookie no, session kept" in check["message"]


def test_a_drain_that_still_takes_new_clients_is_ignored_drain(
    tmp_path: Path, fresh_replica: Pair
) -> None:
    sock = fresh_replica[0].work_dir / "haproxy.sock"
    drain = {"adapter": "command", "drain": "true", "pinned": "keep",
             "restore": _haproxy_command(sock, "ready")}  # fmt: skip
    code, check = _failover(tmp_path, _profile(tmp_path, fresh_replica, drain))
    assert code == 1 and check["message"].startswith("[ignored-drain]"), check["message"][:600]
    assert "new clients were sent to" in check["message"]
