"""Benchmark: the wall time of `parity canary` on a running replica (target: under 3 s).

Prints the run itself (from the canary's own clock) and the whole command, process start and
imports included. Run: .venv/bin/python benchmarks/canary_walltime.py [RUNS]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _parity(home: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        env={**os.environ, "PARITY_HOME": home},
        capture_output=True,
        text=True,
        check=False,
    )


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        if _parity(home, "up").returncode != 0:
            raise SystemExit("parity up failed")
        try:
            whole, own, sent = [], [], []
            for _ in range(runs):
                began = time.perf_counter()
                done = _parity(home, "canary", "--json")
                whole.append(time.perf_counter() - began)
                summary = json.loads(done.stdout.strip().splitlines()[-1])
                if not summary["success"]:
                    raise SystemExit(f"the canary failed: {done.stdout}")
                own.append(summary["duration_seconds"])
                sent.append(summary["requests"])
        finally:
            _parity(home, "down")
    print(f"machine: {os.cpu_count()} cores; {runs} canary runs on a 2-instance replica")
    print(f"run:     median {statistics.median(own):.3f} s, max {max(own):.3f} s")
    print(f"command: median {statistics.median(whole):.2f} s, max {max(whole):.2f} s")
    print(f"requests per run: {statistics.median(sent):.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
