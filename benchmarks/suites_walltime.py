"""Benchmark: wall time of every non-load suite against the embedded replica (target: < 60 s).

The plugin starts the replica itself (deregistration delay 3 s), failover included.
Run: .venv/bin/python benchmarks/suites_walltime.py [RUNS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(runs: int) -> None:
    for run in range(1, runs + 1):
        with tempfile.TemporaryDirectory() as home:
            started = time.perf_counter()
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "suites",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-m",
                    "not load",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PARITY_HOME": home},
            )
            wall = time.perf_counter() - started
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "?"
        print(f"run {run}: {wall:.1f} s wall on {os.cpu_count()} cores -- {summary}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
