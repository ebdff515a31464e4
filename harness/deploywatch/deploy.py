"""The deploy a watch looks at: the team's own command, run in the foreground once the watch's
load runs, bounded by `--max-time` (then the watch stops looking; the command is never killed
for it), and the load and the watchers stopped after it. With the profile's `realtime:` the
load also holds streams open, one per target by default, each pinned to its target."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from harness.deploywatch.document import Outcome
from harness.deploywatch.watchers import Watchers
from harness.errors import DeploymentFinding, EnvironmentUnavailable, NotApplicable, UsageError
from harness.loadgen.options import WATCH_PROFILE, LoadOptions, LoadResult
from harness.loadgen.runner import run_load
from harness.profile.environment import Environment
from harness.traffic.balancers import cookie_rule
from harness.traffic.site import Site

START_TIMEOUT = 60.0  # the load's first request (and streams), before the deploy command starts
DEFAULT_STREAMS_AT_MOST = 8  # the default: one stream per healthy target, at most this many
STREAMS_AT_MOST = 64


@dataclass
class WatchOptions:
    command: list[str]
    users: int = 4
    rate: float = 8.0
    max_time: float = 1800.0
    poll: float = 0.5
    settle: float = 3.0
    report_dir: Path = Path("reports")
    allow_mixed_end: bool = False
    streams: int | None = None  # None: one per healthy target (at most 8) with a realtime:
    load_options: LoadOptions = field(init=False)

    def __post_init__(self) -> None:
        if not self.command:
            raise UsageError("parity watch: give the deploy command after --, e.g. -- ./deploy.sh")
        if shutil.which(self.command[0]) is None:
            raise UsageError(
                f"the deploy command {self.command[0]!r} cannot start: not found (a path, or a "
                "program on PATH)"
            )
        if self.rate <= 0:
            raise UsageError(f"--rate {self.rate:g}: must be more than 0 requests per second")
        if not 0.1 <= self.poll <= 60:
            raise UsageError(f"--poll {self.poll:g}: allowed 0.1 to 60 s")
        if not 0 <= self.settle <= 600:
            raise UsageError(f"--settle {self.settle:g}: allowed 0 to 600 s")
        if self.streams is not None and not 0 <= self.streams <= STREAMS_AT_MOST:
            raise UsageError(f"--streams {self.streams}: allowed 0 to {STREAMS_AT_MOST}")
        self.load_options = LoadOptions(
            "sticky_users",
            users=self.users,
            spawn_rate=self.users,
            run_time=self.max_time + START_TIMEOUT,  # the watch stops it at --max-time itself
            rate=self.rate,
            stop=threading.Event(),
            running=threading.Event(),
        )


def refuse_streams_without_realtime(env: Environment, opts: WatchOptions) -> None:
    if opts.streams and env.realtime is None:
        raise UsageError(
            f"--streams {opts.streams}: {env.source} has no realtime: section (the stream to "
            "hold open and how to publish)"
        )


def plan_streams(env: Environment, opts: WatchOptions, targets: list[str]) -> int:
    """How many streams the watch holds open (`--streams`, else one per healthy target, at
    most DEFAULT_STREAMS_AT_MOST, when the profile has `realtime:` and `session:`), the k-th
    meant for the k-th target; the load is told (the watch_users profile, users + streams)."""
    refuse_streams_without_realtime(env, opts)
    asked = opts.streams
    if asked is None:
        wanted = bool(env.realtime and env.session)
        asked = min(len(targets), DEFAULT_STREAMS_AT_MOST) if wanted else 0
    load = opts.load_options
    if asked:  # no healthy target to mean them for: held where they land
        load.profile = WATCH_PROFILE
        load.users = load.spawn_rate = opts.users + asked
        load.streams = asked
        load.stream_targets = [targets[k % len(targets)] for k in range(asked)] if targets else []
    return load.streams


def pin_streams(site: Site, targets: list[str]) -> dict[str, dict[str, str]]:
    """Each target's sticky cookies, for the streams meant for it. A balancer that issues its
    cookie on the app's, one that sets none or does not answer, and a target no fresh client
    reaches get none: their streams are drawn, and placed by logging in again."""
    if cookie_rule(site.env.expect).issued == "on_app_cookie":
        return {}
    routes: dict[str, dict[str, str]] = {}
    for target in dict.fromkeys(targets):
        try:
            route = site.pin(target)
        except (NotApplicable, DeploymentFinding, requests.RequestException):
            continue  # no fresh client landed there with a cookie: its streams are drawn
        if route.cookies:
            routes[target] = dict(route.cookies)
    return routes


class LoadThread(threading.Thread):
    """The watch's load, beside the deploy."""

    def __init__(self, env: Environment, provider: Any, opts: LoadOptions) -> None:
        super().__init__(daemon=True, name="parity-watch-load")
        self.env, self.provider, self.opts = env, provider, opts
        self.result: LoadResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = run_load(self.env, self.provider, self.opts, show=False)
        except BaseException as exc:  # reported by the watch
            self.error = exc


