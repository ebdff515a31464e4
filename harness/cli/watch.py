"""`parity watch -- <deploy command>`: watch the team's own deploy from the outside."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.environment import add_environment_options
from harness.commands.watch import WatchOptions, print_summary, run_watch
from harness.errors import UsageError
from harness.loadgen.runner import parse_duration
from harness.profile.environment import load_environment


def cmd_watch(args: argparse.Namespace) -> int:
    command = list(args.deploy_command)
    if command[:1] == ["--"]:
        command = command[1:]
    try:
        max_time = parse_duration(args.max_time)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--run-time", "--max-time")) from exc
    opts = WatchOptions(
        command=command,
        users=args.users,
        rate=args.rate,
        max_time=max_time,
        poll=args.poll,
        settle=args.settle,
        report_dir=Path(args.report_dir),
    )
    env = load_environment(args.env, args.env_file)
    document, folder = run_watch(env, opts, print)
    print_summary(document, folder)
    code = document["exit_code"]
    assert isinstance(code, int)
    return code


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = sub.add_parser(
        "watch",
        help="run a low-rate sticky load while your deploy command runs; attribute every error, "
        "move and session loss to the transition behind it",
        usage="parity watch [--env NAME] [options] -- DEPLOY COMMAND ...",
    )
    add_environment_options(watch)
    watch.add_argument("--users", type=int, default=4, help="sticky users (default 4)")
    watch.add_argument(
        "--rate", type=float, default=8.0, help="requests per second, all users (default 8)"
    )
    watch.add_argument(
        "--max-time",
        default="30m",
        metavar="T",
        help="stop watching after this long (default 30m); the deploy is never killed for it",
    )
    watch.add_argument(
        "--poll", type=float, default=0.5, metavar="S", help="provider poll interval (0.5 s)"
    )
    watch.add_argument(
        "--settle",
        type=float,
        default=3.0,
        metavar="S",
        help="keep watching this long after the command exits (default 3 s)",
    )
    watch.add_argument("--report-dir", default="reports", metavar="DIR")
    watch.add_argument(
        "deploy_command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="your deploy"
    )
    watch.set_defaults(handler=cmd_watch)
