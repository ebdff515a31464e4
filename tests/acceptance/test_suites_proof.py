"""Proof: the healthy replica passes every suite; each fault fails the intended test, naming it,
while the tests that should not notice it pass."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers import parity
from tests.suite_runner import run_suites

pytestmark = pytest.mark.servers

LAPSE = "test_sticky::test_stickiness_lapses_after_the_idle_duration"
HYGIENE = "test_topology::test_aws_security_groups_and_zones"  # AWS only
APP_COOKIE = "test_sticky::test_app_cookie_stickiness_follows_the_apps_cookie"
REISSUE = "test_sticky::test_sticky_cookie_is_reissued_on_every_response"
APP_MOVED = "test_sticky::test_app_cookie_client_stays_on_its_new_target_after_a_failover"
GROUPS = ("--groups", "blue:90,green:10", "--group-stickiness", "3")
SPLIT = "test_groups::test_fresh_clients_split_by_weight"
STAY = "test_groups::test_sticky_clients_stay_in_their_group_across_a_weight_change"
MOVE = "test_groups::test_a_session_survives_moving_between_groups"
WEIGHTED = {SPLIT, STAY, MOVE}  # skipped where there is no weighted forward
STORE_FAILOVER = "test_store::test_store_failover"  # needs --store sentinel
PRESSURE = "test_store::test_sessions_survive_memory_pressure"
REPLICA_PROFILE = Path(__file__).resolve().parents[2] / "harness" / "profile" / "replica.yaml"
ONE_BUILD = "test_compatibility::test_sessions_work_across_builds"  # needs two builds
# the replica's 60 s idle timeout is longer than the keep-alive check waits (not enough evidence)
KEEPALIVE = "test_balancer::test_targets_outlast_the_balancer_idle_timeout"
TOPOLOGY = [
    "test_topology::test_expected_number_of_healthy_targets",
    "test_topology::test_every_target_answers",
]
STICKY = [
    "test_sticky::test_sticky_cookie_has_the_documented_attributes",
    "test_sticky::test_pinned_clients_stay_on_their_target",
]
SHARING = [
    "test_sharing::test_session_made_on_one_target_works_on_every_other",
    "test_sharing::test_concurrent_writes_on_two_targets_both_survive",
]
SPREAD = ["test_distribution::test_fresh_clients_spread_evenly"]
FAILOVER = ["test_failover::test_drain_moves_pinned_clients_with_their_sessions"]

STREAM = "test_realtime::test_stream_opens_on_every_target_with_a_session_made_on_another"
POLLING = "test_realtime::test_long_polling_stays_on_the_target_of_its_handshake"
MESSAGE = "test_realtime::test_message_published_on_one_target_reaches_every_target"

# fault: (the test that must catch it, tests that must not notice it)
PROOF = {
    "local-broadcast": (MESSAGE, TOPOLOGY + STICKY + SHARING + [STREAM, POLLING]),
    "polling-not-sticky": (POLLING, TOPOLOGY + STICKY + SHARING + [STREAM, MESSAGE]),
    "local-sessions": (
        "test_sharing::test_session_made_on_one_target_works_on_every_other",
        TOPOLOGY + STICKY + SPREAD,
    ),
    "secret-mismatch": (
        "test_sharing::test_cookie_signed_on_one_target_is_accepted_by_every_other",
        TOPOLOGY + STICKY + SPREAD,
    ),
    "cookie-secret-mismatch": (
        "test_sharing::test_cookie_signed_on_one_target_is_accepted_by_every_other",
        TOPOLOGY + STICKY + SPREAD,
    ),
    "no-stickiness": (
        "test_sticky::test_sticky_cookie_has_the_documented_attributes",
        TOPOLOGY + SHARING + SPREAD,
    ),
    "short-stickiness": (
        "test_topology::test_settings_match_the_profile",
        TOPOLOGY + STICKY + SHARING + SPREAD + FAILOVER,
    ),
    "version-skew": (
        "test_topology::test_every_target_serves_the_same_build",
        STICKY + SHARING + SPREAD + FAILOVER,
    ),
    "abrupt-drain": (
        "test_failover::test_drain_moves_pinned_clients_with_their_sessions",
        TOPOLOGY + STICKY + SHARING + SPREAD,
    ),
    "ignored-drain": (
        "test_failover::test_drain_moves_pinned_clients_with_their_sessions",
        TOPOLOGY + STICKY + SHARING + SPREAD,
    ),
    "slow-target": (
        "test_distribution::test_no_target_is_much_slower",
        TOPOLOGY + STICKY + SHARING + SPREAD + FAILOVER,
    ),
    "short-redis-ttl": (
        "test_sticky::test_session_lifetimes_are_consistent",
        TOPOLOGY + STICKY + SHARING + SPREAD + FAILOVER,
    ),
    "short-session-life": (
        "test_sticky::test_session_lifetimes_are_consistent",
        TOPOLOGY + STICKY + SHARING + SPREAD,
    ),
    "lost-update": (
        "test_sharing::test_concurrent_writes_on_two_targets_both_survive",
        TOPOLOGY
        + STICKY
        + SPREAD
        + FAILOVER
        + ["test_sharing::test_session_made_on_one_target_works_on_every_other"],
    ),
    "uneven": (
        "test_distribution::test_fresh_clients_spread_evenly",
        TOPOLOGY + STICKY + SHARING + FAILOVER,
    ),
    "store-evicts": (
        "test_store::test_store_cannot_evict_live_sessions",
        TOPOLOGY + STICKY + SHARING + SPREAD + FAILOVER,
    ),
    "stale-cache": (
        "test_sharing::test_write_on_one_target_is_seen_on_the_other_at_once",
        TOPOLOGY
        + STICKY
        + SPREAD
        + FAILOVER
        + [
            "test_sharing::test_session_made_on_one_target_works_on_every_other",
            "test_sharing::test_each_target_reads_its_own_writes",
        ],
    ),
}


@pytest.mark.slow
def test_healthy_replica_passes_every_suite_twice(tmp_path: Path) -> None:
    for run in (1, 2):
        outcomes = run_suites(tmp_path / f"run{run}")
        assert len(outcomes) >= 20
        bad = {
            t: o.message[:300] for t, o in outcomes.items() if o.status not in ("passed", "skipped")
        }
        assert not bad, f"run {run}: {bad}"
        skipped = {t for t, o in outcomes.items() if o.status == "skipped"}
        assert skipped == {
            PRESSURE,  # the replica's store has no maxmemory: no pressure reaches a limit
            KEEPALIVE,
            LAPSE,
            HYGIENE,
            APP_COOKIE,
            APP_MOVED,
            STORE_FAILOVER,
            ONE_BUILD,
            *WEIGHTED,
        }
        assert "one build is reachable" in outcomes[ONE_BUILD].message


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(PROOF))
def test_each_fault_is_caught_by_its_test_with_a_message_naming_it(
    tmp_path: Path, fault: str
) -> None:
    catcher, bystanders = PROOF[fault]
    modules = sorted({f"suites/{name.split('::')[0]}.py" for name in [catcher, *bystanders]})
    outcomes = run_suites(tmp_path, fault, *modules)  # the suites that must speak, or keep quiet
    caught = outcomes[catcher]
    assert caught.status == "failed", f"{catcher} did not catch {fault}: {caught.status}"
    assert f"[{fault}]" in caught.message, caught.message[:400]
    assert "Traceback" not in caught.message
    noticed = {t: outcomes[t].message[:200] for t in bystanders if outcomes[t].status != "passed"}
    assert not noticed, f"tests that should not notice {fault}: {noticed}"


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["secret-mismatch", "local-sessions"])
def test_a_sharing_fault_is_named_alike_by_every_sharing_check_that_sees_it(
    tmp_path: Path, fault: str
) -> None:
    """The sharing checks share a pool of sessions: a fault one of them finds must not change
    what the next one says (a regression, from a review: a session another target had
    answered with its own, handed to the next check). Every failure names the fault; the
    checks that cannot see it pass."""
    outcomes = run_suites(tmp_path, fault, "suites/test_sharing.py")
    failed = {t: o.message[:200] for t, o in outcomes.items() if o.status == "failed"}
    assert PROOF[fault][0] in failed, outcomes
    assert all(m.removeprefix("Failed: ").startswith(f"[{fault}]") for m in failed.values()), failed
    own = outcomes["test_sharing::test_each_target_reads_its_own_writes"]
    assert own.status == "passed", own.message[:300]


@pytest.mark.slow
def test_the_model_finds_a_stale_cache_on_its_own(tmp_path: Path) -> None:
    """Hypothesis, with no hint of the fault: its read-after-write interleavings find it."""
    model = "test_model::test_random_session_sequences_match_the_model"
    outcomes = run_suites(tmp_path, "stale-cache", "suites/test_model.py")
    assert outcomes[model].status == "failed"
    assert "[stale-cache]" in outcomes[model].message, outcomes[model].message[:400]


@pytest.mark.slow
def test_stickiness_lapse_is_checked_when_the_duration_is_short(tmp_path: Path) -> None:
    outcomes = run_suites(
        tmp_path,
        None,
        "suites/test_sticky.py",
        "suites/test_topology.py",
        up=("--stickiness-seconds", "2"),
    )
    assert outcomes[LAPSE].status == "passed"
    drift = outcomes["test_topology::test_settings_match_the_profile"]
    assert drift.status == "failed" and "stickiness duration 2 s, expected 86400 s" in drift.message


@pytest.mark.slow
def test_suites_pass_with_two_xdist_workers(tmp_path: Path) -> None:
    outcomes = run_suites(tmp_path, None, "suites", "-n", "2")
    assert len(outcomes) >= 20
    bad = {
        t: o.message[-3000:] for t, o in outcomes.items() if o.status not in ("passed", "skipped")
    }
    assert not bad, "\n\n".join(f"{t}:\n{m}" for t, m in bad.items())


def _every_target_unhealthy(home: Path) -> None:
    for target in ("app-1", "app-2"):
        assert parity(home, "replica", "act", target, "fail-health").returncode == 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        states = json.loads(parity(home, "status", "--json").stdout)["targets"]
        if all(t["state"] == "unhealthy" for t in states):
            return
        time.sleep(0.3)
    raise AssertionError(f"targets did not turn unhealthy: {states}")


@pytest.mark.slow
def test_a_group_serving_in_fail_open_is_caught(tmp_path: Path) -> None:
    outcomes = run_suites(tmp_path, None, "suites/test_topology.py", before=_every_target_unhealthy)
    caught = outcomes["test_topology::test_no_group_serves_in_fail_open"]
    assert caught.status == "failed" and "[fail-open]" in caught.message, caught.message[:400]
    assert "got 200 from app-" in caught.message


@pytest.mark.slow
def test_app_cookie_stickiness_passes_healthy_and_is_checked(tmp_path: Path) -> None:
    """`parity up --stickiness app_cookie`: AWSALBAPP follows the app's cookie; every suite
    passes (no false alarm from the lb_cookie rules), with the app-cookie checks run."""
    outcomes = run_suites(
        tmp_path, None, "suites", up=("--stickiness", "app_cookie", "--app-cookie", "session")
    )
    bad = {t: o.message[:300] for t, o in outcomes.items() if o.status not in ("passed", "skipped")}
    assert not bad
    skipped = {t for t, o in outcomes.items() if o.status == "skipped"}
    assert skipped == {
        KEEPALIVE,
        LAPSE,
        HYGIENE,
        REISSUE,
        STORE_FAILOVER,
        ONE_BUILD,
        PRESSURE,
        *WEIGHTED,
    }
    assert outcomes[APP_COOKIE].status == "passed" and outcomes[APP_MOVED].status == "passed"
    assert outcomes[
        "test_failover::test_drain_moves_pinned_clients_with_their_sessions"
    ].status == ("passed")


@pytest.mark.slow
def test_app_cookie_stickiness_without_the_alb_cookie_is_caught(tmp_path: Path) -> None:
    """The same replica with stickiness off (no-stickiness): the app-cookie check catches it."""
    outcomes = run_suites(
        tmp_path,
        "no-stickiness",
        "suites/test_sticky.py",
        up=("--stickiness", "app_cookie", "--app-cookie", "session"),
    )
    caught = outcomes[APP_COOKIE]
    assert caught.status == "failed" and "[no-stickiness]" in caught.message, caught.message[:300]


@pytest.mark.slow
def test_weighted_groups_pass_every_suite_and_run_the_canary_suite(tmp_path: Path) -> None:
    """`parity up --groups blue:90,green:10 --group-stickiness 3`: no false alarm anywhere
    (distribution expects the weights), and the three weighted-forward checks run and pass."""
    outcomes = run_suites(tmp_path, None, "suites", up=GROUPS)
    bad = {t: o.message[:300] for t, o in outcomes.items() if o.status not in ("passed", "skipped")}
    assert not bad
    assert all(outcomes[t].status == "passed" for t in (SPLIT, STAY, MOVE))
    assert outcomes["test_distribution::test_fresh_clients_spread_evenly"].status == "passed"


@pytest.mark.slow
def test_a_forward_that_ignores_its_weights_is_caught(tmp_path: Path) -> None:
    outcomes = run_suites(tmp_path, "ignored-weights", "suites/test_groups.py", up=GROUPS)
    caught = outcomes[SPLIT]
    assert caught.status == "failed" and "[uneven]" in caught.message, caught.message[:300]
    assert "does not follow the weights" in caught.message


@pytest.mark.slow
def test_sessions_lost_between_groups_are_caught(tmp_path: Path) -> None:
    outcomes = run_suites(tmp_path, "local-sessions", "suites/test_groups.py", up=GROUPS)
    caught = outcomes[MOVE]
    assert caught.status == "failed" and "[session-not-shared]" in caught.message
    assert outcomes[SPLIT].status == "passed"


@pytest.mark.slow
def test_memory_pressure_shows_sessions_evicted(tmp_path: Path) -> None:
    """The disruptive check sees the eviction happen, not only the policy that allows it."""
    outcomes = run_suites(tmp_path, "store-evicts", "suites/test_store.py")
    caught = outcomes["test_store::test_sessions_survive_memory_pressure"]
    assert caught.status == "failed" and "[store-evicts]" in caught.message
    assert "sessions were gone after" in caught.message


@pytest.mark.slow
def test_a_pressure_that_cannot_reach_the_stores_limit_is_not_applicable(tmp_path: Path) -> None:
    """A regression: 16 MiB of filler on a store with gigabytes free passed, testing nothing.
    Here 1 MiB (redis.pressure_mb) against a 4 MiB store with 3 MiB free: it says what to set."""
    profile = tmp_path / "pressure.yaml"
    text = REPLICA_PROFILE.read_text().replace("name: replica", "name: pressure")
    text = text.replace(
        "  provider: replica\n", "  provider: replica\n  replica: {faults: [store-evicts]}\n"
    )
    profile.write_text(text.replace("redis:\n", "redis:\n  pressure_mb: 1\n"))
    reports = tmp_path / "reports"
    done = parity(
        tmp_path / "home", "check", "--env-file", str(profile), "--suite", "store",
        "-k", "pressure", "--report-dir", str(reports),
    )  # fmt: skip
    results = json.loads((reports / "latest" / "results.json").read_text())
    (pressure,) = [c for c in results["checks"] if c["name"] == PRESSURE.split("::")[1]]
    assert pressure["outcome"] == "skipped", (pressure, done.stdout[-1000:])
    assert "1 MiB of filler (redis.pressure_mb) cannot reach it" in pressure["message"]
    assert "set redis.pressure_mb to" in pressure["message"]


@pytest.mark.slow
def test_a_sentinel_store_fails_over_without_losing_sessions(tmp_path: Path) -> None:
    """`parity up --store sentinel`: the app reaches Redis through Sentinel; every suite passes,
    the store failover among them (a primary, a replica, three sentinels, a real failover)."""
    outcomes = run_suites(tmp_path, None, "suites/test_store.py", up=("--store", "sentinel"))
    pressure = outcomes.pop(PRESSURE)  # no maxmemory on the replica's store: nothing to reach
    assert pressure.status == "skipped" and "no maxmemory" in pressure.message
    bad = {t: o.message[:300] for t, o in outcomes.items() if o.status != "passed"}
    assert not bad and STORE_FAILOVER in outcomes


@pytest.mark.slow
def test_an_app_that_does_not_follow_the_failover_is_caught(tmp_path: Path) -> None:
    outcomes = run_suites(
        tmp_path,
        "store-stale-primary",
        "suites/test_store.py",
        up=("--store", "sentinel"),
    )
    caught = outcomes["test_store::test_store_failover"]
    assert caught.status == "failed" and "[store-stale-primary]" in caught.message
    assert "does not follow the new primary" in caught.message
    assert outcomes["test_store::test_store_cannot_evict_live_sessions"].status == "passed"
    pressure = outcomes["test_store::test_sessions_survive_memory_pressure"]
    assert pressure.status == "skipped" and "no maxmemory" in pressure.message


def _green_at_weight_zero_and_unhealthy(home: Path) -> None:
    assert parity(home, "replica", "weights", "blue=100", "green=0").returncode == 0
    for target in ("green-1", "green-2"):
        assert parity(home, "replica", "act", target, "fail-health").returncode == 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        states = json.loads(parity(home, "status", "--json").stdout)["targets"]
        if all(t["state"] == "unhealthy" for t in states if t["id"].startswith("green")):
            return
        time.sleep(0.3)
    raise AssertionError(f"green did not turn unhealthy: {states}")


@pytest.mark.slow
def test_a_group_at_weight_zero_with_no_healthy_target_is_not_fail_open(tmp_path: Path) -> None:
    """A regression: green at weight 0 (blue takes everyone) and every green target unhealthy
    serves no one; it was reported as serving in fail-open."""
    outcomes = run_suites(
        tmp_path,
        None,
        "suites/test_topology.py",
        up=GROUPS,
        before=_green_at_weight_zero_and_unhealthy,
    )
    fail_open = outcomes["test_topology::test_no_group_serves_in_fail_open"]
    assert fail_open.status == "passed", fail_open.message[:400]


@pytest.mark.slow
def test_a_deregistration_that_takes_seconds_to_propagate_is_waited_for(tmp_path: Path) -> None:
    """A regression: a real ALB keeps routing to a target for a few seconds after
    DeregisterTargets; the failover check read at once and called the drain abrupt. The replica
    lags the same way (`--deregistration-lag 2`); the check waits for the move and says when."""
    outcomes = run_suites(
        tmp_path, None, "suites/test_failover.py", "-k", "drain_moves",
        up=("--deregistration-lag", "2"),
    )  # fmt: skip
    drain = outcomes["test_failover::test_drain_moves_pinned_clients_with_their_sessions"]
    assert drain.status == "passed", drain.message[:400]
