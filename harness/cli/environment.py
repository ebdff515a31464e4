"""Commands that target an environment: `parity topology` and `parity restore`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from harness.errors import EnvironmentUnavailable
from harness.printable import printable
from harness.topology import load_environment, open_environment


def add_environment_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("environment")
    group.add_argument(
        "--env",
        default=os.environ.get("PARITY_ENV"),
        metavar="NAME",
        help="environments/NAME.yaml (default: the embedded replica; PARITY_ENV)",
    )
    group.add_argument(
        "--env-file",
        default=os.environ.get("PARITY_ENV_FILE"),
        metavar="PATH",
        help="a profile file (PARITY_ENV_FILE)",
    )


def cmd_topology(args: argparse.Namespace) -> int:
    from harness.topology.probe import unreachable
    from harness.topology.render import render
    from harness.traffic.site import verify_of

    env = load_environment(args.env, args.env_file)
    with open_environment(env) as provider:
        topology = provider.resolve()
        problems = [] if args.no_probe else unreachable(topology, verify_of(env, topology))
    if args.json:
        print(json.dumps(topology.to_json(), indent=2))
    else:
        print(printable(render(topology)))
    if problems:
        raise EnvironmentUnavailable(f"{env.name} does not answer HTTP: " + "; ".join(problems))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from harness.disruption.restore import restore_outstanding

    env = load_environment(args.env, args.env_file)
    report = restore_outstanding(
        env, progress=lambda m: print(f"  {m}", file=sys.stderr), force=args.force
    )
    for line in report.done + report.left:
        print(printable(line))
    if not (report.done or report.left or report.failed):
        print(f"nothing to restore for {env.name}")
    if report.failed:
        for line in report.failed:
            print(f"  not undone: {printable(line)}", file=sys.stderr)
        print(
            f"parity: {len(report.failed)} journal entr{'y' if len(report.failed) == 1 else 'ies'}"
            " stayed undone (listed above): check those targets by hand",
            file=sys.stderr,
        )
        return 1
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    topo = sub.add_parser("topology", help="resolve the load balancer and every target")
    add_environment_options(topo)
    topo.add_argument("--json", action="store_true", help="machine-readable output")
    topo.add_argument(
        "--no-probe",
        action="store_true",
        help="resolve only; do not check that the entry URL and every target answer HTTP",
    )
    topo.set_defaults(handler=cmd_topology)
    rest = sub.add_parser(
        "restore",
        help="undo what an interrupted run left drained or broken",
        description="Undo what an interrupted run left drained or broken. Exit 0: everything "
        "was undone (or left to a run still alive); 1: something stayed undone (listed); "
        "2: bad usage or profile; 3: the environment cannot be reached.",
    )
    add_environment_options(rest)
    rest.add_argument(
        "--force", action="store_true", help="also undo what a run that is still alive did"
    )
    rest.set_defaults(handler=cmd_restore)
