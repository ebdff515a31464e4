"""Session lifetimes per target (issue 23, item 1): the verdict on what was measured."""

from __future__ import annotations

import math

from harness.traffic.lifetimes import Seen, cookie_outlives_store, short_lives, ttl_of

DAY = 86400


def _fleet(short: str | None = None, life: float = 60) -> list[Seen]:
    """Sessions made on app-1..3 and read on every other; `short` gives sessions `life`."""
    names = ["app-1", "app-2", "app-3"]
    seen = []
    for made in names:
        for target in names:
            v = life if target == short else DAY - 3
            seen.append(Seen(target, made, v, v))
    return seen


def test_a_healthy_fleet_with_equal_lives_passes_with_and_without_a_promise() -> None:
    assert short_lives(_fleet(), None) is None
    assert short_lives(_fleet(), DAY) is None
    assert cookie_outlives_store(_fleet()) == []


def test_one_target_with_a_shorter_life_is_named_against_the_others() -> None:
    found = short_lives(_fleet("app-2"), None)
    assert found is not None
    assert found.startswith(
        "app-2 leaves 60 s (cookie 60 s, store TTL 60 s) after its login and reading sessions made "
        "on app-1, app-3"
    )
    assert "on app-1 sessions live 86397 s" in found
    assert "app-1 leaves" not in found and "app-3 leaves" not in found


def test_a_read_that_resets_the_ttl_to_the_readers_setting_is_caught() -> None:
    """A store that resets the TTL to the reading instance's setting: only the reads on app-3
    leave 60 s, and they are what the finding names."""
    seen = [Seen("app-1", "app-1", None, DAY), Seen("app-3", "app-1", None, 60)]
    found = short_lives(seen, None)
    assert found is not None
    assert (
        "app-3 leaves 60 s (cookie no lifetime, store TTL 60 s) after reading sessions made "
        "on app-1" in found
    )


def test_a_fleet_shorter_than_the_profile_promises_fails_and_a_longer_one_passes() -> None:
    found = short_lives(_fleet(life=3600, short="app-1"), 7200)
    assert found is not None and "the profile's session.lifetime_seconds is 7200" in found
    every = [Seen("app-1", "app-1", 3600, 3600), Seen("app-2", "app-2", 3600, 3600)]
    found = short_lives(every, DAY)
    assert found is not None and "app-1 leaves" in found and "app-2 leaves" in found
    assert short_lives(every, 1800) is None  # longer than promised is not a fault


def test_seconds_apart_and_browser_session_cookies_are_not_a_difference() -> None:
    seen = [Seen("app-1", "app-1", None, DAY), Seen("app-2", "app-2", DAY - 50, DAY - 40)]
    assert short_lives(seen, None) is None
    assert short_lives([Seen("app-1", "app-1", None, ttl_of(-1))], DAY) is None
    assert ttl_of(-1) == math.inf and ttl_of(-2) == -2


def test_a_store_ttl_shorter_than_the_cookie_is_a_short_redis_ttl_per_response() -> None:
    seen = [Seen("app-1", "app-1", DAY, 30), Seen("app-2", "app-1", DAY, 30)]
    found = cookie_outlives_store(seen)
    assert len(found) == 2
    assert found[1].startswith("on app-2 (after a read of app-1's session) the session cookie")
    assert cookie_outlives_store([Seen("app-1", "app-1", DAY, -2)]) == []  # absent: another check
