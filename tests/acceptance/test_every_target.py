"""Every target, not the first two: the pair rotation, `--faulty-instance`, and the checks that
catch a fault on instance 3 of 4 (issue 22, item 4)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.replica.app_settings import AppSettings
from harness.replica.faults import instance_settings
from harness.replica.running import running_replica
from harness.replica.spec import ReplicaConfig
from harness.traffic.site import rotation
from tests.helpers import parity
from tests.replica.test_replica_faults import login_on, session_status_on
from tests.suite_runner import Outcome, run_suites

FOUR = ("--instances", "4", "--faulty-instance", "3")
SHARING = "suites/test_sharing.py"
MODEL = "suites/test_model.py"
LIFETIMES = "suites/test_sticky.py::test_session_lifetimes_are_consistent"
MADE_ON = "test_sharing::test_session_made_on_one_target_works_on_every_other"
SEEN_AT_ONCE = "test_sharing::test_write_on_one_target_is_seen_on_the_other_at_once"
CONCURRENT = "test_sharing::test_concurrent_writes_on_two_targets_both_survive"
IN_STORE = "test_sharing::test_session_is_in_the_store_with_a_ttl"
RANDOM = "test_model::test_random_session_sequences_match_the_model"
LIFETIME = "test_sticky::test_session_lifetimes_are_consistent"


@pytest.mark.parametrize("n", range(2, 9))
def test_the_rotation_puts_every_target_on_both_sides_once(n: int) -> None:
    targets = [f"app-{i}" for i in range(1, n + 1)]
    pairs = rotation(targets)
    assert len(pairs) == n
    assert all(a != b for a, b in pairs)
    assert Counter(a for a, _ in pairs) == Counter(targets)
    assert Counter(b for _, b in pairs) == Counter(targets)


def test_the_rotation_of_two_is_both_orders_and_of_one_is_empty() -> None:
    assert rotation(["app-1", "app-2"]) == [("app-1", "app-2"), ("app-2", "app-1")]
    assert rotation(["app-1", "app-2", "app-3"])[-1] == ("app-3", "app-1")
    assert rotation(["app-1"]) == [] and rotation([]) == []


def test_per_instance_faults_break_the_faulty_instance_only() -> None:
    base = AppSettings(instance_id="", build="b", secret_key="k", redis_url="", password="p")
    faults = ("local-sessions", "stale-cache", "version-skew")
    settings = [instance_settings(base, i, faults, faulty=2) for i in range(4)]
    assert [s.session_store for s in settings] == ["redis", "redis", "memory", "redis"]
    assert [s.read_cache_seconds > 0 for s in settings] == [False, False, True, False]
    assert settings[2].build == "b-previous" and settings[1] == base
    assert instance_settings(base, 1, faults).session_store == "memory"  # the default: second


@pytest.mark.parametrize(
    ("instances", "faulty", "allowed"), [(4, 5, "1 to 4"), (4, 0, "1 to 4"), (1, 3, "1 to 1")]
)
def test_a_faulty_instance_outside_the_instances_is_refused(
    instances: int, faulty: int, allowed: str
) -> None:
    with pytest.raises(UsageError, match=f"--faulty-instance {faulty}: allowed {allowed}$"):
        ReplicaConfig(instances=instances, faulty_instance=faulty)
    assert ReplicaConfig(instances=1).faulty_instance == 2  # the default, with nothing to break


def test_parity_up_refuses_a_faulty_instance_it_does_not_have_in_one_line(tmp_path: Path) -> None:
    result = parity(tmp_path, "up", "--instances", "4", "--faulty-instance", "5")
    assert result.returncode == 2
    assert result.stderr.strip() == "parity: error: --faulty-instance 5: allowed 1 to 4"


@pytest.mark.servers
def test_the_faulty_instance_reaches_the_replica() -> None:
    """`faulty_instance=3` with local-sessions: app-3's sessions are its own, app-2's shared."""
    config = ReplicaConfig(instances=4, faults=("local-sessions",), faulty_instance=3)
    with running_replica(config) as (_, handle):
        own = login_on(handle, "app-3")
        assert session_status_on(handle, "app-3", own) == 200
        assert session_status_on(handle, "app-1", own) == 401
        shared = login_on(handle, "app-2")
        assert session_status_on(handle, "app-4", shared) == 200


def _failed_naming(outcomes: dict[str, Outcome], check: str, fault: str, named: str) -> None:
    got = outcomes[check]
    assert got.status == "failed", f"{check} did not catch {fault}: {got.status}"
    assert f"[{fault}]" in got.message, got.message[:600]
    assert named in got.message, got.message[:600]
    assert "Traceback" not in got.message


@pytest.mark.servers
@pytest.mark.slow
def test_four_healthy_instances_pass_every_target_checks(tmp_path: Path) -> None:
    outcomes = run_suites(tmp_path, None, SHARING, MODEL, LIFETIMES, up=FOUR)
    assert {RANDOM, LIFETIME, CONCURRENT, MADE_ON, SEEN_AT_ONCE, IN_STORE} <= set(outcomes)
    bad = {t: o.message[:300] for t, o in outcomes.items() if o.status != "passed"}
    assert not bad


@pytest.mark.servers
@pytest.mark.slow
def test_a_stale_cache_on_instance_3_of_4_is_caught_naming_it(tmp_path: Path) -> None:
    outcomes = run_suites(tmp_path, "stale-cache", SHARING, MODEL, up=FOUR)
    _failed_naming(outcomes, RANDOM, "stale-cache", "app-3 read ")
    _failed_naming(outcomes, SEEN_AT_ONCE, "stale-cache", "app-3 serves session reads")
    concurrent = outcomes[CONCURRENT]  # reads on both sides: a stale view is not a lost update
    assert concurrent.status == "passed" or "[stale-cache]" in concurrent.message
    assert outcomes[MADE_ON].status == "passed", outcomes[MADE_ON].message[:300]


@pytest.mark.servers
@pytest.mark.slow
def test_local_sessions_on_instance_3_of_4_are_caught_naming_it(tmp_path: Path) -> None:
    outcomes = run_suites(tmp_path, "local-sessions", SHARING, LIFETIMES, up=FOUR)
    made_on_3 = "sessions made on app-3 are"
    _failed_naming(outcomes, MADE_ON, "local-sessions", made_on_3)
    _failed_naming(outcomes, CONCURRENT, "local-sessions", made_on_3)
    _failed_naming(outcomes, IN_STORE, "local-sessions", made_on_3)
    _failed_naming(outcomes, LIFETIME, "session-not-shared", "the sessions made on app-3 (TTL")


@pytest.mark.servers
@pytest.mark.slow
def test_a_short_session_life_on_instance_3_of_4_is_caught_naming_it(tmp_path: Path) -> None:
    """Instance 3 gives sessions 60 s (cookie and store): its logins, and its reads of sessions
    made on the others (the TTL reset to its own), are measured and named."""
    outcomes = run_suites(tmp_path, "short-session-life", LIFETIMES, up=FOUR)
    _failed_naming(outcomes, LIFETIME, "short-session-life", "app-3 leaves ")
    assert "app-1 leaves" not in outcomes[LIFETIME].message
