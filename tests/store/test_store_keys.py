"""The store key (issue 23, items 2 and 3): the profile's key, the driver's `store_key`, a
bounded scan for the session id when the key is absent, what to write when it is found
elsewhere, "not applicable" when it cannot be known, and causes named from evidence only."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Any

import pytest
import redis

from harness.errors import NotApplicable, ProfileError
from harness.profile.sections import Redis
from harness.store.keys import check_layout, elsewhere, find_key, id_candidates, suggestion
from harness.traffic.sharing_cause import Placement, cause, signed_id
from tests.store.test_store import Servers, servers  # noqa: F401  (the fixture)

DEFAULT = Redis(key="session:{session_id}", session_id="^([^.]+)")
DJANGO_ID = "k3v9x0q2m1w8e7r6t5y4u3i2o1p0a9s8"
EXPRESS_ID = "Zr8mQ2vX9kLp4sT7wYb1nC6dF3gH5jK0"
RAILS_ID = "7748a0f9f24854454b43699a50890896"  # a _shop_session cookie: Rack's public id
RAILS = Redis(key="session:2::{session_id_sha256}", session_id="^([^.]+)")


class Hook:
    """A driver that knows its store's key (hashed ids, say)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def store_key(self, user: Any) -> str:
        return self.key


@pytest.mark.parametrize(
    ("key", "cookie", "written"),
    [
        (  # Django's cache and cached_db backends
            f":1:django.contrib.sessions.cache{DJANGO_ID}",
            DJANGO_ID,
            "redis: {key: ':1:django.contrib.sessions.cache{session_id}', session_id: '^([^.]+)'}",
        ),
        (  # express-session with connect-redis: a signed, URL-encoded cookie
            f"sess:{EXPRESS_ID}",
            f"s%3A{EXPRESS_ID}.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "redis: {key: 'sess:{session_id}', session_id: '^s%3A([^.]+)'}",
        ),
        (  # Flask-Session (unsigned)
            f"session:{EXPRESS_ID}",
            EXPRESS_ID,
            "redis: {key: 'session:{session_id}', session_id: '^([^.]+)'}",
        ),
        (  # Rails with redis-actionpack: Rack's secure id, 2:: and the SHA-256 of the cookie's
            f"session:2::{hashlib.sha256(RAILS_ID.encode()).hexdigest()}",
            RAILS_ID,
            "redis: {key: 'session:2::{session_id_sha256}', session_id: '^([^.]+)'}",
        ),
    ],
)
def test_a_layout_found_by_its_id_says_which_redis_lines_to_write(
    key: str, cookie: str, written: str
) -> None:
    assert suggestion(key, cookie) == written


def test_an_id_the_cookie_carries_base64_encoded_is_found_and_needs_the_driver_hook() -> None:
    """Spring Session: the SESSION cookie is the base64 of the id in the key."""
    sid = str(uuid.uuid4())
    cookie = base64.b64encode(sid.encode()).decode()
    assert sid in id_candidates(cookie)
    assert "store_key(user)" in suggestion(f"spring:session:sessions:{sid}", cookie)


@pytest.fixture
def store(servers: Servers) -> redis.Redis:  # noqa: F811
    return redis.Redis(port=servers.plain())


@pytest.mark.servers
def test_the_profile_key_is_used_when_it_is_there(store: redis.Redis) -> None:
    store.set(f"session:{EXPRESS_ID}", "x")
    found = find_key(DEFAULT, store, f"{EXPRESS_ID}.signature", None, None)
    assert (found.key, found.how, found.present) == (f"session:{EXPRESS_ID}", "profile", True)


@pytest.mark.servers
def test_a_session_under_another_key_is_found_by_a_scan_and_the_profile_is_told(
    store: redis.Redis,
) -> None:
    for i in range(500):  # other keys around it
        store.set(f"cache:{i}", "x")
    store.set(f":1:django.contrib.sessions.cache{DJANGO_ID}", "x")
    found = find_key(DEFAULT, store, DJANGO_ID, None, None)
    assert found.how == "scan" and found.key == f":1:django.contrib.sessions.cache{DJANGO_ID}"
    with pytest.raises(ProfileError) as refused:
        check_layout(DEFAULT, [found, found])
    said = str(refused.value)
    assert said.startswith("redis.key: sessions are not under 'session:{session_id}'")
    assert "write redis: {key: ':1:django.contrib.sessions.cache{session_id}'" in said
    assert DJANGO_ID not in said  # a live session id is a credential: masked


