"""`parity diff A B`: configuration (and with --behaviour, behaviour) of two environments."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.printable import printable
from harness.profile.environment import Environment
from harness.topology import load_environment


def load_reference(ref: str) -> Environment:
    """An environment by name (environments/NAME.yaml) or by profile path."""
    path = Path(ref)
    if ref.endswith((".yaml", ".yml")) or path.is_file():
        return load_environment(env_file=ref)
    return load_environment(ref)


def _cell(value: object) -> str:
    text = (
        "-"
        if value is None
        else (", ".join(map(str, value)) if isinstance(value, list) else str(value))
    )
    text = printable(text)
    return text if len(text) <= 34 else text[:31] + "..."


def cmd_diff(args: argparse.Namespace) -> int:
    from harness.commands.diff import compare_environments

    left, right = load_reference(args.left), load_reference(args.right)
    result = compare_environments(left, right)
    if args.behaviour:
        from harness.commands.behaviour import compare_behaviour

        extra = compare_behaviour(left, right)
        result["differences"] += extra
        result["unexpected"] += [d for d in extra if not d["expected"]]
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        width = max([len(d["path"]) for d in result["differences"]] + [7])
        print(f"{'setting':<{width}}  {left.name[:34]:<34}  {right.name[:34]:<34}  status")
        for d in result["differences"]:
            status = f"expected: {d['reason']}" if d["expected"] else "DRIFT"
            print(
                f"{d['path']:<{width}}  {_cell(d['left']):<34}  {_cell(d['right']):<34}  {status}"
            )
        n = len(result["unexpected"])
        print(
            f"\n{n} unexpected difference(s), {len(result['differences']) - n} expected"
            if result["differences"]
            else "no differences"
        )
    return 1 if result["unexpected"] else 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = sub.add_parser("diff", help="compare two environments (staging against production)")
    diff.add_argument("left", metavar="ENV", help="a name in environments/ or a profile path")
    diff.add_argument("right", metavar="REFERENCE", help="a name in environments/ or a path")
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.add_argument(
        "--behaviour",
        action="store_true",
        help="also run the non-disruptive suites on both and compare outcomes",
    )
    diff.set_defaults(handler=cmd_diff)
