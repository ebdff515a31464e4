"""The `parity` command.

Exit codes: 0 passed, 1 findings, 2 bad usage or profile, 3 could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from harness import __version__, cli_check, cli_diff, cli_env, cli_load
from harness.errors import ParityError
from harness.replica import commands as replica_commands
from harness.replica.faults import FAULTS
from harness.replica.spec import (
    DEFAULT_DEREGISTRATION_DELAY,
    DEFAULT_STICKINESS_SECONDS,
    ReplicaConfig,
)

Handler = Callable[[argparse.Namespace], int]


def _print_targets(targets: list[dict[str, Any]]) -> None:
    print(f"  {'target':<10} {'state':<10} {'reason':<32} url")
    for t in targets:
        print(f"  {t['id']:<10} {t['state']:<10} {t['reason'] or '-':<32} {t['url']}")


def cmd_up(args: argparse.Namespace) -> int:
    config = ReplicaConfig(
        instances=args.instances,
        faults=tuple(args.fault),
        stickiness_seconds=args.stickiness_seconds,
        deregistration_delay=args.deregistration_delay,
        algorithm=args.algorithm,
    )
    handle = replica_commands.up(config)
    described = handle.control.describe()
    print(f"replica up: {handle.url}  (https: {handle.https_url})")
    print(f"  redis: {handle.redis_url}   control: {handle.control_url}")
    if config.faults:
        print(f"  faults: {', '.join(config.faults)}")
    _print_targets(described["targets"])
    print("stop it with: parity down")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    described = replica_commands.status()
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    tg = described["target_group"]
    print(f"replica: {described['url']}  (https: {described['https_url']})")
    print(f"  redis: {described['redis_url']}   faults: {', '.join(described['faults']) or 'none'}")
    print(
        f"  stickiness: {tg['stickiness']['enabled'] and tg['stickiness']['duration_seconds']}"
        f" s   deregistration delay: {tg['deregistration_delay_seconds']:g} s"
        f"   algorithm: {tg['algorithm']}"
    )
    _print_targets(described["targets"])
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stopped = replica_commands.down()
    print(f"replica stopped ({', '.join(stopped)})" if stopped else "no replica was running")
    return 0


def _add_replica_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser("up", help="start the embedded replica in the background")
    up.add_argument("--instances", type=int, default=2, help="app instances (default 2)")
    up.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted(FAULTS),
        metavar="NAME",
        help=f"break it on purpose: {', '.join(sorted(FAULTS))}",
    )
    up.add_argument("--stickiness-seconds", type=int, default=DEFAULT_STICKINESS_SECONDS)
    up.add_argument(
        "--deregistration-delay", type=float, default=DEFAULT_DEREGISTRATION_DELAY, metavar="S"
    )
    up.add_argument(
        "--algorithm", default="round_robin", choices=["round_robin", "least_outstanding_requests"]
    )
    up.set_defaults(handler=cmd_up)
    st = sub.add_parser("status", help="show the running replica and its targets")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(handler=cmd_status)
    sub.add_parser("down", help="stop the replica").set_defaults(handler=cmd_down)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parity", description=__doc__)
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_replica_commands(sub)
    cli_env.add_commands(sub)
    cli_load.add_commands(sub)
    cli_check.add_commands(sub)
    cli_diff.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ParityError as exc:
        print(f"parity: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("parity: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, and the traceback when asked for
        if os.environ.get("PARITY_DEBUG"):
            raise
        print(
            f"parity: internal error: {type(exc).__name__}: {exc} (PARITY_DEBUG=1 shows the "
            "traceback; please report it)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
