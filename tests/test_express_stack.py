"""A real Express app (express-session in Redis through connect-redis, csrf-sync's tokens on the
login form, every write and the logout, the session regenerated at login) behind HAProxy
(tests/stacks, npm packages from its package-lock.json): Parity was not built with it (issue
24). From the installed wheel, `parity init` recognises Express and writes its recipe; with the
credentials set the profile passes `parity check`, `parity canary` and `parity watch`; a session
secret that differs on one instance is caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.installed import run
from tests.stacks.common import comments, every_command, init_static
from tests.stacks.express_stack import USERNAME, express_stack

pytestmark = pytest.mark.slow
ACCEPT = (  # express-session saves the whole session: a lost update the team accepted
    "accept:\n"
    '  - {fault: lost-update, reason: "express-session saves the whole session", '
    "until: 2099-01-01}\n"
)


def test_init_recognises_express_and_its_profile_passes_every_command(
    tmp_path: Path, wheel_bin: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with express_stack(tmp_path / "stack") as stack:
        text = init_static(wheel_bin, project, "express-stg", stack.url, stack.targets,
                           "--session-path", "/notes", "--redis-url", stack.redis_url)  # fmt: skip
        (project / "environments" / "express-stg.yaml").write_text(text + ACCEPT)
        credentials = {"APP_TEST_USER": USERNAME, "APP_TEST_PASSWORD": stack.password}
        every = every_command(wheel_bin, project, "express-stg", credentials)
    said = comments(text)
    evidence = "(observed: GET /login answered a form with the _csrf field; a connect.sid cookie)"
    assert evidence in said, said
    assert "key: sess:{session_id}" in text, text
    assert not every.failures(), every.failures()
    for name in (
        "test_session_made_on_one_target_works_on_every_other",
        "test_logout_on_one_target_ends_the_session_on_every_other",
        "test_session_is_in_the_store_with_a_ttl",
        "test_write_on_one_target_is_seen_on_the_other_at_once",
    ):
        assert every.checks[name][0] == "passed", (name, every.checks[name])
    assert every.checks["test_concurrent_writes_on_two_targets_both_survive"][0] == "accepted"
    assert stack.password not in every.output()


def test_a_session_secret_that_differs_on_one_express_instance_is_caught(
    tmp_path: Path, wheel_bin: Path
) -> None:
    """express-session signs its cookie with the secret: an instance with its own secret finds
    no session behind the cookie the other signed."""
    project = tmp_path / "project"
    project.mkdir()
    with express_stack(tmp_path / "stack", odd_secret=2) as stack:
        init_static(wheel_bin, project, "express-stg", stack.url, stack.targets,
                    "--session-path", "/notes")  # fmt: skip
        credentials = {"APP_TEST_USER": USERNAME, "APP_TEST_PASSWORD": stack.password}
        done = run(wheel_bin, project, "parity", "check", "--env", "express-stg", "--suite",
                   "sharing", "--report-dir", "reports", env=credentials)  # fmt: skip
    results = json.loads((project / "reports/latest/results.json").read_text())
    failed = {c["name"]: c["message"] for c in results["checks"] if c["outcome"] == "failed"}
    assert done.returncode == 1, done.stdout[-2000:]
    seen = failed["test_session_made_on_one_target_works_on_every_other"]
    assert seen.startswith("[session-not-shared]") and "app-2" in seen, seen[:500]
    print(seen[:600])
