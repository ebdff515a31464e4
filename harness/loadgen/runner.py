"""Running Locust headless (locally, with --processes, or as master/worker) and collecting evidence.

Locust runs as a child process; this process resolves the environment, enforces the safety caps,
drains and restores a target for `drain_during_load` through the guard, shows progress, and
writes the merged evidence with the gates to `reports/`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness.errors import EnvironmentUnavailable, UsageError
from harness.handoff import HandOff, read_results, write_handoff
from harness.loadgen.drainer import start_drainer
from harness.loadgen.gates import Gate, check, metrics, unmeasured
from harness.loadgen.options import PROFILES, WATCH_PROFILE, LoadOptions, LoadResult
from harness.loadgen.phases import phases
from harness.packaged import package_dir
from harness.profile.environment import Environment
from harness.topology import Provider
from harness.topology.model import Topology
from harness.topology.shares import spread_semantics, target_weights
from harness.traffic.contract import RecipeDriver, driver_class
from harness.traffic.site import verify_of

MARGIN_SECONDS = 60.0
END_WAIT_SECONDS = 30.0  # Locust's stop: its users' --stop-timeout, a stream's last messages


def profile_path(name: str) -> Path:
    if name not in PROFILES and name != WATCH_PROFILE:
        raise UsageError(f"--profile {name!r}: known profiles: {', '.join(PROFILES)}")
    return package_dir("harness.load") / f"{name}.py"


def check_caps(
    env: Environment, opts: LoadOptions, flags: tuple[str, str] = ("--users", "--spawn-rate")
) -> None:
    """The run's users within the profile's safety caps; `flags` names them in errors."""
    users, rate = flags
    if opts.profile == "realtime_users" and env.realtime is None:
        raise UsageError(
            f"--profile realtime_users: {env.source} has no realtime: section (the stream to "
            "hold open and how to publish)"
        )
    if opts.profile != "fresh_visitors" and not env.session:
        raise UsageError(
            f"--profile {opts.profile}: {env.source} has no session: section "
            "(login, write, read); fresh_visitors needs none"
        )
    if opts.profile != "fresh_visitors" and env.session and driver_class(env.session) is None:
        RecipeDriver(env.session.recipe, {})  # an incomplete recipe: refused once, not per user
    if opts.users < 1:
        raise UsageError(f"{users} {opts.users}: must be 1 or more")
    if opts.spawn_rate <= 0:
        raise UsageError(f"{rate} {opts.spawn_rate:g}: must be more than 0")
    cap = int(env.safety.max_users)
    if opts.users > cap:
        raise UsageError(f"{users} {opts.users} is above safety.max_users {cap} of {env.source}")


def _handoff(env: Environment, topology: Topology, opts: LoadOptions, work: Path) -> HandOff:
    """What Locust's processes are told: the environment, and this run's entry and pace."""
    rps = min(opts.rate or float(env.safety.max_rps), float(env.safety.max_rps))
    run = {
        "entry_url": topology.entry_url,
        "host": topology.host,
        "secrets": topology.secrets,
        "verify": verify_of(env, topology),
        "no_wait": opts.no_wait,
        "per_user_rps": rps / opts.users,
        "progress_path": str(work / "progress.json"),
        "events_path": str(opts.notices or work / "events.json"),
        "streams": opts.streams,
        "stream_targets": opts.stream_targets,
        "stream_routes": opts.stream_routes,  # sticky cookies: secrets, kept out of the output
    }
    return HandOff(env, run=run, results=str(work / "evidence.json"))


def locust_argv(opts: LoadOptions, entry_url: str) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(profile_path(opts.profile)),
        "--loglevel",
        "WARNING",
    ]
    if opts.worker:
        return [*argv, "--worker", "--master-host", opts.master_host]
    argv += [
        "--headless",
        "--only-summary",
        "-u",
        str(opts.users),
        "-r",
        f"{opts.spawn_rate:g}",
        "-t",
        f"{int(opts.run_time)}s",
        "--host",
        entry_url,
        "--stop-timeout",
        "5",
    ]
    if opts.processes:
        argv += ["--processes", str(opts.processes)]
    if opts.master:
        argv += [
            "--master",
            "--expect-workers",
            str(opts.expect_workers),
            "--master-bind-host",
            opts.master_bind,
        ]
    return argv


def _read_progress(work: Path) -> dict[str, Any]:
    """The progress file Locust writes (replaced whole; a reader may still meet it missing)."""
    try:
        data = json.loads((work / "progress.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _progress(work: Path, started: float, opts: LoadOptions) -> str:
    data = _read_progress(work)
    return (
        f"\r  {time.monotonic() - started:5.0f}/{opts.run_time:.0f} s  users "
        f"{data.get('users', 0):>4}  requests {data.get('requests', 0):>8,}  failures "
        f"{data.get('failures', 0):>6,}"
    )


def _started(work: Path, opts: LoadOptions) -> bool:
    """The load has made its first request and every stream user has placed its stream (or
    given up), from the progress file Locust writes."""
    progress = _read_progress(work)
    placed = int(progress.get("streams_started", 0)) >= opts.streams
    return bool(progress.get("requests")) and placed


def run_load(
    env: Environment, provider: Provider, opts: LoadOptions, show: bool = True
) -> LoadResult | None:
    """Run one profile; None for a worker (its evidence goes to the master)."""
    check_caps(env, opts)
    gates = [Gate.parse(g) for g in opts.gates]
    topology = provider.resolve()
    with tempfile.TemporaryDirectory(prefix="parity-load-") as tmp:
        work = Path(tmp)
        child_env = write_handoff(_handoff(env, topology, opts, work), work / "handoff.json")
        proc = subprocess.Popen(
            locust_argv(opts, topology.entry_url),
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started, stop = time.monotonic(), threading.Event()
        drainer = start_drainer(env, provider, topology, opts, work, stop)
        try:
            output = _wait(proc, opts, work, started, show)
        finally:  # also on Ctrl-C or SIGTERM: the drainer restores the target before we go
            stop.set()
            if drainer is not None:
                drainer.join(timeout=MARGIN_SECONDS * 2)
        if drainer is not None and drainer.error is not None:
            raise drainer.error
        if opts.worker:
            return None
        evidence = read_results(work / "evidence.json", f"Locust (exit {proc.returncode})", output)
    drain_events = drainer.events if drainer else []
    evidence["phases"] = phases(evidence, drain_events)
    weights = target_weights(topology, topology.healthy_targets())
    promise = spread_semantics(topology, weights)
    measured = metrics(evidence, opts.run_time, weights, promise.factors)
    if not measured["requests"] and not evidence.get("realtime"):
        raise EnvironmentUnavailable(
            f"no request was made: the {opts.profile} run of {opts.run_time:g} s with "
            f"{opts.users} users completed no request to {topology.entry_url}"
        )
    reasons = unmeasured(evidence, weights, promise.factors)
    return LoadResult(evidence, check(gates, measured, reasons), measured, drain_events)


def _end(proc: subprocess.Popen[str]) -> None:
    """Stop Locust: SIGTERM lets its users stop (and log out) and its evidence be written; one
    that has not ended in END_WAIT_SECONDS is killed."""
    proc.terminate()
    try:
        proc.wait(timeout=END_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def _wait(
    proc: subprocess.Popen[str], opts: LoadOptions, work: Path, started: float, show: bool
) -> str:
    deadline = started + opts.run_time + MARGIN_SECONDS
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        while proc.poll() is None:
            if opts.running is not None and not opts.running.is_set() and _started(work, opts):
                opts.running.set()
            ended = opts.stop is not None and opts.stop.is_set()
            if (ended or time.monotonic() > deadline) and not opts.worker:
                _end(proc)
                break
            if show and not opts.worker:
                tty = sys.stderr.isatty()  # in place on a terminal, a line every 5 s in CI logs
                if tty or int(time.monotonic() - started) % 5 == 0:
                    line = _progress(work, started, opts)
                    print(
                        line if tty else line.lstrip("\r"),
                        end="" if tty else "\n",
                        file=sys.stderr,
                        flush=True,
                    )
            (opts.stop.wait(0.25) if opts.stop is not None else time.sleep(1))
    finally:
        if proc.poll() is None:
            _end(proc)
        if show and not opts.worker:
            print(file=sys.stderr)
    reader.join(timeout=5)
    return "".join(out)
