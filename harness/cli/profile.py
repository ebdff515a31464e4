"""`parity profile check`: validate a profile without touching the environment."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from harness.errors import UsageError
from harness.printable import printable
from harness.topology import load_environment, open_environment


def cmd_profile_check(args: argparse.Namespace) -> int:
    from harness.topology.render import render
    from harness.traffic.contract import driver_class

    target: str = args.profile
    as_file = os.sep in target or target.endswith((".yaml", ".yml")) or Path(target).is_file()
    env = load_environment(None if as_file else target, target if as_file else None)
    if env.session is not None:
        driver_class(env.session)  # a driver named but not importable is refused here
    print(f"{env.source}: valid ({env.name}, provider {env.provider})")
    if args.resolve:
        with open_environment(env) as provider:
            print(printable(render(provider.resolve())))
    return 0


def cmd_profile_schema(args: argparse.Namespace) -> int:
    from harness.profile.schema import profile_json_schema

    text = json.dumps(profile_json_schema(), indent=1, sort_keys=True) + "\n"
    if not args.out:
        print(text, end="")
        return 0
    out = Path(args.out)
    try:
        out.write_text(text)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write it: {exc.strerror}") from exc
    print(f"schema: {out} (first line of a profile: # yaml-language-server: $schema={out.name})")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profile = sub.add_parser("profile", help="environment profiles: check one, or the schema")
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
    schema = verbs.add_parser(
        "schema",
        help="the profile's JSON Schema, for editors (completion and checks as you type)",
        description="Print (or write with --out) the JSON Schema of environment profiles, "
        "generated from the schema Parity validates with. Exit 0: written; 2: --out unwritable.",
    )
    schema.add_argument("--out", metavar="PATH", help="write it here instead of printing it")
    schema.set_defaults(handler=cmd_profile_schema)
