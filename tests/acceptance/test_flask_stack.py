"""A real Flask app (Flask-Login, Flask-WTF's CSRF on the login form, every write and the
logout, Flask-Session keeping sessions in Redis) behind HAProxy (tests/stacks): Parity was not
built with it (issue 24). A recipe of multi-request steps logs in through the CSRF form, with no
Python; a SECRET_KEY that differs on one instance is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stacks.common import assert_passed, check, comments, init_and_every_command
from tests.stacks.flask_stack import USERNAME, FlaskStack, flask_stack

pytestmark = [pytest.mark.servers, pytest.mark.slow]
SUITES = ("sharing", "sticky", "topology")
ACCEPT = (  # Flask-Session writes the whole session back: a lost update the team accepted
    "accept:\n"
    '  - {fault: lost-update, reason: "Flask-Session saves the whole session", until: 2099-01-01}\n'
)


def _check(
    tmp_path: Path, stack: FlaskStack, *suites: str
) -> tuple[int, str, dict[str, tuple[str, str]]]:
    profile = stack.profile(tmp_path / "flask.yaml", extra=ACCEPT)
    return check(tmp_path, profile, stack.env(), *[a for s in suites for a in ("--suite", s)])


def test_a_healthy_flask_app_passes_with_its_csrf_form_recipe(tmp_path: Path) -> None:
    with flask_stack(tmp_path / "stack") as stack:
        code, output, checks = _check(tmp_path, stack, *SUITES)
    failed = {n: m[:300] for n, (o, m) in checks.items() if o in ("failed", "error")}
    assert code == 0 and not failed, failed or output[-2000:]
    for name in (
        "test_session_made_on_one_target_works_on_every_other",
        "test_logout_on_one_target_ends_the_session_on_every_other",
        "test_session_is_in_the_store_with_a_ttl",
        "test_write_on_one_target_is_seen_on_the_other_at_once",
    ):
        assert checks[name][0] == "passed", (name, checks[name][1][:300])
    assert stack.password not in output


def test_a_secret_key_that_differs_on_one_flask_instance_is_caught(tmp_path: Path) -> None:
    with flask_stack(tmp_path / "stack", odd_secret=2) as stack:
        code, output, checks = _check(tmp_path, stack, "sharing")
    failed = {n: m for n, (o, m) in checks.items() if o == "failed"}
    assert code == 1 and failed, output[-2000:]
    # the CSRF token one instance signed is refused by the other (HTTP 400 on the write); the
    # session id itself is unsigned, so the diagnosis claims no secret mismatch it cannot see
    seen = failed["test_write_on_one_target_is_seen_on_the_other_at_once"]
    assert seen.startswith("[session-not-shared]") and "HTTP 400" in seen, seen[:400]
    assert "app-2" in seen and "no secret mismatch is shown" in seen, seen[:400]


def test_init_recognises_flask_and_its_profile_passes_every_command(
    tmp_path: Path, wheel_bin: Path
) -> None:
    """From the installed wheel: `parity init` on the Flask stack recognises Flask-WTF's login
    form and Flask-Session's cookie, and writes its recipe and key; with the credentials set
    (and Flask-Session's whole-session saves accepted) check, canary and watch pass."""
    with flask_stack(tmp_path / "stack") as stack:
        text, every = init_and_every_command(
            wheel_bin, tmp_path, stack, "flask-stg", USERNAME, ACCEPT
        )
    evidence = "(observed: GET /login answered a form with the csrf_token field)"
    assert evidence in comments(text), text
    assert "key: session:{session_id}" in text, text
    assert_passed(every, stack)
