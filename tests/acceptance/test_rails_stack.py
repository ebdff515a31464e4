"""A real Rails app (Rails 6.1, Devise's own sign-in form and sign-out by DELETE, sessions in
Redis through redis-actionpack, whose keys hold Rack's hashed session id) behind HAProxy
(tests/stacks; gems from Debian's packages): Parity was not built with it (issue 24). From the
installed wheel, `parity init` recognises Rails and writes Devise's recipe and the hashed key
layout; with the credentials set the profile passes `parity check`, `parity canary` and
`parity watch`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stacks.common import assert_passed, comments, init_and_every_command
from tests.stacks.rails_stack import EMAIL, rails_stack

pytestmark = [pytest.mark.servers, pytest.mark.slow]
ACCEPT = (  # the Redis store writes the whole session back: a lost update the team accepted
    "accept:\n"
    '  - {fault: lost-update, reason: "the Rails session store saves the whole session", '
    "until: 2099-01-01}\n"
)


def test_init_recognises_rails_and_its_profile_passes_every_command(
    tmp_path: Path, wheel_bin: Path
) -> None:
    with rails_stack(tmp_path / "stack") as stack:
        text, every = init_and_every_command(wheel_bin, tmp_path, stack, "rails-stg", EMAIL, ACCEPT)
    form = "(observed: GET /users/sign_in answered a form with the authenticity_token field"
    assert f"{form}; a _shop_session cookie)" in comments(text), text
    assert "cookie: _shop_session" in text and "key: session:2::{session_id_sha256}" in text
    assert_passed(every, stack, "test_write_on_one_target_is_seen_on_the_other_at_once")
