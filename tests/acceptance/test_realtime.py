"""Real-time sessions through the balancer, as a user runs them: `parity up [--fault F]`, then
`parity check --suite realtime`, with the replica's WebSocket profile or one of its own.

The healthy front ends (ALB, Caddy, nginx at 2, 4 and 8 instances, weighted groups) pass the
realtime checks in `test_other_balancers`; `local-broadcast` and `polling-not-sticky` are caught
by name there and in `test_suites_proof`. Here: the Server-Sent Events transport, a session that
is not shared (pinned on the ALB, drawn on nginx, which has no cookie to pin with), and an
endpoint that does not upgrade at all.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import parity

pytestmark = [pytest.mark.servers, pytest.mark.slow]
STREAM = "test_stream_opens_on_every_target_with_a_session_made_on_another"
POLLING = "test_long_polling_stays_on_the_target_of_its_handshake"
MESSAGE = "test_message_published_on_one_target_reaches_every_target"
DRAIN = "test_drain_keeps_streams_for_its_delay_and_they_come_back_with_their_session"
SSE = {
    "protocol": "sse",
    "path": "/realtime/events",
    "identity": "/instance",
    "user": "/user",
    "publish": {"method": "POST", "path": "/realtime/publish", "json": {"text": "{message}"}},
    "message": "/text",
    "delivery_within_seconds": 1,
}


def _profile(home: Path, realtime: dict[str, Any]) -> Path:
    """The replica's own profile with another `realtime:` section."""
    text = resources.files("harness.profile").joinpath("replica.yaml").read_text()
    profile = {**yaml.safe_load(text), "name": "replica-realtime", "realtime": realtime}
    path = home / "realtime.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def _realtime(
    home: Path, *up: str, env_file: Path | None = None
) -> tuple[int, str, dict[str, Any]]:
    done = parity(home, "up", "--deregistration-delay", "2", *up)
    assert done.returncode == 0, done.stderr
    try:
        reports = home / "reports"
        chosen = ("--env-file", str(env_file)) if env_file else ()
        done = parity(home, "check", "--suite", "realtime", "--report-dir", str(reports), *chosen)
        results = json.loads((reports / "latest" / "results.json").read_text())
    finally:
        parity(home, "down")
    checks = {c["name"]: c for c in results["checks"]}
    return done.returncode, done.stdout + done.stderr, checks


def test_server_sent_events_pass_healthy_and_show_a_local_broadcast(tmp_path: Path) -> None:
    profile = _profile(tmp_path, SSE)
    code, output, checks = _realtime(tmp_path, env_file=profile)
    assert code == 0, output[-1500:]
    assert checks[STREAM]["outcome"] == checks[MESSAGE]["outcome"] == "passed"
    assert checks[POLLING]["outcome"] == "skipped"  # this profile names no long polling
    code, output, checks = _realtime(tmp_path, "--fault", "local-broadcast", env_file=profile)
    assert code == 1, output[-1500:]
    assert checks[MESSAGE]["message"].startswith("[local-broadcast]"), checks[MESSAGE]
    assert "app-2 never" in checks[MESSAGE]["message"]
    assert checks[STREAM]["outcome"] == "passed"


@pytest.mark.parametrize("balancer", ["alb", "nginx"])
def test_a_session_only_one_instance_knows_is_named_on_the_stream(
    tmp_path: Path, balancer: str
) -> None:
    code, output, checks = _realtime(tmp_path, "--balancer", balancer, "--fault", "local-sessions")
    assert code == 1, output[-1500:]
    found = checks[STREAM]
    assert found["outcome"] == "failed" and found["message"].startswith("[session-not-shared]")
    assert "401" in found["message"], found["message"][:400]


def test_an_endpoint_that_does_not_upgrade_is_refused_by_name(tmp_path: Path) -> None:
    text = resources.files("harness.profile").joinpath("replica.yaml").read_text()
    realtime = {**yaml.safe_load(text)["realtime"], "path": "/realtime/nowhere"}
    code, output, checks = _realtime(tmp_path, env_file=_profile(tmp_path, realtime))
    assert code == 1, output[-1500:]
    assert checks[STREAM]["message"].startswith("[upgrade-refused]"), checks[STREAM]["message"]
    assert "404" in checks[STREAM]["message"]


def test_a_drain_that_cuts_streams_at_once_is_an_abrupt_drain(tmp_path: Path) -> None:
    code, output, checks = _realtime(tmp_path, "--fault", "abrupt-drain")
    assert code == 1, output[-1500:]
    found = checks[DRAIN]
    assert found["message"].startswith("[abrupt-drain]"), found["message"][:400]
    assert "closed before the delay ended" in found["message"]
    seen = found["evidence"]["realtime_drain"]
    assert seen["closed_after"] < 1 and seen["reconnected_to"] not in (None, seen["target"])


def test_a_drain_measures_the_messages_a_reconnecting_client_missed(tmp_path: Path) -> None:
    """Healthy: the stream lives out the delay, comes back on another target with its session,
    and what it missed while away is counted; a bound the profile states is a gate."""
    text = resources.files("harness.profile").joinpath("replica.yaml").read_text()
    realtime = {**yaml.safe_load(text)["realtime"], "max_lost_messages": 0}
    _, _, checks = _realtime(tmp_path, env_file=_profile(tmp_path, realtime))
    seen = checks[DRAIN]["evidence"]["realtime_drain"]
    assert seen["published"] > 5 and seen["closed_after"] >= seen["delay"] - 0.5, seen
    assert seen["reconnected_to"] not in (None, seen["target"]), seen
    if seen["received"] == seen["published"]:
        assert checks[DRAIN]["outcome"] == "passed", checks[DRAIN]["message"]
    else:  # a message published in the reconnect's gap is lost: over a bound of 0, a finding
        assert checks[DRAIN]["message"].startswith("[lost-message]"), checks[DRAIN]["message"]
