"""`parity profile check`: validate a profile without touching the environment."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from harness.printable import printable
from harness.profile.environment import load_environment
from harness.topology.opening import open_environment
from harness.topology.render import render


def cmd_profile_check(args: argparse.Namespace) -> int:
    target: str = args.profile
    as_file = os.sep in target or target.endswith((".yaml", ".yml")) or Path(target).is_file()
    env = load_environment(None if as_file else target, target if as_file else None)
    print(f"{env.source}: valid ({env.name}, provider {env.provider})")
    if args.resolve:
        with open_environment(env) as provider:
            print(printable(render(provider.resolve())))
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profile = sub.add_parser("profile", help="environment profiles: check one")
    verbs = profile.add_subparsers(dest="verb", required=True, metavar="VERB")
    check = verbs.add_parser(
        "check",
        help="validate a profile (FILE, or NAME in environments/) without touching anything",
        description="Validate a profile without touching the environment it describes. Exit 0: "
        "valid; 2: not valid (one line naming the file, line and field); 3 (with --resolve): "
        "the environment cannot be reached.",
    )
    check.add_argument("profile", metavar="FILE|NAME")
    check.add_argument(
        "--resolve", action="store_true", help="also resolve it (reaches the environment)"
    )
    check.set_defaults(handler=cmd_profile_check)
