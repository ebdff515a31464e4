"""A real Express app (express-session in Redis through connect-redis, csrf-sync's tokens on the
login form, every write and the logout, the session regenerated at login) behind HAProxy
(tests/stacks, npm packages from its package-lock.json): Parity was not built with it (issue
24). From the installed wheel, `parity init` recognises Express and writes its recipe; with the
credentials set the profile passes `parity check`, `parity canary` and `parity watch`; a session
secret that differs on one instance is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stacks.common import (
    assert_passed,
    comments,
    init_and_check_sharing,
    init_and_every_command,
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
