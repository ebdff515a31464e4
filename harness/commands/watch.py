"""`parity watch -- <deploy command>`: a bounded, low-rate sticky_users load and a poll of the
provider while the team's own deploy runs; every error, move and session loss attributed to
the transition that caused it, every drain's quality, and a timeline in the report."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import __version__
from harness.deploywatch.analysis import attribute, drains, events_of, reclassify_moves
from harness.deploywatch.inflight import InFlightProbe, start_probes
from harness.deploywatch.poller import Poller
from harness.deploywatch.report import write_watch_report
from harness.deploywatch.timeline import spans
from harness.errors import EnvironmentUnavailable, UsageError
from harness.loadgen.runner import LoadOptions, LoadResult, check_caps, run_load
from harness.profile.environment import Environment
from harness.report.redact import redact
from harness.topology.opening import open_environment
from harness.traffic.site import Site

START_TIMEOUT = 60.0  # the load's first request, before the deploy command starts
IN_FLIGHT_SECONDS = 2.0


@dataclass
class WatchOptions:
    command: list[str]
    users: int = 4
    rate: float = 8.0
    max_time: float = 1800.0
    poll: float = 0.5
    settle: float = 3.0
    report_dir: Path = Path("reports")
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
        self.load_options = LoadOptions(
            "sticky_users",
            users=self.users,
            spawn_rate=self.users,
            run_time=self.max_time,
            rate=self.rate,
            stop=threading.Event(),
            running=threading.Event(),
        )


class LoadThread(threading.Thread):
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


def run_watch(env: Environment, opts: WatchOptions, say: Any) -> tuple[dict[str, Any], Path]:
    """Watch one deploy; the result document and the report folder."""
    check_caps(env, opts.load_options)
    started = time.time()
    with (
        open_environment(env, for_children=True) as provider,
        tempfile.TemporaryDirectory(prefix="parity-watch-") as tmp,
    ):
        topology = provider.resolve()
        site = Site(env, topology)
        notices = Path(tmp) / "notices.json"
        opts.load_options.notices = notices
        poller = Poller(provider, site, env.expect.get("version"), notices, opts.poll)
        poller.poll()
        poller.start()
        probes: list[InFlightProbe] = []
        path = env.failover.get("in_flight_path")
        if path:
            seconds = float(env.failover.get("in_flight_seconds") or IN_FLIGHT_SECONDS)
            probes = start_probes(site, poller, str(path), seconds)
        load = LoadThread(env, provider, opts.load_options)
        load.start()
        code: int | None = None
        cut_short: float | None = None  # when --max-time ended the watch, if it did
        interrupted = False
        command_started = command_ended = time.time()
        try:
            running = opts.load_options.running
            assert running is not None
            while not running.wait(0.2):
                if load.error is not None or not load.is_alive():
                    raise load.error or EnvironmentUnavailable("the load ended before it began")
                if time.time() - started > START_TIMEOUT:
                    raise EnvironmentUnavailable(
                        f"the load made no request in {START_TIMEOUT:.0f} s: the deploy "
                        "command was not started"
                    )
            say(f"watch: load running ({opts.users} users, {opts.rate:g} rps); running the deploy")
            command_started = time.time()

            def stop_watching() -> None:
                assert opts.load_options.stop is not None
                opts.load_options.stop.set()
                poller.stop.set()
                for probe in probes:
                    probe.stop.set()

            code, cut_short, interrupted = _run_command(
                opts.command, opts.max_time, say, stop_watching
            )
            command_ended = time.time()
            if cut_short is None and not interrupted:
                say(f"watch: the deploy command exited {code}; settling {opts.settle:g} s")
                time.sleep(opts.settle)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            stop = opts.load_options.stop
            assert stop is not None
            stop.set()
            for probe in probes:
                probe.stop.set()
            load.join(timeout=120)
            poller.stop.set()
            poller.join(timeout=10)
            for probe in probes:
                probe.join(timeout=5)
        ended = time.time()
        if load.error is not None:
            raise load.error
        result = load.result
        assert result is not None
        flights = [f for p in probes for f in p.flights]
        poller.poll_errors += [p.error for p in probes if p.error]  # shown with the poll's
        delays = {
            t.id: g.deregistration_delay_seconds for g in topology.target_groups for t in g.targets
        }
        events = events_of(result.evidence, flights)
        moved = reclassify_moves(events, poller.transitions, slack=opts.poll + 1.0)
        attribute(events, poller.transitions, slack=opts.poll + 0.5)
        drained = drains(
            poller.transitions,
            events,
            flights,
            poller.samples,
            delays,
            env.deploy.get("shutdown_grace_seconds"),
            ended,
        )
        document = _document(
            env,
            opts,
            topology.entry_url,
            (started, command_started, command_ended, ended),
            code,
            interrupted,
            cut_short,
            result,
            poller,
            events,
            drained,
            moved,
        )
        document = redact(document, tuple(topology.secrets.values()))
    stamp = datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = opts.report_dir / f"watch-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    write_watch_report(document, folder)
    return document, folder


def _document(
    env: Environment,
    opts: WatchOptions,
    entry_url: str,
    times: tuple[float, float, float, float],
    code: int | None,
    interrupted: bool,
    cut_short: float | None,
    load: LoadResult,
    poller: Poller,
    events: list[Any],
    drained: list[dict[str, Any]],
    moved: int,
) -> dict[str, Any]:
    started, command_started, command_ended, ended = times

    def rel(at: float) -> float:
        return round(at - started, 2)

    budget = int(env.expect.get("error_budget", 0))
    ev = load.evidence
    errors = sum(1 for e in events if e.kind in ("5xx", "no-response", "cut-in-flight"))
    losses = int(ev.get("session_losses", 0))
    reasons = []
    if errors > budget:
        reasons.append(f"{errors} 5xx or cut requests, over expect.error_budget {budget}")
    if losses > budget:
        reasons.append(f"{losses} session losses, over expect.error_budget {budget}")
    if code not in (0, None) and not interrupted:
        reasons.append(f"the deploy command exited {code}")
    if cut_short is not None:
        reasons.append(
            f"the deploy ran past --max-time: only its first {cut_short - command_started:.0f} s "
            "were watched"
        )
    for drain in drained:
        if drain["fault"]:
            reasons.append(
                f"[{drain['fault']}] {drain['target']}: {drain['cut_in_flight']} request(s) in "
                "flight cut during its drain"
            )
    verdict = (
        "interrupted"
        if interrupted
        else "incomplete"
        if cut_short is not None
        else ("failed" if reasons else "passed")
    )
    return {
        "parity_version": __version__,
        "kind": "watch",
        "verdict": verdict,
        "exit_code": {"interrupted": 130, "incomplete": 3, "failed": 1}.get(verdict, 0),
        "reasons": reasons,
        "environment": {"name": env.name, "source": env.source, "url": entry_url},
        "command": " ".join(opts.command),
        "command_exit_code": code,
        "started": datetime.fromtimestamp(started, UTC).isoformat(),
        "duration_seconds": rel(ended),
        "command_started_at": rel(command_started),
        "command_ended_at": rel(command_ended),
        "error_budget": budget,
        "load": {
            "profile": "sticky_users",
            "users": opts.users,
            "rate": opts.rate,
            "requests": ev["totals"]["requests"],
            "errors": errors,
            "session_losses": losses,
            "moves": ev.get("moves", 0) + moved,
            "sticky_violations": ev.get("sticky_violations", 0) - moved,
        },
        "transitions": [{**t.to_json(), "at": rel(t.at)} for t in poller.transitions],
        "timeline": spans(poller.samples, started, ended),
        "events": [{**e.to_json(), "at": rel(e.at)} for e in events],
        "unattributed": sum(1 for e in events if e.cause is None),
        "drains": [
            {
                **d,
                "deregistered_at": rel(d["deregistered_at"]),
                "seen_leaving_at": rel(d["seen_leaving_at"]),
                "ended_at": rel(d["ended_at"]),
            }
            for d in drained
        ],
        "poll_errors": poller.poll_errors[:20],
    }


def print_summary(document: dict[str, Any], folder: Path) -> None:
    load = document["load"]
    print(
        f"watched {document['command']!r}: exit {document['command_exit_code']}, "
        f"{document['duration_seconds']:.1f} s; load {load['requests']} requests, "
        f"{load['errors']} errors, {load['session_losses']} session losses, "
        f"{load['moves']} moves, {load['sticky_violations']} sticky violations"
    )
    for t in document["transitions"]:
        print(f"  +{t['at']:6.1f} s  {t['label']}")
    for d in document["drains"]:
        last = d["last_request_after_seconds"]
        print(
            f"  drain of {d['target']} (left between +{d['deregistered_at']:.1f} and "
            f"+{d['seen_leaving_at']:.1f} s): last request served "
            f"{'-' if last is None else f'{last:.1f} s'} after it, {d['errors_5xx']} "
            f"5xx, {d['no_response']} without response, {d['cut_in_flight']} cut in flight; "
            f"{d['grace_rule']}"
        )
    shown = [e for e in document["events"] if e["kind"] != "move"][:20]
    for e in shown:
        cause = e["cause"] or "no transition (unattributed)"
        print(f"  +{e['at']:6.1f} s  {e['kind']} on {e['target'] or '?'}: {e['detail']} <- {cause}")
    for error in document["poll_errors"]:
        print(f"  not observed: {error}")
    for reason in document["reasons"]:
        print(f"  {reason}")
    print(f"\n{document['verdict'].upper()}: report {folder / 'index.html'} (also watch.json)")
