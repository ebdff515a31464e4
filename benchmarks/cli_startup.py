"""Benchmark: how long a `parity` command takes when it does little: `--version`, `parity check
--help`, and `parity profile check` of a static profile (it loads and validates the profile and
contacts nothing). Most of Parity's fast tests run the CLI like this.

Run: .venv/bin/python benchmarks/cli_startup.py [RUNS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROFILE = Path(__file__).resolve().parent.parent / "environments" / "static-haproxy.yaml"
COMMANDS = {
    "parity --version": ["--version"],
    "parity check --help": ["check", "--help"],
    "parity profile check (static)": ["profile", "check", str(PROFILE)],
}


def _seconds(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, timeout=60)
    return time.perf_counter() - began


def main(runs: int) -> None:
    parity = shutil.which("parity", path=str(Path(sys.executable).parent)) or "parity"
    print(f"machine: {os.cpu_count()} cores; {runs} runs of each, after one to warm the caches")
    for name, args in COMMANDS.items():
        _seconds([parity, *args])
        times = [_seconds([parity, *args]) for _ in range(runs)]
        print(f"{name:<32} median {statistics.median(times):.2f} s, max {max(times):.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