def _run_command(
    command: list[str], max_time: float, say: Any, stop_watching: Callable[[], None]
) -> tuple[int | None, float | None, bool]:
    """Run the deploy command in the foreground: its exit code, when the watch stopped looking
    (`--max-time`: the load and the poll end, the command is waited for, never killed for it),
    and whether it was interrupted (Ctrl-C or SIGTERM: the command gets SIGTERM)."""
    try:
        proc = subprocess.Popen(command)
    except OSError as exc:
        raise UsageError(f"the deploy command {command[0]!r} cannot start: {exc.strerror}") from exc
    deadline = time.monotonic() + max_time
    stopped_at: float | None = None
    try:
        while proc.poll() is None:
            if stopped_at is None and time.monotonic() > deadline:
                stopped_at = time.time()
                stop_watching()
                say(
                    f"watch: --max-time reached: load and polling stopped; waiting for the deploy "
                    f"command (PID {proc.pid}) to end (Ctrl-C stops it)"
                )
            time.sleep(0.1)
        return proc.returncode, stopped_at, False
    except KeyboardInterrupt:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say(f"watch: the deploy command (PID {proc.pid}) did not stop in 30 s")
        return proc.returncode, stopped_at, True


def _wait_for_load(load: LoadThread, opts: WatchOptions, started: float) -> None:
    """Until the load has made its first request (the deploy starts then)."""
    running = opts.load_options.running
    assert running is not None
    while not running.wait(0.2):
        if load.error is not None or not load.is_alive():
            raise load.error or EnvironmentUnavailable("the load ended before it began")
        if time.time() - started > START_TIMEOUT:
            raise EnvironmentUnavailable(
                f"the load made no request in {START_TIMEOUT:.0f} s"
                + (" or did not open its streams" if opts.load_options.streams else "")
                + ": the deploy command was not started"
            )


def run_deploy(
    opts: WatchOptions, load: LoadThread, watchers: Watchers, out: Outcome, say: Any
) -> None:
    """Run the deploy command once the load runs; stop the load and the watchers after it."""
    stop = opts.load_options.stop
    assert stop is not None

    def stop_watching() -> None:
        stop.set()
        watchers.stop()

    try:
        _wait_for_load(load, opts, out.started)
        streams = f", {out.streams} streams" if out.streams else ""
        say(
            f"watch: load running ({opts.users} users{streams}, {opts.rate:g} rps); running "
            "the deploy"
        )
        out.command_started = time.time()
        out.code, out.cut_short, out.interrupted = _run_command(
            opts.command, opts.max_time, say, stop_watching
        )
        out.command_ended = time.time()
        if out.cut_short is None and not out.interrupted:
            say(f"watch: the deploy command exited {out.code}; settling {opts.settle:g} s")
            time.sleep(opts.settle)
    except KeyboardInterrupt:
        out.interrupted = True
    finally:
        stop.set()
        for probe in watchers.probes:
            probe.stop.set()
        load.join(timeout=120)
        watchers.stop()
        watchers.join()
    out.ended = time.time()
