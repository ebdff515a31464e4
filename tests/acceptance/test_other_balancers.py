"""True verdicts on balancers the harness does not emulate, run as a user runs them:
`parity up --balancer caddy|nginx [--fault F]`, then `parity check` on the profile the replica
writes (static provider, drained through Caddy's admin API or nginx's reload by shell commands).

- A healthy stack passes every suite again and again on every front end (the ALB too): three
  runs in a row at 2 and 4 instances, five at 8 and with weighted groups, where the statistical
  checks draw most and intermittent false alarms showed before. A false alarm is the worst
  defect a gate can have.
- Each fault that can exist behind a front end fails the check that names it.
- ALB-only rules (re-issue on every response, idle lapse) are "not applicable", never a pass
  or a failure; open-source nginx sets no sticky cookie, so every cookie check is not applicable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import parity

pytestmark = pytest.mark.slow
HEALTHY_RUNS = {2: 3, 4: 3, 8: 5}  # runs in a row, by instances
WEIGHTED_RUNS = 5
FRONTS = ("alb", "caddy", "nginx")
INSTANCES = (2, 4, 8)
# fault: (suite to run, the check that must catch it); None where the fault does not apply
SHARING_CHECK = "test_session_made_on_one_target_works_on_every_other"
LIFETIMES = "test_session_lifetimes_are_consistent"
STREAM_CHECK = "test_stream_opens_on_every_target_with_a_session_made_on_another"
POLLING_CHECK = "test_long_polling_stays_on_the_target_of_its_handshake"
MESSAGE_CHECK = "test_message_published_on_one_target_reaches_every_target"
DRAIN_CHECK = "test_drain_keeps_streams_for_its_delay_and_they_come_back_with_their_session"
MATRIX: dict[str, dict[str, tuple[str, str] | None]] = {
    "local-broadcast": dict.fromkeys(FRONTS, ("realtime", MESSAGE_CHECK)),
    "polling-not-sticky": dict.fromkeys(FRONTS, ("realtime", POLLING_CHECK)),
    "local-sessions": dict.fromkeys(FRONTS, ("sharing", SHARING_CHECK)),
    "secret-mismatch": dict.fromkeys(
        FRONTS, ("sharing", "test_cookie_signed_on_one_target_is_accepted_by_every_other")
    ),
    "cookie-secret-mismatch": dict.fromkeys(
        FRONTS, ("sharing", "test_cookie_signed_on_one_target_is_accepted_by_every_other")
    ),
    "stale-cache": dict.fromkeys(
        FRONTS, ("sharing", "test_write_on_one_target_is_seen_on_the_other_at_once")
    ),
    "lost-update": dict.fromkeys(
        FRONTS, ("sharing", "test_concurrent_writes_on_two_targets_both_survive")
    ),
    "version-skew": dict.fromkeys(FRONTS, ("topology", "test_every_target_serves_the_same_build")),
    "slow-target": dict.fromkeys(FRONTS, ("distribution", "test_no_target_is_much_slower")),
    "short-redis-ttl": dict.fromkeys(FRONTS, ("sticky", "test_session_lifetimes_are_consistent")),
    "short-session-life": dict.fromkeys(
        FRONTS, ("sticky", "test_session_lifetimes_are_consistent")
    ),
    "no-stickiness": {
        "alb": ("sticky", "test_sticky_cookie_has_the_documented_attributes"),
        "caddy": ("sticky", "test_sticky_cookie_has_the_documented_attributes"),
        "nginx": ("failover", "test_drain_moves_pinned_clients_with_their_sessions"),
    },
    "ignored-drain": dict.fromkeys(
        FRONTS, ("failover", "test_drain_moves_pinned_clients_with_their_sessions")
    ),
    "uneven": {
        "alb": ("distribution", "test_fresh_clients_spread_evenly"),
        "caddy": None,  # Caddy 2.6 has no weighted policy
        "nginx": ("distribution", "test_fresh_clients_spread_evenly"),
    },
}
CASES = [(f, b) for f, per in sorted(MATRIX.items()) for b in FRONTS if per[b] and b != "alb"]
NOT_APPLICABLE = {
    "caddy": {
        "test_sticky_cookie_is_reissued_on_every_response",
        "test_stickiness_lapses_after_the_idle_duration",
    },
    "nginx": {
        "test_sticky_cookie_has_the_documented_attributes",
        "test_sticky_cookie_is_reissued_on_every_response",
        "test_pinned_clients_stay_on_their_target",
        "test_garbage_cookie_is_balanced_anew_and_reissued",
        "test_stickiness_lapses_after_the_idle_duration",
    },
}


def _up(
    home: Path, balancer: str, *faults: str, instances: int = 2, more: tuple[str, ...] = ()
) -> None:
    args = [a for f in faults for a in ("--fault", f)]
    done = parity(
        home,
        "up",
        "--balancer",
        balancer,
        "--instances",
        str(instances),
        "--deregistration-delay",
        "2",
        *args,
        *more,
    )
    assert done.returncode == 0, done.stderr


def _check(home: Path, *args: str) -> tuple[int, str, dict[str, dict[str, Any]]]:
    reports = home / "reports"
    done = parity(home, "check", "--report-dir", str(reports), *args)
    results = json.loads((reports / "latest" / "results.json").read_text())
    return done.returncode, done.stdout + done.stderr, {c["name"]: c for c in results["checks"]}


def _spread_decided(checks: dict[str, dict[str, Any]]) -> bool:
    """The spread check passed on evidence: its sequential test decided "even"."""
    spread = checks["test_fresh_clients_spread_evenly"]
    return spread["outcome"] == "passed" and (
        spread["evidence"]["distribution"]["decision"] == "even"
    )


@pytest.mark.servers
@pytest.mark.parametrize("instances", INSTANCES)
@pytest.mark.parametrize("balancer", FRONTS)
def test_a_healthy_front_end_passes_every_suite_run_after_run(
    tmp_path: Path, balancer: str, instances: int
) -> None:
    _up(tmp_path, balancer, instances=instances)
    try:
        for run in range(1, HEALTHY_RUNS[instances] + 1):
            code, output, checks = _check(tmp_path)  # every suite
            bad = {n: c["message"][:300] for n, c in checks.items() if c["outcome"] == "failed"}
            where = f"{balancer} x{instances} run {run}"
            assert code == 0 and not bad, f"{where}: {bad or output[-800:]}"
            assert _spread_decided(checks), checks["test_fresh_clients_spread_evenly"]
            count = checks["test_expected_number_of_healthy_targets"]
            assert count["outcome"] == "passed", count["message"]
            skipped = {n for n, c in checks.items() if c["outcome"] == "skipped"}
            for name in NOT_APPLICABLE.get(balancer, set()):
                assert name in skipped, name
                assert checks[name]["message"].startswith(f"not applicable: {balancer}"), name
            assert checks["test_drain_moves_pinned_clients_with_their_sessions"]["outcome"] == (
                "passed"
            )
            for name in (STREAM_CHECK, POLLING_CHECK, MESSAGE_CHECK):  # looked, and saw no fault
                assert checks[name]["outcome"] == "passed", (where, name, checks[name]["message"])
            _drained_streams_as_the_front_end_does(balancer, checks[DRAIN_CHECK], where)
    finally:
        parity(tmp_path, "down")


def _drained_streams_as_the_front_end_does(
    balancer: str, drain: dict[str, Any], where: str
) -> None:
    """The ALB closes a drained target's streams when the delay ends, and they come back on
    another target; nginx's reload leaves them open; Caddy 2.6 closes every stream at each
    config change, which its replica profile accepts, saying why."""
    seen = drain["evidence"]["realtime_drain"]
    if balancer == "caddy":
        assert drain["outcome"] == "accepted", (where, drain["message"][:300])
        assert seen["others_closed"], (where, seen)
        return
    assert drain["outcome"] == "passed", (where, drain["message"][:300])
    if balancer == "alb":
        assert seen["closed_after"] >= seen["delay"] - 0.5 and seen["reconnected_to"], seen
    else:
        assert seen["closed_after"] is None and seen["received"] == seen["published"] > 0, seen


@pytest.mark.servers
@pytest.mark.parametrize("groups", ["blue:90,green:10", "blue:90,green:5,red:5"])
def test_weighted_groups_pass_every_suite_five_times(tmp_path: Path, groups: str) -> None:
    """Weighted target groups (two instances each) on the ALB front end: every suite, five runs;
    the split and the spread are judged by the weights."""
    _up(tmp_path, "alb", more=("--groups", groups, "--group-stickiness", "3600"))
    try:
        for run in range(1, WEIGHTED_RUNS + 1):
            code, output, checks = _check(tmp_path)
            bad = {n: c["message"][:300] for n, c in checks.items() if c["outcome"] == "failed"}
            assert code == 0 and not bad, f"{groups} run {run}: {bad or output[-800:]}"
            assert checks["test_fresh_clients_split_by_weight"]["outcome"] == "passed"
            for name in (STREAM_CHECK, POLLING_CHECK, MESSAGE_CHECK, DRAIN_CHECK):
                assert checks[name]["outcome"] == "passed", (name, checks[name]["message"])
            assert _spread_decided(checks), checks["test_fresh_clients_spread_evenly"]
    finally:
        parity(tmp_path, "down")


# Faults of one instance (the second) that a fleet of eight must still show, by name.
ONE_OF_EIGHT = {
    "local-sessions": ("sharing", SHARING_CHECK),
    "secret-mismatch": ("sharing", SHARING_CHECK),
    "stale-cache": ("sharing", "test_write_on_one_target_is_seen_on_the_other_at_once"),
    "version-skew": ("topology", "test_every_target_serves_the_same_build"),
    "slow-target": ("distribution", "test_no_target_is_much_slower"),
    "uneven": ("distribution", "test_fresh_clients_spread_evenly"),
}
EIGHT_CASES = [(f, b) for f in sorted(ONE_OF_EIGHT) for b in ("alb", "nginx")]


@pytest.mark.servers
@pytest.mark.parametrize(("fault", "balancer"), EIGHT_CASES)
def test_a_fault_on_one_instance_of_eight_is_caught_by_name(
    tmp_path: Path, fault: str, balancer: str
) -> None:
    suite, check = ONE_OF_EIGHT[fault]
    _up(tmp_path, balancer, fault, instances=8)
    try:
        code, output, checks = _check(tmp_path, "--suite", suite)
        assert code == 1, output[-1500:]
        assert checks[check]["outcome"] == "failed", (check, checks[check]["message"][:300])
        assert checks[check]["message"].startswith(f"[{fault}]"), checks[check]["message"][:300]
    finally:
        parity(tmp_path, "down")


@pytest.mark.servers
@pytest.mark.parametrize(("fault", "balancer"), CASES)
def test_each_fault_behind_another_balancer_is_caught_by_name(
    tmp_path: Path, fault: str, balancer: str
) -> None:
    suite, check = MATRIX[fault][balancer]  # type: ignore[misc]
    _up(tmp_path, balancer, fault)
    try:
        code, output, checks = _check(tmp_path, "--suite", suite)
        assert code == 1, output[-1500:]
        assert checks[check]["outcome"] == "failed", (check, checks[check]["message"][:300])
        assert checks[check]["message"].startswith(f"[{fault}]"), checks[check]["message"][:300]
    finally:
        parity(tmp_path, "down")


@pytest.mark.parametrize(("fault", "balancer"), [("abrupt-drain", "caddy"), ("uneven", "caddy"),
                                                 ("short-stickiness", "nginx")])  # fmt: skip
def test_a_fault_a_front_end_cannot_have_is_refused_saying_why(
    tmp_path: Path, fault: str, balancer: str
) -> None:
    done = parity(tmp_path, "up", "--balancer", balancer, "--fault", fault)
    assert done.returncode == 2
    assert f"--fault {fault} does not apply to --balancer {balancer}" in done.stderr
