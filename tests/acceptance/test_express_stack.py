"""A real Express app (express-session in Redis through connect-redis, csrf-sync's tokens on the
login form, every write and the logout, the session regenerated at login) behind HAProxy
(tests/stacks, npm packages from its package-lock.json): Parity was not built with it (issue
24). From the installed wheel, `parity init` recognises Express and writes its recipe; with the
credentials set the profile passes `parity check`, `parity canary` and `parity watch`; a session
secret that differs on one instance is caught."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.installed import run
from tests.stacks.common import (
    assert_passed,
    comments,
    credentials,
    init_and_check_sharing,
    init_and_every_command,
    init_static,
)
from tests.stacks.express_stack import USERNAME, express_stack

pytestmark = [pytest.mark.servers, pytest.mark.slow]
ACCEPT = (  # express-session saves the whole session: a lost update the team accepted
    "accept:\n"
    '  - {fault: lost-update, reason: "express-session saves the whole session", '
    "until: 2099-01-01}\n"
)


def test_init_recognises_express_and_its_profile_passes_every_command(
    tmp_path: Path, wheel_bin: Path
) -> None:
    with express_stack(tmp_path / "stack") as stack:
        text, every = init_and_every_command(
            wheel_bin, tmp_path, stack, "express-stg", USERNAME, ACCEPT
        )
    evidence = "(observed: GET /login answered a form with the _csrf field; a connect.sid cookie)"
    assert evidence in comments(text), text
    assert "key: sess:{session_id}" in text, text
    assert_passed(every, stack, "test_write_on_one_target_is_seen_on_the_other_at_once")
    assert every.checks["test_concurrent_writes_on_two_targets_both_survive"][0] == "accepted"


def test_a_session_secret_that_differs_on_one_express_instance_is_caught(
    tmp_path: Path, wheel_bin: Path
) -> None:
    """express-session signs its cookie with the secret: an instance with its own secret finds
    no session behind the cookie the other signed."""
    with express_stack(tmp_path / "stack", odd_secret=2) as stack:
        code, failed = init_and_check_sharing(wheel_bin, tmp_path, stack, "express-stg", USERNAME)
    assert code == 1, failed
    seen = failed["test_session_made_on_one_target_works_on_every_other"]
    assert seen.startswith("[session-not-shared]") and "app-2" in seen, seen[:500]


PROPOSED = "# real-time: observed: GET /socket.io/?EIO=4&transport=polling answered an Engine.IO"
STREAM = "test_stream_opens_on_every_target_with_a_session_made_on_another"
POLLING = "test_long_polling_stays_on_the_target_of_its_handshake"
MESSAGE = "test_message_published_on_one_target_reaches_every_target"


def _uncommented(text: str) -> str:
    """The profile with init's real-time proposal uncommented, as its user does once the
    events are theirs (this app's are the proposal's: hello, message, chat)."""
    start = text.index(PROPOSED)
    lines = text[start:].splitlines()
    block = [line[2:] for line in itertools.takewhile(lambda x: x.startswith("# "), lines[1:])]
    return text[:start] + "\n".join(block) + "\n" + "\n".join(lines[1 + len(block) :]) + "\n"


def _realtime(wheel_bin: Path, tmp_path: Path, **stack_options: Any) -> tuple[int, dict[str, Any]]:
    """`parity init` (which proposes a Socket.IO `realtime:` section), the proposal taken, then
    `parity check --suite realtime` from the wheel: the exit code and each check's result."""
    with express_stack(tmp_path / "stack", **stack_options) as stack:
        project = tmp_path / "project"
        project.mkdir()
        text = init_static(
            wheel_bin, project, "express-stg", stack.url, stack.targets, "--session-path", "/notes"
        )
        assert PROPOSED in text, text
        (project / "environments" / "express-stg.yaml").write_text(_uncommented(text))
        argv = ["check", "--env", "express-stg", "--suite", "realtime", "--report-dir", "reports"]
        done = run(wheel_bin, project, "parity", *argv, env=credentials(stack, USERNAME))
    results = json.loads((project / "reports" / "latest" / "results.json").read_text())
    return done.returncode, {c["name"]: c for c in results["checks"]}


def test_socket_io_with_its_redis_adapter_passes_the_realtime_checks(
    tmp_path: Path, wheel_bin: Path
) -> None:
    code, checks = _realtime(wheel_bin, tmp_path)
    assert code == 0, {n: c["message"][:300] for n, c in checks.items()}
    assert {n for n, c in checks.items() if c["outcome"] == "passed"} == {STREAM, POLLING, MESSAGE}
    drain = checks["test_drain_keeps_streams_for_its_delay_and_they_come_back_with_their_session"]
    assert drain["outcome"] == "skipped", drain  # init's profile does not allow disruption


def test_socket_io_without_its_redis_adapter_is_a_local_broadcast(
    tmp_path: Path, wheel_bin: Path
) -> None:
    code, checks = _realtime(wheel_bin, tmp_path, adapter="memory")
    assert code == 1
    assert checks[MESSAGE]["message"].startswith("[local-broadcast]"), checks[MESSAGE]["message"]
    assert checks[STREAM]["outcome"] == checks[POLLING]["outcome"] == "passed"


def test_socket_io_polling_without_stickiness_is_answered_session_id_unknown(
    tmp_path: Path, wheel_bin: Path
) -> None:
    """Socket.IO's own answer when a poll reaches another instance than its handshake."""
    code, checks = _realtime(wheel_bin, tmp_path, unsticky="/socket.io/")
    assert code == 1
    found = checks[POLLING]["message"]
    assert found.startswith("[polling-not-sticky]") and "answered 400" in found, found[:500]
    assert "Session ID unknown" in found, found[-1500:]
