"""`parity load`: a Locust profile against an environment, with gates and evidence."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from harness.cli.durations import parse_duration
from harness.cli.environment import add_environment_options
from harness.loadgen.options import PROFILES, LoadOptions, LoadResult
from harness.topology import load_environment, open_environment


def options_from(args: argparse.Namespace, gates: list[str]) -> LoadOptions:
    return LoadOptions(
        profile=args.profile,
        users=args.users,
        spawn_rate=args.spawn_rate,
        run_time=parse_duration(args.run_time),
        gates=gates,
        processes=args.processes,
        master=args.master,
        expect_workers=args.expect_workers,
        master_bind=args.master_bind,
        worker=args.worker,
        master_host=args.master_host,
        drain_target=args.drain_target,
        allow_disruptive=args.allow_disruptive,
        allow_production=args.allow_production,
    )


def write_evidence(
    report_dir: Path, profile: str, env_name: str, opts: LoadOptions, result: LoadResult
) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"load-{profile}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    body: dict[str, Any] = {
        "profile": profile,
        "environment": env_name,
        "users": opts.users,
        "run_time_seconds": opts.run_time,
        "measured": result.measured,
        "gates": [g.record() for g in result.gates],
        "drain_events": result.drain_events,
        "evidence": result.evidence,
    }
    path.write_text(json.dumps(body, indent=1))
    return path


def _print_realtime(ev: dict[str, Any]) -> None:
    """Messages delivered to each target's streams, their delivery latency, and losses."""
    rows = (ev.get("realtime") or {}).get("targets") or {}
    if not rows:
        return
    print(
        f"{'streams on':<12} {'delivered':>9} {'lost':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'max ms':>8}  (real-time: publish to delivery)"
    )
    for target, row in sorted(rows.items()):
        lat = row["latency_ms"] or {}
        print(
            f"{target:<12} {row['delivered']:>9,} {row['lost']:>7,} {lat.get('p50', 0):>8.1f} "
            f"{lat.get('p95', 0):>8.1f} {lat.get('max', 0):>8.1f}"
        )


def print_summary(result: LoadResult) -> None:
    ev = result.evidence
    print(
        f"{'target':<12} {'requests':>9} {'errors':>7} {'sessions':>9} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for target, row in sorted(ev["targets"].items()):
        lat = row["latency_ms"] or {}
        print(
            f"{target:<12} {row['requests']:>9,} {row['errors']:>7,} {row['sessions']:>9,} "
            f"{lat.get('p50', 0):>8.1f} {lat.get('p95', 0):>8.1f} {lat.get('p99', 0):>8.1f} "
            f"{lat.get('max', 0):>8.1f}"
        )
    print(
        f"sticky violations {ev['sticky_violations']}, session losses {ev['session_losses']}, "
        f"moves {ev['moves']}"
    )
    _print_realtime(ev)
    made = ev.get("test_sessions") or {}
    if made.get("made"):
        print(
            f"test sessions: {made['made']} made by this run: {made['logged_out']} logged out, "
            f"{made['left']} left"
        )
    for name, row in ev.get("phases", {}).items():
        if row["requests"]:
            print(
                f"  {name:<7} requests {row['requests']:,}  errors {row['errors']}  moves "
                f"{row['moves']}  violations {row['sticky_violations']}  losses "
                f"{row['session_losses']}"
            )
    for gate in result.gates:
        print(gate.line())


def cmd_load(args: argparse.Namespace) -> int:
    from harness.loadgen.runner import run_load

    env = load_environment(args.env, args.env_file)
    gates = list(args.gate) or list(env.load.gates)
    opts = options_from(args, gates)
    with open_environment(env) as provider:
        result = run_load(env, provider, opts)
    if result is None:
        return 0
    print_summary(result)
    path = write_evidence(Path(args.report_dir), opts.profile, env.name, opts, result)
    print(f"evidence: {path}")
    return 0 if result.passed else 1


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = sub.add_parser("load", help="run a Locust profile and gate on its evidence")
    add_environment_options(load)
    load.add_argument("--profile", default="sticky_users", choices=PROFILES)
    load.add_argument("--users", type=int, default=10)
    load.add_argument("--spawn-rate", type=float, default=10)
    load.add_argument("--run-time", default="30s", help="30s, 5m, 1h30m")
    load.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="EXPR",
        help="e.g. 'p95_ms < 300' (repeat; default: the profile's load.gates)",
    )
    load.add_argument("--report-dir", default="reports", metavar="DIR")
    load.add_argument("--processes", type=int, metavar="N", help="N Locust workers on this machine")
    load.add_argument("--master", action="store_true", help="be Locust's master")
    load.add_argument("--expect-workers", type=int, default=1, metavar="N")
    load.add_argument(
        "--master-bind",
        default="127.0.0.1",
        metavar="HOST",
        help="where the master listens (default 127.0.0.1)",
    )
    load.add_argument("--worker", action="store_true", help="be a Locust worker")
    load.add_argument("--master-host", default="127.0.0.1", metavar="HOST")
    load.add_argument("--drain-target", metavar="ID", help="drain_during_load: which target")
    load.add_argument("--allow-disruptive", action="store_true")
    load.add_argument("--allow-production", metavar="NAME")
    load.set_defaults(handler=cmd_load)
