"""The sequential spread test: its error rates by simulation (small, fixed seeds), and its edges.

The full figures (2 to 16 targets, weighted groups, 20,000 runs each) are printed by
benchmarks/distribution_power.py; these runs are small enough for every `make test`.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.distribution_power import simulate
from harness.loadgen.gates import Gate, check, distribution_p, metrics, unmeasured
from harness.spread import ALPHA, EVEN, UNEVEN, SequentialSpread, SpreadRun
from harness.spread_promises import EVEN_FACTORS, RATIO_FACTORS, semantics
from harness.topology.model import LoadBalancer, Target, TargetGroup, Topology
from harness.topology.shares import spread_semantics, target_weights
from harness.traffic.site import ONE_TARGET_MISS, tries_to_see_two


@pytest.mark.parametrize("n", [2, 4, 8])
def test_a_fair_balancer_rarely_fails(n: int) -> None:
    test = simulate([1.0] * n, [1.0] * n, 3000, seed=n)
    assert (test.decision == UNEVEN).mean() < 0.004  # 0.05 % expected: a few in 3000 at most
    assert (test.decision == EVEN).mean() > 0.99


@pytest.mark.parametrize("n", [2, 4, 8])
def test_a_target_with_twice_its_share_is_caught(n: int) -> None:
    test = simulate([1.0] * n, [2.0] + [1.0] * (n - 1), 1000, seed=100 + n)
    assert (test.decision == UNEVEN).mean() > 0.99


@pytest.mark.parametrize("n", [2, 8, 16])
def test_a_target_that_gets_nothing_is_caught_every_time(n: int) -> None:
    test = simulate([1.0] * n, [1e-12] + [1.0] * (n - 1), 300, seed=200 + n)
    assert (test.decision == UNEVEN).all()


def test_weights_are_the_null_hypothesis() -> None:
    """90/10 clients on a 90/10 forward are even; on a 50/50 expectation they are not."""
    healthy = simulate([90.0, 10.0], [90.0, 10.0], 1000, seed=7)
    assert (healthy.decision == EVEN).mean() > 0.99
    ignored = simulate([90.0, 10.0], [50.0, 50.0], 200, seed=8)
    assert (ignored.decision == UNEVEN).all()


def test_a_healthy_two_target_stack_needs_fewer_clients_than_the_old_400() -> None:
    test = simulate([1.0, 1.0], [1.0, 1.0], 2000, seed=9)
    assert test.n.mean() < 250


def test_a_round_robin_balancer_is_even_without_a_false_alarm() -> None:
    run = SpreadRun({"app-1": 1, "app-2": 1, "app-3": 1})
    for i in range(3000):
        run.add(f"app-{i % 3 + 1}")
        if run.decided:
            break
    verdict = run.verdict()
    assert verdict.decision == "even" and verdict.clients < 400
    assert verdict.p_value > ALPHA and not verdict.flagged


def test_the_verdict_names_the_target_and_the_direction() -> None:
    run = SpreadRun({"a": 1, "b": 1, "c": 1, "d": 1})
    for i in range(3000):
        run.add("a" if i % 2 else "bcd"[i % 3])  # a takes half, twice its quarter
        if run.decided:
            break
    verdict = run.verdict()
    assert verdict.decision == "uneven"
    assert verdict.flagged.get("a") == "more"
    assert verdict.p_value < ALPHA
    assert "a: " in verdict.shares_text() and "expected" in verdict.shares_text()


def test_a_starved_target_is_named_as_taking_fewer() -> None:
    run = SpreadRun({f"t{i}": 1 for i in range(6)})
    for i in range(3000):
        run.add(f"t{i % 5 + 1}")  # t0 gets nothing
        if run.decided:
            break
    assert run.verdict().flagged == {"t0": "fewer"}


def test_one_target_or_a_zero_share_is_refused() -> None:
    with pytest.raises(ValueError):
        SequentialSpread([1.0])
    with pytest.raises(ValueError):
        SequentialSpread([1.0, 0.0])


def test_what_each_algorithm_promises() -> None:
    assert semantics("round_robin").factors == EVEN_FACTORS
    assert semantics("least_outstanding_requests").factors == RATIO_FACTORS
    assert semantics("source_ip_hash").factors is None
    assert semantics("round_robin", slow_start_seconds=30).factors is None
    assert "slow start (30 s)" in semantics("round_robin", 30).note


def _topology(groups: list[TargetGroup]) -> Topology:
    return Topology("static", "http://127.0.0.1:1", LoadBalancer(name="lb"), groups)


def test_weighted_groups_share_their_weight_among_healthy_targets() -> None:
    blue = [Target(f"blue-{i}", "127.0.0.1", 1, "healthy") for i in (1, 2)]
    green = [Target("green-1", "127.0.0.1", 1, "healthy")]
    topology = _topology(
        [
            TargetGroup("blue", weight=90, targets=blue),
            TargetGroup("green", weight=10, targets=green),
        ]
    )
    weights = target_weights(topology, blue + green)
    assert weights == {"blue-1": 45.0, "blue-2": 45.0, "green-1": 10.0}
    assert spread_semantics(topology, weights).factors == EVEN_FACTORS


def test_the_weakest_promise_of_the_groups_wins() -> None:
    a = [Target("a-1", "127.0.0.1", 1, "healthy")]
    b = [Target("b-1", "127.0.0.1", 1, "healthy")]
    topology = _topology(
        [
            TargetGroup("a", weight=50, targets=a),
            TargetGroup("b", weight=50, targets=b, algorithm="least_outstanding_requests"),
        ]
    )
    weights = target_weights(topology, a + b)
    assert spread_semantics(topology, weights).factors == RATIO_FACTORS


def test_the_load_gate_counts_a_target_that_got_nothing() -> None:
    weights = {"app-1": 1.0, "app-2": 1.0, "app-3": 1.0}
    assert distribution_p({"app-1": 40, "app-2": 40, "app-3": 40}, weights, EVEN_FACTORS) > 0.5
    assert distribution_p({"app-1": 60, "app-2": 60}, weights, EVEN_FACTORS) < 0.001


def test_the_load_gate_follows_the_weights() -> None:
    weights = {"blue-1": 90.0, "green-1": 10.0}
    assert distribution_p({"blue-1": 450, "green-1": 50}, weights, EVEN_FACTORS) > 0.01
    assert distribution_p({"blue-1": 250, "green-1": 250}, weights, EVEN_FACTORS) < 1e-6
    assert distribution_p({"blue-1": 1, "red-1": 1}, weights, EVEN_FACTORS) == 0.0


def test_the_load_gate_is_not_measured_with_nothing_to_look_at() -> None:
    """A gate on the spread passed with p 1.0 when no spread was promised, one target took all
    or no session was started: it is "not measured" now, with the reason, never passed."""
    gate = Gate.parse("distribution_p > 0.001")
    two = {"blue-1": 1.0, "green-1": 1.0}
    cases = {
        "promises no even spread": ({"blue-1": 1, "green-1": 99}, two, None),
        "one target takes every session": ({"blue-1": 80}, {"blue-1": 1.0}, EVEN_FACTORS),
        "started no session": ({"blue-1": 0, "green-1": 0}, two, EVEN_FACTORS),
    }
    for why, (sessions, weights, factors) in cases.items():
        assert distribution_p(sessions, weights, factors) is None
        evidence = {
            "targets": {t: {"sessions": n, "latency_ms": {}} for t, n in sessions.items()},
            "totals": {"requests": 100, "errors": 0},
            "sticky_violations": 0,
            "session_losses": 0,
        }
        measured = metrics(evidence, 10.0, weights, factors)
        (result,) = check([gate], measured, unmeasured(evidence, weights, factors))
        assert result.passed is None and why in result.reason, (why, result)
        assert result.line().startswith("N/A") and result.record()["value"] is None
    measured = {"distribution_p": 0.5}
    assert check([gate], dict(measured), {})[0].passed is True


def test_the_load_gate_rarely_fails_a_fair_balancer_at_a_fixed_count() -> None:
    rng = np.random.default_rng(11)
    weights = {f"t{i}": 1.0 for i in range(4)}
    alarms = 0
    for counts in rng.multinomial(300, [0.25] * 4, size=2000):
        sessions = {f"t{i}": int(n) for i, n in enumerate(counts)}
        alarms += distribution_p(sessions, weights, EVEN_FACTORS) <= 0.001
    assert alarms <= 4  # at most 0.1 % by Ville's inequality: 2 expected at worst


SPREAD_SHARES = {
    "two": [0.5, 0.5],
    "eight": [1 / 8] * 8,
    "90/10": [0.9, 0.1],
    "90/5/5": [0.9, 0.05, 0.05],
    "99/1": [0.99, 0.01],
}


@pytest.mark.parametrize("name", sorted(SPREAD_SHARES))
def test_the_garbage_cookie_draw_sends_all_to_one_target_rarely(name: str) -> None:
    """A regression proof: 8 clients on two random targets all landed on one (1 run in 128) and
    failed a healthy Caddy. The draw is now sized by the shares, and stops at a second target."""
    shares = SPREAD_SHARES[name]
    tries = tries_to_see_two(shares)
    assert sum(p**tries for p in shares) <= ONE_TARGET_MISS
    assert sum(p ** (tries - 1) for p in shares) > ONE_TARGET_MISS  # no more than needed
    rng = np.random.default_rng(22)
    runs = 20_000
    landed = rng.choice(len(shares), size=(runs, tries), p=shares)
    all_on_one = int((landed == landed[:, :1]).all(axis=1).sum())
    assert all_on_one <= 30, f"{all_on_one} of {runs} healthy runs saw one target"  # 10 expected


def test_two_even_targets_take_twelve_garbage_cookie_clients_at_most() -> None:
    assert tries_to_see_two([0.5, 0.5]) == 12  # 2 / 2**12 = 0.00049
