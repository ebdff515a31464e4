"""Benchmark: the spread test's false alarm rate, power and mean number of fresh clients.

By simulation, with the very test the checks run (`harness.spread.SequentialSpread`, many runs
at once), at 2 to 16 equal targets and weighted forwards (90/10, 45/45/5/5, 99/1, 90/5/5):

- false alarms: clients drawn from the expected shares (a fair random balancer);
- power, twice: the smallest-share target with twice its weight, and the same target starved;
- the mean number of fresh clients a run needed, and the runs left undecided at the bound.

With `--replica RUNS`, also on the replica's front ends (alb, caddy, nginx) at 2, 4 and 8
instances: RUNS healthy runs of `parity check --suite distribution` (false alarms, mean clients)
and RUNS with `--fault uneven` (one target with 3 times the weight; not on Caddy, which has no
weights).

Run: .venv/bin/python benchmarks/distribution_power.py [--runs 20000] [--replica 20]
(`--runs 0 --replica 10`: the replica rows only)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from harness.spread import EVEN, UNDECIDED, UNEVEN, SequentialSpread
from harness.traffic.fresh import DEFAULT_MAX_CLIENTS
from tests.helpers import parity

CONFIGS: dict[str, list[float]] = {
    **{f"{n} equal": [1.0] * n for n in (2, 3, 4, 6, 8, 12, 16)},
    "90/10": [90.0, 10.0],
    "45/45/5/5 (90/10, 2 per group)": [45.0, 45.0, 5.0, 5.0],
    "99/1": [99.0, 1.0],
    "90/5/5": [90.0, 5.0, 5.0],
}
STARVED = 1e-12  # a target that gets (almost) nothing


def simulate(
    null: list[float],
    true: list[float],
    runs: int,
    *,
    seed: int,
    max_n: int = DEFAULT_MAX_CLIENTS,
) -> SequentialSpread:
    """`runs` runs of the test of `null` on fresh clients drawn from `true`."""
    rng = np.random.default_rng(seed)
    test = SequentialSpread(null, runs=runs)
    cumulative = np.cumsum(np.asarray(true) / sum(true))
    for _ in range(max_n):
        if not (test.decision == UNDECIDED).any():
            break
        landed = np.searchsorted(cumulative, rng.random(runs), side="right")
        test.observe(np.minimum(landed, len(true) - 1).astype(np.int64))
    return test


def _row(name: str, weights: list[float], runs: int) -> str:
    small = int(np.argmin(weights))
    hot = [w * (2.0 if i == small else 1.0) for i, w in enumerate(weights)]
    dead = [STARVED if i == small else w for i, w in enumerate(weights)]
    null = simulate(weights, weights, runs, seed=1)
    power_hot = simulate(weights, hot, max(runs // 2, 1), seed=2)
    power_dead = simulate(weights, dead, max(runs // 10, 1), seed=3)
    hot_caught, dead_caught = ((t.decision == UNEVEN).mean() for t in (power_hot, power_dead))
    return (
        f"{name:32} {(null.decision == UNEVEN).mean():9.4%} "
        f"{hot_caught:9.3%} {dead_caught:8.2%} "
        f"{null.n.mean():8.0f} {power_hot.n.mean():8.0f} "
        f"{(null.decision == UNDECIDED).mean():9.2%} {(null.decision == EVEN).mean():8.2%}"
    )


def simulation(runs: int) -> None:
    print(f"simulation: {runs} healthy runs per row, bound {DEFAULT_MAX_CLIENTS} clients")
    print(
        f"{'shares':32} {'false al.':>9} {'power 2x':>9} {'starved':>8} "
        f"{'mean n':>8} {'n (2x)':>8} {'undecided':>9} {'even':>8}"
    )
    for name, weights in CONFIGS.items():
        print(_row(name, weights, runs), flush=True)


def _runs(home: str, runs: int) -> tuple[int, list[int]]:
    """Failed runs of the distribution check, and each run's fresh clients."""
    failed, clients = 0, []
    for i in range(runs):
        out = Path(home) / f"r{i}"
        parity(Path(home), "check", "--suite", "distribution", "--report-dir", str(out))
        checks = json.loads((out / "latest" / "results.json").read_text())["checks"]
        spread = next(c for c in checks if c["name"] == "test_fresh_clients_spread_evenly")
        failed += spread["outcome"] == "failed"
        clients.append((spread.get("evidence") or {}).get("distribution", {}).get("clients", 0))
    return failed, clients


def replica(runs: int) -> None:
    print(f"\nreplica: {runs} runs of `parity check --suite distribution` per row")
    print(f"{'front':6} {'n':>2} {'fault':8} {'failed':>7} {'mean clients':>13}")
    for front in ("alb", "caddy", "nginx"):
        for n in (2, 4, 8):
            for fault in (None, "uneven"):
                if fault and front == "caddy":
                    continue
                with tempfile.TemporaryDirectory() as home:
                    flags = ["--fault", fault] if fault else []
                    size = ("--instances", str(n))
                    up = parity(Path(home), "up", "--balancer", front, *size, *flags)
                    if up.returncode != 0:
                        raise SystemExit(f"parity up failed: {up.stderr}")
                    try:
                        failed, clients = _runs(home, runs)
                    finally:
                        parity(Path(home), "down")
                mean = sum(clients) / len(clients) if clients else 0.0
                print(f"{front:6} {n:2} {fault or 'healthy':8} {failed:3}/{runs:<3} {mean:13.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20000, help="simulated runs per row (0: none)")
    parser.add_argument("--replica", type=int, default=0, metavar="RUNS", help="replica runs")
    args = parser.parse_args()
    if args.runs > 0:
        simulation(args.runs)
    if args.replica:
        replica(args.replica)


if __name__ == "__main__":
    main()
