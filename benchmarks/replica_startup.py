"""Benchmark: how long the embedded replica takes to start and to stop (target: start < 10 s).

Run: .venv/bin/python benchmarks/replica_startup.py [RUNS]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from harness.replica.running import running_replica


def main(runs: int) -> None:
    starts: list[float] = []
    stops: list[float] = []
    for _ in range(runs):
        began = time.perf_counter()
        with running_replica():
            starts.append(time.perf_counter() - began)
            ended = time.perf_counter()
        stops.append(time.perf_counter() - ended)
    print(f"machine: {os.cpu_count()} cores; {runs} runs of a 2-instance replica")
    print(f"start: median {statistics.median(starts):.2f} s, max {max(starts):.2f} s")
    print(f"stop:  median {statistics.median(stops):.2f} s, max {max(stops):.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