@pytest.mark.servers
def test_a_session_whose_key_cannot_be_known_makes_store_checks_not_applicable(
    store: redis.Redis,
) -> None:
    """Rails' redis-session-store hashes the id: no key holds the id as the cookie has it."""
    store.set("_session_id:2::4f1e0d9c8b7a69584736251403f2e1d0c9b8a7968574", "x")
    found = find_key(DEFAULT, store, DJANGO_ID, None, None)
    assert not found.present and found.examined == 1
    with pytest.raises(NotApplicable, match=r"scanned 1 keys\): the store's key for a session"):
        check_layout(DEFAULT, [found])


@pytest.mark.servers
def test_the_drivers_store_key_wins_over_the_profile(store: redis.Redis) -> None:
    store.set("rails:hashed", "x")
    found = find_key(DEFAULT, store, DJANGO_ID, Hook("rails:hashed"), None)
    assert (found.key, found.how) == ("rails:hashed", "driver")
    assert find_key(DEFAULT, store, DJANGO_ID, Hook("rails:gone"), None).how == "absent"


@pytest.mark.servers
def test_targets_that_write_under_another_prefix_are_told_apart(store: redis.Redis) -> None:
    store.set(f"session:{EXPRESS_ID}", "x")
    other = "Q" * 32
    store.set(f"old-prefix:{other}", "x")
    lookups = {
        "app-1": find_key(DEFAULT, store, EXPRESS_ID, None, None),
        "app-2": find_key(DEFAULT, store, other, None, None),
    }
    check_layout(DEFAULT, list(lookups.values()))  # the profile's key holds some: it is right
    assert {t: x.key for t, x in elsewhere(lookups).items()} == {"app-2": f"old-prefix:{other}"}


def _placed(where: str, signed: bool) -> Placement:
    return Placement(
        where={"app-1": where, "app-2": where},  # type: ignore[dict-item]
        signed={"app-1": signed, "app-2": signed},
    )


def test_a_session_in_the_store_that_another_target_fails_to_read_is_no_secret_mismatch() -> None:
    fault, what = cause(_placed("store", True), "made on app-1, read on app-2: HTTP 500", [500])
    assert fault == "session-not-shared" and "decode sessions differently" in what
    assert "secret" not in what


def test_a_secret_mismatch_is_named_only_when_the_cookie_carries_a_signed_id() -> None:
    seen = "made on app-1, read on app-2: HTTP 401"
    assert cause(_placed("store", True), seen, [401])[0] == "secret-mismatch"
    fault, what = cause(_placed("store", False), seen, [401])
    assert fault == "session-not-shared" and "no secret mismatch is shown" in what


def test_sessions_under_another_prefix_are_not_called_process_memory() -> None:
    placed = _placed("store", True)
    placed.other_keys = {"app-2": "old-prefix:abc"}
    fault, what = cause(placed, "made on app-2, read on app-1: HTTP 401", [401])
    assert fault == "session-not-shared" and "another key prefix" in what


def test_a_tokens_shared_json_segments_are_never_taken_for_its_id() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    claims = base64.urlsafe_b64encode(b'{"sub":"alice","exp":1}').decode().rstrip("=")
    token = f"{header}.{claims}.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    assert not any(c.startswith(("{", "eyJ")) for c in id_candidates(token))


def test_signed_ids_are_told_from_plain_ones() -> None:
    assert signed_id(f"{EXPRESS_ID}.abcdefghijklmnopqrstuvwxyz01")
    assert signed_id(f"s%3A{EXPRESS_ID}.abcdefghijklmnopqrstuvwxyz01")
    assert not signed_id(DJANGO_ID)
    assert not signed_id(None)


@pytest.mark.servers
def test_a_key_of_the_ids_sha256_is_found_under_the_profiles_key(store: redis.Redis) -> None:
    store.set(f"session:2::{hashlib.sha256(RAILS_ID.encode()).hexdigest()}", "x")
    found = find_key(RAILS, store, RAILS_ID, None, None)
    assert found.how == "profile" and "<session id>" in found.printable, found
    scanned = find_key(DEFAULT, store, RAILS_ID, None, None)  # the default key: found by a scan
    assert scanned.how == "scan" and "{session_id_sha256}" in scanned.hint, scanned


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("key: 'sess:{sid}'", "redis.key: {sid} is not a field; allowed: {session_id}"),
        ("key: 'sess:{'", "redis.key: Single '{' encountered"),
        ("key: 'sess:{session_id:d}'", "redis.key: Unknown format code 'd'"),
        ("session_id: '^[^.]+'", "redis.session_id: give a group, ( ), around the session id"),
        ("session_id: '^(['", "redis.session_id: not a regular expression"),
    ],
)
def test_a_redis_key_or_id_pattern_that_cannot_work_is_refused(line: str, said: str) -> None:
    from harness.profile.environment import parse_profile

    text = "name: x\ntopology: {provider: replica}\nredis:\n  " + line + "\n"
    with pytest.raises(ProfileError, match=re.escape(said)):
        parse_profile(text, "x.yaml")
