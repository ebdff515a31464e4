"""`parity canary` (one non-disruptive run, published) and `parity exporter` (one per scrape)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.canary.result import DEFAULT_BUDGET, CanaryResult
from harness.cli.environment import add_environment_options
from harness.errors import UsageError
from harness.printable import printable
from harness.topology import load_environment


def _print_text(result: CanaryResult) -> None:
    for step in result.steps:
        mark = {True: "ok", False: "FAILED", None: "n/a"}[step.ok]
        print(f"{step.name:<26} {mark:<7} {printable(step.detail)[:150]}")
    for target, ms in result.latency_p95_ms().items():
        print(f"{'latency p95 ' + target:<26} {ms:.1f} ms")
    made = result.test_sessions
    if made.get("made"):
        print(f"test sessions: {made['made']} made: {made['logged_out']} logged out, "
              f"{made['left']} left")  # fmt: skip
    if result.error:
        print(f"parity: error: {printable(result.error)}", file=sys.stderr)
    verdict = "PASSED" if result.success else "FAILED"
    print(f"{verdict}: canary on {result.environment} in {result.duration_seconds:.2f} s")


def _budget(value: float, flag: str) -> float:
    if not 1 <= value <= 600:
        raise UsageError(f"{flag} {value:g}: allowed 1 to 600 seconds")
    return value


def cmd_canary(args: argparse.Namespace) -> int:
    from harness.commands.canary import CanaryOptions, exit_code, json_lines, probe, publish

    opts = CanaryOptions(
        cloudwatch=args.cloudwatch,
        region=args.region,
        aws_profile=args.aws_profile,
        textfile=Path(args.prometheus_textfile) if args.prometheus_textfile else None,
        pushgateway=args.pushgateway,
        budget_seconds=_budget(args.timeout, "--timeout"),
    )
    opts.validate()
    env = load_environment(args.env, args.env_file)
    result = probe(env, opts.budget_seconds)
    if args.json:
        for line in json_lines(result):
            print(line)
    else:
        _print_text(result)
    for where in publish(result, opts):
        print(f"published: {where}", file=sys.stderr if args.json else sys.stdout)
    return exit_code(result)


def cmd_exporter(args: argparse.Namespace) -> int:
    from harness.canary.exporter import Exporter, parse_listen, serve
    from harness.commands.canary import probe

    host, port = parse_listen(args.listen)
    if args.max_concurrent < 1 or args.max_concurrent > 64:
        raise UsageError(f"--max-concurrent {args.max_concurrent}: allowed 1 to 64")
    timeout = _budget(args.probe_timeout, "--probe-timeout")
    exporter = Exporter(
        lambda name: load_environment(name, None), probe, args.max_concurrent, timeout
    )
    serve(exporter, host, port, lambda url: print(f"parity exporter on {url}", flush=True))
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    canary = sub.add_parser(
        "canary", help="one non-disruptive session canary run (CloudWatch, Prometheus, JSON)"
    )
    add_environment_options(canary)
    outputs = canary.add_argument_group("outputs (any combination)")
    outputs.add_argument("--cloudwatch", metavar="NAMESPACE", help="PutMetricData there")
    outputs.add_argument("--region", default=os.environ.get("AWS_REGION"), help="for CloudWatch")
    outputs.add_argument("--aws-profile", metavar="NAME", help="an AWS CLI profile for CloudWatch")
    outputs.add_argument(
        "--prometheus-textfile", metavar="PATH", help="a *.prom file for node_exporter"
    )
    outputs.add_argument("--pushgateway", metavar="URL", help="push to a Prometheus Pushgateway")
    outputs.add_argument("--json", action="store_true", help="JSON lines on stdout")
    canary.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_BUDGET,
        metavar="SECONDS",
        help=f"the run's time budget (default {DEFAULT_BUDGET:g})",
    )
    canary.set_defaults(handler=cmd_canary)

    exporter = sub.add_parser(
        "exporter", help="a Prometheus exporter: /probe?env=NAME runs the canary"
    )
    exporter.add_argument("--listen", default="127.0.0.1:9477", metavar="HOST:PORT")
    exporter.add_argument("--max-concurrent", type=int, default=2, metavar="N")
    exporter.add_argument("--probe-timeout", type=float, default=DEFAULT_BUDGET, metavar="SECONDS")
    exporter.set_defaults(handler=cmd_exporter)
