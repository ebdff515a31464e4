"""Benchmark: requests per second of sticky_users (all checks and evidence) against a bare
FastHttpUser sending the same requests, in one run on the replica; then the memory of a long run.

Goal: ratio >= 0.85. Run: .venv/bin/python benchmarks/load_overhead.py [SECONDS] [LONG_SECONDS]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from harness.handoff import write_handoff
from harness.loadgen.options import LoadOptions
from harness.loadgen.runner import _handoff
from harness.packaged import package_dir
from harness.profile.environment import replica_profile
from harness.replica.provider import ReplicaProvider
from harness.replica.running import running_replica

USERS = 20


def locust(
    profile: str, seconds: int, child_env: dict[str, str], sample_every: float = 0
) -> tuple[float, list[float]]:
    """Requests per second of one headless run, and the RSS samples (MiB) when asked."""
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(package_dir("harness.load") / f"{profile}.py"),
        "--headless",
        "-u",
        str(USERS),
        "-r",
        str(USERS),
        "-t",
        f"{seconds}s",
        "--json",
        "--loglevel",
        "ERROR",
    ]
    proc = subprocess.Popen(
        argv,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    samples: list[float] = []
    while sample_every and proc.poll() is None:
        time.sleep(sample_every)
        try:
            rss = psutil.Process(proc.pid).memory_info().rss / 2**20
            if rss > 0:  # an exited process reads 0
                samples.append(rss)
        except psutil.NoSuchProcess:
            break
    out, _ = proc.communicate(timeout=seconds + 60)
    stats = json.loads(out)
    requests = sum(s["num_requests"] for s in stats if s["method"] != "CHECK")
    return requests / seconds, samples


def main(seconds: int, long_seconds: int) -> None:
    env = replica_profile()
    with running_replica() as (_, handle), tempfile.TemporaryDirectory() as tmp:
        topology = ReplicaProvider(env, handle).resolve()
        options = LoadOptions("sticky_users", users=USERS, no_wait=True)
        handoff = _handoff(env, topology, options, Path(tmp))
        child_env = write_handoff(handoff, Path(tmp) / "handoff.json")
        bare, _ = locust("bare", seconds, child_env)
        checked, _ = locust("sticky_users", seconds, child_env)
        print(
            f"machine: {os.cpu_count()} cores; {USERS} users, no wait, {seconds} s each, "
            "Locust and the replica on the same machine"
        )
        print(f"bare FastHttpUser: {bare:8.1f} req/s")
        print(
            f"sticky_users:      {checked:8.1f} req/s (identity, stickiness and session checks, "
            "HDR and per-second evidence)"
        )
        print(f"ratio: {checked / bare:.3f} (goal >= 0.85)")
        if long_seconds:
            _, rss = locust("sticky_users", long_seconds, child_env, sample_every=5)
            print(
                f"long run {long_seconds} s: Locust RSS {rss[0]:.1f} MiB at 5 s, "
                f"{max(rss):.1f} MiB max, {rss[-1]:.1f} MiB at the end"
            )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 20,
        int(sys.argv[2]) if len(sys.argv) > 2 else 120,
    )
